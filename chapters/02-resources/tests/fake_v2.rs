//! The v2 driver against a directory laid out like a cgroup2 `/sys/fs/cgroup`,
//! with a device filter that records the programs instead of loading them.
//! No root needed.

mod common;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_engine::Cgroups;
use berth_engine::cli::RunArgs;
use berth_resources::cgroup::bpf::{self, Insn};
use berth_resources::cgroup::bpf_sys::{BpfError, DeviceFilter};
use berth_resources::cgroup::{self, CgroupV2, Driver};
use berth_resources::devices;
use common::{FAKE_PID, populate, read, spec_for};

type Installed = Arc<Mutex<Vec<(PathBuf, Vec<Insn>)>>>;

/// Records each program and the cgroup it was meant for.
struct RecordingFilter(Installed);

impl DeviceFilter for RecordingFilter {
    fn install(&self, cgroup: &Path, program: &[Insn]) -> Result<(), BpfError> {
        self.0
            .lock()
            .unwrap()
            .push((cgroup.to_path_buf(), program.to_vec()));
        Ok(())
    }
}

/// The files a v2 kernel makes in a new cgroup whose parent enabled `controllers`.
fn kernel_files(controllers: &str) -> Vec<(&'static str, String)> {
    let mut files = vec![
        ("cgroup.controllers", format!("{controllers}\n")),
        ("cgroup.subtree_control", "\n".into()),
        ("cgroup.procs", String::new()),
        ("cgroup.kill", String::new()),
        ("cgroup.freeze", "0\n".into()),
        ("cgroup.events", "populated 0\nfrozen 0\n".into()),
    ];
    for controller in controllers.split_whitespace() {
        files.extend(match controller {
            "memory" => vec![
                ("memory.max", "max\n".to_string()),
                ("memory.swap.max", "max\n".into()),
                ("memory.low", "0\n".into()),
                (
                    "memory.events",
                    "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n".into(),
                ),
            ],
            "cpu" => vec![
                ("cpu.max", "max 100000\n".to_string()),
                ("cpu.weight", "100\n".into()),
            ],
            "cpuset" => vec![
                ("cpuset.cpus", "\n".to_string()),
                ("cpuset.mems", "\n".into()),
            ],
            "pids" => vec![("pids.max", "max\n".to_string())],
            _ => vec![],
        });
    }
    files
}

fn populate_cgroup(dir: &Path, controllers: &str) {
    let files = kernel_files(controllers);
    let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
    populate(dir, &files);
}

/// A cgroup2 root with the cgroups of `berth/c1` already made, as mkdir would.
fn fake_tree(controllers: &str) -> (tempfile::TempDir, CgroupV2, Installed) {
    let tree = tempfile::tempdir().unwrap();
    populate_cgroup(tree.path(), &format!("{controllers} io hugetlb rdma misc"));
    populate_cgroup(&tree.path().join("berth"), controllers);
    populate_cgroup(&tree.path().join("berth/c1"), controllers);
    let installed = Installed::default();
    let driver =
        CgroupV2::with_device_filter(tree.path(), Box::new(RecordingFilter(installed.clone())));
    (tree, driver, installed)
}

const ALL: &str = "cpuset cpu memory pids";

#[test]
fn enter_enables_controllers_writes_v2_limits_and_installs_the_device_program() {
    let (tree, driver, installed) = fake_tree(ALL);
    let args = RunArgs {
        memory: Some("512m".into()),
        memory_swap: Some("1g".into()),
        memory_reservation: Some("256m".into()),
        cpus: Some("0.5".into()),
        cpu_shares: Some("512".into()),
        cpuset_cpus: Some("1".into()),
        pids_limit: Some("64".into()),
        ..RunArgs::default()
    };
    driver
        .enter(&spec_for(&args, "berth", "c1"), FAKE_PID)
        .unwrap();

    let c1 = tree.path().join("berth/c1");
    assert_eq!(read(c1.join("memory.max")), "536870912");
    assert_eq!(
        read(c1.join("memory.swap.max")),
        "536870912",
        "swap alone: 1g - 512m"
    );
    assert_eq!(read(c1.join("memory.low")), "268435456");
    assert_eq!(read(c1.join("cpu.max")), "50000 100000");
    assert_eq!(read(c1.join("cpu.weight")), "20");
    assert_eq!(read(c1.join("cpuset.cpus")), "1");
    assert_eq!(read(c1.join("pids.max")), "64");
    assert_eq!(read(c1.join("cgroup.procs")), FAKE_PID.to_string());

    assert_eq!(
        read(tree.path().join("cgroup.subtree_control")),
        "+cpu +cpuset +memory +pids"
    );
    assert_eq!(
        read(tree.path().join("berth/cgroup.subtree_control")),
        "+cpu +cpuset +memory +pids"
    );
    assert_eq!(
        read(c1.join("cgroup.subtree_control")),
        "",
        "the leaf enables nothing"
    );

    let installed = installed.lock().unwrap();
    assert_eq!(installed.len(), 1);
    assert_eq!(installed[0].0, c1);
    assert_eq!(
        installed[0].1,
        bpf::device_program(&devices::default_rules())
    );
}

