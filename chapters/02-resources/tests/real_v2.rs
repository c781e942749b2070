//! The v2 driver on a real cgroup2 tree (root only): `/sys/fs/cgroup` on a
//! cgroup v2 host, or the controller-less `/sys/fs/cgroup/unified` of a hybrid
//! one, where the BPF device program and `cgroup.kill` still work. Limits are
//! checked only where the tree offers their controllers.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use berth_engine::Cgroups;
use berth_engine::cli::RunArgs;
use berth_engine::oci_spec::runtime::Spec;
use berth_resources::cgroup::CgroupV2;
use berth_tests::kernel::cgroup2_root;
use common::{held_shell, random_hex, read, release, root_or_skip, spec_for};

/// A unique cgroup parent, removed (with anything left in it) when dropped.
struct TestParent {
    name: String,
    root: PathBuf,
    driver: CgroupV2,
}

impl TestParent {
    fn new(test: &str) -> Option<Self> {
        if !root_or_skip(test) {
            return None;
        }
        let Some(root) = cgroup2_root() else {
            eprintln!("skipping {test}: no cgroup2 tree on this host");
            return None;
        };
        Some(Self {
            name: format!("berth-test-{}", random_hex()),
            driver: CgroupV2::new(&root),
            root,
        })
    }

    fn spec(&self, args: &RunArgs, id: &str) -> Spec {
        spec_for(args, &self.name, id)
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.root.join(&self.name).join(id)
    }

    fn has_controller(&self, controller: &str) -> bool {
        read(self.root.join("cgroup.controllers"))
            .split_whitespace()
            .any(|c| c == controller)
    }
}

impl Drop for TestParent {
    fn drop(&mut self) {
        let parent = self.root.join(&self.name);
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for child in entries.flatten().filter(|e| e.path().is_dir()) {
                let id = child.file_name().to_string_lossy().into_owned();
                let _ = self.driver.remove(&self.spec(&RunArgs::default(), &id));
            }
        }
        let _ = std::fs::remove_dir(&parent);
    }
}

#[test]
fn the_bpf_program_lets_a_node_be_made_but_not_opened() {
    let Some(parent) = TestParent::new("the_bpf_program_lets_a_node_be_made_but_not_opened") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let disk = scratch.path().join("disk");
    let script = format!(
        ": < /dev/null && echo null-opened; \
         echo x > /dev/null && echo null-written; \
         mknod {disk} b 7 0 && echo disk-made; \
         (: < {disk}) 2>/dev/null && echo disk-opened || echo disk-denied; \
         (: < /dev/kmsg) 2>/dev/null && echo kmsg-opened || echo kmsg-denied; \
         mknod {disk}2 c 1 11 && echo kmsg-node-made",
        disk = disk.display()
    );
    let mut child = held_shell(&script);
    let args = RunArgs {
        device: vec!["/dev/full:/dev/full:r".into()],
        ..RunArgs::default()
    };
    let spec = parent.spec(&args, "c1");
    parent.driver.enter(&spec, child.id() as i32).unwrap();
    let cgroups = read(format!("/proc/{}/cgroup", child.id()));
    assert!(
        cgroups
            .lines()
            .any(|l| l.starts_with("0::") && l.ends_with(&format!("/{}/c1", parent.name))),
        "{cgroups}"
    );
    release(&mut child);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "null-opened",
            "null-written",
            "disk-made",
            "disk-denied",
            "kmsg-denied",
            "kmsg-node-made"
        ],
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parent.driver.remove(&spec).unwrap();
    assert!(!parent.dir("c1").exists());
}

#[test]
fn remove_kills_everything_and_removes_the_cgroup() {
    let Some(parent) = TestParent::new("remove_kills_everything_and_removes_the_cgroup") else {
        return;
    };
    let mut child = held_shell("sleep 1000 & sleep 1000 & wait");
    let spec = parent.spec(&RunArgs::default(), "c2");
    parent.driver.enter(&spec, child.id() as i32).unwrap();
    release(&mut child);
    let procs = parent.dir("c2").join("cgroup.procs");
    while read(&procs).lines().count() < 3 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    parent.driver.remove(&spec).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    assert!(!parent.dir("c2").exists());
    assert!(parent.driver.mounts(&spec).unwrap().is_empty());
}

#[test]
fn limits_where_the_tree_has_the_controllers() {
    let Some(parent) = TestParent::new("limits_where_the_tree_has_the_controllers") else {
        return;
    };
    if !parent.has_controller("pids") || !parent.has_controller("memory") {
        eprintln!(
            "skipping limits on {}: no memory/pids controllers there",
            parent.root.display()
        );
        return;
    }
    let mut child = held_shell("head -c 64m /dev/zero | tail > /dev/null");
    let args = RunArgs {
        memory: Some("8m".into()),
        pids_limit: Some("16".into()),
        ..RunArgs::default()
    };
    let spec = parent.spec(&args, "c3");
    parent.driver.enter(&spec, child.id() as i32).unwrap();
    assert_eq!(read(parent.dir("c3").join("memory.max")), "8388608");
    assert_eq!(read(parent.dir("c3").join("pids.max")), "16");
    release(&mut child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert!(parent.driver.oom_killed(&spec));
    parent.driver.remove(&spec).unwrap();
    assert!(!Path::new(&parent.dir("c3")).exists());
}

#[test]
fn a_refused_program_reports_the_verifiers_words() {
    if !root_or_skip("a_refused_program_reports_the_verifiers_words") {
        return;
    }
    use berth_resources::cgroup::bpf::Insn;
    use berth_resources::cgroup::bpf_sys;
    // The second exit can never run: the verifier refuses unreachable code.
    let program = [Insn::mov(0, 1), Insn::exit(), Insn::exit()];
    let error = bpf_sys::load(&program).unwrap_err().to_string();
    assert!(
        error.starts_with("the kernel refused the cgroup device program: EINVAL"),
        "{error}"
    );
    assert!(error.contains("(verifier: unreachable insn 2)"), "{error}");
}
