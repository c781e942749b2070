//! What chapter 04's end-to-end tests share: a state root with a busybox
//! image, the `ch04` binary run against it, and the check that nothing is left.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_tests::env::{finish, spawn};
use berth_tests::{Output, TestEnv, assert_nothing_left};
use serde_json::Value;

/// A test's world with a `busybox` image imported.
pub struct World {
    /// The test environment: state, run directory, cgroup parent.
    pub env: TestEnv,
}

impl World {
    pub fn new(test: &str) -> Option<World> {
        let env = TestEnv::new(test)?;
        env.import_rootfs(Path::new(env!("CARGO_BIN_EXE_ch04")), "busybox");
        Some(World { env })
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.env.command_at(Path::new(env!("CARGO_BIN_EXE_ch04")));
        command.args(args);
        command
    }

    pub fn ch04(&self, args: &[&str]) -> Output {
        finish(spawn(&mut self.command(args)))
    }

    /// `run -d busybox CMD…`, returning the id.
    pub fn daemon(&self, options: &[&str], cmd: &[&str]) -> String {
        let mut args = vec!["run", "-d"];
        args.extend(options);
        args.push("busybox");
        args.extend(cmd);
        let out = self.ch04(&args);
        out.assert_success();
        out.stdout.trim().to_string()
    }

    /// The record of container `id`, as written.
    pub fn record(&self, id: &str) -> Value {
        let path = self.containers().join(id).join("container.json");
        serde_json::from_slice(&std::fs::read(path).expect("the record")).unwrap()
    }

    pub fn containers(&self) -> PathBuf {
        self.env.state.path().join("containers")
    }

    /// ps -a's STATUS column of the container named `name`.
    pub fn status_of(&self, name: &str) -> String {
        let out = self.ch04(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Status}}",
        ]);
        out.stdout.trim().to_string()
    }

    /// Removes every container, then checks that nothing of them remains.
    pub fn clean_up(self) {
        let ids = self.ch04(&["ps", "-aq"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(&ids);
            self.ch04(&args).assert_success();
        }
        assert_eq!(self.ch04(&["ps", "-aq"]).stdout, "");
        // A `--rm` supervisor deletes the container's files after telling
        // the client its exit: give it a moment to finish.
        let mut left = Vec::new();
        berth_tests::env::eventually(std::time::Duration::from_secs(5), || {
            left = supervisors_of(self.env.state.path());
            left.is_empty()
        });
        assert!(left.is_empty(), "a supervisor is left: {left:?}");
        assert_nothing_left(&self.env);
    }
}

/// Processes whose environment names this state root (supervisors, containers' runtimes).
pub fn supervisors_of(state: &std::path::Path) -> Vec<String> {
    let needle = format!("BERTH_ROOT={}", state.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let is_ours = environ.split(|&b| b == 0).any(|v| v == needle.as_bytes());
        if is_ours && String::from_utf8_lossy(&cmdline).contains("supervise") {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}
