//! Chapter 01 end to end: the container's own process tree, host name, namespaces
//! and network stack, checked in what the kernel shows inside against the host.

use berth_tests::kernel::{host_namespace, parse_mountinfo};
use berth_tests::{TestEnv, assert_nothing_left};

/// The namespaces docker unshares for every container.
const UNSHARED: [&str; 5] = ["mnt", "pid", "uts", "ipc", "net"];

#[test]
fn the_command_is_pid_1() {
    let Some(env) = TestEnv::new("the_command_is_pid_1") else {
        return;
    };
    let out = env.sh(&[], "cat /proc/self/stat");
    out.assert_success();
    let pid = out.stdout.split_whitespace().next().unwrap_or_default();
    assert_eq!(pid, "1", "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn the_default_hostname_is_the_short_id() {
    let Some(env) = TestEnv::new("the_default_hostname_is_the_short_id") else {
        return;
    };
    // The bundle path names the id: the bind mount of /etc/hostname shows it as its root.
    let out = env.sh(&[], "hostname; cat /etc/hostname; cat /proc/self/mountinfo");
    out.assert_success();
    let lines = out.lines();
    let (hostname, file) = (lines[0], lines[1]);
    let mounts = parse_mountinfo(&lines[2..].join("\n"));
    let etc_hostname = mounts
        .iter()
        .find(|m| m.mount_point == "/etc/hostname")
        .unwrap_or_else(|| panic!("/etc/hostname is not a mount: {out:#?}"));
    let id = etc_hostname
        .root
        .rsplit('/')
        .nth(1)
        .expect("bundles/<id>/hostname");
    assert_eq!(id.len(), 64, "a 64-hex id: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(hostname, &id[..12]);
    assert_eq!(file, hostname, "/etc/hostname holds the host name");
    assert_nothing_left(&env);
}

#[test]
fn hostname_flag_long_and_short_set_the_uts_name_and_etc_hostname() {
    let Some(env) = TestEnv::new("hostname_flag_long_and_short_set_the_uts_name_and_etc_hostname")
    else {
        return;
    };
    for flag in ["--hostname", "-h"] {
        let out = env.sh(
            &[flag, "berth-box"],
            "hostname; cat /etc/hostname; echo $HOSTNAME",
        );
        out.assert_success();
        assert_eq!(out.lines(), ["berth-box"; 3], "{flag}: {out:#?}");
    }
    assert_nothing_left(&env);
}

#[test]
fn etc_hostname_hosts_and_resolv_conf_are_bind_mounted_files() {
    let Some(env) = TestEnv::new("etc_hostname_hosts_and_resolv_conf_are_bind_mounted_files")
    else {
        return;
    };
    let out = env.sh(&[], "cat /proc/self/mountinfo; echo ==; cat /etc/hosts");
    out.assert_success();
    let (table, hosts) = out.stdout.split_once("==\n").expect("two parts");
    let mounts = parse_mountinfo(table);
    for file in ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] {
        let mount = mounts
            .iter()
            .find(|m| m.mount_point == file)
            .unwrap_or_else(|| panic!("{file} is not a mount point: {table}"));
        // A bind mount of a single file: its root is a file path, not a directory `/`.
        assert!(mount.root.ends_with(&file[5..]), "{mount:?}");
    }
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    // The image's own /etc/hostname was not written through the bind.
    let image_file = std::fs::read_to_string(env.rootfs().join("etc/hostname")).unwrap();
    assert_eq!(image_file, "localhost\n");
    assert_nothing_left(&env);
}

#[test]
fn mount_pid_uts_ipc_and_net_namespaces_differ_from_the_host() {
    let Some(env) = TestEnv::new("mount_pid_uts_ipc_and_net_namespaces_differ_from_the_host")
    else {
        return;
    };
    let script = UNSHARED
        .map(|ns| format!("readlink /proc/self/ns/{ns}"))
        .join("; ");
    let out = env.sh(&[], &script);
    out.assert_success();
    let inside = out.lines();
    assert_eq!(inside.len(), UNSHARED.len(), "{out:#?}");
    for (ns, link) in UNSHARED.iter().zip(inside) {
        assert!(link.starts_with(&format!("{ns}:[")), "{link}");
        assert_ne!(link, host_namespace(ns), "{ns} namespace is the host's");
    }
    assert_nothing_left(&env);
}

#[test]
fn the_cgroup_namespace_is_the_hosts_on_v1_and_private_on_request() {
    let Some(env) = TestEnv::new("the_cgroup_namespace_is_the_hosts_on_v1_and_private_on_request")
    else {
        return;
    };
    let host = host_namespace("cgroup");
    let pure_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let by_default = env.sh(&[], "readlink /proc/self/ns/cgroup");
    by_default.assert_success();
    if pure_v2 {
        assert_ne!(by_default.stdout.trim(), host, "v2: private by default");
    } else {
        assert_eq!(by_default.stdout.trim(), host, "v1: the host's by default");
    }
    let private = env.sh(&["--cgroupns", "private"], "readlink /proc/self/ns/cgroup");
    private.assert_success();
    assert_ne!(private.stdout.trim(), host);
    let shared = env.sh(&["--cgroupns", "host"], "readlink /proc/self/ns/cgroup");
    shared.assert_success();
    assert_eq!(shared.stdout.trim(), host);
    assert_nothing_left(&env);
}

#[test]
fn loopback_is_up_and_the_only_interface() {
    let Some(env) = TestEnv::new("loopback_is_up_and_the_only_interface") else {
        return;
    };
    let out = env.sh(&[], "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok");
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines[0], "lo", "only lo: {out:#?}");
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap();
    const IFF_UP: u32 = 0x1;
    assert_eq!(flags & IFF_UP, IFF_UP, "lo is up: flags {:#x}", flags);
    assert_eq!(lines[2], "ping-ok", "{out:#?}");
    assert_nothing_left(&env);
}
