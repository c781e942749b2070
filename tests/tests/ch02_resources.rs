//! Chapter 02 end to end on cgroup v1 (this machine; v2 runs in the VM test): the
//! limits land in the container's cgroup files, and the kernel enforces them.

use std::path::Path;

use berth_tests::kernel::status_field;
use berth_tests::leftovers::container_cgroups;
use berth_tests::{Output, TestEnv, assert_nothing_left};

/// A world for a v1 test, or `None` when not root or not on cgroup v1.
fn v1_env(test: &str) -> Option<TestEnv> {
    let env = TestEnv::new(test)?;
    if !Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        eprintln!("skipped {test}: these checks read cgroup v1 files (v2 is the VM test's)");
        return None;
    }
    Some(env)
}

/// The container's cgroup path in hierarchy `controller`, from its `/proc/self/cgroup`.
fn cgroup_path<'a>(proc_self_cgroup: &'a str, controller: &str) -> &'a str {
    proc_self_cgroup
        .lines()
        .find_map(|line| {
            let (_, rest) = line.split_once(':')?;
            let (controllers, path) = rest.split_once(':')?;
            controllers
                .split(',')
                .any(|c| c == controller)
                .then_some(path)
        })
        .unwrap_or_else(|| panic!("no {controller} line in {proc_self_cgroup}"))
}

fn sections(out: &Output) -> Vec<&str> {
    out.stdout.split("==\n").collect()
}

#[test]
fn memory_limit_is_the_cgroups_limit_in_bytes() {
    let Some(env) = v1_env("memory_limit_is_the_cgroups_limit_in_bytes") else {
        return;
    };
    let out = env.sh02(
        &["--memory", "64m"],
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo ==; cat /proc/self/cgroup",
    );
    out.assert_success();
    let parts = sections(&out);
    assert_eq!(parts[0].trim(), "67108864", "{out:#?}");
    // The container's cgroup lives under the parent and is gone once it exited.
    let path = cgroup_path(parts[1], "memory");
    let prefix = format!("/{}/", env.cgroup_parent);
    assert!(path.starts_with(&prefix), "{path} under {prefix}");
    assert!(!Path::new("/sys/fs/cgroup/memory").join(&path[1..]).exists());
    assert_nothing_left(&env);
}

#[test]
fn half_a_cpu_sets_the_quota_and_holds_a_busy_loop_near_half_a_core() {
    let Some(env) = v1_env("half_a_cpu_sets_the_quota_and_holds_a_busy_loop_near_half_a_core")
    else {
        return;
    };
    // cpuacct.usage is in nanoseconds; /proc/uptime in seconds with two decimals.
    let script = "cd /sys/fs/cgroup; cat cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us; \
                  cut -d' ' -f1 /proc/uptime; cat cpuacct/cpuacct.usage; \
                  timeout 2 sh -c 'while :; do :; done'; \
                  cut -d' ' -f1 /proc/uptime; cat cpuacct/cpuacct.usage";
    let out = env.sh02(&["--cpus", "0.5"], script);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines[..2], ["50000", "100000"], "{out:#?}");
    let number = |i: usize| -> f64 { lines[i].parse().unwrap() };
    let wall = number(4) - number(2);
    let cpu = (number(5) - number(3)) / 1e9;
    let share = cpu / wall;
    assert!(
        (0.3..=0.7).contains(&share),
        "{cpu:.2} s of CPU in {wall:.2} s: share {share:.2}"
    );
    assert_nothing_left(&env);
}

