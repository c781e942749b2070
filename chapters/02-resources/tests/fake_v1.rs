//! The v1 driver against a directory laid out like a v1 `/sys/fs/cgroup`,
//! with the control files a kernel would make in each new cgroup. No root needed.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use berth_engine::Cgroups;
use berth_engine::cli::RunArgs;
use berth_resources::cgroup::CgroupV1;
use common::{FAKE_PID, populate, read, spec_for};

const UNLIMITED: &str = "9223372036854771712";

/// The control files a v1 kernel makes in a new cgroup of `hierarchy`.
fn kernel_files(hierarchy: &str) -> Vec<(&'static str, &'static str)> {
    let mut files = vec![
        ("cgroup.procs", ""),
        ("tasks", ""),
        ("notify_on_release", "0\n"),
    ];
    for controller in hierarchy.split(',') {
        files.extend(match controller {
            "memory" => vec![
                ("memory.limit_in_bytes", UNLIMITED),
                ("memory.memsw.limit_in_bytes", UNLIMITED),
                ("memory.soft_limit_in_bytes", UNLIMITED),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
                ),
            ],
            "cpu" => vec![
                ("cpu.cfs_period_us", "100000\n"),
                ("cpu.cfs_quota_us", "-1\n"),
                ("cpu.shares", "1024\n"),
            ],
            "cpuset" => vec![("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
            "pids" => vec![("pids.max", "max\n")],
            "devices" => vec![
                ("devices.allow", ""),
                ("devices.deny", ""),
                ("devices.list", "a *:* rwm\n"),
            ],
            "freezer" => vec![("freezer.state", "THAWED\n")],
            _ => vec![],
        });
    }
    files
}

/// A v1 tree with `cpu,cpuacct` co-mounted (and its two symlinks), a named
/// systemd hierarchy berth must ignore, and the cgroups of container `id`
/// under `parent` already populated, as the kernel does on mkdir.
fn fake_tree(hierarchies: &[&str], parent: &str, id: &str) -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    for hierarchy in hierarchies {
        let root = tree.path().join(hierarchy);
        populate(&root, &kernel_files(hierarchy));
        if hierarchy.contains("cpuset") {
            populate(&root, &[("cpuset.cpus", "0-1\n"), ("cpuset.mems", "0\n")]);
        }
        populate(&root.join(parent), &kernel_files(hierarchy));
        populate(&root.join(parent).join(id), &kernel_files(hierarchy));
    }
    if hierarchies.contains(&"cpu,cpuacct") {
        symlink("cpu,cpuacct", tree.path().join("cpu")).unwrap();
        symlink("cpu,cpuacct", tree.path().join("cpuacct")).unwrap();
    }
    populate(&tree.path().join("systemd"), &[("cgroup.procs", "")]);
    tree
}

const ALL: &[&str] = &[
    "blkio",
    "cpu,cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "memory",
    "pids",
];

fn container(tree: &Path, hierarchy: &str) -> PathBuf {
    tree.join(hierarchy).join("berth/c1")
}

