//! End-to-end tests of chapter 04 as root: the seed workflows, run through the
//! `ch04` binary on a busybox image, asserting what the kernel and the state
//! directory show — and that nothing is left once the containers are removed.

use std::process::Stdio;
use std::time::Duration;

use berth_tests::env::{eventually, finish, spawn};
use serde_json::Value;

mod common;

use common::World;

#[test]
fn the_hello_world_daemon_logs_shows_up_and_stops_with_137() {
    let Some(w) = World::new("ch04 daemon") else {
        return;
    };
    let id = w.daemon(
        &[],
        &["sh", "-c", "while true; do echo hello world; sleep 1; done"],
    );
    assert_eq!(id.len(), 64);
    assert!(eventually(Duration::from_secs(5), || {
        w.ch04(&["logs", "--tail", "2", &id]).stdout == "hello world\nhello world\n"
    }));
    let log =
        std::fs::read_to_string(w.containers().join(&id).join(format!("{id}-json.log"))).unwrap();
    let first: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["log"], "hello world\n");
    assert_eq!(first["stream"], "stdout");
    assert!(first["time"].as_str().unwrap().ends_with('Z'));
    let ps = w.ch04(&["ps"]);
    let line = ps.lines()[1].to_string();
    assert!(
        line.starts_with(&id[..12]) && line.contains("Up "),
        "{ps:?}"
    );
    assert!(ps.lines()[0].starts_with("CONTAINER ID   IMAGE"));
    let stop = w.ch04(&["stop", "-t", "1", &id[..8]]);
    assert_eq!(stop.stdout.trim(), &id[..8]);
    let name = w.record(&id)["Name"].as_str().unwrap().to_string();
    assert!(w.status_of(&name).starts_with("Exited (137)"));
    assert_eq!(w.ch04(&["ps", "-q"]).stdout, "");
    // The container's cgroup and its init are gone once it stopped.
    assert!(berth_tests::leftovers::container_cgroups(&w.env.cgroup_parent).is_empty());
    w.clean_up();
}

#[test]
fn a_foreground_container_keeps_its_logs_and_its_exit_code() {
    let Some(w) = World::new("ch04 foreground") else {
        return;
    };
    let out = w.ch04(&["run", "--name", "xx", "busybox", "echo", "out"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "out\n"), "{out:?}");
    assert_eq!(w.ch04(&["logs", "xx"]).stdout, "out\n");
    let failed = w.ch04(&["run", "busybox", "sh", "-c", "echo err >&2; exit 3"]);
    assert_eq!((failed.code, failed.stderr.as_str()), (3, "err\n"));
    let missing = w.ch04(&["run", "--name", "nf", "busybox", "no-such-command"]);
    assert_eq!(missing.code, 127, "{missing:?}");
    assert_eq!(w.status_of("nf"), "Created");
    let mut interactive = w.command(&["run", "-i", "--rm", "busybox", "sh", "-c", "cat; exit 4"]);
    interactive.stdin(Stdio::piped());
    let mut child = spawn(&mut interactive);
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"typed\n").unwrap();
    let typed = finish(child);
    assert_eq!(
        (typed.code, typed.stdout.as_str()),
        (4, "typed\n"),
        "{typed:?}"
    );
    let gone = w.ch04(&["run", "--rm", "--name", "gone", "busybox", "true"]);
    assert_eq!(gone.code, 0, "{gone:?}");
    assert_eq!(w.status_of("gone"), "");
    w.clean_up();
}

#[test]
fn restart_always_brings_back_a_killed_process_and_stop_wins() {
    let Some(w) = World::new("ch04 always") else {
        return;
    };
    let id = w.daemon(
        &["--restart=always", "--name", "daemon_dave"],
        &["sleep", "100"],
    );
    let first = w.record(&id)["State"]["Pid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            let r = w.record(&id);
            r["State"]["RestartCount"] == 1 && r["State"]["Status"] == "running"
        }),
        "{}",
        w.record(&id)
    );
    assert_ne!(w.record(&id)["State"]["Pid"].as_i64().unwrap(), first);
    w.ch04(&["stop", "-t", "1", "daemon_dave"]).assert_success();
    std::thread::sleep(Duration::from_millis(500));
    assert!(w.status_of("daemon_dave").starts_with("Exited (137)"));
    w.clean_up();
}

