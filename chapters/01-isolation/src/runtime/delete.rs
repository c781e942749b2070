//! `runtime delete`: release what a container held: its processes (with
//! `--force`, or a created one), its cgroup, its state directory.

use berth_engine::Engine;
use berth_engine::oci_spec::runtime::Spec;

use super::error::RuntimeError;
use super::kill::kill_everything;
use super::record::{StateDir, Status};

/// Deletes container `id`.
pub fn delete(engine: &Engine, id: &str, force: bool) -> berth_engine::Result<i32> {
    let state = StateDir::open(engine, id)?;
    let lock = state.lock()?;
    // `run` killed between the start of its init and the writing of its
    // record leaves no state.json: with --force, the spec copy still names the
    // cgroup, and removing the cgroup kills what is in it.
    let unrecorded = force && !state.dir().join("state.json").exists();
    if !unrecorded {
        let record = state.load()?;
        let status = record.status();
        if !status.can_delete() && !force {
            return Err(berth_engine::Error::from(RuntimeError::WrongStatus {
                id: id.into(),
                status: status.to_string(),
                action: "delete",
            })
            .hint("stop it first, or use delete --force"));
        }
        if status != Status::Stopped {
            kill_everything(record.pid, record.pid_start_time);
        }
    }
    if let Some(cgroups) = engine.cgroups()
        && let Ok(text) = std::fs::read_to_string(state.spec_copy())
    {
        let spec: Spec = serde_json::from_str(&text).map_err(|e| RuntimeError::CorruptState {
            path: state.spec_copy(),
            reason: e.to_string(),
        })?;
        cgroups.remove(&spec)?;
    }
    drop(lock);
    state.remove()?;
    Ok(0)
}
