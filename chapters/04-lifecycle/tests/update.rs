//! End-to-end tests of `update` as root: the new limits reach the running
//! container's cgroup, the restart policy reaches its record.

mod common;
mod guard;

use std::path::PathBuf;

use common::World;
use guard::Guarded;

/// A file of container `id`'s v1 cgroup under `controller`.
fn cgroup_file(w: &World, controller: &str, id: &str, file: &str) -> String {
    let path = PathBuf::from("/sys/fs/cgroup")
        .join(controller)
        .join(&w.env.cgroup_parent)
        .join(id)
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

#[test]
fn update_changes_the_running_container_s_cgroup_and_restart_policy() {
    let Some(w) = World::new("ch04 update") else {
        return;
    };
    let w = Guarded::new(w);
    let id = w.daemon(&["--name", "lim", "--memory", "64m"], &["sleep", "1000"]);
    assert_eq!(
        cgroup_file(&w, "memory", &id, "memory.limit_in_bytes"),
        "67108864"
    );

    let out = w.ch04(&[
        "update",
        "--memory",
        "128m",
        "--pids-limit",
        "20",
        "--cpus",
        "0.5",
        "--restart",
        "always",
        "lim",
    ]);
    out.assert_success();
    assert_eq!(out.stdout, "lim\n");
    assert_eq!(
        cgroup_file(&w, "memory", &id, "memory.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(cgroup_file(&w, "pids", &id, "pids.max"), "20");
    assert_eq!(cgroup_file(&w, "cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(
        w.record(&id)["RestartPolicy"]["Name"],
        "always",
        "{}",
        w.record(&id)
    );

    // The spec keeps the new limit for the next start.
    let spec: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.containers().join(&id).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(spec["linux"]["resources"]["memory"]["limit"], 134217728);

    // The policy is in force: a killed init comes back.
    let pid = w.record(&id)["State"]["Pid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let back = berth_tests::env::eventually(std::time::Duration::from_secs(10), || {
        let r = w.record(&id);
        r["State"]["RestartCount"] == 1 && r["State"]["Status"] == "running"
    });
    assert!(back, "{}", w.record(&id));
    assert_eq!(
        cgroup_file(&w, "memory", &id, "memory.limit_in_bytes"),
        "134217728"
    );
    w.clean_up();
}

#[test]
fn update_answers_as_docker_does() {
    let Some(w) = World::new("ch04 update answers") else {
        return;
    };
    let w = Guarded::new(w);
    w.ch04(&["create", "--name", "gone", "--rm", "busybox", "true"])
        .assert_success();
    let out = w.ch04(&["update", "gone"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("you must provide one or more flags"),
        "{}",
        out.stderr
    );
    let out = w.ch04(&["update", "--restart", "always", "gone"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("AutoRemove is enabled"),
        "{}",
        out.stderr
    );
    let out = w.ch04(&["update", "--memory", "12zz", "gone"]);
    assert_eq!(out.code, 125);
    // A container that does not run gets the new limit in its spec only.
    let out = w.ch04(&["update", "--memory", "32m", "gone"]);
    out.assert_success();
    w.clean_up();
}
