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

use super::exec;
use super::protocol::{self, EXIT, Reply, Request, STDERR, STDOUT};

/// A connection attached to a container's output (and input).
pub struct Attached {
    stream: UnixStream,
    stdin: bool,
    tty: bool,
    detach_keys: Vec<u8>,
    sig_proxy: bool,
    /// An exec session: input and resizes go as frames on the stream.
    framed: bool,
}

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The container's process ended with this code (`None`: the supervisor
    /// went away without saying).
    Exited(Option<i32>),
    /// The user typed the detach keys; the container runs on.
    Detached,
}

/// Attaches to container `id`'s supervisor.
pub fn connect(engine: &Engine, id: &str, stdin: bool, tty: bool) -> Result<Attached> {
    let fail = |e: std::io::Error| Error::usage(format!("attaching to the container: {e}"));
    let mut stream = protocol::send(engine, id, &Request::Attach { stdin }).map_err(fail)?;
    match protocol::reply(&mut stream, None).map_err(fail)? {
        Some(Reply { ok: true, .. }) => Ok(Attached {
            stream,
            stdin,
            tty,
            detach_keys: DEFAULT_DETACH_KEYS.to_vec(),
            sig_proxy: true,
            framed: false,
        }),
        other => Err(Error::usage(format!(
            "the supervisor refused to attach: {other:?}"
        ))),
    }
}

/// Takes over `stream`, on which the supervisor accepted an exec session
/// ([`Request::ExecAttached`]). As `docker exec` does, it passes on no
/// signal but the resizes: ctrl-C on a terminal is a byte for the process.
pub fn exec_session(stream: UnixStream, stdin: bool, tty: bool) -> Attached {
    Attached {
        stream,
        stdin,
        tty,
        detach_keys: DEFAULT_DETACH_KEYS.to_vec(),
        sig_proxy: false,
        framed: true,
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
    /// Watches the typed input for `keys` instead of ctrl-p ctrl-q.
    pub fn with_detach_keys(mut self, keys: Vec<u8>) -> Self {
        self.detach_keys = keys;
        self
    }

    /// Whether the signals this command gets go on to the container.
    pub fn with_sig_proxy(mut self, proxy: bool) -> Self {
        self.sig_proxy = proxy;
        self
    }

    /// Copies until the container exits; returns its exit code (`None` when
    /// the supervisor went away without saying). A detach counts as success,
    /// as for `docker run -it` and `docker start -ai`: code 0.
    pub fn pump(self, engine: &Engine, id: &str) -> Result<Option<i32>> {
        Ok(match self.session(engine, id)? {
            Ending::Exited(code) => code,
            Ending::Detached => Some(0),
        })
    }

    // ANCHOR: attach_loop
    /// Copies until the container exits or the user types the detach keys.
    pub fn session(mut self, engine: &Engine, id: &str) -> Result<Ending> {
        let mut set = SigSet::empty();
        // A resize is always passed on; the rest only when proxying.
        let proxied = PROXIED
            .iter()
            .filter(|s| **s == Signal::SIGWINCH || self.sig_proxy);
        proxied.for_each(|s| set.add(*s));
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .map_err(|e| Error::usage(format!("blocking signals: {e}")))?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| Error::usage(format!("signalfd: {e}")))?;
        let _raw = match self.tty {
            true => Some(RawMode::enter()?),
            false => None,
        };
        if self.tty {
            self.resize(engine, id);
        }
        let stdin = std::io::stdin();
        let mut stdin_open = self.stdin;
        // docker watches for the detach keys only on a terminal: piped input
        // may hold any byte.
        let mut matcher = DetachMatcher::new(match self.tty {
            true => std::mem::take(&mut self.detach_keys),
            false => Vec::new(),
        });
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
                        match self.framed {
                            true => self.send_input(&[]),
                            false => {
                                let _ = self.stream.shutdown(Shutdown::Write);
                            }
                        }
                    }
                    Ok(n) => {
                        let fed = matcher.feed(&buf[..n]);
                        self.send_input(&fed.forward);
                        if fed.detach {
                            return Ok(Ending::Detached);
                        }
                    }
                }
            }
            if fired[1] {
                while let Ok(Some(info)) = signals.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        Ok(Signal::SIGWINCH) => self.resize(engine, id),
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
                        return Ok(Ending::Exited(String::from_utf8_lossy(&code).parse().ok()));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => return Ok(Ending::Exited(None)),
                }
            }
        }
    }
    // ANCHOR_END: attach_loop

    /// Typed bytes to the process (an empty piece means the input ended,
    /// which only an exec session says in a frame).
    fn send_input(&mut self, bytes: &[u8]) {
        let _ = match self.framed {
            true => self.stream.write_all(&protocol::frame(exec::STDIN, bytes)),
            false if bytes.is_empty() => Ok(()),
            false => self.stream.write_all(bytes),
        };
    }

    /// Our terminal's size to the process's terminal.
    fn resize(&mut self, engine: &Engine, id: &str) {
        if !self.framed {
            return resize_from_terminal(engine, id);
        }
        if let Some(size) = berth_isolation::runtime::pty::host_console_size() {
            let text = format!("{} {}", size.height(), size.width());
            let _ = self
                .stream
                .write_all(&protocol::frame(exec::RESIZE, text.as_bytes()));
        }
    }
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

