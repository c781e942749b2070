//! End-to-end tests of `exec` as root: the new process is in the container's
//! namespaces and cgroup, sees its files, and is reaped when it ends.

mod common;
mod guard;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use berth_tests::env::eventually;
use common::World;
use guard::Guarded;

fn ns_of(pid: i64, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The pids in container `id`'s v1 pids cgroup.
fn cgroup_pids(w: &World, id: &str) -> Vec<i64> {
    let path = std::path::Path::new("/sys/fs/cgroup/pids")
        .join(&w.env.cgroup_parent)
        .join(id)
        .join("cgroup.procs");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn exec_runs_in_the_container_s_namespaces_and_sees_its_files() {
    let Some(w) = World::new("ch04 exec") else {
        return;
    };
    let w = Guarded::new(w);
    let id = w.daemon(&["--name", "box"], &["sleep", "1000"]);
    let init = w.record(&id)["State"]["Pid"].as_i64().unwrap();

    let out = w.ch04(&["exec", "-d", "box", "touch", "/tmp/made-by-exec"]);
    out.assert_success();
    assert_eq!(out.stdout, "");
    assert!(eventually(Duration::from_secs(5), || {
        w.ch04(&["exec", "box", "ls", "/tmp"])
            .stdout
            .contains("made-by-exec")
    }));

    let out = w.ch04(&["exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (3, "out\n", "err\n")
    );

    let out = w.ch04(&[
        "exec",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "box",
        "sh",
        "-c",
        "echo $A $(pwd) $(id -u)",
    ]);
    out.assert_success();
    assert_eq!(out.stdout, "1 /tmp 65534\n");

    // A detached process: same namespaces and cgroup as the init, reaped once
    // it ends (its parent, the runtime, is gone: the supervisor reaps it).
    w.ch04(&["exec", "-d", "box", "sleep", "777"])
        .assert_success();
    let mut others = Vec::new();
    assert!(eventually(Duration::from_secs(5), || {
        others = cgroup_pids(&w, &id)
            .into_iter()
            .filter(|&p| p != init)
            .collect();
        others.len() == 1
    }));
    let sleeper = others[0];
    for kind in ["pid", "mnt", "net", "uts", "ipc", "cgroup"] {
        assert_eq!(ns_of(sleeper, kind), ns_of(init, kind), "{kind}");
    }
    let cmdline = std::fs::read(format!("/proc/{sleeper}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x00777\x00");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || !std::path::Path::new(&format!(
            "/proc/{sleeper}"
        ))
        .exists()),
        "the killed process was not reaped"
    );
    w.clean_up();
}

#[test]
fn exec_takes_input_with_i_and_answers_as_docker_does() {
    let Some(w) = World::new("ch04 exec answers") else {
        return;
    };
    let w = Guarded::new(w);
    w.daemon(&["--name", "box"], &["sleep", "1000"]);
    let mut child = w
        .command(&["exec", "-i", "box", "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"shout\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "SHOUT\n");

    let out = w.ch04(&["exec", "box", "no-such-command"]);
    assert_eq!(out.code, 127, "{}", out.stderr);
    let out = w.ch04(&["exec", "-d", "box", "no-such-command"]);
    assert_eq!(out.code, 127, "{}", out.stderr);
    assert!(out.stderr.contains("no-such-command"), "{}", out.stderr);

    w.ch04(&["create", "--name", "idle", "busybox", "true"])
        .assert_success();
    let out = w.ch04(&["exec", "idle", "true"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not running"), "{}", out.stderr);
    w.ch04(&["pause", "box"]).assert_success();
    let out = w.ch04(&["exec", "box", "true"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("unpause the container before exec"),
        "{}",
        out.stderr
    );
    w.clean_up();
}