#[test]
fn on_failure_2_runs_three_times() {
    let Some(w) = World::new("ch04 on-failure") else {
        return;
    };
    let id = w.daemon(
        &["--restart", "on-failure:2"],
        &["sh", "-c", "echo run; exit 1"],
    );
    assert!(eventually(
        Duration::from_secs(10),
        || w.record(&id)["State"]["Status"] == "exited"
    ));
    assert_eq!(w.record(&id)["State"]["RestartCount"], 2);
    assert_eq!(w.ch04(&["logs", &id]).stdout, "run\nrun\nrun\n");
    assert_eq!(w.ch04(&["wait", &id]).stdout, "1\n");
    w.clean_up();
}

#[test]
fn a_killed_supervisor_reads_exited_and_start_works_again() {
    let Some(w) = World::new("ch04 supervisor") else {
        return;
    };
    let id = w.daemon(&["--name", "sv"], &["sleep", "1000"]);
    let supervisor = w.record(&id)["State"]["SupervisorPid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(eventually(Duration::from_secs(2), || w
        .status_of("sv")
        .starts_with("Exited")));
    w.ch04(&["start", "sv"]).assert_success();
    assert!(w.status_of("sv").starts_with("Up"));
    w.clean_up();
}

#[test]
fn twenty_runs_at_once_make_twenty_containers_with_unique_names() {
    let Some(w) = World::new("ch04 twenty") else {
        return;
    };
    let children: Vec<_> = (0..20)
        .map(|_| spawn(&mut w.command(&["run", "-d", "busybox", "sleep", "60"])))
        .collect();
    let mut ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = finish(c);
            out.assert_success();
            out.stdout.trim().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let names = w.ch04(&["ps", "--format", "{{.Names}}"]).stdout;
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 20);
    let mut rm = vec!["rm", "-f"];
    let all = w.ch04(&["ps", "-aq"]).stdout;
    rm.extend(all.split_whitespace());
    assert_eq!(w.ch04(&rm).lines().len(), 20);
    w.clean_up();
}

#[test]
fn invalid_moves_answer_as_docker_does() {
    let Some(w) = World::new("ch04 state machine") else {
        return;
    };
    let id = w.daemon(&["--name", "web"], &["sleep", "100"]);
    let start = w.ch04(&["start", "web"]);
    assert_eq!((start.code, start.stdout.as_str()), (0, "web\n"));
    let rm = w.ch04(&["rm", "web"]);
    assert_eq!(rm.code, 1);
    assert!(
        rm.stderr.contains("You cannot remove a running container"),
        "{rm:?}"
    );
    let conflict = w.ch04(&["run", "-d", "--name", "web", "busybox", "true"]);
    assert_eq!(conflict.code, 125);
    assert!(
        conflict
            .stderr
            .contains(&format!("is already in use by container \"{id}\""))
    );
    let created = w.ch04(&["create", "--name", "idle", "busybox", "true"]);
    created.assert_success();
    let idle_id = created.stdout.trim().to_string();
    assert_eq!(w.ch04(&["stop", "idle"]).code, 0);
    let kill = w.ch04(&["kill", "idle"]);
    assert_eq!(kill.code, 1);
    assert!(kill.stderr.contains(&format!(
        "Cannot kill container: idle: Container {idle_id} is not running"
    )));
    let missing = w.ch04(&["logs", "nothing"]);
    assert_eq!(
        (missing.code, missing.stderr.trim()),
        (1, "ch04: Error: No such container: nothing")
    );
    let several = w.ch04(&["rm", "nothing", "idle"]);
    assert_eq!((several.code, several.stdout.as_str()), (1, "idle\n"));
    assert_eq!(
        w.ch04(&["run", "--rm", "--restart=always", "busybox", "true"])
            .code,
        125
    );
    w.clean_up();
}

