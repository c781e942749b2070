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