#[test]
fn enter_writes_limits_then_the_pid_in_every_hierarchy() {
    let tree = fake_tree(ALL, "berth", "c1");
    let args = RunArgs {
        memory: Some("512m".into()),
        memory_reservation: Some("256m".into()),
        cpus: Some("0.5".into()),
        cpu_shares: Some("512".into()),
        cpuset_cpus: Some("1".into()),
        pids_limit: Some("64".into()),
        ..RunArgs::default()
    };
    let spec = spec_for(&args, "berth", "c1");
    CgroupV1::new(tree.path()).enter(&spec, FAKE_PID).unwrap();

    let memory = container(tree.path(), "memory");
    assert_eq!(read(memory.join("memory.limit_in_bytes")), "536870912");
    assert_eq!(
        read(memory.join("memory.memsw.limit_in_bytes")),
        "1073741824"
    );
    assert_eq!(read(memory.join("memory.soft_limit_in_bytes")), "268435456");
    let cpu = container(tree.path(), "cpu,cpuacct");
    assert_eq!(read(cpu.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read(cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(cpu.join("cpu.shares")), "512");
    assert_eq!(read(container(tree.path(), "pids").join("pids.max")), "64");
    let cpuset = container(tree.path(), "cpuset");
    assert_eq!(read(cpuset.join("cpuset.cpus")), "1");
    assert_eq!(
        read(cpuset.join("cpuset.mems")),
        "0",
        "mems copied from the parent"
    );
    let parent = tree.path().join("cpuset/berth");
    assert_eq!(
        read(parent.join("cpuset.cpus")),
        "0-1",
        "the parent level inherits too"
    );
    let devices = container(tree.path(), "devices");
    assert_eq!(read(devices.join("devices.deny")), "a");
    assert_eq!(
        read(devices.join("devices.allow")),
        "c 10:200 rwm",
        "the last default rule"
    );
    for hierarchy in ALL {
        assert_eq!(
            read(container(tree.path(), hierarchy).join("cgroup.procs")),
            FAKE_PID.to_string(),
            "{hierarchy}"
        );
    }
    assert_eq!(
        read(tree.path().join("systemd/cgroup.procs")),
        "",
        "named hierarchies are left alone"
    );
}

#[test]
fn no_limits_leaves_the_kernels_defaults() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    CgroupV1::new(tree.path()).enter(&spec, FAKE_PID).unwrap();
    let memory = container(tree.path(), "memory");
    assert_eq!(read(memory.join("memory.limit_in_bytes")), UNLIMITED);
    assert_eq!(read(container(tree.path(), "pids").join("pids.max")), "max");
    assert_eq!(
        read(container(tree.path(), "devices").join("devices.deny")),
        "a",
        "the allow-list is always on"
    );
}

#[test]
fn swap_is_skipped_without_swap_accounting() {
    let tree = fake_tree(ALL, "berth", "c1");
    let memsw = container(tree.path(), "memory").join("memory.memsw.limit_in_bytes");
    std::fs::remove_file(&memsw).unwrap();
    let args = RunArgs {
        memory: Some("64m".into()),
        ..RunArgs::default()
    };
    CgroupV1::new(tree.path())
        .enter(&spec_for(&args, "berth", "c1"), FAKE_PID)
        .unwrap();
    assert!(!memsw.exists(), "a control file is never created by berth");
    assert_eq!(
        read(container(tree.path(), "memory").join("memory.limit_in_bytes")),
        "67108864"
    );
}

#[test]
fn a_limit_without_its_controller_is_refused_before_anything_is_joined() {
    let without_pids: Vec<&str> = ALL.iter().copied().filter(|h| *h != "pids").collect();
    let tree = fake_tree(&without_pids, "berth", "c1");
    let args = RunArgs {
        pids_limit: Some("10".into()),
        ..RunArgs::default()
    };
    let error = CgroupV1::new(tree.path())
        .enter(&spec_for(&args, "berth", "c1"), FAKE_PID)
        .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("the pids controller is not available"),
        "{error}"
    );
    assert_eq!(error.exit_code(), 125);
    assert_eq!(
        read(container(tree.path(), "memory").join("cgroup.procs")),
        ""
    );
}

#[test]
fn mounts_name_each_hierarchy_once() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let mounts = CgroupV1::new(tree.path()).mounts(&spec).unwrap();
    let names: Vec<&str> = mounts.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ALL);
    assert!(
        mounts
            .iter()
            .all(|(name, dir)| *dir == container(tree.path(), name))
    );
}

#[test]
fn oom_kills_are_read_from_oom_control() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let driver = CgroupV1::new(tree.path());
    assert!(!driver.oom_killed(&spec));
    let control = container(tree.path(), "memory").join("memory.oom_control");
    std::fs::write(&control, "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n").unwrap();
    assert!(driver.oom_killed(&spec));
}

#[test]
fn removing_a_missing_cgroup_is_not_an_error() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "never-made");
    CgroupV1::new(tree.path()).remove(&spec).unwrap();
}

#[test]
fn join_moves_a_process_into_every_hierarchy_and_writes_no_limit() {
    let tree = fake_tree(ALL, "berth", "c1");
    let limited = RunArgs {
        memory: Some("64m".into()),
        pids_limit: Some("10".into()),
        ..RunArgs::default()
    };
    let spec = spec_for(&limited, "berth", "c1");
    CgroupV1::new(tree.path()).join(&spec, FAKE_PID).unwrap();
    for hierarchy in ALL {
        assert_eq!(
            read(container(tree.path(), hierarchy).join("cgroup.procs")),
            FAKE_PID.to_string(),
            "{hierarchy}"
        );
    }
    let memory = container(tree.path(), "memory");
    assert_eq!(read(memory.join("memory.limit_in_bytes")), UNLIMITED);
    assert_eq!(read(container(tree.path(), "pids").join("pids.max")), "max");
    assert_eq!(
        read(container(tree.path(), "devices").join("devices.deny")),
        "",
        "the allow-list is the container's business, written once by enter"
    );
}

#[test]
fn join_refuses_a_missing_cgroup_and_writes_nowhere() {
    let tree = fake_tree(ALL, "berth", "c1");
    let gone = container(tree.path(), "pids");
    std::fs::remove_dir_all(&gone).unwrap();
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let error = CgroupV1::new(tree.path())
        .join(&spec, FAKE_PID)
        .unwrap_err();
    assert_eq!(
        error.message(),
        format!(
            "the container's cgroup {} does not exist: is the container running?",
            gone.display()
        )
    );
    assert!(!gone.exists(), "join never makes a cgroup");
    assert_eq!(
        read(container(tree.path(), "memory").join("cgroup.procs")),
        "",
        "checked everywhere before the first write"
    );
}

