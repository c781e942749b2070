//! The `ch02` binary end to end (root only): real containers from a busybox
//! root filesystem, with limits the kernel enforces. Each test has its own
//! state root and cgroup parent, and removes both.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{random_hex, root_or_skip};

/// One test's world: a root filesystem, a state root, a cgroup parent.
struct World {
    rootfs: tempfile::TempDir,
    state: tempfile::TempDir,
    parent: String,
}

impl World {
    fn new(test: &str) -> Option<Self> {
        if !root_or_skip(test) {
            return None;
        }
        Some(Self {
            rootfs: berth_tests::rootfs::build_temp().expect("busybox root filesystem"),
            state: tempfile::tempdir().unwrap(),
            parent: format!("berth-test-{}", random_hex()),
        })
    }

    /// `ch02 run --rootfs R <args…>`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ch02"))
            .arg("run")
            .arg("--rootfs")
            .arg(self.rootfs.path())
            .args(args)
            .env("BERTH_ROOT", self.state.path())
            .env("BERTH_CGROUP_PARENT", &self.parent)
            .output()
            .expect("run ch02")
    }

    /// The parent's directory in every hierarchy (v1) or in the one tree (v2).
    fn parent_dirs(&self) -> Vec<PathBuf> {
        let root = Path::new("/sys/fs/cgroup");
        let mut dirs = vec![root.join(&self.parent)];
        if let Ok(entries) = std::fs::read_dir(root) {
            dirs.extend(entries.flatten().map(|e| e.path().join(&self.parent)));
        }
        dirs.into_iter().filter(|d| d.is_dir()).collect()
    }

    /// Whether any container cgroup is left under the parent.
    fn leftovers(&self) -> Vec<PathBuf> {
        self.parent_dirs()
            .iter()
            .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for dir in self.parent_dirs() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn out_of_memory_exits_137_and_says_why() {
    let Some(world) = World::new("out_of_memory_exits_137_and_says_why") else {
        return;
    };
    // tail keeps a line in memory until its newline; /dev/zero has none.
    let out = world.run(&["-m", "8m", "tail", "/dev/zero"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(137), "{stderr}");
    assert!(stderr.contains("OOM"), "{stderr}");
    assert!(world.leftovers().is_empty(), "{:?}", world.leftovers());
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let Some(world) = World::new("a_fork_bomb_stops_at_the_pids_limit") else {
        return;
    };
    let script = "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo done";
    let out = world.run(&["--pids-limit", "10", "sh", "-c", script]);
    let (_, stderr) = text(&out);
    assert!(stderr.contains("can't fork"), "{stderr}");
    assert!(
        world.leftovers().is_empty(),
        "the sleeps' cgroup was removed"
    );
}

#[test]
fn half_a_cpu_holds_a_busy_loop_near_half_a_core() {
    let Some(world) = World::new("half_a_cpu_holds_a_busy_loop_near_half_a_core") else {
        return;
    };
    let busy = "time timeout 2 sh -c 'while :; do :; done'";
    let out = world.run(&["--cpus", "0.5", "sh", "-c", busy]);
    let (_, stderr) = text(&out);
    // busybox time: "real\t0m 2.01s" / "user\t0m 1.00s" / "sys\t0m 0.00s"
    let seconds = |label: &str| -> f64 {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{stderr}"));
        let value = line
            .rsplit('m')
            .next()
            .unwrap()
            .trim()
            .trim_end_matches('s');
        value.trim().parse().unwrap()
    };
    let share = (seconds("user") + seconds("sys")) / seconds("real");
    assert!(
        (0.35..=0.6).contains(&share),
        "CPU share {share:.2}: {stderr}"
    );
}

#[test]
fn a_disk_node_can_be_made_but_not_opened() {
    let Some(world) = World::new("a_disk_node_can_be_made_but_not_opened") else {
        return;
    };
    let script = "mknod /tmp/vda b 254 0 && echo made; cat /tmp/vda; grep CapEff /proc/self/status";
    let out = world.run(&["sh", "-c", script]);
    let (stdout, stderr) = text(&out);
    assert!(stdout.starts_with("made\n"), "{stdout}{stderr}");
    assert!(
        stderr.contains("can't open '/tmp/vda': Operation not permitted"),
        "{stderr}"
    );
    assert!(
        stdout.contains("CapEff:\t00000000a80425fb"),
        "docker's set, CAP_MKNOD included: {stdout}"
    );
}

#[test]
fn the_cgroup_filesystem_is_read_only_and_shows_the_limits() {
    let Some(world) = World::new("the_cgroup_filesystem_is_read_only_and_shows_the_limits") else {
        return;
    };
    let script = "touch /sys/fs/cgroup/x; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null";
    let out = world.run(&["-m", "64m", "sh", "-c", script]);
    let (stdout, stderr) = text(&out);
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert_eq!(stdout.trim(), "67108864");
}

#[test]
fn bad_values_exit_125_with_one_line() {
    let Some(world) = World::new("bad_values_exit_125_with_one_line") else {
        return;
    };
    for (args, message) in [
        (
            &["-m", "12zz"][..],
            "invalid argument \"12zz\" for \"-m, --memory\" flag: invalid size: '12zz'",
        ),
        (&["-m", "4m"][..], "Minimum memory limit allowed is 6MB"),
        (
            &["--cpus", "1", "--cpu-quota", "50000"][..],
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            &["--cpuset-cpus", "0-63"][..],
            "Requested CPUs are not available - requested 0-63",
        ),
        (
            &["--device", "/dev/berth-nope"][..],
            "error gathering device information",
        ),
    ] {
        let out = world.run(&[args, &["true"]].concat());
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(world.leftovers().is_empty());
}
