use super::*;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

/// The raw wait status of `sh -c SCRIPT`, as the kernel handed it to us.
fn raw_status_of(script: &str) -> i32 {
    Command::new("sh")
        .args(["-c", script])
        .status()
        .expect("sh runs")
        .into_raw()
}

#[test]
fn a_normal_exit_reports_its_code() {
    assert_eq!(decode_wait_status(0), Some(Ending::Exited(0)));
    assert_eq!(decode_wait_status(3 << 8), Some(Ending::Exited(3)));
    assert_eq!(reported_code(Ending::Exited(3)), 3);
}

#[test]
fn exit_code_255_is_not_mistaken_for_a_signal() {
    assert_eq!(decode_wait_status(0xff00), Some(Ending::Exited(255)));
}

#[test]
fn a_process_killed_by_sigkill_reports_137() {
    let ending = decode_wait_status(9).unwrap();
    assert_eq!(
        ending,
        Ending::Killed {
            signal: 9,
            core_dumped: false
        }
    );
    assert_eq!(reported_code(ending), 137);
}

#[test]
fn a_core_dump_does_not_change_the_reported_code() {
    // SIGSEGV (11) with the core-dump bit set.
    let ending = decode_wait_status(0x80 | 11).unwrap();
    assert_eq!(
        ending,
        Ending::Killed {
            signal: 11,
            core_dumped: true
        }
    );
    assert_eq!(reported_code(ending), 139);
}

#[test]
fn a_stopped_or_continued_process_has_not_ended() {
    // Stopped by SIGSTOP (19): 0x7f in the low byte, the signal above it.
    assert_eq!(decode_wait_status((19 << 8) | 0x7f), None);
    assert_eq!(decode_wait_status(0xffff), None);
}

#[test]
fn statuses_from_real_children_decode_as_the_shell_reports_them() {
    assert_eq!(
        decode_wait_status(raw_status_of("exit 42")),
        Some(Ending::Exited(42))
    );
    let killed = decode_wait_status(raw_status_of("kill -TERM $$")).unwrap();
    assert_eq!(reported_code(killed), 128 + 15);
}

#[test]
fn a_missing_command_gives_127() {
    assert_eq!(exec_failure_code(ENOENT), 127);
}

#[test]
fn a_command_that_cannot_run_gives_126() {
    assert_eq!(exec_failure_code(EACCES), 126);
    assert_eq!(exec_failure_code(ENOEXEC), 126);
    assert_eq!(exec_failure_code(EISDIR), 126);
}

#[test]
fn any_other_exec_failure_is_the_engines_own_125() {
    const ENOMEM: i32 = 12;
    assert_eq!(exec_failure_code(ENOMEM), 125);
}
