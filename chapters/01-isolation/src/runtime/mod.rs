//! The OCI runtime: `create`, `start`, `state`, `kill`, `delete` and `run` on a
//! bundle (a root filesystem and its `config.json`), shaped like runc.
//!
//! The runtime always runs in a fresh, single-threaded process. It clones the
//! container's *init* into new namespaces ([`spawn`]); the init sets up the
//! container's world — mounts, `/dev`, `pivot_root`, masked paths, user,
//! capabilities, seccomp — and execs the command ([`init`]). Between clone and
//! exec the two talk over one close-on-exec socket pair ([`channel`]), so a
//! failure inside the container comes back as one line with docker's exit code.
//!
//! - [`bundle`]: loading and checking `config.json`;
//! - [`options`]: OCI mount options to mount(2) flags;
//! - [`record`]: the state directory and `state.json`;
//! - [`signals`], [`supervise`], [`pty`]: what `run` does while it waits.

pub mod bundle;
pub mod channel;
mod create;
mod delete;
pub mod error;
pub mod exec;
pub mod fork;
pub mod init;
mod kill;
pub mod options;
pub mod pty;
pub mod record;
mod run;
pub mod signals;
pub mod spawn;
mod start;
mod state;
pub mod supervise;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

use std::path::Path;

use berth_engine::cli::RuntimeCommand;
use berth_engine::{Engine, Result};

pub use run::run;

/// Runs one `runtime` subcommand.
pub fn command(engine: &Engine, cmd: &RuntimeCommand) -> Result<i32> {
    require_root()?;
    match cmd {
        RuntimeCommand::Create {
            bundle,
            pid_file,
            console_socket,
            id,
        } => create::create(
            engine,
            Path::new(bundle),
            id,
            pid_file.as_deref().map(Path::new),
            console_socket.as_deref().map(Path::new),
        ),
        RuntimeCommand::Start { id } => start::start(engine, id),
        RuntimeCommand::State { id } => state::state(engine, id),
        RuntimeCommand::Kill { all, id, signal } => kill::kill(engine, id, signal, *all),
        RuntimeCommand::Delete { force, id } => delete::delete(engine, id, *force),
        exec @ RuntimeCommand::Exec { .. } => exec::command(engine, exec),
        RuntimeCommand::Run {
            bundle,
            pid_file,
            id,
        } => run(
            engine,
            Path::new(bundle),
            id,
            pid_file.as_deref().map(Path::new),
        ),
    }
}

/// Making namespaces, mounting and changing capabilities need root: say so
/// before anything is made, rather than fail half-way with EPERM.
pub fn require_root() -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    Err(
        berth_engine::Error::usage("containers need root privileges (namespaces, mounts, cgroups)")
            .hint("run this command as root, e.g. with sudo"),
    )
}
