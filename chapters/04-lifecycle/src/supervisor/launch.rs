//! The starting command's side: spawn the supervisor and hold the ready channel.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use berth_engine::{Error, Result};
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

use super::protocol::{Announcement, read_line};

/// A supervisor whose container is created and waits for `start`.
pub struct Handshake {
    channel: UnixStream,
}

// ANCHOR: spawn_supervisor
/// Starts the supervisor of container `id` and waits until it created the
/// container (or failed to, with docker's exit code).
pub fn spawn(id: &str) -> Result<Handshake> {
    Launching::begin()?.container(id)
}

/// A supervisor started before its container exists: it starts up (a new
/// process, the binary loaded, its own double fork) while this command makes
/// the container, and waits for the container's id on the ready channel.
pub struct Launching {
    channel: UnixStream,
    middle: Child,
    announced: bool,
}

impl Launching {
    /// Starts a supervisor that waits for its container. Dropped unused, it
    /// closes the channel, and the supervisor leaves without a trace.
    pub fn begin() -> Result<Self> {
        // Their end is made inheritable (no close-on-exec) so that the command
        // needs no code run between fork and exec, and std can spawn it with
        // posix_spawn, without copying this process's page tables; this command
        // starts no other process meanwhile that could inherit it.
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::empty(),
        )
        .map_err(|e| Error::usage(format!("socket pair: {e}")))?;
        fcntl(&ours, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .map_err(|e| Error::usage(format!("socket pair: {e}")))?;
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        let middle = Command::new(exe)
            .args(["supervise", "--ready-fd", &theirs.as_raw_fd().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::usage(format!("starting the supervisor: {e}")))?;
        Ok(Launching {
            channel: UnixStream::from(ours),
            middle,
            announced: false,
        })
    }

    /// Names the container, whose record exists, unless it was announced
    /// already, and waits until the supervisor created it (or failed to, with
    /// docker's exit code).
    pub fn container(mut self, id: &str) -> Result<Handshake> {
        if !self.announced {
            self.announce(&Announcement {
                id: id.into(),
                made: None,
            })?;
        }
        self.created()
    }

    /// Tells the supervisor which container to create. With `made`, it goes
    /// on while this command writes and syncs the record: the supervisor needs
    /// no more of the record until the start, which this command asks for.
    pub fn announce(&mut self, announcement: &Announcement) -> Result<()> {
        let mut line = serde_json::to_vec(announcement).expect("an announcement serialises");
        line.push(b'\n');
        self.announced = true;
        self.channel
            .write_all(&line)
            .map_err(|_| Error::usage("the supervisor could not start"))
    }

    /// Waits until the supervisor created the announced container (or failed
    /// to, with docker's exit code).
    fn created(mut self) -> Result<Handshake> {
        // The middle process of the double fork has exited by now, or soon.
        let status = self
            .middle
            .wait()
            .map_err(|e| Error::usage(format!("starting the supervisor: {e}")))?;
        if !status.success() {
            return Err(Error::usage("the supervisor could not start"));
        }
        let mut handshake = Handshake {
            channel: self.channel,
        };
        handshake.expect("created")?;
        Ok(handshake)
    }

    /// Calls off an announced container: the supervisor undoes what it made
    /// (the init, its cgroup) and ends, and this returns once it has, so that
    /// the caller can remove the container's files.
    pub fn withdraw(&mut self) {
        let _ = self.channel.shutdown(std::net::Shutdown::Write);
        let _ = std::io::copy(&mut self.channel, &mut std::io::sink());
        let _ = self.middle.wait();
    }
}
// ANCHOR_END: spawn_supervisor

impl Handshake {
    /// Lets the container run; returns once it does (or why it could not).
    pub fn start(mut self) -> Result<()> {
        self.channel
            .write_all(b"start\n")
            .map_err(|e| Error::usage(format!("talking to the supervisor: {e}")))?;
        self.expect("started")
    }

    fn expect(&mut self, word: &str) -> Result<()> {
        match read_line(&mut self.channel) {
            Ok(Some(line)) if line == word => Ok(()),
            Ok(Some(line)) => Err(parse_error(&line)),
            Ok(None) | Err(_) => Err(Error::usage(
                "the supervisor ended before the container started",
            )),
        }
    }
}

/// `error CODE MESSAGE` as docker's error with that exit code.
fn parse_error(line: &str) -> Error {
    let rest = line.strip_prefix("error ").unwrap_or(line);
    let (code, message) = rest.split_once(' ').unwrap_or(("125", rest));
    let code = code.parse().unwrap_or(berth_engine::error::exit::USAGE);
    Error::usage(message.to_string()).code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervisor_errors_keep_their_exit_code() {
        let e = parse_error("error 127 exec \"nope\": no such file or directory");
        assert_eq!(e.exit_code(), 127);
        assert_eq!(e.message(), "exec \"nope\": no such file or directory");
        assert_eq!(parse_error("garbage").exit_code(), 125);
    }
}
