//! The run configuration a committed image gets: the container's own (the
//! image's, with what `run` changed), and the `-c` instructions over it, merged
//! by docker's rules.

use std::collections::HashMap;

use berth_isolation::spec::DEFAULT_PATH;
use oci_spec::image::Config;

/// What berth knows of how a container was run, to rebuild docker's
/// container config from.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// The process: entrypoint and command together.
    pub process: Vec<String>,
    /// The process's environment as the runtime got it.
    pub env: Vec<String>,
    /// The working directory of the process.
    pub cwd: String,
    /// The container's host name (the runtime adds `HOSTNAME=` for it).
    pub hostname: String,
    /// `-t` (the runtime adds `TERM=xterm`).
    pub tty: bool,
    /// `--label` values.
    pub labels: HashMap<String, String>,
}

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

// ANCHOR: container_config
/// docker's container config, rebuilt: the image's config with the container's
/// entrypoint and command (split as `run` combined them), its environment
/// without what the runtime adds to every process (`HOSTNAME`, `TERM` with
/// `-t`, `HOME` and the default `PATH` when the image does not set them), its
/// labels and working directory.
pub fn container_config(image: &Config, run: &RunFacts) -> Config {
    let mut config = image.clone();
    let image_entrypoint = image.entrypoint().clone().unwrap_or_default();
    let (entrypoint, cmd) =
        if !image_entrypoint.is_empty() && run.process.starts_with(&image_entrypoint) {
            (
                image_entrypoint.clone(),
                run.process[image_entrypoint.len()..].to_vec(),
            )
        } else if !image_entrypoint.is_empty() {
            // `--entrypoint` replaced the image's: its first word, the rest its arguments.
            (run.process[..1].to_vec(), run.process[1..].to_vec())
        } else {
            (Vec::new(), run.process.clone())
        };
    config.set_entrypoint((!entrypoint.is_empty()).then_some(entrypoint));
    config.set_cmd((!cmd.is_empty()).then_some(cmd));

    let image_env = image.env().clone().unwrap_or_default();
    let from_image = |k: &str| image_env.iter().any(|e| key(e) == k);
    let env: Vec<String> = run
        .env
        .iter()
        .filter(|entry| {
            let k = key(entry);
            from_image(k)
                || match k {
                    "HOSTNAME" => *entry != &format!("HOSTNAME={}", run.hostname),
                    "TERM" => !(run.tty && *entry == "TERM=xterm"),
                    "PATH" => *entry != &format!("PATH={DEFAULT_PATH}"),
                    "HOME" => false,
                    _ => true,
                }
        })
        .cloned()
        .collect();
    config.set_env((!env.is_empty()).then_some(env));

    if !run.labels.is_empty() {
        let mut labels = image.labels().clone().unwrap_or_default();
        labels.extend(run.labels.clone());
        config.set_labels(Some(labels));
    }
    let image_dir = image.working_dir().clone().unwrap_or_default();
    if run.cwd != image_dir && !(image_dir.is_empty() && run.cwd == "/") {
        config.set_working_dir(Some(run.cwd.clone()));
    }
    config
}
// ANCHOR_END: container_config

