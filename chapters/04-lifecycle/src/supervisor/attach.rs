//! The client side of `attach`: what a foreground `run` and `start -a` do.
//! One poll loop, one thread: frames from the supervisor go to our stdout and
//! stderr, our stdin goes to the container, and the signals we get (Ctrl-C
//! without a terminal, a resize) go to it too.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use berth_engine::{Engine, Error, Result};
use berth_isolation::runtime::pty::RawMode;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::protocol::{self, EXIT, Reply, Request, STDERR, STDOUT};

/// A connection attached to a container's output (and input).
pub struct Attached {
    stream: UnixStream,
    stdin: bool,
    tty: bool,
}

/// Attaches to container `id`'s supervisor.
pub fn connect(engine: &Engine, id: &str, stdin: bool, tty: bool) -> Result<Attached> {
    let fail = |e: std::io::Error| Error::usage(format!("attaching to the container: {e}"));
    let mut stream = protocol::send(engine, id, &Request::Attach { stdin }).map_err(fail)?;
    match protocol::reply(&mut stream, None).map_err(fail)? {
        Some(Reply { ok: true, .. }) => Ok(Attached { stream, stdin, tty }),
        other => Err(Error::usage(format!(
            "the supervisor refused to attach: {other:?}"
        ))),
    }
}

/// The signals a foreground client passes on to the container.
const PROXIED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

impl Attached {
    // ANCHOR: attach_loop
    /// Copies until the container exits; returns its exit code (`None` when
    /// the supervisor went away without saying).
    pub fn pump(mut self, engine: &Engine, id: &str) -> Result<Option<i32>> {
        let mut set = SigSet::empty();
        PROXIED.iter().for_each(|s| set.add(*s));
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .map_err(|e| Error::usage(format!("blocking signals: {e}")))?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| Error::usage(format!("signalfd: {e}")))?;
        let _raw = match self.tty {
            true => Some(RawMode::enter()?),
            false => None,
        };
        if self.tty {
            resize_from_terminal(engine, id);
        }
        let stdin = std::io::stdin();
        let mut stdin_open = self.stdin;
        let mut out = std::io::stdout();
        let mut err = std::io::stderr();
        loop {
            let mut fds = vec![
                PollFd::new(self.stream.as_fd(), PollFlags::POLLIN),
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            ];
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(Error::usage(format!("poll: {e}"))),
                Ok(_) => {}
            }
            let fired: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            if fired.get(2).copied().unwrap_or(false) {
                let mut buf = [0u8; 8192];
                match stdin.lock().read(&mut buf) {
                    Ok(0) | Err(_) => {
                        stdin_open = false;
                        let _ = self.stream.shutdown(Shutdown::Write);
                    }
                    Ok(n) => {
                        let _ = self.stream.write_all(&buf[..n]);
                    }
                }
            }
            if fired[1] {
                while let Ok(Some(info)) = signals.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        Ok(Signal::SIGWINCH) => resize_from_terminal(engine, id),
                        Ok(signal) => {
                            let _ = protocol::signal(engine, id, signal as i32);
                        }
                        Err(_) => {}
                    }
                }
            }
            if fired[0] {
                match protocol::read_frame(&mut self.stream) {
                    Ok(Some((STDOUT, data))) => {
                        let _ = out.write_all(&data);
                        let _ = out.flush();
                    }
                    Ok(Some((STDERR, data))) => {
                        let _ = err.write_all(&data);
                    }
                    Ok(Some((EXIT, code))) => {
                        return Ok(String::from_utf8_lossy(&code).parse().ok());
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => return Ok(None),
                }
            }
        }
    }
    // ANCHOR_END: attach_loop
}

/// Sends our terminal's size to the container's pty.
fn resize_from_terminal(engine: &Engine, id: &str) {
    let Some(size) = berth_isolation::runtime::pty::host_console_size() else {
        return;
    };
    let request = Request::Resize {
        rows: size.height() as u16,
        cols: size.width() as u16,
    };
    if let Ok(mut stream) = protocol::send(engine, id, &request) {
        let _ = protocol::reply(&mut stream, Some(std::time::Duration::from_secs(2)));
    }
}
