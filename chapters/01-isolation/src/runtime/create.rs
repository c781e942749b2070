//! `runtime create`: set the container up and leave its init waiting, before
//! exec, on the exec fifo until `start`.

use std::os::fd::AsFd;
use std::path::Path;

use berth_engine::Engine;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::bundle::Bundle;
use super::error::RuntimeError;
use super::record::{OCI_VERSION, Record, StateDir, Status, now, start_time};
use super::signals;
use super::spawn::{self, StartMode};
use crate::security::ProcessSecurity;

/// Creates container `id` from the bundle at `bundle_dir`.
pub fn create(
    engine: &Engine,
    bundle_dir: &Path,
    id: &str,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
) -> berth_engine::Result<i32> {
    let bundle = Bundle::load(bundle_dir)?;
    let security = ProcessSecurity::from_spec(bundle.process(), bundle.spec.linux().as_ref())?;
    if bundle.process().terminal() == Some(true) && console_socket.is_none() {
        return Err(berth_engine::Error::usage(
            "the spec asks for a terminal (process.terminal) but no --console-socket was given",
        )
        .hint("pass --console-socket PATH, or use `runtime run`"));
    }
    let state = StateDir::create(engine, id)?;
    match create_in(engine, &bundle, &security, &state, pid_file, console_socket) {
        Ok(()) => Ok(0),
        Err(e) => {
            let _ = state.remove();
            Err(e.into())
        }
    }
}

fn create_in(
    engine: &Engine,
    bundle: &Bundle,
    security: &ProcessSecurity,
    state: &StateDir,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
) -> Result<(), RuntimeError> {
    let fifo_path = state.exec_fifo();
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600))
        .map_err(RuntimeError::sys("creating the exec fifo"))?;
    // 0622: the init may have switched to an unprivileged user when it opens the
    // fifo to write; only root (start) reads it.
    std::fs::set_permissions(
        &fifo_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o622),
    )
    .map_err(RuntimeError::io("setting the exec fifo's mode"))?;
    let fifo = nix::fcntl::open(&fifo_path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(RuntimeError::sys("opening the exec fifo"))?;
    state.save_spec(&bundle.spec)?;
    let launched = spawn::launch(
        engine,
        bundle,
        security,
        StartMode::OnExecFifo(fifo),
        signals::current_mask(),
        pid_file,
    )?;
    let kill_init = |e| {
        let _ = nix::sys::signal::kill(launched.pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(launched.pid, None);
        if let Some(c) = engine.cgroups() {
            let _ = c.remove(&bundle.spec);
        }
        e
    };
    if let (Some(socket), Some(master)) = (console_socket, &launched.console) {
        super::pty::send_to_console_socket(socket, master.as_fd()).map_err(kill_init)?;
    }
    // Locked only now: the init inherits every descriptor open at clone time
    // until its exec, and a lock it held would keep `start` out for ever. Until
    // the record exists, other commands see no container of this id.
    let _lock = state.lock().map_err(kill_init)?;
    let record = Record {
        oci_version: OCI_VERSION.into(),
        id: state.id().into(),
        status: Status::Created,
        pid: launched.pid.as_raw(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: now(),
        pid_start_time: start_time(launched.pid.as_raw()).unwrap_or(0),
    };
    state.save(&record).map_err(kill_init)
}