#[test]
fn unlimited_values_are_written_as_max() {
    let (tree, driver, _) = fake_tree(ALL);
    let args = RunArgs {
        memory: Some("64m".into()),
        memory_swap: Some("-1".into()),
        cpu_period: Some("50000".into()),
        pids_limit: Some("-1".into()),
        ..RunArgs::default()
    };
    driver
        .enter(&spec_for(&args, "berth", "c1"), FAKE_PID)
        .unwrap();
    let c1 = tree.path().join("berth/c1");
    assert_eq!(read(c1.join("memory.swap.max")), "max");
    assert_eq!(read(c1.join("cpu.max")), "max 50000");
    assert_eq!(read(c1.join("pids.max")), "max");
}

#[test]
fn default_swap_equals_memory() {
    let (tree, driver, _) = fake_tree(ALL);
    let args = RunArgs {
        memory: Some("64m".into()),
        ..RunArgs::default()
    };
    driver
        .enter(&spec_for(&args, "berth", "c1"), FAKE_PID)
        .unwrap();
    assert_eq!(
        read(tree.path().join("berth/c1/memory.swap.max")),
        "67108864"
    );
}

#[test]
fn already_enabled_controllers_are_not_written_again() {
    let (tree, driver, _) = fake_tree(ALL);
    std::fs::write(
        tree.path().join("cgroup.subtree_control"),
        "cpuset cpu memory pids\n",
    )
    .unwrap();
    driver
        .enter(&spec_for(&RunArgs::default(), "berth", "c1"), FAKE_PID)
        .unwrap();
    assert_eq!(
        read(tree.path().join("cgroup.subtree_control")),
        "cpuset cpu memory pids"
    );
}

#[test]
fn a_limit_without_its_controller_is_refused() {
    let (tree, driver, installed) = fake_tree("cpuset cpu memory");
    let args = RunArgs {
        pids_limit: Some("10".into()),
        ..RunArgs::default()
    };
    let error = driver
        .enter(&spec_for(&args, "berth", "c1"), FAKE_PID)
        .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("the pids controller is not available"),
        "{error}"
    );
    assert_eq!(read(tree.path().join("berth/c1/cgroup.procs")), "");
    assert!(installed.lock().unwrap().is_empty());
}

#[test]
fn oom_kills_are_read_from_memory_events() {
    let (tree, driver, _) = fake_tree(ALL);
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    assert!(!driver.oom_killed(&spec));
    std::fs::write(
        tree.path().join("berth/c1/memory.events"),
        "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
    )
    .unwrap();
    assert!(driver.oom_killed(&spec));
}

#[test]
fn no_mounts_and_removing_a_missing_cgroup_is_fine() {
    let (_tree, driver, _) = fake_tree(ALL);
    assert!(
        driver
            .mounts(&spec_for(&RunArgs::default(), "berth", "c1"))
            .unwrap()
            .is_empty()
    );
    driver
        .remove(&spec_for(&RunArgs::default(), "berth", "never-made"))
        .unwrap();
}

#[test]
fn detect_reads_the_filesystem_type() {
    let plain = tempfile::tempdir().unwrap();
    assert!(matches!(cgroup::detect(plain.path()), Driver::V1(_)));
    for candidate in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        let is_cgroup2 = nix::sys::statfs::statfs(candidate)
            .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
        if is_cgroup2 {
            assert!(
                matches!(cgroup::detect(Path::new(candidate)), Driver::V2(_)),
                "{candidate}"
            );
        }
    }
}

