//! The supervisor: one per started container, the berth binary re-executed in
//! the hidden mode `supervise --ready-fd N ID` and double-forked (like conmon),
//! so it belongs to no terminal and no command. It is the subreaper of the
//! container's init, owns its stdio, writes its log, records its exit, applies
//! the restart policy and serves a socket ([`protocol`]).
//!
//! The starting command and the supervisor talk over the ready channel, a
//! socket pair: the supervisor says `created` (or `error CODE MESSAGE`), the
//! command may attach to the socket and then says `start`, the supervisor says
//! `started` (or the error) and closes. Attaching before the start is what lets
//! a foreground `run` see the very first line of output.

pub mod attach;
pub mod exec;
pub mod launch;
pub mod protocol;
pub mod runtime;
pub mod serve;

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;

use berth_engine::cli::SuperviseArgs;
use berth_engine::{Engine, Error, Result};
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::unistd::{ForkResult, fork, setsid};

// ANCHOR: double_fork
/// `supervise --ready-fd N [ID]`: leave the starting command's session and
/// process tree (setsid, then fork once more and let the middle process exit),
/// learn the container's id if the command did not name it, then supervise the
/// container for its whole life.
pub fn main(engine: &Engine, args: &SuperviseArgs) -> Result<i32> {
    let mut ready = match args.ready_fd {
        Some(fd) => Some(adopt_ready_fd(fd)?),
        None => None,
    };
    setsid().map_err(|e| Error::usage(format!("setsid: {e}")))?;
    // SAFETY: the process is single-threaded here (nothing has spawned a thread).
    match unsafe { fork() }.map_err(|e| Error::usage(format!("fork: {e}")))? {
        // The middle process ends at once; the starting command reaps it.
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    let _ = std::env::set_current_dir("/");
    let announcement = match (&args.id, ready.as_mut()) {
        (Some(id), _) => protocol::Announcement {
            id: id.clone(),
            made: None,
        },
        (None, Some(ready)) => match protocol::read_line(ready) {
            Ok(Some(line)) => serde_json::from_str(&line)
                .map_err(|e| Error::usage(format!("the announcement {line:?}: {e}")))?,
            // The command made no container after all: nothing to supervise.
            Ok(None) | Err(_) => return Ok(0),
        },
        (None, None) => return Err(Error::usage("supervise needs a container id")),
    };
    match serve::Supervisor::new(engine, &announcement.id) {
        Ok(supervisor) => Ok(supervisor
            .with_ready(ready)
            .with_made(announcement.made)
            .live()),
        Err(e) => {
            // Nothing was created; the starting command reads this and says it.
            if let Some(mut ready) = ready {
                let _ = std::io::Write::write_all(
                    &mut ready,
                    format!("error {} {e}\n", e.code()).as_bytes(),
                );
            }
            Err(Error::usage(e.to_string()))
        }
    }
}
// ANCHOR_END: double_fork

/// Takes ownership of the inherited ready channel and keeps it from the
/// runtime's processes (so the starting command sees it close with us).
fn adopt_ready_fd(fd: RawFd) -> Result<UnixStream> {
    if fd <= 2 {
        return Err(Error::usage(format!(
            "--ready-fd {fd} is a standard stream"
        )));
    }
    // SAFETY: the starting command passed this descriptor for us alone.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    fcntl(&stream, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| Error::usage(format!("--ready-fd {fd}: {e}")))?;
    Ok(stream)
}
