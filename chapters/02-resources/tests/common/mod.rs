//! Helpers shared by the cgroup driver tests: specs made by chapter 02's own
//! spec edit, fake cgroup trees, and the root-only guard.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};

use berth_engine::ContainerPlan;
use berth_engine::cli::RunArgs;
use berth_engine::oci_spec::runtime::Spec;
use berth_resources::cpuset::CpuList;
use berth_resources::spec_edit::{self, HostFacts};

/// A pid no process can have (above the kernel's largest pid_max, 2^22), so a
/// fake tree never names a real process.
pub const FAKE_PID: i32 = 99_999_999;

/// A short random hex string for unique cgroup and container names.
pub fn random_hex() -> String {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid").expect("kernel uuid");
    String::from_utf8_lossy(&bytes).trim().replace('-', "")[..12].to_string()
}

/// The spec chapter 02 makes for `args`, with the cgroup parent `parent`.
pub fn spec_for(args: &RunArgs, parent: &str, id: &str) -> Spec {
    let host = HostFacts {
        online_cpus: CpuList::parse("0-1").unwrap(),
        cgroup_parent: parent.into(),
        dev: PathBuf::from("/dev"),
    };
    let plan = ContainerPlan {
        image: None,
        id: id.into(),
        args,
        bundle: PathBuf::from("/nonexistent/bundle"),
        rootfs: PathBuf::from("/nonexistent/bundle/rootfs"),
        process_args: vec!["true".into()],
    };
    let mut spec = Spec::default();
    spec_edit::edit(&plan, &mut spec, &host).expect("spec edit");
    spec
}

/// Reads a file of a fake or real tree, trimmed.
pub fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Makes `dir` with `files` (name, content), as the kernel would populate a new cgroup.
pub fn populate(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

/// Whether privileged tests should run: as root yes; otherwise they are
/// skipped, unless `BERTH_REQUIRE_ROOT=1` (CI) makes that a failure.
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("BERTH_REQUIRE_ROOT").as_deref() != Ok("1"),
        "{test} needs root and BERTH_REQUIRE_ROOT=1 is set"
    );
    eprintln!("skipping {test}: needs root");
    false
}

/// A shell that waits for one line on stdin before running `script`, so the
/// test can move it into a cgroup first.
pub fn held_shell(script: &str) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new("sh")
        .args(["-c", &format!("read _; {script}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sh")
}

/// Lets a [`held_shell`] go on.
pub fn release(child: &mut std::process::Child) {
    use std::io::Write;
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
}
