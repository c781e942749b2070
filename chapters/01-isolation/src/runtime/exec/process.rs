//! The process `exec` runs: an OCI `Process` read from `--process FILE`, or the
//! container's own process from its spec, with the command line's overrides.

use std::path::{Path, PathBuf};

use berth_engine::oci_spec::runtime::{Capabilities, LinuxCapabilities, Process};

use super::ExecError;
use crate::security::parse_capability;

/// What the command line changes in the process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The command and its arguments (replace `args` when not empty).
    pub args: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<String>,
    /// `--env KEY=VALUE`, each replacing the variable of the same name.
    pub env: Vec<String>,
    /// `--user UID[:GID]`.
    pub user: Option<String>,
    /// `--cap CAP`, added to the bounding, effective and permitted sets.
    pub caps: Vec<String>,
    /// `--tty`.
    pub tty: bool,
}

/// Reads an OCI process JSON (runc's `process.json`).
pub fn from_file(path: &Path) -> Result<Process, ExecError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExecError::ReadProcess {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ExecError::ParseProcess {
        path: path.to_path_buf(),
        source,
    })
}

// ANCHOR: exec_process
/// The process to run: `base` with the overrides applied, checked as the
/// runtime checks a bundle's process.
pub fn build(base: &Process, overrides: &Overrides) -> Result<Process, ExecError> {
    let mut process = base.clone();
    if !overrides.args.is_empty() {
        process.set_args(Some(overrides.args.clone()));
    }
    if let Some(cwd) = &overrides.cwd {
        process.set_cwd(PathBuf::from(cwd));
    }
    if overrides.tty {
        process.set_terminal(Some(true));
    }
    let mut env = process.env().clone().unwrap_or_default();
    for pair in &overrides.env {
        set_env(&mut env, pair)?;
    }
    process.set_env(Some(env));
    if let Some(user) = &overrides.user {
        set_user(&mut process, user)?;
    }
    for name in &overrides.caps {
        add_capability(&mut process, name)?;
    }
    check(&process)?;
    Ok(process)
}
// ANCHOR_END: exec_process

/// What the runtime needs of any process: a command, and a directory written
/// from the container's `/`.
pub fn check(process: &Process) -> Result<(), ExecError> {
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(ExecError::InvalidProcess {
            field: "args",
            problem: "is empty: give the command to run after the container id".into(),
        });
    }
    if !process.cwd().is_absolute() {
        return Err(ExecError::InvalidProcess {
            field: "cwd",
            problem: format!(
                "{:?} is not absolute: write it from the container's /",
                process.cwd()
            ),
        });
    }
    Ok(())
}

/// Replaces `KEY=…` in `env`, or appends it.
fn set_env(env: &mut Vec<String>, pair: &str) -> Result<(), ExecError> {
    let Some((key, _)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
        return Err(ExecError::InvalidProcess {
            field: "env",
            problem: format!("{pair:?} is not KEY=VALUE"),
        });
    };
    let prefix = format!("{key}=");
    match env.iter_mut().find(|e| e.starts_with(&prefix)) {
        Some(existing) => *existing = pair.to_string(),
        None => env.push(pair.to_string()),
    }
    Ok(())
}

// ANCHOR: exec_user
/// `UID[:GID]`, numbers only (names are resolved by the engine before it calls
/// the runtime). The spec's supplementary groups belong to the spec's user, so
/// they go. Crossing between root and another user moves capabilities the way
/// docker spreads them: root holds the bounding set, anyone else nothing.
fn set_user(process: &mut Process, value: &str) -> Result<(), ExecError> {
    let bad = || ExecError::BadUser {
        value: value.to_string(),
    };
    let (uid, gid) = match value.split_once(':') {
        Some((uid, gid)) => (uid, Some(gid)),
        None => (value, None),
    };
    let uid: u32 = uid.parse().map_err(|_| bad())?;
    let gid: Option<u32> = gid.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    let mut user = process.user().clone();
    let was_root = user.uid() == 0;
    user.set_uid(uid);
    if let Some(gid) = gid {
        user.set_gid(gid);
    }
    user.set_additional_gids(None);
    process.set_user(user);
    if was_root != (uid == 0)
        && let Some(caps) = process.capabilities().clone()
    {
        process.set_capabilities(Some(held_by(caps, uid == 0)));
    }
    Ok(())
}

/// `caps` with effective and permitted as docker gives them to root or not.
fn held_by(mut caps: LinuxCapabilities, root: bool) -> LinuxCapabilities {
    let held = match root {
        true => caps.bounding().clone().unwrap_or_default(),
        false => Capabilities::new(),
    };
    caps.set_effective(Some(held.clone()));
    caps.set_permitted(Some(held));
    caps
}
// ANCHOR_END: exec_user

