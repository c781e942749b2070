//! End-to-end tests of chapter 04's second half as root: pause and unpause,
//! inspect, rename, container prune, attach, top, stats and update, through
//! the `ch04` binary, with what the kernel shows.

mod common;

use std::time::Duration;

use berth_tests::env::eventually;
use common::World;
use serde_json::Value;

/// The `State:` line of `/proc/PID/status`.
fn proc_state(pid: i64) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("State:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The v1 freezer state of the container `id`'s cgroup.
fn freezer_state(w: &World, id: &str) -> String {
    let dir = std::path::Path::new("/sys/fs/cgroup/freezer")
        .join(&w.env.cgroup_parent)
        .join(id);
    std::fs::read_to_string(dir.join("freezer.state"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn pause_freezes_the_processes_and_stop_of_a_paused_container_ends_137() {
    let Some(w) = World::new("ch04 pause") else {
        return;
    };
    let id = w.daemon(&["--name", "frozen"], &["sleep", "100"]);
    let pid = w.record(&id)["State"]["Pid"].as_i64().unwrap();
    let out = w.ch04(&["pause", "frozen"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "frozen\n"), "{out:?}");
    assert!(proc_state(pid).starts_with('D'), "{}", proc_state(pid));
    if std::path::Path::new("/sys/fs/cgroup/freezer").is_dir() {
        assert_eq!(freezer_state(&w, &id), "FROZEN");
    }
    assert_eq!(w.record(&id)["State"]["Status"], "paused");
    assert!(w.status_of("frozen").ends_with("(Paused)"));
    let again = w.ch04(&["pause", "frozen"]);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr.trim(),
        format!("Error response from daemon: Container {id} is already paused")
    );
    let start = w.ch04(&["start", "frozen"]);
    assert_eq!(start.code, 1, "{start:?}");
    assert!(start.stderr.contains("try unpause instead"));

    let out = w.ch04(&["unpause", "frozen"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(proc_state(pid).starts_with('S'), "{}", proc_state(pid));
    assert_eq!(w.record(&id)["State"]["Status"], "running");
    let not_paused = w.ch04(&["unpause", "frozen"]);
    assert_eq!(not_paused.code, 1);
    assert!(not_paused.stderr.contains("is not paused"));

    w.ch04(&["pause", "frozen"]).assert_success();
    let started = std::time::Instant::now();
    let stop = w.ch04(&["stop", "frozen"]);
    assert_eq!(
        (stop.code, stop.stdout.as_str()),
        (0, "frozen\n"),
        "{stop:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "no 10 s wait");
    assert!(w.status_of("frozen").starts_with("Exited (137)"));
    let stopped = w.ch04(&["pause", "frozen"]);
    assert_eq!(stopped.code, 1);
    assert_eq!(
        stopped.stderr.trim(),
        format!("Error response from daemon: Container {id} is not running")
    );
    let events = std::fs::read_to_string(w.env.state.path().join("events.log")).unwrap();
    let actions: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["Action"].to_string())
        .collect();
    assert!(actions.contains(&"\"pause\"".to_string()), "{actions:?}");
    assert!(actions.contains(&"\"unpause\"".to_string()), "{actions:?}");
    w.clean_up();
}

#[test]
fn rm_f_of_a_paused_container_leaves_nothing() {
    let Some(w) = World::new("ch04 pause rm") else {
        return;
    };
    let id = w.daemon(&[], &["sh", "-c", "sleep 100 & sleep 100"]);
    w.ch04(&["pause", &id]).assert_success();
    let rm = w.ch04(&["rm", "-f", &id]);
    assert_eq!(rm.code, 0, "{rm:?}");
    assert!(eventually(Duration::from_secs(5), || w
        .ch04(&["ps", "-aq"])
        .stdout
        .is_empty()));
    w.clean_up();
}

#[test]
fn inspect_shows_containers_in_docker_s_shape_then_images() {
    let Some(w) = World::new("ch04 inspect") else {
        return;
    };
    let options = [
        "--name",
        "web",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--restart",
        "on-failure:3",
        "--label",
        "tier=front",
    ];
    let id = w.daemon(&options, &["sleep", "100"]);
    let out = w.ch04(&["inspect", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    let c = &list[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Name"], "/web");
    assert_eq!(
        (c["Path"].as_str(), c["Args"][0].as_str()),
        (Some("sleep"), Some("100"))
    );
    assert_eq!(c["State"]["Status"], "running");
    assert_eq!(c["State"]["Running"], true);
    assert_eq!(c["State"]["Pid"], w.record(&id)["State"]["Pid"]);
    assert_eq!(c["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(c["HostConfig"]["Memory"], 64 << 20);
    assert_eq!(c["HostConfig"]["NanoCpus"], 500_000_000);
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 3);
    assert_eq!(c["Config"]["Labels"]["tier"], "front");
    assert_eq!(c["Config"]["Image"], "busybox");
    assert!(c["Image"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(c["Mounts"], Value::Array(vec![]));
    assert!(std::path::Path::new(c["LogPath"].as_str().unwrap()).is_file());
    // Keys in docker's order: Id first, then Created, Path, Args, State.
    let keys: Vec<usize> = ["\"Id\"", "\"Created\"", "\"Path\"", "\"State\"", "\"Name\""]
        .iter()
        .map(|k| out.stdout.find(k).unwrap())
        .collect();
    assert!(keys.windows(2).all(|p| p[0] < p[1]), "{keys:?}");

    let both = w.ch04(&["inspect", "web", "busybox", "nothere"]);
    assert_eq!(both.code, 1);
    assert_eq!(both.stderr.trim(), "Error: No such object: nothere");
    let list: Value = serde_json::from_str(&both.stdout).unwrap();
    assert_eq!(list[0]["Name"], "/web");
    assert_eq!(list[1]["RepoTags"][0], "busybox:latest");
    let format = w.ch04(&["inspect", "-f", "{{.State.Status}} {{.Name}}", "web"]);
    assert_eq!(format.stdout, "running /web\n");
    let only = w.ch04(&["container", "inspect", "busybox"]);
    assert_eq!(only.code, 1);
    assert_eq!(only.stderr.trim(), "Error: No such container: busybox");
    let typed = w.ch04(&["inspect", "--type", "image", "-f", "{{.Id}}", "busybox"]);
    assert!(typed.stdout.starts_with("sha256:"), "{typed:?}");
    w.ch04(&["stop", "-t", "1", "web"]).assert_success();
    let stopped = w.ch04(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}",
        "web",
    ]);
    assert_eq!(stopped.stdout, "exited 137 0\n");
    w.clean_up();
}

#[test]
fn rename_keeps_names_unique_and_prune_removes_only_stopped_containers() {
    let Some(w) = World::new("ch04 rename prune") else {
        return;
    };
    let running = w.daemon(&["--name", "keeper"], &["sleep", "100"]);
    let done = w.ch04(&["create", "--name", "old", "busybox", "true"]);
    done.assert_success();
    let done = done.stdout.trim().to_string();
    let out = w.ch04(&["rename", "old", "new"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    assert_eq!(w.record(&done)["Name"], "new");
    assert_eq!(w.status_of("new"), "Created");
    // The old name is free again; the new one is taken.
    w.ch04(&["create", "--name", "old", "busybox", "true"])
        .assert_success();
    let conflict = w.ch04(&["rename", "new", "keeper"]);
    assert_eq!(conflict.code, 1);
    assert!(
        conflict
            .stderr
            .contains("Conflict. The container name \"/keeper\" is already in use"),
        "{conflict:?}"
    );
    assert_eq!(w.record(&done)["Name"], "new");
    let same = w.ch04(&["rename", "new", "new"]);
    assert_eq!(same.code, 1);
    let invalid = w.ch04(&["rename", "new", "no way"]);
    assert!(
        invalid.stderr.contains("Invalid container name"),
        "{invalid:?}"
    );

    let young = w.ch04(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(young.stdout, "Total reclaimed space: 0B\n", "{young:?}");
    let pruned = w.ch04(&["container", "prune", "-f"]);
    assert_eq!(pruned.code, 0, "{pruned:?}");
    let lines = pruned.lines();
    assert_eq!(lines[0], "Deleted Containers:");
    assert_eq!(
        lines.len(),
        5,
        "two ids, a blank line, the total: {lines:?}"
    );
    assert!(lines.contains(&done.as_str()));
    assert!(lines[4].starts_with("Total reclaimed space: "));
    assert_eq!(w.ch04(&["ps", "-aq", "--no-trunc"]).stdout.trim(), running);
    w.clean_up();
}

#[test]
fn ps_sweeps_what_a_dead_create_left_and_spares_one_being_made() {
    let Some(w) = World::new("ps-sweeps-dead-create") else {
        return;
    };
    // Everything of a create but its record: what a kill -9 just before the
    // record was written leaves (the root filesystem, config.json, the name).
    let out = w.ch04(&["create", "--name", "ghost", "busybox", "true"]);
    out.assert_success();
    let dead = out.stdout.trim().to_string();
    std::fs::remove_file(w.containers().join(&dead).join("container.json")).unwrap();
    assert!(w.containers().join(&dead).join("rootfs/bin").is_dir());
    // A container being made: its directory, locked by its create.
    let busy = w.containers().join("b".repeat(64));
    std::fs::create_dir(&busy).unwrap();
    let creating = std::fs::File::open(&busy).unwrap();
    creating.lock().unwrap();

    let out = w.ch04(&["ps", "-aq"]);
    out.assert_success();
    assert_eq!(out.stdout, "", "neither is a container yet");
    assert!(
        !w.containers().join(&dead).exists(),
        "the dead create's directory is gone"
    );
    let trash = w.env.state.path().join("trash");
    assert_eq!(std::fs::read_dir(&trash).unwrap().count(), 0);
    assert!(
        busy.is_dir(),
        "a directory still locked by its create is left alone"
    );
    // Its name pointed at a container that is no more: it is free.
    w.ch04(&["create", "--name", "ghost", "busybox", "true"])
        .assert_success();

    drop(creating);
    w.ch04(&["ps", "-a"]).assert_success();
    assert!(!busy.exists(), "swept once its create is gone");
    w.clean_up();
}