#[test]
fn a_fork_loop_stops_at_the_pids_limit() {
    let Some(env) = v1_env("a_fork_loop_stops_at_the_pids_limit") else {
        return;
    };
    // The loop runs in a child shell, which gives up at the first failed fork; the
    // outer shell then counts with builtins only, since it cannot fork either.
    let script = "sh -c 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done'; \
                  read max < /sys/fs/cgroup/pids/pids.max; echo $max; \
                  set -- /proc/[0-9]*; echo $#";
    let out = env.sh02(&["--pids-limit", "20"], script);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(lines.first(), Some(&"20"), "{out:#?}");
    let count: u32 = lines[1].trim().parse().unwrap();
    // The outer shell and the sleeps that fitted: near the limit, never above it.
    assert!((15..=20).contains(&count), "{count} processes: {out:#?}");
    assert!(out.stderr.contains("can't fork"), "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn running_out_of_memory_exits_137_and_names_the_oom_killer() {
    let Some(env) = v1_env("running_out_of_memory_exits_137_and_names_the_oom_killer") else {
        return;
    };
    // tail keeps the current line in memory; /dev/zero never ends one.
    let out = env.container(
        berth_tests::Binary::Ch02,
        &["--memory", "16m"],
        &["tail", "/dev/zero"],
    );
    assert_eq!(out.code, 137, "{out:#?}");
    assert!(out.stderr.contains("OOM killer"), "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn cpuset_cpus_pins_the_container() {
    let Some(env) = v1_env("cpuset_cpus_pins_the_container") else {
        return;
    };
    let out = env.sh02(
        &["--cpuset-cpus", "0"],
        "cat /proc/self/status; echo ==; cat /sys/fs/cgroup/cpuset/cpuset.cpus",
    );
    out.assert_success();
    let parts = sections(&out);
    assert_eq!(status_field(parts[0], "Cpus_allowed_list"), "0");
    assert_eq!(parts[1].trim(), "0");
    assert_nothing_left(&env);
}

#[test]
fn a_disk_node_can_be_made_but_not_opened() {
    let Some(env) = v1_env("a_disk_node_can_be_made_but_not_opened") else {
        return;
    };
    let out = env.sh02(&[], "mknod /tmp/sda b 8 0 && echo made; head -c1 /tmp/sda");
    assert_eq!(out.lines(), ["made"], "{out:#?}");
    assert!(
        out.stderr.contains("/tmp/sda: Operation not permitted"),
        "{out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn a_device_flag_adds_the_node_and_allows_it() {
    let Some(env) = v1_env("a_device_flag_adds_the_node_and_allows_it") else {
        return;
    };
    let Some(device) = ["/dev/fuse", "/dev/loop-control"]
        .into_iter()
        .find(|d| Path::new(d).exists())
    else {
        eprintln!("skipped: neither /dev/fuse nor /dev/loop-control on this host");
        return;
    };
    let host = std::fs::metadata(device).unwrap();
    let rdev = std::os::unix::fs::MetadataExt::rdev(&host);
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    let script = format!(
        "stat -c '%F %t:%T' {device}; grep 'c {major}:{minor}' /sys/fs/cgroup/devices/devices.list"
    );
    let out = env.sh02(&["--device", device], &script);
    out.assert_success();
    let lines = out.lines();
    assert_eq!(
        lines[0],
        format!("character special file {major:x}:{minor:x}"),
        "{out:#?}"
    );
    assert_eq!(lines[1], format!("c {major}:{minor} rwm"), "{out:#?}");
    // Without the flag the node is neither there nor allowed.
    let out = env.sh02(&[], &format!("[ -e {device} ] || echo absent"));
    assert_eq!(out.lines(), ["absent"]);
    assert_nothing_left(&env);
}

#[test]
fn a_bad_memory_size_exits_125_with_one_line_and_makes_no_cgroup() {
    let Some(env) = TestEnv::new("a_bad_memory_size_exits_125_with_one_line_and_makes_no_cgroup")
    else {
        return;
    };
    let out = env.container(berth_tests::Binary::Ch02, &["--memory", "12zz"], &["true"]);
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(out.stderr.contains("12zz"), "{out:#?}");
    assert!(container_cgroups(&env.cgroup_parent).is_empty());
    assert_nothing_left(&env);
}