/// `--cap`: bounding, effective and permitted; ambient too when the process
/// has inheritable capabilities, since an ambient one must also be inheritable.
fn add_capability(process: &mut Process, name: &str) -> Result<(), ExecError> {
    let cap = parse_capability(name)?;
    let Some(mut caps) = process.capabilities().clone() else {
        // No capabilities section: the process keeps all of the runtime's.
        return Ok(());
    };
    let add = |set: &Option<Capabilities>| {
        let mut set = set.clone().unwrap_or_default();
        set.insert(cap);
        Some(set)
    };
    caps.set_bounding(add(caps.bounding()));
    caps.set_effective(add(caps.effective()));
    caps.set_permitted(add(caps.permitted()));
    if caps.inheritable().as_ref().is_some_and(|i| !i.is_empty()) {
        caps.set_ambient(add(caps.ambient()));
    }
    process.set_capabilities(Some(caps));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::oci_spec::runtime::Capability;
    use serde_json::json;

    fn base() -> Process {
        serde_json::from_value(json!({
            "user": {"uid": 0, "gid": 0, "additionalGids": [10]},
            "args": ["sleep", "100"],
            "env": ["PATH=/bin", "HOME=/root"],
            "cwd": "/",
            "noNewPrivileges": true,
            "capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_KILL"],
                "effective": ["CAP_CHOWN", "CAP_KILL"],
                "permitted": ["CAP_CHOWN", "CAP_KILL"],
            },
        }))
        .unwrap()
    }

    fn set(caps: &[Capability]) -> Option<Capabilities> {
        Some(caps.iter().copied().collect())
    }

    #[test]
    fn without_overrides_the_containers_process_runs_with_the_new_command() {
        let process = build(
            &base(),
            &Overrides {
                args: vec!["ls".into(), "-l".into()],
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(process.args().as_deref().unwrap(), ["ls", "-l"]);
        assert_eq!(process.env(), base().env());
        assert_eq!(process.capabilities(), base().capabilities());
        assert_eq!(process.no_new_privileges(), Some(true));
        assert_eq!(process.terminal(), None);
    }

    #[test]
    fn env_replaces_by_name_and_appends_new_names() {
        let process = build(
            &base(),
            &Overrides {
                env: vec!["HOME=/tmp".into(), "NEW=a=b".into()],
                cwd: Some("/work".into()),
                tty: true,
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(
            process.env().as_deref().unwrap(),
            ["PATH=/bin", "HOME=/tmp", "NEW=a=b"]
        );
        assert_eq!(process.cwd(), Path::new("/work"));
        assert_eq!(process.terminal(), Some(true));
        let bad = Overrides {
            env: vec!["NOVALUE".into()],
            ..Overrides::default()
        };
        assert!(matches!(
            build(&base(), &bad),
            Err(ExecError::InvalidProcess { field: "env", .. })
        ));
    }

    #[test]
    fn a_user_other_than_root_holds_no_capabilities() {
        let to = |user: &str, from: &Process| {
            let o = Overrides {
                user: Some(user.into()),
                ..Overrides::default()
            };
            build(from, &o).unwrap()
        };
        let user = to("1000", &base());
        assert_eq!((user.user().uid(), user.user().gid()), (1000, 0));
        assert_eq!(user.user().additional_gids(), &None);
        let caps = user.capabilities().clone().unwrap();
        assert_eq!(caps.effective(), &set(&[]));
        assert_eq!(caps.permitted(), &set(&[]));
        assert_eq!(
            caps.bounding(),
            base().capabilities().as_ref().unwrap().bounding()
        );
        let back = to("0:0", &user);
        let caps = back.capabilities().clone().unwrap();
        assert_eq!(
            caps.effective(),
            &set(&[Capability::Chown, Capability::Kill])
        );
        assert_eq!(to("1000:1000", &base()).user().gid(), 1000);
        for bad in ["app", "1000:staff", "", "-1"] {
            let o = Overrides {
                user: Some(bad.into()),
                ..Overrides::default()
            };
            assert!(
                matches!(build(&base(), &o), Err(ExecError::BadUser { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_added_capability_is_bounding_effective_and_permitted() {
        let o = Overrides {
            caps: vec!["net_admin".into()],
            ..Overrides::default()
        };
        let caps = build(&base(), &o).unwrap().capabilities().clone().unwrap();
        let want = set(&[Capability::Chown, Capability::Kill, Capability::NetAdmin]);
        assert_eq!(caps.bounding(), &want);
        assert_eq!(caps.effective(), &want);
        assert_eq!(caps.permitted(), &want);
        assert_eq!(caps.ambient(), &None, "no inheritable set, so no ambient");
        let unknown = Overrides {
            caps: vec!["CAP_NOPE".into()],
            ..Overrides::default()
        };
        assert!(matches!(
            build(&base(), &unknown),
            Err(ExecError::Security(_))
        ));
    }

    #[test]
    fn a_process_needs_a_command_and_an_absolute_cwd() {
        let mut empty = base();
        empty.set_args(Some(vec![]));
        assert!(matches!(
            build(&empty, &Overrides::default()),
            Err(ExecError::InvalidProcess { field: "args", .. })
        ));
        let relative = Overrides {
            cwd: Some("work".into()),
            ..Overrides::default()
        };
        assert!(matches!(
            build(&base(), &relative),
            Err(ExecError::InvalidProcess { field: "cwd", .. })
        ));
    }

    #[test]
    fn a_process_file_is_an_oci_process() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("process.json");
        std::fs::write(&path, serde_json::to_vec(&base()).unwrap()).unwrap();
        assert_eq!(from_file(&path).unwrap(), base());
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            from_file(&path),
            Err(ExecError::ParseProcess { .. })
        ));
        assert!(matches!(
            from_file(&tmp.path().join("missing")),
            Err(ExecError::ReadProcess { .. })
        ));
    }
}
