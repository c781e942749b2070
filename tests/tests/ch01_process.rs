//! Chapter 01 end to end: the container's process — inherited file descriptors,
//! environment, exit codes, signals, `--init` and `-t`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

use berth_tests::env::{eventually, finish, spawn};
use berth_tests::leftovers::{files_in, processes_in};
use berth_tests::pty::run_on_terminal;
use berth_tests::{Binary, TestEnv, assert_nothing_left};

#[test]
fn only_stdio_reaches_the_container_even_with_an_inherited_fd() {
    let Some(env) = TestEnv::new("only_stdio_reaches_the_container_even_with_an_inherited_fd")
    else {
        return;
    };
    let mut command = env.container_command(Binary::Ch01, &[], &["ls", "/proc/self/fd"]);
    // SAFETY: open and dup2 are async-signal-safe; the path is a static C string.
    unsafe {
        command.pre_exec(|| {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            // dup2 clears close-on-exec on the copy: ch01 really inherits fd 7.
            if fd < 0 || libc::dup2(fd, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = finish(spawn(&mut command));
    out.assert_success();
    // 3 is the directory ls itself opened to list the others.
    assert_eq!(out.lines(), ["0", "1", "2", "3"], "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn the_environment_has_dockers_defaults() {
    let Some(env) = TestEnv::new("the_environment_has_dockers_defaults") else {
        return;
    };
    let out = env.container(Binary::Ch01, &["-h", "envbox"], &["env"]);
    out.assert_success();
    let mut vars = out.lines();
    vars.sort();
    assert_eq!(
        vars,
        [
            "HOME=/root",
            "HOSTNAME=envbox",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ],
        "{out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn env_flags_and_env_files_add_variables() {
    let Some(env) = TestEnv::new("env_flags_and_env_files_add_variables") else {
        return;
    };
    let file = env.state.path().join("vars.env");
    std::fs::write(&file, "# a comment\nB=2\n\nC=from-file\n").unwrap();
    let file = file.to_string_lossy().into_owned();
    let options = ["-e", "A=1", "--env-file", &file, "-e", "C=from-flag"];
    let out = env.container(Binary::Ch01, &options, &["env"]);
    out.assert_success();
    let vars = out.lines();
    for expected in ["A=1", "B=2", "C=from-flag", "HOME=/root"] {
        assert!(vars.contains(&expected), "{expected}: {out:#?}");
    }
    assert!(
        !vars.contains(&"C=from-file"),
        "-e wins over the file: {out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn a_user_without_a_passwd_entry_gets_home_slash_and_group_0() {
    let Some(env) = TestEnv::new("a_user_without_a_passwd_entry_gets_home_slash_and_group_0")
    else {
        return;
    };
    let out = env.sh(&["-u", "4242"], "echo $HOME; id -u; id -g");
    out.assert_success();
    assert_eq!(out.lines(), ["/", "4242", "0"]);
    assert_nothing_left(&env);
}

#[test]
fn a_bare_env_name_takes_the_value_from_the_callers_environment() {
    let Some(env) = TestEnv::new("a_bare_env_name_takes_the_value_from_the_callers_environment")
    else {
        return;
    };
    let mut command = env.container_command(
        Binary::Ch01,
        &["-e", "BERTH_E2E_FROM_HOST", "-e", "BERTH_E2E_SURELY_UNSET"],
        &["env"],
    );
    command
        .env("BERTH_E2E_FROM_HOST", "passed")
        .env_remove("BERTH_E2E_SURELY_UNSET");
    let out = finish(spawn(&mut command));
    out.assert_success();
    let vars = out.lines();
    assert!(vars.contains(&"BERTH_E2E_FROM_HOST=passed"), "{out:#?}");
    assert!(
        !vars.iter().any(|v| v.starts_with("BERTH_E2E_SURELY_UNSET")),
        "an unset name is left out, as docker does: {out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn stdin_reaches_the_container_only_with_interactive() {
    let Some(env) = TestEnv::new("stdin_reaches_the_container_only_with_interactive") else {
        return;
    };
    for (options, expected) in [(&["-i"][..], "typed\n"), (&[], "")] {
        let mut command = env.container_command(Binary::Ch01, options, &["cat"]);
        command.stdin(Stdio::piped());
        let mut child = spawn(&mut command);
        let mut stdin = child.stdin.take().unwrap();
        // Without -i ch01 never reads it: a failed write (closed pipe) is fine.
        let _ = stdin.write_all(b"typed\n");
        drop(stdin);
        let out = finish(child);
        out.assert_success();
        assert_eq!(out.stdout, expected, "{options:?}");
    }
    assert_nothing_left(&env);
}

#[test]
fn a_relative_working_directory_exits_125() {
    let Some(env) = TestEnv::new("a_relative_working_directory_exits_125") else {
        return;
    };
    let out = env.sh(&["-w", "relative/dir"], "pwd");
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(out.stderr.contains("absolute path"), "{out:#?}");
    assert!(!env.rootfs().join("relative").exists());
    assert_nothing_left(&env);
}

#[test]
fn exit_statuses_pass_through() {
    let Some(env) = TestEnv::new("exit_statuses_pass_through") else {
        return;
    };
    let cases: [(&[&str], i32); 3] = [
        (&["true"], 0),
        (&["false"], 1),
        (&["sh", "-c", "exit 3"], 3),
    ];
    for (cmd, code) in cases {
        let out = env.container(Binary::Ch01, &[], cmd);
        assert_eq!(out.code, code, "{cmd:?}: {out:#?}");
        assert_eq!(out.stderr, "", "{cmd:?}");
    }
    assert_nothing_left(&env);
}

#[test]
fn a_missing_command_exits_127_and_an_unexecutable_one_126() {
    let Some(env) = TestEnv::new("a_missing_command_exits_127_and_an_unexecutable_one_126") else {
        return;
    };
    for (cmd, code) in [
        ("/nonexistent", 127),
        ("nonexistent-command", 127),
        ("/", 126),
        ("/etc/passwd", 126),
    ] {
        let out = env.container(Binary::Ch01, &[], &[cmd]);
        assert_eq!(out.code, code, "{cmd}: {out:#?}");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {out:#?}");
        assert!(out.stderr.contains(cmd), "names the command: {out:#?}");
        assert_nothing_left(&env);
    }
}

#[test]
fn pid_1_ignores_a_signal_it_has_no_handler_for() {
    let Some(env) = TestEnv::new("pid_1_ignores_a_signal_it_has_no_handler_for") else {
        return;
    };
    // The kernel protects a namespace's init from its own namespace, even from SIGKILL.
    let out = env.sh(&[], "kill -TERM $$; kill -KILL $$; echo survived");
    out.assert_success();
    assert_eq!(out.lines(), ["survived"]);
    assert_nothing_left(&env);
}

/// The pid of the container's init: the one child of the `ch01` process.
fn container_init(ch01: u32) -> Option<i32> {
    let children = std::fs::read_to_string(format!("/proc/{ch01}/task/{ch01}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// Starts `ch01 run … sh -c 'touch /tmp/ready; exec sleep 30'` and returns it with
/// the host pid of the container's init once the command runs.
#[test]
fn the_next_run_cleans_up_after_a_killed_run() {
    let Some(env) = TestEnv::new("the_next_run_cleans_up_after_a_killed_run") else {
        return;
    };
    let script = "touch /tmp/ready; exec sleep 30";
    let mut command =
        env.container_command(Binary::Ch02, &["--memory", "32m"], &["sh", "-c", script]);
    let mut child = spawn(&mut command);
    let ready = env.rootfs().join("tmp/ready");
    assert!(
        eventually(Duration::from_secs(10), || ready.exists()),
        "the command started"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The killed run left its bundle, runtime state and cgroup behind ...
    assert!(
        env.cgroup_parent_dirs().iter().any(|dir| std::fs::read_dir(dir).is_ok_and(|d| d.flatten().any(|e| e.path().is_dir()))),
        "a killed run leaves its cgroup until the next run"
    );
    // ... and the next run, whatever it runs, repairs it.
    env.container(Binary::Ch02, &[], &["true"]).assert_success();
    assert_nothing_left(&env);
}

fn running_sleeper(env: &TestEnv) -> (std::process::Child, i32) {
    let script = "touch /tmp/ready; exec sleep 30";
    let mut command = env.container_command(Binary::Ch01, &[], &["sh", "-c", script]);
    let child = spawn(&mut command);
    let ready = env.rootfs().join("tmp/ready");
    assert!(
        eventually(Duration::from_secs(10), || ready.exists()),
        "the command started"
    );
    let init = container_init(child.id()).expect("the container's init is ch01's child");
    (child, init)
}

#[test]
fn killed_by_a_signal_exits_128_plus_its_number() {
    let Some(env) = TestEnv::new("killed_by_a_signal_exits_128_plus_its_number") else {
        return;
    };
    let (child, init) = running_sleeper(&env);
    // From the host the kernel delivers it: the host is outside the container's pid namespace.
    let init = nix::unistd::Pid::from_raw(init);
    nix::sys::signal::kill(init, nix::sys::signal::Signal::SIGKILL).unwrap();
    let out = finish(child);
    assert_eq!(out.code, 137, "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn a_signal_sent_to_ch01_is_forwarded_to_the_container() {
    let Some(env) = TestEnv::new("a_signal_sent_to_ch01_is_forwarded_to_the_container") else {
        return;
    };
    let script = "trap 'exit 42' TERM; echo ready > /tmp/ready; while true; do sleep 0.1; done";
    let mut command = env.container_command(Binary::Ch01, &[], &["sh", "-c", script]);
    let child = spawn(&mut command);
    let ready = env.rootfs().join("tmp/ready");
    assert!(
        eventually(Duration::from_secs(10), || ready.exists()),
        "the trap is set"
    );
    // While it runs, the leftover checks see it: they are able to fail.
    assert!(
        !processes_in(env.rootfs()).is_empty(),
        "the container's processes"
    );
    assert!(
        !files_in(env.run.path()).is_empty(),
        "the bundle and the runtime state"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = finish(child);
    assert_eq!(out.code, 42, "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn the_container_dies_with_a_killed_ch01() {
    let Some(env) = TestEnv::new("the_container_dies_with_a_killed_ch01") else {
        return;
    };
    let (mut child, init) = running_sleeper(&env);
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = eventually(Duration::from_secs(5), || {
        !std::path::Path::new(&format!("/proc/{init}")).exists()
    });
    if !gone {
        // Do not leave it behind for the next test run.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(init),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(gone, "the container's init {init} outlived ch01");
}

#[test]
fn init_runs_tini_as_pid_1_and_the_command_below_it() {
    let Some(env) = TestEnv::new("init_runs_tini_as_pid_1_and_the_command_below_it") else {
        return;
    };
    let out = env.sh(&["--init"], "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$");
    out.assert_success();
    let lines = out.lines();
    assert!(
        lines[0].starts_with("/sbin/docker-init -- sh -c"),
        "{out:#?}"
    );
    let pid: u32 = lines[1].parse().unwrap();
    assert!(pid > 1, "the command is not PID 1: {pid}");
    // tini passes a signal death on as 128 + N.
    let out = env.sh(&["--init"], "kill -KILL $$");
    assert_eq!(out.code, 137, "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn a_terminal_gives_a_pty_a_console_term_and_the_window_size() {
    let Some(env) = TestEnv::new("a_terminal_gives_a_pty_a_console_term_and_the_window_size")
    else {
        return;
    };
    // The pause leaves the window size time to arrive; the next test is about that race.
    let script = "tty; [ -c /dev/console ] && echo console; echo TERM=$TERM; sleep 1; stty size";
    let command = env.container_command(Binary::Ch01, &["-i", "-t"], &["sh", "-c", script]);
    let out = run_on_terminal(command, 33, 101);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(
        out.lines(),
        ["/dev/pts/0", "console", "TERM=xterm", "33 101"],
        "{out:#?}"
    );
    assert_nothing_left(&env);
}

#[test]
fn the_window_size_is_set_before_the_command_starts() {
    let Some(env) = TestEnv::new("the_window_size_is_set_before_the_command_starts") else {
        return;
    };
    let command = env.container_command(Binary::Ch01, &["-i", "-t"], &["stty", "size"]);
    let out = run_on_terminal(command, 33, 101);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.lines(), ["33 101"], "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn bad_input_leaves_nothing_behind() {
    let Some(env) = TestEnv::new("bad_input_leaves_nothing_behind") else {
        return;
    };
    let missing = env.state.path().join("no-such-rootfs");
    let missing = missing.to_string_lossy().into_owned();
    let out = env.run(Binary::Ch01, &["run", "--rootfs", &missing, "true"]);
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(out.stderr.contains(&missing), "{out:#?}");
    for options in [
        &["--cap-add", "BOGUS"][..],
        &["--security-opt", "bogus"],
        &["-u", "nosuchuser"],
    ] {
        let out = env.container(Binary::Ch01, options, &["true"]);
        assert_eq!(out.code, 125, "{options:?}: {out:#?}");
    }
    for cmd in ["/nonexistent", "/etc/passwd"] {
        let out = env.container(Binary::Ch01, &[], &[cmd]);
        assert_ne!(out.code, 0);
    }
    assert_nothing_left(&env);
}

#[test]
fn not_root_exits_125_with_one_line_and_leaves_nothing() {
    let Some(env) = TestEnv::new("not_root_exits_125_with_one_line_and_leaves_nothing") else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    // Let the unprivileged user reach the clone, not stop at a private directory.
    for dir in [env.state.path(), env.run.path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    const NOBODY: u32 = 65534;
    let mut command = env.container_command(Binary::Ch01, &[], &["true"]);
    // std drops the supplementary groups when root changes the uid.
    command.uid(NOBODY).gid(NOBODY);
    let out = finish(spawn(&mut command));
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert_nothing_left(&env);
}
