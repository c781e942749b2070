//! `run` waits for its container: one poll loop, one thread, reading signals
//! from a signalfd (forwarding them to PID 1) and, with a terminal, copying
//! bytes between the user's terminal and the pty.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::error::RuntimeError;
use super::pty;

/// Waits for `pid` to end, forwarding signals and, with `console`, proxying the
/// terminal. Returns the init's wait status.
pub fn wait_for(
    pid: Pid,
    signals: &SignalFd,
    console: Option<&OwnedFd>,
) -> Result<WaitStatus, RuntimeError> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut stdin_open = console.is_some();
    let mut master_open = console.is_some();
    // ANCHOR: wait_loop
    loop {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let mut stdin_at = None;
        let mut master_at = None;
        if let Some(master) = console {
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
                stdin_at = Some(fds.len() - 1);
            }
            if master_open {
                fds.push(PollFd::new(master.as_fd(), PollFlags::POLLIN));
                master_at = Some(fds.len() - 1);
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(RuntimeError::sys("waiting for the container")(e)),
            Ok(_) => {}
        }
        let ready =
            |at: Option<usize>| at.is_some_and(|i| fds[i].revents().is_some_and(|r| !r.is_empty()));
        let (signal_ready, stdin_ready, master_ready) =
            (ready(Some(0)), ready(stdin_at), ready(master_at));
        drop(fds);
        if let (Some(master), true) = (console, stdin_ready) {
            stdin_open = copy(stdin.as_fd(), master.as_fd()) != Copy::Closed;
        }
        if let (Some(master), true) = (console, master_ready) {
            master_open = copy(master.as_fd(), stdout.as_fd()) != Copy::Closed;
        }
        if signal_ready && let Some(status) = handle_signals(pid, signals, console)? {
            if let Some(master) = console {
                drain(master, stdout.as_fd());
            }
            return Ok(status);
        }
    }
    // ANCHOR_END: wait_loop
}

/// Reads every pending signal: SIGCHLD reaps (returning the status if the init
/// ended), SIGWINCH resizes the pty, anything else goes to the container.
fn handle_signals(
    pid: Pid,
    signals: &SignalFd,
    console: Option<&OwnedFd>,
) -> Result<Option<WaitStatus>, RuntimeError> {
    while let Some(info) = signals
        .read_signal()
        .map_err(RuntimeError::sys("reading signals"))?
    {
        let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        match (signal, console) {
            (Signal::SIGCHLD, _) => {}
            (Signal::SIGWINCH, Some(master)) => pty::copy_window_size(master.as_fd()),
            // The init may just have exited; a lost signal to a dead process is fine.
            _ => {
                let _ = kill(pid, signal);
            }
        }
    }
    // SIGCHLD may be merged with others: check the init after every batch.
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => Ok(None),
        Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => Ok(Some(status)),
        Ok(_) => Ok(None),
        Err(e) => Err(RuntimeError::sys("waiting for the container's init")(e)),
    }
}

/// Copies what the command wrote just before it ended, still in the pty.
fn drain(master: &OwnedFd, to: BorrowedFd<'_>) {
    let nonblocking = nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK);
    if nix::fcntl::fcntl(master, nonblocking).is_ok() {
        while copy(master.as_fd(), to) == Copy::Copied {}
    }
}

/// What one copy step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    /// Bytes were copied.
    Copied,
    /// Nothing to read just now.
    Empty,
    /// The source is at its end (for a pty master, EIO: every slave is closed).
    Closed,
}

/// Copies one chunk from `from` to `to`.
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Copy {
    let mut buf = [0u8; 8192];
    let n = match nix::unistd::read(from, &mut buf) {
        Ok(0) | Err(Errno::EIO) => return Copy::Closed,
        Err(Errno::EAGAIN | Errno::EINTR) => return Copy::Empty,
        Err(_) => return Copy::Closed,
        Ok(n) => n,
    };
    let mut rest = &buf[..n];
    while !rest.is_empty() {
        match nix::unistd::write(to, rest) {
            Ok(written) => rest = &rest[written..],
            Err(Errno::EINTR | Errno::EAGAIN) => continue,
            Err(_) => break,
        }
    }
    Copy::Copied
}
