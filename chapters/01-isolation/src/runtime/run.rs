//! `runtime run`, and `ch01 run` through it: create, start, wait and delete in
//! this one process, which forwards signals and hands back the exit status.

use std::path::Path;

use berth_engine::Engine;

use super::bundle::Bundle;
use super::error::RuntimeError;
use super::pty::{self, RawMode};
use super::record::{OCI_VERSION, Record, StateDir, Status, now, start_time};
use super::signals;
use super::spawn::{self, StartMode};
use super::supervise;
use crate::security::ProcessSecurity;

// ANCHOR: run
/// Runs container `id` from the bundle at `bundle_dir` to its end. Returns its
/// exit status as a shell does; nothing of it is left afterwards.
pub fn run(
    engine: &Engine,
    bundle_dir: &Path,
    id: &str,
    pid_file: Option<&Path>,
) -> berth_engine::Result<i32> {
    let mut bundle = Bundle::load(bundle_dir)?;
    if let Some(process) = bundle.spec.process_mut().as_mut()
        && process.terminal() == Some(true)
        && process.console_size().is_none()
    {
        process.set_console_size(pty::host_console_size());
    }
    let security = ProcessSecurity::from_spec(bundle.process(), bundle.spec.linux().as_ref())?;
    let state = StateDir::create(engine, id)?;
    if let Err(e) = state.save_spec(&bundle.spec) {
        let _ = state.remove();
        return Err(e.into());
    }
    let (signal_fd, old_mask) = match signals::intercept() {
        Ok(intercepted) => intercepted,
        Err(e) => {
            let _ = state.remove();
            return Err(e.into());
        }
    };
    let result = run_in(
        engine, &bundle, &security, &state, pid_file, &signal_fd, &old_mask,
    );
    signals::restore(&old_mask);
    // The init is reaped (or was never started): release what is left.
    let cleaned = engine.cgroups().map_or(Ok(()), |c| c.remove(&bundle.spec));
    let removed = state.remove();
    let code = result?;
    cleaned?;
    removed?;
    Ok(code)
}
// ANCHOR_END: run

fn run_in(
    engine: &Engine,
    bundle: &Bundle,
    security: &ProcessSecurity,
    state: &StateDir,
    pid_file: Option<&Path>,
    signal_fd: &nix::sys::signalfd::SignalFd,
    old_mask: &nix::sys::signal::SigSet,
) -> berth_engine::Result<i32> {
    let terminal = bundle.process().terminal() == Some(true);
    // Raw mode before the container starts, so its first output is not mangled.
    let _raw = match terminal {
        true => Some(RawMode::enter()?),
        false => None,
    };
    let launched = spawn::launch(
        engine,
        bundle,
        security,
        StartMode::Immediately,
        *old_mask,
        pid_file,
    )?;
    state.save(&Record {
        oci_version: OCI_VERSION.into(),
        id: state.id().into(),
        status: Status::Running,
        pid: launched.pid.as_raw(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: now(),
        pid_start_time: start_time(launched.pid.as_raw()).unwrap_or(0),
    })?;
    let status = supervise::wait_for(launched.pid, signal_fd, launched.console.as_ref())?;
    let code = signals::exit_code(status).ok_or_else(|| RuntimeError::InitDied {
        status: format!("{status:?}"),
    })?;
    // Only a SIGKILL of PID 1 ends the container through the OOM killer; a child it
    // killed is PID 1's business (the shell reports it, and may carry on).
    if code == 128 + libc::SIGKILL && engine.cgroups().is_some_and(|c| c.oom_killed(&bundle.spec)) {
        drop(_raw);
        eprintln!(
            "{}: the container was killed by the OOM killer (memory limit reached)",
            engine.program()
        );
    }
    Ok(code)
}
