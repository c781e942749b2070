//! The v1 driver on the host's real cgroup v1 hierarchies (root only): each
//! test makes its own parent `berth-test-<random>`, moves a child process into
//! a container cgroup under it, checks what the kernel shows and enforces, and
//! removes everything it made.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use berth_engine::Cgroups;
use berth_engine::cli::RunArgs;
use berth_engine::oci_spec::runtime::Spec;
use berth_resources::cgroup::{self, CgroupV1, Driver};
use common::{held_shell, random_hex, read, release, root_or_skip, spec_for};

const ROOT: &str = "/sys/fs/cgroup";

/// A unique cgroup parent, removed (with anything left in it) when dropped.
struct TestParent {
    name: String,
    driver: CgroupV1,
}

impl TestParent {
    /// A parent on a v1 host, or `None` when the test cannot run here.
    fn new(test: &str) -> Option<Self> {
        if !root_or_skip(test) {
            return None;
        }
        if !matches!(cgroup::detect(Path::new(ROOT)), Driver::V1(_)) {
            eprintln!("skipping {test}: the host is not on cgroup v1");
            return None;
        }
        Some(Self {
            name: format!("berth-test-{}", random_hex()),
            driver: CgroupV1::new(ROOT),
        })
    }

    fn spec(&self, args: &RunArgs, id: &str) -> Spec {
        spec_for(args, &self.name, id)
    }

    fn dirs(&self) -> Vec<PathBuf> {
        let hierarchies = self.driver.hierarchies().unwrap();
        hierarchies
            .iter()
            .map(|h| Path::new(ROOT).join(&h.name).join(&self.name))
            .collect()
    }
}

impl Drop for TestParent {
    fn drop(&mut self) {
        for dir in self.dirs() {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for child in entries.flatten().filter(|e| e.path().is_dir()) {
                    let id = child.file_name().to_string_lossy().into_owned();
                    let _ = self.driver.remove(&self.spec(&RunArgs::default(), &id));
                }
            }
            let _ = std::fs::remove_dir(&dir);
        }
    }
}

fn output(child: Child) -> (std::process::ExitStatus, String) {
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status, text)
}

#[test]
fn enter_applies_limits_and_remove_kills_and_cleans_up() {
    let Some(parent) = TestParent::new("enter_applies_limits_and_remove_kills_and_cleans_up")
    else {
        return;
    };
    let args = RunArgs {
        memory: Some("64m".into()),
        cpus: Some("0.5".into()),
        cpu_shares: Some("512".into()),
        cpuset_cpus: Some("0".into()),
        pids_limit: Some("32".into()),
        ..RunArgs::default()
    };
    let spec = parent.spec(&args, "c1");
    let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    parent.driver.enter(&spec, child.id() as i32).unwrap();

    let cgroups = read(format!("/proc/{}/cgroup", child.id()));
    let suffix = format!("/{}/c1", parent.name);
    for controller in [
        "memory", "cpu", "cpuset", "pids", "devices", "freezer", "blkio",
    ] {
        assert!(
            cgroups.lines().any(|l| l
                .split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|c| c == controller))
                && l.ends_with(&suffix)),
            "{controller} missing in {cgroups}"
        );
    }
    let dir = |hierarchy: &str| {
        Path::new(ROOT)
            .join(hierarchy)
            .join(&parent.name)
            .join("c1")
    };
    assert_eq!(
        read(dir("memory").join("memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(read(dir("cpu").join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(dir("cpu").join("cpu.shares")), "512");
    assert_eq!(read(dir("cpuset").join("cpuset.cpus")), "0");
    assert_eq!(read(dir("pids").join("pids.max")), "32");
    let list = read(dir("devices").join("devices.list"));
    for rule in [
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 136:* rwm",
        "c 10:200 rwm",
    ] {
        assert!(list.lines().any(|l| l == rule), "{rule} missing in {list}");
    }
    assert!(!list.contains("a *:* rwm"), "{list}");
    assert!(!parent.driver.oom_killed(&spec));

    parent.driver.remove(&spec).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the cgroup's process was SIGKILLed"
    );
    for hierarchy in [
        "memory", "cpu", "cpuset", "pids", "devices", "freezer", "blkio",
    ] {
        assert!(!dir(hierarchy).exists(), "{hierarchy} cgroup left behind");
    }
}

#[test]
fn the_allow_list_lets_a_node_be_made_but_not_opened() {
    let Some(parent) = TestParent::new("the_allow_list_lets_a_node_be_made_but_not_opened") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let disk = scratch.path().join("disk");
    let script = format!(
        ": < /dev/null && echo null-opened; \
         mknod {disk} b 7 0 && echo disk-made; \
         (: < {disk}) 2>/dev/null && echo disk-opened || echo disk-denied; \
         (: < /dev/kmsg) 2>/dev/null && echo kmsg-opened || echo kmsg-denied",
        disk = disk.display()
    );
    let mut child = held_shell(&script);
    let spec = parent.spec(&RunArgs::default(), "c2");
    parent.driver.enter(&spec, child.id() as i32).unwrap();
    release(&mut child);
    let (status, text) = output(child);
    assert!(status.success(), "{text}");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["null-opened", "disk-made", "disk-denied", "kmsg-denied"]
    );
    parent.driver.remove(&spec).unwrap();
}

#[test]
fn the_oom_killer_is_seen() {
    let Some(parent) = TestParent::new("the_oom_killer_is_seen") else {
        return;
    };
    // tail keeps a line in memory until its newline: 64 MiB of zeros has none.
    let mut child = held_shell("head -c 64m /dev/zero | tail > /dev/null");
    let spec = parent.spec(
        &RunArgs {
            memory: Some("8m".into()),
            ..RunArgs::default()
        },
        "c3",
    );
    parent.driver.enter(&spec, child.id() as i32).unwrap();
    release(&mut child);
    let (status, text) = output(child);
    assert_eq!(status.code(), Some(137), "tail ends by SIGKILL: {text}");
    assert!(parent.driver.oom_killed(&spec));
    parent.driver.remove(&spec).unwrap();
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit_and_is_removed() {
    let Some(parent) = TestParent::new("a_fork_bomb_stops_at_the_pids_limit_and_is_removed") else {
        return;
    };
    let mut child = held_shell("while :; do sleep 1000 & done");
    let spec = parent.spec(
        &RunArgs {
            pids_limit: Some("20".into()),
            ..RunArgs::default()
        },
        "c4",
    );
    parent.driver.enter(&spec, child.id() as i32).unwrap();
    release(&mut child);
    let pids = Path::new(ROOT).join("pids").join(&parent.name).join("c4");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("fork") || line.contains("Resource temporarily unavailable"),
        "{line}"
    );
    assert!(
        read(pids.join("pids.events")).starts_with("max "),
        "forks were refused"
    );
    let sleepers: Vec<String> = read(pids.join("cgroup.procs"))
        .lines()
        .map(String::from)
        .collect();
    assert!(sleepers.len() >= 19, "{sleepers:?}");
    parent.driver.remove(&spec).unwrap();
    // dash gives up on its own when fork fails; either way it is gone now.
    child.wait().unwrap();
    for pid in &sleepers {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "sleep {pid} survived: {state}"
        );
    }
    assert!(!pids.exists());
}