#[test]
fn freeze_and_thaw_write_the_freezer_state() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let driver = CgroupV1::new(tree.path());
    let state = container(tree.path(), "freezer").join("freezer.state");
    driver.freeze(&spec).unwrap();
    assert_eq!(read(&state), "FROZEN");
    driver.thaw(&spec).unwrap();
    assert_eq!(read(&state), "THAWED");
}

#[test]
fn freeze_without_the_container_s_cgroup_is_an_error() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "gone");
    assert!(CgroupV1::new(tree.path()).freeze(&spec).is_err());
}

#[test]
fn stats_read_each_hierarchy_and_leave_out_inactive_cache() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let memory = container(tree.path(), "memory");
    populate(
        &memory,
        &[
            ("memory.usage_in_bytes", "10485760\n"),
            ("memory.stat", "cache 0\ntotal_inactive_file 2097152\n"),
        ],
    );
    populate(
        &container(tree.path(), "cpu,cpuacct"),
        &[("cpuacct.usage", "123456789\n")],
    );
    populate(&container(tree.path(), "pids"), &[("pids.current", "3\n")]);
    populate(
        &container(tree.path(), "blkio"),
        &[(
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n",
        )],
    );
    let stats = CgroupV1::new(tree.path()).stats(&spec).unwrap();
    assert_eq!(stats.cpu_ns, 123_456_789);
    assert_eq!(stats.memory_usage, 8 * 1024 * 1024);
    assert_eq!(stats.memory_limit, None, "the kernel's 'unlimited'");
    assert_eq!(stats.pids_current, 3);
    assert_eq!((stats.blkio_read, stats.blkio_write), (4096, 8192));
    std::fs::write(memory.join("memory.limit_in_bytes"), "67108864\n").unwrap();
    let stats = CgroupV1::new(tree.path()).stats(&spec).unwrap();
    assert_eq!(stats.memory_limit, Some(64 << 20));
}

#[test]
fn update_rewrites_limits_and_raises_memory_swap_first() {
    let tree = fake_tree(ALL, "berth", "c1");
    let driver = CgroupV1::new(tree.path());
    let small = RunArgs {
        memory: Some("64m".into()),
        ..RunArgs::default()
    };
    driver
        .enter(&spec_for(&small, "berth", "c1"), FAKE_PID)
        .unwrap();
    let memory = container(tree.path(), "memory");
    let devices = container(tree.path(), "devices");
    std::fs::write(devices.join("devices.allow"), "").unwrap();
    let big = RunArgs {
        memory: Some("256m".into()),
        pids_limit: Some("10".into()),
        ..RunArgs::default()
    };
    driver.update(&spec_for(&big, "berth", "c1")).unwrap();
    assert_eq!(read(memory.join("memory.limit_in_bytes")), "268435456");
    assert_eq!(
        read(memory.join("memory.memsw.limit_in_bytes")),
        "536870912"
    );
    assert_eq!(read(container(tree.path(), "pids").join("pids.max")), "10");
    assert_eq!(read(devices.join("devices.allow")), "", "devices untouched");
    let gone = spec_for(&big, "berth", "gone");
    assert!(driver.update(&gone).is_err());
}

#[test]
fn placement_opens_every_tasks_file_and_the_new_process_writes_itself() {
    let tree = fake_tree(ALL, "berth", "c1");
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let placement = CgroupV1::new(tree.path()).placement(&spec).unwrap();
    assert!(
        placement.born_into().is_none(),
        "v1 has no clone into a cgroup"
    );
    for hierarchy in ALL {
        assert_eq!(read(container(tree.path(), hierarchy).join("tasks")), "");
    }
    placement.move_self().unwrap();
    for hierarchy in ALL {
        let dir = container(tree.path(), hierarchy);
        assert_eq!(
            read(dir.join("tasks")),
            "0",
            "{hierarchy}: `0` is the writer"
        );
        assert_eq!(read(dir.join("cgroup.procs")), "", "{hierarchy}");
    }
    assert_eq!(read(tree.path().join("systemd/cgroup.procs")), "");
}

#[test]
fn placement_refuses_a_missing_cgroup() {
    let tree = fake_tree(ALL, "berth", "c1");
    let gone = container(tree.path(), "freezer");
    std::fs::remove_dir_all(&gone).unwrap();
    let spec = spec_for(&RunArgs::default(), "berth", "c1");
    let error = CgroupV1::new(tree.path()).placement(&spec).unwrap_err();
    assert!(
        error.message().contains(&gone.display().to_string()),
        "{error}"
    );
    assert!(!gone.exists(), "placement never makes a cgroup");
}
