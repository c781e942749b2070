//! What chapter 05's command tests share: a state root holding an image whose
//! layer has files to change, the `ch05` binary run against it, the steps a
//! container takes (the same steps run in docker by the oracle tests), and
//! the check that nothing is left.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::fs;
use std::path::Path;
use std::process::Command;

use berth_tests::env::{finish, spawn};
use berth_tests::{Output, TestEnv, assert_nothing_left};

/// Files the image's layer holds, for the container to change and delete.
pub const IMAGE_FILES: &[(&str, &str)] = &[
    ("etc/x/a", "a\n"),
    ("etc/x/b", "b\n"),
    ("etc/keep", "keep\n"),
    ("etc/del", "del\n"),
    ("etc/ren/sub/f", "r\n"),
    ("a/x", "x\n"),
    ("a/sub/y", "y\n"),
    ("usr/local/bin/tool", "t\n"),
];

/// What the container does: changes a file of the image, deletes one,
/// deletes a directory and makes it again (overlay: an opaque directory),
/// renames a directory, adds a tree and a symlink.
pub const STEPS: &str = "rm -rf /etc/x && mkdir /etc/x && echo n > /etc/x/new && \
    echo m >> /etc/keep && rm /etc/del && mv /etc/ren /etc/ren2 && \
    mkdir -p /new/dir && touch /new/dir/f && ln -s /etc/keep /lnk";

/// `diff` after [`STEPS`], as docker 20.10 prints it (sorted).
pub const STEPS_DIFF: &[&str] = &[
    "A /etc/ren2",
    "A /etc/ren2/sub",
    "A /etc/ren2/sub/f",
    "A /etc/x/new",
    "A /lnk",
    "A /new",
    "A /new/dir",
    "A /new/dir/f",
    "C /etc",
    "C /etc/keep",
    "C /etc/x",
    "D /etc/del",
    "D /etc/ren",
    "D /etc/x/a",
    "D /etc/x/b",
];

/// Steps on directories of the image and the `diff` docker 20.10 printed for
/// each (overlay2, sorted): a directory copied up on the way to a new file is a
/// change, one copied up with nothing changed below it is not; what an opaque
/// directory hides is deleted, also below a directory made again inside it.
pub const DIRECTORY_CASES: &[(&str, &[&str])] = &[
    (
        "touch /usr/local/bin/n",
        &[
            "A /usr/local/bin/n",
            "C /usr",
            "C /usr/local",
            "C /usr/local/bin",
        ],
    ),
    (
        "rm -rf /a && mkdir -p /a/sub && touch /a/sub/z",
        &["A /a/sub/z", "C /a", "C /a/sub", "D /a/sub/y", "D /a/x"],
    ),
    ("touch /usr/local/bin/n && rm /usr/local/bin/n", &[]),
    ("exec 3<>/a/x", &[]),
    ("chmod 700 /a/sub", &["C /a", "C /a/sub"]),
    (
        "rm /a/x && mkdir /a/x && touch /a/x/f",
        &["A /a/x/f", "C /a", "C /a/x"],
    ),
];

/// Files named like layer whiteouts, which `cp` copies as plain files, as
/// docker does: (path, content), a `/` at the end for a directory.
pub const WHITEOUT_NAMED: &[(&str, &str)] = &[
    (".wh.d/", ""),
    (".wh.d/in", "in\n"),
    (".wh.foo", "foo\n"),
    (".wh..wh..opq", "opq\n"),
    (".wh..wh.plnk/", ""),
    (".wh..wh.plnk/x", "x\n"),
    ("y", "y\n"),
];

/// Makes the [`WHITEOUT_NAMED`] files under `dir`.
pub fn make_whiteout_named(dir: &Path) {
    for (path, content) in WHITEOUT_NAMED {
        match path.strip_suffix('/') {
            Some(sub) => fs::create_dir_all(dir.join(sub)).unwrap(),
            None => fs::write(dir.join(path), content).unwrap(),
        }
    }
}

/// Adds [`IMAGE_FILES`] to a root filesystem.
pub fn add_image_files(rootfs: &Path) {
    for (path, content) in IMAGE_FILES {
        let path = rootfs.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

/// A test's world with the image `base` imported.
pub struct World {
    /// The test environment: state, run directory, cgroup parent.
    pub env: TestEnv,
    /// The storage driver every command is told to use (`None`: berth's choice).
    pub driver: Option<&'static str>,
}

impl World {
    pub fn new(test: &str) -> Option<World> {
        World::with_driver(test, None)
    }

    /// A world whose commands use the storage driver `driver` (`vfs`, `overlay`).
    pub fn with_driver(test: &str, driver: Option<&'static str>) -> Option<World> {
        let env = TestEnv::new(test)?;
        add_image_files(env.rootfs());
        env.import_rootfs(Path::new(env!("CARGO_BIN_EXE_ch05")), "base");
        Some(World { env, driver })
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.env.command_at(Path::new(env!("CARGO_BIN_EXE_ch05")));
        command.args(args);
        if let Some(driver) = self.driver {
            command.env("BERTH_STORAGE_DRIVER", driver);
        }
        command
    }

    pub fn ch05(&self, args: &[&str]) -> Output {
        finish(spawn(&mut self.command(args)))
    }

    /// `ch05 args…`, which must succeed; its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ch05(args);
        out.assert_success();
        out.stdout.trim().to_string()
    }

    /// Removes every container, then checks that nothing of them remains
    /// (no mount, no process, no cgroup, no scratch directory).
    pub fn clean_up(self) {
        let ids = self.ch05(&["ps", "-aq"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(&ids);
            self.ch05(&args).assert_success();
        }
        let scratch = self.env.state.path().join("tmp");
        let left: Vec<_> = fs::read_dir(&scratch)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "scratch directories left: {left:?}");
        assert_nothing_left(&self.env);
    }
}

/// The sorted lines of `diff`.
pub fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}
