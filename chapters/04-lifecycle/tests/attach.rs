//! End-to-end tests of `attach` as root: a user at a terminal types into a
//! running container and leaves it with the detach keys.

mod common;
mod guard;
mod terminal;

use std::time::Duration;

use common::World;
use guard::Guarded;
use terminal::Terminal;

#[test]
fn attach_types_into_the_shell_and_ctrl_p_ctrl_q_leaves_it_running() {
    let Some(w) = World::new("ch04 attach") else {
        return;
    };
    let w = Guarded::new(w);
    let id = w.daemon(&["-it", "--name", "shell"], &["sh"]);
    let mut term = Terminal::start(w.command(&["attach", "shell"]));
    term.type_bytes(b"echo hi$((40+2))\n");
    term.expect("hi42");
    term.type_bytes(b"\x10\x11");
    assert_eq!(term.exit_code(), 1, "{}", term.transcript());
    term.expect("read escape sequence");
    assert!(
        w.status_of("shell").starts_with("Up"),
        "{}",
        w.status_of("shell")
    );

    // Other keys, split across reads; a broken match goes on to the shell.
    let mut term = Terminal::start(w.command(&["attach", "--detach-keys", "ctrl-a,d", &id]));
    term.type_bytes(b"echo \x01");
    std::thread::sleep(Duration::from_millis(100));
    term.type_bytes(b"x-$((6*7))\n");
    term.expect("x-42");
    term.type_bytes(b"\x01");
    std::thread::sleep(Duration::from_millis(100));
    term.type_bytes(b"d");
    assert_eq!(term.exit_code(), 1, "{}", term.transcript());
    assert!(w.status_of("shell").starts_with("Up"));

    // The shell's own exit ends the attach with its code.
    let mut term = Terminal::start(w.command(&["attach", "shell"]));
    term.type_bytes(b"exit 7\n");
    assert_eq!(term.exit_code(), 7, "{}", term.transcript());
    assert!(w.status_of("shell").starts_with("Exited (7)"));
    w.clean_up();
}

#[test]
fn run_it_detaches_with_code_0_and_attach_refuses_stopped_containers() {
    let Some(w) = World::new("ch04 run -it detach") else {
        return;
    };
    let w = Guarded::new(w);
    let mut term = Terminal::start(w.command(&["run", "-it", "--name", "fg", "busybox", "sh"]));
    term.type_bytes(b"echo in-$((1+1))\n");
    term.expect("in-2");
    term.type_bytes(b"\x10\x11");
    assert_eq!(term.exit_code(), 0, "{}", term.transcript());
    assert!(!term.transcript().contains("read escape sequence"));
    assert!(w.status_of("fg").starts_with("Up"));

    w.ch04(&["create", "--name", "idle", "busybox", "true"])
        .assert_success();
    let out = w.ch04(&["attach", "idle"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("You cannot attach to a stopped container, start it first"),
        "{}",
        out.stderr
    );
    let out = w.ch04(&["attach", "--detach-keys", "ctrl-1", "fg"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("ctrl-1"), "{}", out.stderr);
    w.ch04(&["pause", "fg"]).assert_success();
    let out = w.ch04(&["attach", "fg"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("unpause it first"), "{}", out.stderr);
    w.clean_up();
}

#[test]
fn exec_it_gives_a_shell_on_a_terminal() {
    let Some(w) = World::new("ch04 exec -it") else {
        return;
    };
    let w = Guarded::new(w);
    w.daemon(&["--name", "box"], &["sleep", "1000"]);
    let mut term = Terminal::start(w.command(&["exec", "-it", "box", "sh"]));
    term.type_bytes(b"tty; echo sum-$((2+3))\n");
    term.expect("sum-5");
    assert!(
        term.transcript().contains("/dev/pts/"),
        "{}",
        term.transcript()
    );
    term.type_bytes(b"exit 4\n");
    assert_eq!(term.exit_code(), 4, "{}", term.transcript());
    assert!(w.status_of("box").starts_with("Up"));
    w.clean_up();
}
