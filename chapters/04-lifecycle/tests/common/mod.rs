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
        assert_nothing_left(&self.env);
    }
}
