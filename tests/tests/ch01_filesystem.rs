//! Chapter 01 end to end: the container's file system view — the pivoted root and
//! its propagation, /proc's masked and read-only paths, /sys, /dev, `--read-only`
//! and `-w`.

use std::path::Path;

use berth_tests::kernel::{MountInfo, mount_at, parse_mountinfo};
use berth_tests::{TestEnv, assert_nothing_left};

/// Mount points a container may have, besides `/`: anything else would be a
/// piece of the host (the old root) still attached.
const CONTAINER_MOUNT_PREFIXES: [&str; 6] = [
    "/proc",
    "/dev",
    "/sys",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
];

fn container_mounts(env: &TestEnv, options: &[&str]) -> Vec<MountInfo> {
    let out = env.sh(options, "cat /proc/self/mountinfo");
    out.assert_success();
    parse_mountinfo(&out.stdout)
}

#[test]
fn the_root_is_pivoted_and_no_host_mount_remains() {
    let Some(env) = TestEnv::new("the_root_is_pivoted_and_no_host_mount_remains") else {
        return;
    };
    let out = env.sh(&[], "readlink /proc/1/root; cat /proc/self/mountinfo");
    out.assert_success();
    let (first, table) = out.stdout.split_once('\n').unwrap();
    assert_eq!(first, "/", "/proc/1/root");
    let mounts = parse_mountinfo(table);
    let root = mount_at(&mounts, "/").expect("a mount at /");
    let rootfs = env.rootfs().to_string_lossy().into_owned();
    assert!(
        rootfs.ends_with(&root.root),
        "/ is the root filesystem {rootfs}, not {root:?}"
    );
    for mount in &mounts {
        assert!(
            mount.mount_point == "/"
                || CONTAINER_MOUNT_PREFIXES
                    .iter()
                    .any(|p| mount.mount_point.starts_with(p)),
            "a host mount is still attached: {mount:?}"
        );
        assert!(
            !mount.mount_point.contains(&rootfs),
            "a mount point names a host path: {mount:?}"
        );
    }
    assert_nothing_left(&env);
}

/// Makes the test's root filesystem a shared mount of its own, so the container's
/// root has a peer group to be a slave of; undone when dropped.
struct SharedMount<'a>(&'a Path);

impl<'a> SharedMount<'a> {
    fn new(dir: &'a Path) -> Self {
        use nix::mount::{MsFlags, mount};
        mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>).expect("bind");
        let guard = Self(dir);
        mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .expect("make shared");
        guard
    }

    fn peer_group(&self) -> u32 {
        let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mounts = parse_mountinfo(&table);
        let point = self.0.to_string_lossy();
        mount_at(&mounts, &point)
            .and_then(MountInfo::shared)
            .expect("the bind mount is shared")
    }
}

impl Drop for SharedMount<'_> {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn the_root_is_a_slave_of_the_hosts_mount() {
    let Some(env) = TestEnv::new("the_root_is_a_slave_of_the_hosts_mount") else {
        return;
    };
    {
        let shared = SharedMount::new(env.rootfs());
        let group = shared.peer_group();
        let mounts = container_mounts(&env, &[]);
        let root = mount_at(&mounts, "/").expect("a mount at /");
        assert_eq!(
            root.master(),
            Some(group),
            "/ receives mounts from the host's peer group {group}: {root:?}"
        );
        assert_eq!(
            root.shared(),
            None,
            "/ sends nothing back to the host: {root:?}"
        );
    }
    assert_nothing_left(&env);
}