#[test]
fn join_writes_the_pid_and_nothing_else() {
    let (tree, driver, installed) = fake_tree(ALL);
    let limited = RunArgs {
        memory: Some("64m".into()),
        ..RunArgs::default()
    };
    driver
        .join(&spec_for(&limited, "berth", "c1"), FAKE_PID)
        .unwrap();
    let c1 = tree.path().join("berth/c1");
    assert_eq!(read(c1.join("cgroup.procs")), FAKE_PID.to_string());
    assert_eq!(read(c1.join("memory.max")), "max");
    assert_eq!(read(tree.path().join("cgroup.subtree_control")), "");
    assert!(installed.lock().unwrap().is_empty(), "no device program");
}

#[test]
fn join_refuses_a_missing_cgroup() {
    let (tree, driver, _) = fake_tree(ALL);
    let error = driver
        .join(&spec_for(&RunArgs::default(), "berth", "gone"), FAKE_PID)
        .unwrap_err();
    assert!(error.message().contains("does not exist"), "{error}");
    assert_eq!(error.exit_code(), 125);
    assert!(!tree.path().join("berth/gone").exists());
}

#[test]
fn placement_opens_the_cgroup_directory_for_clone3() {
    let (tree, driver, _) = fake_tree(ALL);
    let placement = driver
        .placement(&spec_for(&RunArgs::default(), "berth", "c1"))
        .unwrap();
    let dir = placement.born_into().expect("v2 clones into the cgroup");
    let opened = std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).unwrap();
    assert_eq!(opened, tree.path().join("berth/c1"));
    placement.move_self().unwrap();
    assert_eq!(
        read(tree.path().join("berth/c1/cgroup.procs")),
        "",
        "nothing to move"
    );
    assert!(
        driver
            .placement(&spec_for(&RunArgs::default(), "berth", "gone"))
            .is_err()
    );
}

#[test]
fn freeze_waits_for_cgroup_events_to_say_frozen() {
    let (tree, driver, _) = fake_tree(ALL);
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let dir = tree.path().join("berth/c1");
    // A fake tree's events file does not change by itself: say it is frozen.
    std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    driver.freeze(&spec).unwrap();
    assert_eq!(read(dir.join("cgroup.freeze")), "1");
    std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    driver.thaw(&spec).unwrap();
    assert_eq!(read(dir.join("cgroup.freeze")), "0");
}

#[test]
fn stats_read_the_one_cgroup() {
    let (tree, driver, _) = fake_tree(ALL);
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    populate(
        &tree.path().join("berth/c1"),
        &[
            ("cpu.stat", "usage_usec 2500\nuser_usec 2000\n"),
            ("memory.current", "4194304\n"),
            ("memory.stat", "anon 1\ninactive_file 1048576\n"),
            ("memory.max", "8388608\n"),
            ("pids.current", "2\n"),
            ("io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=1\n"),
        ],
    );
    let stats = driver.stats(&spec).unwrap();
    assert_eq!(stats.cpu_ns, 2_500_000);
    assert_eq!(stats.memory_usage, 3 << 20);
    assert_eq!(stats.memory_limit, Some(8 << 20));
    assert_eq!(stats.pids_current, 2);
    assert_eq!((stats.blkio_read, stats.blkio_write), (10, 20));
}

#[test]
fn update_rewrites_the_limits_of_the_existing_cgroup() {
    let (tree, driver, installed) = fake_tree(ALL);
    let args = RunArgs {
        memory: Some("128m".into()),
        cpus: Some("1".into()),
        ..RunArgs::default()
    };
    driver.update(&spec_for(&args, "berth", "c1")).unwrap();
    let dir = tree.path().join("berth/c1");
    assert_eq!(read(dir.join("memory.max")), "134217728");
    assert_eq!(read(dir.join("cpu.max")), "100000 100000");
    assert!(
        installed.lock().unwrap().is_empty(),
        "no new device program"
    );
    assert!(driver.update(&spec_for(&args, "berth", "gone")).is_err());
}
