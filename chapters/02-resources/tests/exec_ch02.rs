//! `ch02 runtime exec` end to end (root only): with chapter 02's driver
//! registered, an exec'd process joins the container's real cgroups, and a
//! frozen (paused) container is refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{random_hex, read, root_or_skip};

/// A created-and-started container `c1` whose cgroup lives under a parent of
/// its own, with a state root of its own.
struct Container {
    _rootfs: tempfile::TempDir,
    state: tempfile::TempDir,
    parent: String,
    init: i32,
}

impl Container {
    fn start(test: &str) -> Option<Self> {
        if !root_or_skip(test) {
            return None;
        }
        let rootfs = berth_tests::rootfs::build_temp().expect("busybox root filesystem");
        let state = tempfile::tempdir().unwrap();
        let parent = format!("berth-test-{}", random_hex());
        let bundle = state.path().join("bundle");
        std::fs::create_dir(&bundle).unwrap();
        let config = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": rootfs.path()},
            "process": {"user": {"uid": 0, "gid": 0}, "args": ["sleep", "1000"], "env": ["PATH=/bin"], "cwd": "/"},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
            "linux": {
                "cgroupsPath": format!("/{parent}/c1"),
                "namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}],
            },
        });
        std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
        let container = Container {
            _rootfs: rootfs,
            state,
            parent,
            init: 0,
        };
        let pid_file = container.state.path().join("init.pid");
        // The init keeps create's stdio: no pipes, or waiting for them would hang.
        let created = container
            .runtime(&["create", "-b", bundle.to_str().unwrap(), "--pid-file"])
            .arg(&pid_file)
            .arg("c1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(created.success(), "runtime create failed");
        let init = read(&pid_file).parse().unwrap();
        let started = container.runtime(&["start", "c1"]).output().unwrap();
        assert!(started.status.success(), "{started:?}");
        Some(Container { init, ..container })
    }

    fn runtime(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ch02"));
        command
            .arg("runtime")
            .args(args)
            .env("BERTH_ROOT", self.state.path().join("root"))
            .env("BERTH_RUN", self.state.path().join("run"));
        command
    }

    fn exec(&self, args: &[&str]) -> Output {
        self.runtime(&["exec", "c1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The container's directory in each hierarchy (v1) or the tree (v2).
    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let root = Path::new("/sys/fs/cgroup");
        let mut dirs = vec![root.join(&self.parent).join("c1")];
        for entry in std::fs::read_dir(root).unwrap().flatten() {
            dirs.push(entry.path().join(&self.parent).join("c1"));
        }
        dirs.into_iter().filter(|d| d.is_dir()).collect()
    }

    /// Deletes the container and its cgroup parent; checks nothing is left.
    fn delete(self) {
        let deleted = self.runtime(&["delete", "--force", "c1"]).output().unwrap();
        assert!(deleted.status.success(), "{deleted:?}");
        assert_eq!(self.cgroup_dirs(), Vec::<PathBuf>::new(), "cgroups left");
        for entry in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let _ = std::fs::remove_dir(entry.path().join(&self.parent));
        }
        // Gone, or a zombie until whoever adopted it reaps it.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.init)).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        assert!(
            matches!(state, None | Some("Z")),
            "the init lives on: {stat}"
        );
    }
}

#[test]
fn an_exec_is_in_the_inits_cgroups() {
    let Some(c) = Container::start("an_exec_is_in_the_inits_cgroups") else {
        return;
    };
    let out = c.exec(&["cat", "/proc/self/cgroup"]);
    assert!(out.status.success(), "{out:?}");
    let init = std::fs::read_to_string(format!("/proc/{}/cgroup", c.init)).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), init);
    assert!(init.contains(&format!("/{}/c1", c.parent)), "{init}");
    c.delete();
}

#[test]
fn a_paused_container_refuses_exec() {
    let Some(c) = Container::start("a_paused_container_refuses_exec") else {
        return;
    };
    let Some(freezer) = c
        .cgroup_dirs()
        .into_iter()
        .find(|d| d.join("freezer.state").exists())
    else {
        eprintln!("skipped: no v1 freezer hierarchy");
        return c.delete();
    };
    std::fs::write(freezer.join("freezer.state"), "FROZEN").unwrap();
    let out = c.exec(&["true"]);
    std::fs::write(freezer.join("freezer.state"), "THAWED").unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ch02: container c1 is paused, unpause the container before exec\n"
    );
    assert!(c.exec(&["true"]).status.success(), "thawed, it runs again");
    c.delete();
}
