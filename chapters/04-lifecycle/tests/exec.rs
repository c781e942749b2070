//! End-to-end tests of `exec` as root: the new process is in the container's
//! namespaces and cgroup, sees its files, and is reaped when it ends.

mod common;
mod guard;
mod terminal;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use berth_tests::env::eventually;
use common::World;
use guard::Guarded;
use terminal::Terminal;

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

    // docker 20.10 says 126 for any process that cannot start.
    let out = w.ch04(&["exec", "box", "no-such-command"]);
    assert_eq!(out.code, 126, "{}", out.stderr);
    assert!(out.stderr.contains("no-such-command"), "{}", out.stderr);
    let out = w.ch04(&["exec", "box", "/"]);
    assert_eq!(out.code, 126, "{}", out.stderr);
    let out = w.ch04(&["exec", "-d", "box", "no-such-command"]);
    assert_eq!(out.code, 126, "{}", out.stderr);
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

/// A field of `/proc/PID/status`, e.g. `CapEff`.
fn status_field(pid: i64, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// The one process in container `id`'s cgroup besides its init, once there is one.
fn the_exec_d_process(w: &World, id: &str) -> i64 {
    let init = w.record(id)["State"]["Pid"].as_i64().unwrap();
    let mut found = 0;
    assert!(
        eventually(Duration::from_secs(5), || {
            let others: Vec<i64> = cgroup_pids(w, id)
                .into_iter()
                .filter(|&p| p != init)
                .collect();
            found = others.first().copied().unwrap_or(0);
            others.len() == 1
        }),
        "no exec'd process in the container"
    );
    found
}

fn is_gone(pid: i64) -> bool {
    // A zombie still has a /proc entry: only a reaped process is gone.
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn exec_it_detaches_with_the_keys_and_the_shell_runs_on() {
    let Some(w) = World::new("ch04 exec -it detach") else {
        return;
    };
    let w = Guarded::new(w);
    let id = w.daemon(&["--name", "box"], &["sleep", "1000"]);
    let mut term = Terminal::start(w.command(&["exec", "-it", "box", "sh"]));
    term.type_bytes(b"echo in-$((3*4))\n");
    term.expect("in-12");
    term.type_bytes(b"\x10\x11");
    // docker exec's answer to the detach keys: a line and exit code 1.
    assert_eq!(term.exit_code(), 1, "{}", term.transcript());
    term.expect("read escape sequence");
    let shell = the_exec_d_process(&w, &id);
    assert_eq!(
        std::fs::read(format!("/proc/{shell}/cmdline")).unwrap(),
        b"sh\x00"
    );
    let supervisor = w.record(&id)["State"]["SupervisorPid"].as_i64().unwrap();
    assert_eq!(status_field(shell, "PPid"), supervisor.to_string());
    assert_eq!(status_field(shell, "State").chars().next(), Some('S'));

    // Other keys, split across reads; a broken match goes on to the shell.
    let mut term =
        Terminal::start(w.command(&["exec", "-it", "--detach-keys", "ctrl-a,d", "box", "sh"]));
    term.type_bytes(b"echo \x01");
    std::thread::sleep(Duration::from_millis(100));
    term.type_bytes(b"x-$((6*7))\n");
    term.expect("x-42");
    term.type_bytes(b"\x01");
    std::thread::sleep(Duration::from_millis(100));
    term.type_bytes(b"d");
    assert_eq!(term.exit_code(), 1, "{}", term.transcript());

    // The container's end takes its exec'd processes along: no process of
    // it and no zombie is left (clean_up checks the cgroup and supervisor).
    w.ch04(&["rm", "-f", "box"]).assert_success();
    assert!(
        eventually(Duration::from_secs(5), || is_gone(shell)),
        "the detached shell outlived its container"
    );
    w.clean_up();
}

#[test]
fn a_killed_exec_command_leaves_its_process_to_the_supervisor() {
    let Some(w) = World::new("ch04 exec killed") else {
        return;
    };
    let w = Guarded::new(w);
    let id = w.daemon(&["--name", "box"], &["sleep", "1000"]);
    let mut cli = w.command(&["exec", "box", "sleep", "777"]).spawn().unwrap();
    let sleeper = the_exec_d_process(&w, &id);
    cli.kill().unwrap();
    cli.wait().unwrap();
    // As under docker's shim, the process runs on; its parent is the
    // supervisor, never the host's pid 1.
    std::thread::sleep(Duration::from_millis(200));
    let supervisor = w.record(&id)["State"]["SupervisorPid"].as_i64().unwrap();
    assert_eq!(status_field(sleeper, "PPid"), supervisor.to_string());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sleeper as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || is_gone(sleeper)),
        "the supervisor did not reap the orphaned process"
    );
    // The supervisor still serves: a new exec gets its code.
    let out = w.ch04(&["exec", "box", "sh", "-c", "exit 5"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    w.clean_up();
}

#[test]
fn exec_privileged_holds_every_capability_the_engine_holds() {
    let Some(w) = World::new("ch04 exec --privileged") else {
        return;
    };
    let w = Guarded::new(w);
    w.daemon(&["--name", "box"], &["sleep", "1000"]);
    let caps = |extra: &[&str]| {
        let mut args = vec!["exec"];
        args.extend(extra);
        args.extend(["box", "grep", "-E", "^(CapEff|CapBnd|Seccomp):"]);
        args.push("/proc/self/status");
        let out = w.ch04(&args);
        out.assert_success();
        out.stdout
    };
    let engine = status_field(std::process::id() as i64, "CapBnd");
    let privileged = caps(&["--privileged"]);
    assert!(
        privileged.contains(&format!("CapEff:\t{engine}")),
        "{privileged}"
    );
    assert!(
        privileged.contains(&format!("CapBnd:\t{engine}")),
        "{privileged}"
    );
    // docker keeps the container's seccomp filter for a privileged exec.
    assert!(privileged.contains("Seccomp:\t2"), "{privileged}");
    let plain = caps(&[]);
    assert!(plain.contains("CapEff:\t00000000a80425fb"), "{plain}");
    w.clean_up();
}
