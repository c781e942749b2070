//! `attach [--detach-keys] [--no-stdin] [--sig-proxy] CONTAINER`: join this
//! terminal to a running container, and leave it running with the detach keys.

use berth_engine::cli::AttachArgs;
use berth_engine::{Engine, Error, Result};

use super::World;
use crate::state::Status;
use crate::supervisor::attach::{self, Ending, parse_detach_keys};

/// Why a container cannot be attached to.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// It has no process: created, exited or dead.
    #[error("You cannot attach to a stopped container, start it first")]
    Stopped,
    /// Its processes are frozen.
    #[error("You cannot attach to a paused container, unpause it first")]
    Paused,
    /// Its process ended and the restart policy is bringing it back.
    #[error("You cannot attach to a restarting container, wait until it is running")]
    Restarting,
}

impl From<AttachError> for Error {
    fn from(e: AttachError) -> Self {
        Error::failed(e.to_string())
    }
}

// ANCHOR: attach_command
/// `attach`: the container's exit code when it ends; exit 1 with docker's
/// "read escape sequence" when the user detaches.
pub fn attach(engine: &Engine, args: &AttachArgs) -> Result<i32> {
    let world = World::open(engine)?;
    let record = world.find(&args.container)?;
    match record.state.status {
        Status::Running => {}
        Status::Restarting => return Err(AttachError::Restarting.into()),
        Status::Paused => return Err(AttachError::Paused.into()),
        _ => return Err(AttachError::Stopped.into()),
    }
    let keys = match &args.detach_keys {
        Some(spec) => parse_detach_keys(spec)?,
        None => attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    // Input goes in only if the container was made with -i, as in docker.
    let stdin = record.config.open_stdin && !args.no_stdin;
    let tty = record.config.tty;
    let attached = attach::connect(engine, &record.id, stdin, tty)?
        .with_detach_keys(keys)
        // On a terminal ctrl-c is a byte for the container, not our signal.
        .with_sig_proxy(args.sig_proxy && !tty);
    match attached.session(engine, &record.id)? {
        Ending::Detached => {
            eprintln!("read escape sequence");
            Ok(1)
        }
        Ending::Exited(Some(code)) => Ok(code),
        Ending::Exited(None) => Ok(world
            .containers
            .load(&record.id)
            .map_or(0, |r| r.state.exit_code)),
    }
}
// ANCHOR_END: attach_command