#[test]
fn run_rm_frees_the_name_at_once_and_a_removal_cut_short_is_swept() {
    let Some(w) = World::new("ch04 trash") else {
        return;
    };
    // The files are deleted after the client is told, but the container is
    // gone from `ps -a`, and its name free, by the time `run --rm` returns.
    for _ in 0..2 {
        let out = w.ch04(&["run", "--rm", "--name", "again", "busybox", "true"]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(w.ch04(&["ps", "-aq"]).stdout, "");
    }
    let trash = w.containers().parent().unwrap().join("trash");
    // A removal killed after it moved the directory: nobody holds its lock.
    let dead = trash.join("d".repeat(64));
    std::fs::create_dir_all(dead.join("upper/etc")).unwrap();
    std::fs::write(dead.join("upper/etc/file"), "x").unwrap();
    // A removal deleting its directory right now holds the lock: left alone.
    let busy = trash.join("b".repeat(64));
    std::fs::create_dir_all(&busy).unwrap();
    let lock = std::fs::File::open(&busy).unwrap();
    lock.lock().unwrap();
    w.ch04(&["create", "busybox", "true"]).assert_success();
    assert!(!dead.exists(), "the dead removal's directory is swept");
    assert!(
        busy.exists(),
        "a directory being deleted is left to its deleter"
    );
    drop(lock);
    w.ch04(&["container", "prune", "-f"]).assert_success();
    assert!(!busy.exists(), "prune sweeps it once its deleter is gone");
    w.clean_up();
}

#[test]
fn a_run_that_makes_no_container_leaves_no_supervisor() {
    let Some(w) = World::new("ch04 no container") else {
        return;
    };
    // `run` starts the supervisor before it makes the container; when making
    // it fails, the supervisor must leave without a trace.
    let missing = w.ch04(&["run", "--rm", "no-such-image", "true"]);
    assert_eq!(missing.code, 125, "{missing:?}");
    assert!(missing.stderr.contains("No such image"), "{missing:?}");
    let conflict = w.ch04(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_eq!(conflict.code, 125, "{conflict:?}");
    assert!(
        eventually(Duration::from_secs(5), || {
            berth_tests::leftovers::supervisors_of(w.env.state.path()).is_empty()
        }),
        "a supervisor is left"
    );
    assert_eq!(w.ch04(&["ps", "-aq"]).stdout, "");
    w.clean_up();
}

#[test]
fn rm_returns_once_the_container_is_gone_and_its_files_follow() {
    let Some(w) = World::new("ch04 rm background") else {
        return;
    };
    let id = w
        .ch04(&["create", "busybox", "true"])
        .stdout
        .trim()
        .to_string();
    let dir = w.containers().join(&id);
    assert!(dir.join("rootfs").is_dir(), "{}", dir.display());
    let rm = w.ch04(&["rm", &id]);
    assert_eq!(
        (rm.code, rm.stdout.as_str()),
        (0, format!("{id}\n").as_str())
    );
    // Gone from every view when rm returns: directory, listing, name.
    assert!(!dir.exists());
    assert_eq!(w.ch04(&["ps", "-aq"]).stdout, "");
    assert_eq!(w.ch04(&["inspect", &id]).code, 1);
    // The files themselves are deleted by rm's child, soon after.
    let trash = w.containers().parent().unwrap().join("trash");
    assert!(
        eventually(Duration::from_secs(5), || {
            std::fs::read_dir(&trash).map_or(true, |mut entries| entries.next().is_none())
        }),
        "the trash still holds {:?}",
        std::fs::read_dir(&trash).map(|e| e.count())
    );
    w.clean_up();
}

#[test]
fn of_creates_racing_for_one_name_exactly_one_gets_it() {
    let Some(w) = World::new("ch04 one name") else {
        return;
    };
    for round in 0..3 {
        let name = format!("contested-{round}");
        let children: Vec<_> = (0..6)
            .map(|_| spawn(&mut w.command(&["create", "--name", &name, "busybox", "true"])))
            .collect();
        let won = children
            .into_iter()
            .map(finish)
            .filter(|out| out.code == 0)
            .count();
        assert_eq!(won, 1, "round {round}");
        let listed = w.ch04(&["ps", "-a", "--filter", &format!("name={name}"), "-q"]);
        assert_eq!(listed.stdout.lines().count(), 1);
    }
    assert_eq!(w.ch04(&["ps", "-aq"]).stdout.lines().count(), 3);
    w.clean_up();
}
