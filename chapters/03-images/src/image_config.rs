//! Chapter 03's spec edit: what the image's config says about how to run it.
//!
//! Chapter 01 wrote docker's defaults and the user's flags; an image adds its
//! own defaults between the two: its `Env` under `-e`, its `WorkingDir` and
//! `User` unless `-w` and `-u` are given.

use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{ContainerPlan, Engine, Error, Result};
use berth_isolation::security::linux_capabilities;
use berth_isolation::{spec::environment, user};
use oci_spec::image::{Config, Digest};

use crate::store::Store;

// ANCHOR: image_config_edit
/// Applies the image's `Env`, `WorkingDir` and `User` to the spec chapter 01 wrote.
pub fn edit(engine: &Engine, plan: &ContainerPlan, spec: &mut Spec) -> Result<()> {
    let Some(image_id) = &plan.image else {
        return Ok(());
    };
    let config = image_run_config(engine, image_id)?;
    let args = plan.args;
    let hostname = spec.hostname().clone().unwrap_or_default();
    let process = spec
        .process_mut()
        .as_mut()
        .ok_or_else(|| Error::usage("the spec has no process"))?;

    let image_user = config.user().clone().filter(|u| !u.is_empty());
    let exec_user = user::resolve(&plan.rootfs, args.user.as_deref().or(image_user.as_deref()))?;
    if args.user.is_none() && image_user.is_some() {
        let user = process.user_mut();
        user.set_uid(exec_user.uid);
        user.set_gid(exec_user.gid);
        user.set_additional_gids(Some(exec_user.additional_gids.clone()));
        if exec_user.uid != 0 {
            // A user other than root holds no capabilities, as with `-u` (chapter 01).
            let bounding = process
                .capabilities()
                .as_ref()
                .and_then(|c| c.bounding().clone())
                .unwrap_or_default();
            process.set_capabilities(Some(linux_capabilities(&bounding, false)));
        }
    }
    let image_env = config.env().clone().unwrap_or_default();
    process.set_env(Some(environment(
        args,
        &hostname,
        &exec_user.home,
        &image_env,
    )?));
    if args.workdir.is_none()
        && let Some(dir) = config.working_dir().as_ref().filter(|d| !d.is_empty())
    {
        process.set_cwd(dir.into());
    }
    Ok(())
}
// ANCHOR_END: image_config_edit

/// The image's run configuration (empty when the image has none).
pub fn image_run_config(engine: &Engine, image_id: &str) -> Result<Config> {
    let store = Store::open(&engine.paths)?;
    let id = Digest::try_from(image_id)
        .map_err(|e| Error::usage(format!("image id {image_id}: {e}")))?;
    let image = store
        .images()?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| {
            Error::usage(format!("No such image: {image_id}"))
                .hint("the image was removed while the container was made")
        })?;
    Ok(store.config(&image)?.config().clone().unwrap_or_default())
}

/// The command a container of this image runs: `--entrypoint` (or the image's
/// Entrypoint) followed by the arguments given (or the image's Cmd). docker's
/// rule: giving `--entrypoint` drops the image's Cmd too.
pub fn process_args(
    config: &Config,
    entrypoint: Option<&str>,
    cmd: &[String],
) -> Result<Vec<String>> {
    let entry: Vec<String> = match entrypoint {
        Some("") => vec![],
        Some(e) => vec![e.to_string()],
        None => config.entrypoint().clone().unwrap_or_default(),
    };
    let cmd: Vec<String> = match (cmd.is_empty(), entrypoint) {
        (false, _) => cmd.to_vec(),
        (true, Some(_)) => vec![],
        (true, None) => config.cmd().clone().unwrap_or_default(),
    };
    let args: Vec<String> = entry.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(Error::usage("No command specified")
            .hint("give a command after the image, or build the image with CMD"));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entrypoint: &[&str], cmd: &[&str]) -> Config {
        let mut c = Config::default();
        let owned = |v: &[&str]| (!v.is_empty()).then(|| v.iter().map(|s| s.to_string()).collect());
        c.set_entrypoint(owned(entrypoint));
        c.set_cmd(owned(cmd));
        c
    }

    #[test]
    fn cmd_given_replaces_the_images_cmd_but_keeps_its_entrypoint() {
        let c = config(&["/init"], &["serve"]);
        assert_eq!(process_args(&c, None, &[]).unwrap(), ["/init", "serve"]);
        assert_eq!(
            process_args(&c, None, &["sh".into()]).unwrap(),
            ["/init", "sh"]
        );
    }

    #[test]
    fn entrypoint_flag_drops_the_images_cmd() {
        let c = config(&["/init"], &["serve"]);
        assert_eq!(process_args(&c, Some("/bin/sh"), &[]).unwrap(), ["/bin/sh"]);
        assert_eq!(process_args(&c, Some(""), &["ls".into()]).unwrap(), ["ls"]);
    }

    #[test]
    fn nothing_to_run_is_docker_s_error() {
        let e = process_args(&config(&[], &[]), None, &[]).unwrap_err();
        assert_eq!(e.message(), "No command specified");
        assert_eq!(e.exit_code(), 125);
    }
}
