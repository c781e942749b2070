//! Signals: which ones the runtime passes on to the container's PID 1, how a
//! name such as `TERM`, `SIGKILL` or `9` becomes a signal, and how a wait status
//! becomes a shell's exit code.

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::WaitStatus;

use super::error::RuntimeError;

// ANCHOR: forwarded_signals
/// What `run` passes on to the container: everything a user or a supervisor
/// sends to stop, reload or resize a program. SIGCHLD is ours (the init
/// exited); SIGKILL and SIGSTOP cannot be caught, so they cannot be forwarded.
pub const FORWARDED: [Signal; 10] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGPIPE,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGCONT,
    Signal::SIGWINCH,
];

/// Blocks the forwarded signals and SIGCHLD and returns a descriptor that reads
/// them, plus the mask to restore. Signals then arrive as data in the poll loop
/// and no handler runs at a random point of the runtime: it stays one thread.
pub fn intercept() -> Result<(SignalFd, SigSet), RuntimeError> {
    let mut set = SigSet::empty();
    for signal in FORWARDED.iter().chain([&Signal::SIGCHLD]) {
        set.add(*signal);
    }
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))
        .map_err(RuntimeError::sys("blocking signals"))?;
    let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(RuntimeError::sys("creating a signalfd"))?;
    Ok((fd, old))
}
// ANCHOR_END: forwarded_signals

/// Puts back the signal mask `intercept` replaced.
pub fn restore(old: &SigSet) {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(old), None);
}

/// The signal mask of this process now (what the container's command inherits
/// when nothing is intercepted).
pub fn current_mask() -> SigSet {
    let mut old = SigSet::empty();
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, None, Some(&mut old));
    old
}

/// Parses `TERM`, `term`, `SIGTERM` or `15`.
pub fn parse(name: &str) -> Result<Signal, RuntimeError> {
    let unknown = || RuntimeError::UnknownSignal { name: name.into() };
    if let Ok(number) = name.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| unknown());
    }
    let upper = name.to_ascii_uppercase();
    let full = match upper.starts_with("SIG") {
        true => upper,
        false => format!("SIG{upper}"),
    };
    full.parse::<Signal>().map_err(|_| unknown())
}

// ANCHOR: exit_status
/// The exit code a shell reports: the code itself, or 128+N for a process
/// killed by signal N (137 for SIGKILL). Exit codes only go up to 255 and a
/// program rarely uses more than 125, so the two ranges do not collide; docker
/// keeps 125–127 for its own failures (see `FailureKind`).
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
}
// ANCHOR_END: exit_status

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::Pid;

    #[test]
    fn signal_names_in_every_spelling() {
        assert_eq!(parse("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("sigkill").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("Hup").unwrap(), Signal::SIGHUP);
        assert!(parse("NOPE").is_err());
        assert!(parse("99").is_err());
    }

    #[test]
    fn exit_codes_as_a_shell_reports_them() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, true)),
            Some(143)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }
}