// ANCHOR: detach_keys
/// The detach keys when `--detach-keys` is not given: ctrl-p, ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

/// A `--detach-keys` value that names a key no terminal sends as one byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Invalid detach keys ({key}) provided: use one character or ctrl-a…ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_, separated by commas"
)]
pub struct BadDetachKey {
    /// The key as given.
    pub key: String,
}

impl From<BadDetachKey> for Error {
    fn from(e: BadDetachKey) -> Self {
        Error::failed(e.to_string())
    }
}

/// The byte a terminal sends for one key: `ctrl-p` is 0x10, `q` is b'q'.
pub fn key_to_byte(key: &str) -> std::result::Result<u8, BadDetachKey> {
    let bad = || BadDetachKey { key: key.into() };
    // One byte that is ASCII: "é" is two bytes and refused, as by docker.
    if key.len() == 1 && key.is_ascii() {
        return Ok(key.as_bytes()[0]);
    }
    let name = key.strip_prefix("ctrl-").ok_or_else(bad)?;
    match name.as_bytes() {
        // A terminal keeps the low five bits of the character for ctrl-X.
        [c @ (b'a'..=b'z' | b'@' | b'[' | b'\\' | b']' | b'^' | b'_')] => Ok(c & 0x1f),
        _ => Err(bad()),
    }
}

/// The bytes of a `--detach-keys` value such as `ctrl-p,ctrl-q` or `ctrl-a,d`.
pub fn parse_detach_keys(spec: &str) -> std::result::Result<Vec<u8>, BadDetachKey> {
    // An empty piece ("ctrl-p,") is refused by key_to_byte: a stray comma is
    // a mistake to report.
    spec.split(',').map(key_to_byte).collect()
}
// ANCHOR_END: detach_keys

/// What one read from the terminal gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fed {
    /// Bytes to send to the container now.
    pub forward: Vec<u8>,
    /// Whether the detach sequence is complete.
    pub detach: bool,
}

// ANCHOR: detach_matcher
/// Watches typed bytes for the detach sequence, across reads.
#[derive(Debug, Clone)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    /// A matcher for `keys` (none: every byte passes).
    pub fn new(keys: Vec<u8>) -> Self {
        DetachMatcher { keys, matched: 0 }
    }

    /// Takes one read: bytes that may start the sequence are held back; a
    /// byte that breaks the match releases them with itself, and matching
    /// starts over after it (docker's rule: ctrl-p ctrl-p ctrl-q sends all
    /// three).
    pub fn feed(&mut self, input: &[u8]) -> Fed {
        let mut forward = Vec::with_capacity(input.len() + self.matched);
        for &byte in input {
            if self.keys.is_empty() {
                forward.push(byte);
            } else if byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return Fed {
                        forward,
                        detach: true,
                    };
                }
            } else {
                // The held bytes are exactly the start of the sequence.
                forward.extend_from_slice(&self.keys[..self.matched]);
                forward.push(byte);
                self.matched = 0;
            }
        }
        Fed {
            forward,
            detach: false,
        }
    }
}
// ANCHOR_END: detach_matcher

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_to_the_bytes_a_terminal_sends() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            DEFAULT_DETACH_KEYS
        );
        assert_eq!(parse_detach_keys("ctrl-a,d").unwrap(), vec![1, b'd']);
        assert_eq!(
            parse_detach_keys("ctrl-@,ctrl-_,ctrl-\\").unwrap(),
            vec![0, 31, 28]
        );
        for bad in ["", "ctrl-p,", "ctrl-1", "ab", "é", "ctrl-P"] {
            let err = parse_detach_keys(bad).unwrap_err();
            assert!(bad.contains(&err.key), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn the_sequence_is_held_back_then_detaches() {
        let mut m = DetachMatcher::new(DEFAULT_DETACH_KEYS.to_vec());
        let fed = m.feed(b"ls\x10");
        assert_eq!((fed.forward.as_slice(), fed.detach), (&b"ls"[..], false));
        let fed = m.feed(b"\x11after");
        assert_eq!((fed.forward.as_slice(), fed.detach), (&b""[..], true));
    }

    #[test]
    fn a_broken_match_sends_what_was_held() {
        let mut m = DetachMatcher::new(DEFAULT_DETACH_KEYS.to_vec());
        let fed = m.feed(b"\x10\x10\x11");
        assert_eq!(
            (fed.forward.as_slice(), fed.detach),
            (&b"\x10\x10\x11"[..], false)
        );
        let fed = m.feed(b"\x10x");
        assert_eq!(fed.forward, b"\x10x");
        let mut none = DetachMatcher::new(Vec::new());
        assert_eq!(none.feed(b"\x10\x11").forward, b"\x10\x11");
    }
}