// ANCHOR: merge_changes
/// docker's `merge`: `changes` (a config holding only what `-c` set) filled in
/// from the container's config. An `ENTRYPOINT` change drops the container's
/// command; the container's environment, ports, labels and volumes are added
/// to the changes' own.
pub fn merge(changes: Config, container: &Config) -> Config {
    let mut merged = changes;
    if merged.user().as_deref().unwrap_or_default().is_empty() {
        merged.set_user(container.user().clone());
    }
    let union = |mine: &Option<Vec<String>>, theirs: &Option<Vec<String>>| {
        let mut all = mine.clone().unwrap_or_default();
        for item in theirs.iter().flatten() {
            if !all.contains(item) {
                all.push(item.clone());
            }
        }
        (!all.is_empty()).then_some(all)
    };
    merged.set_exposed_ports(union(merged.exposed_ports(), container.exposed_ports()));
    merged.set_volumes(union(merged.volumes(), container.volumes()));
    let mut env = merged.env().clone().unwrap_or_default();
    for entry in container.env().iter().flatten() {
        if !env.iter().any(|e| key(e) == key(entry)) {
            env.push(entry.clone());
        }
    }
    merged.set_env((!env.is_empty()).then_some(env));
    if let Some(theirs) = container.labels() {
        let mut labels = theirs.clone();
        labels.extend(merged.labels().clone().unwrap_or_default());
        merged.set_labels(Some(labels));
    }
    if merged.entrypoint().as_ref().is_none_or(Vec::is_empty) {
        if merged.cmd().as_ref().is_none_or(Vec::is_empty) {
            merged.set_cmd(container.cmd().clone());
        }
        if merged.entrypoint().is_none() {
            merged.set_entrypoint(container.entrypoint().clone());
        }
    }
    if merged
        .working_dir()
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        merged.set_working_dir(container.working_dir().clone());
    }
    if merged.stop_signal().is_none() {
        merged.set_stop_signal(container.stop_signal().clone());
    }
    merged
}
// ANCHOR_END: merge_changes

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn facts(process: &[&str], env: &[&str]) -> RunFacts {
        RunFacts {
            process: strings(process),
            env: strings(env),
            cwd: "/".into(),
            hostname: "abc".into(),
            tty: true,
            labels: HashMap::new(),
        }
    }

    #[test]
    fn the_runtime_s_own_variables_are_not_the_container_s() {
        let mut image = Config::default();
        image.set_env(Some(strings(&["LANG=C"])));
        let run = facts(
            &["sh", "-c", "true"],
            &[
                &format!("PATH={DEFAULT_PATH}"),
                "HOSTNAME=abc",
                "TERM=xterm",
                "LANG=C",
                "A=1",
                "HOME=/root",
            ],
        );
        let config = container_config(&image, &run);
        assert_eq!(
            config.env().as_deref().unwrap(),
            strings(&["LANG=C", "A=1"])
        );
        assert_eq!(
            config.cmd().as_deref().unwrap(),
            strings(&["sh", "-c", "true"])
        );
        assert_eq!(config.entrypoint(), &None);
        assert_eq!(config.working_dir(), &None);
    }

    #[test]
    fn the_image_s_entrypoint_is_split_off_the_process() {
        let mut image = Config::default();
        image.set_entrypoint(Some(strings(&["/init"])));
        let config = container_config(&image, &facts(&["/init", "serve"], &[]));
        assert_eq!(config.entrypoint().as_deref().unwrap(), strings(&["/init"]));
        assert_eq!(config.cmd().as_deref().unwrap(), strings(&["serve"]));
        let replaced = container_config(&image, &facts(&["/bin/sh", "-x"], &[]));
        assert_eq!(
            replaced.entrypoint().as_deref().unwrap(),
            strings(&["/bin/sh"])
        );
        assert_eq!(replaced.cmd().as_deref().unwrap(), strings(&["-x"]));
    }

    #[test]
    fn changes_win_and_an_entrypoint_change_drops_the_command() {
        let mut container = Config::default();
        container.set_cmd(Some(strings(&["sh"])));
        container.set_env(Some(strings(&["A=1", "B=2"])));
        let mut changes = Config::default();
        berth_images::changes::apply_change(&mut changes, "ENV B=3").unwrap();
        let merged = merge(changes, &container);
        assert_eq!(merged.env().as_deref().unwrap(), strings(&["B=3", "A=1"]));
        assert_eq!(merged.cmd().as_deref().unwrap(), strings(&["sh"]));

        let mut changes = Config::default();
        berth_images::changes::apply_change(&mut changes, r#"ENTRYPOINT ["/x"]"#).unwrap();
        let merged = merge(changes, &container);
        assert_eq!(merged.entrypoint().as_deref().unwrap(), strings(&["/x"]));
        assert_eq!(merged.cmd(), &None);
    }
}