#[test]
fn masked_files_read_empty_and_accept_writes() {
    let Some(env) = TestEnv::new("masked_files_read_empty_and_accept_writes") else {
        return;
    };
    // /proc/keys exists on every kernel berth runs on; it is a bind of /dev/null.
    let out = env.sh(
        &[],
        "wc -c < /proc/keys; echo x > /proc/keys && echo written; wc -c < /proc/keys; \
         stat -c '%t:%T' /proc/keys; \
         if [ -e /proc/kcore ]; then wc -c < /proc/kcore; else echo absent; fi",
    );
    out.assert_success();
    let kcore_on_host = Path::new("/proc/kcore").exists();
    assert_eq!(
        out.lines(),
        [
            "0",
            "written",
            "0",
            "1:3",
            if kcore_on_host { "0" } else { "absent" }
        ],
        "{out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn masked_directories_are_read_only_and_empty() {
    let Some(env) = TestEnv::new("masked_directories_are_read_only_and_empty") else {
        return;
    };
    if !Path::new("/proc/acpi").is_dir() {
        eprintln!("skipped: this kernel has no /proc/acpi");
        return;
    }
    let out = env.sh(&[], "ls -A /proc/acpi | wc -l; touch /proc/acpi/x");
    assert_eq!(out.lines(), ["0"], "{out:#?}");
    assert!(
        out.stderr.contains("/proc/acpi/x: Read-only file system"),
        "{out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn proc_sys_is_read_only() {
    let Some(env) = TestEnv::new("proc_sys_is_read_only") else {
        return;
    };
    // Writing the value it already has would be harmless even if it got through.
    let out = env.sh(
        &[],
        "cat /proc/sys/kernel/ostype > /tmp/v; cat /tmp/v > /proc/sys/kernel/ostype",
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("Read-only file system"), "{out:#?}");
    let mounts = container_mounts(&env, &[]);
    assert!(
        mount_at(&mounts, "/proc/sys")
            .expect("/proc/sys mount")
            .read_only()
    );
    assert_nothing_left(&env);
}

#[test]
fn sys_and_the_cgroup_file_system_are_read_only() {
    let Some(env) = TestEnv::new("sys_and_the_cgroup_file_system_are_read_only") else {
        return;
    };
    let out = env.sh(&[], "touch /sys/x; touch /sys/fs/cgroup/x");
    assert!(
        out.stderr.contains("touch: /sys/x: Read-only file system"),
        "{out:#?}"
    );
    assert!(
        out.stderr
            .contains("touch: /sys/fs/cgroup/x: Read-only file system"),
        "{out:#?}"
    );
    let mounts = container_mounts(&env, &[]);
    for point in ["/sys", "/sys/fs/cgroup"] {
        let mount = mount_at(&mounts, point).unwrap_or_else(|| panic!("no {point}"));
        assert!(mount.read_only(), "{mount:?}");
    }
    assert_nothing_left(&env);
}

#[test]
fn dev_holds_dockers_nodes_and_file_systems() {
    let Some(env) = TestEnv::new("dev_holds_dockers_nodes_and_file_systems") else {
        return;
    };
    // stat prints major and minor in hex.
    let nodes = "null zero full random urandom tty";
    let out = env.sh(
        &[],
        &format!(
            "cd /dev && stat -c '%n %F %t:%T' {nodes}; [ -e console ] && echo console; \
             ls /dev/pts; echo ==; cat /proc/self/mountinfo"
        ),
    );
    out.assert_success();
    let (listing, table) = out.stdout.split_once("==\n").unwrap();
    let expected = [
        "null character special file 1:3",
        "zero character special file 1:5",
        "full character special file 1:7",
        "random character special file 1:8",
        "urandom character special file 1:9",
        "tty character special file 5:0",
        "ptmx",
    ];
    // No console without -t; a private pts instance shows none of the host's ptys.
    assert_eq!(listing.lines().collect::<Vec<_>>(), expected, "{out:#?}");
    let mounts = parse_mountinfo(table);
    for (point, fs_type) in [
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
    ] {
        let mount = mount_at(&mounts, point).unwrap_or_else(|| panic!("{point} not mounted"));
        assert_eq!(mount.fs_type, fs_type, "{mount:?}");
    }
    assert_nothing_left(&env);
}

#[test]
fn read_only_root_refuses_writes() {
    let Some(env) = TestEnv::new("read_only_root_refuses_writes") else {
        return;
    };
    let out = env.sh(&["--read-only"], "touch /x");
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr.contains("touch: /x: Read-only file system"),
        "{out:#?}"
    );
    assert!(!env.rootfs().join("x").exists());
    let mounts = container_mounts(&env, &["--read-only"]);
    assert!(mount_at(&mounts, "/").unwrap().read_only());
    assert_nothing_left(&env);
}

#[test]
fn a_missing_working_directory_is_created() {
    let Some(env) = TestEnv::new("a_missing_working_directory_is_created") else {
        return;
    };
    let out = env.sh(&["-w", "/some/new/dir"], "pwd");
    out.assert_success();
    assert_eq!(out.lines(), ["/some/new/dir"]);
    assert!(
        env.rootfs().join("some/new/dir").is_dir(),
        "made inside the root"
    );
    assert_nothing_left(&env);
}

#[test]
fn a_working_directory_through_proc_magic_links_is_refused() {
    let Some(env) = TestEnv::new("a_working_directory_through_proc_magic_links_is_refused") else {
        return;
    };
    // CVE-2024-21626: a leaked fd named as the working directory opens the host.
    for workdir in ["/proc/self/fd/3", "/proc/self/cwd", "/proc/1/root"] {
        let out = env.sh(&["-w", workdir], "pwd");
        assert_eq!(out.code, 125, "{workdir}: {out:#?}");
        assert_eq!(out.stdout, "", "{workdir}: the command did not run");
        assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
        assert!(out.stderr.contains(workdir), "{out:#?}");
    }
    assert_nothing_left(&env);
}
