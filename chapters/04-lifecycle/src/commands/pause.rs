//! `pause` / `unpause CONTAINER…`: the freezer stops every process of the
//! container where it stands (state D in `/proc/PID/status`) and lets it go on.
//! The processes do not know: no signal is sent, none can be caught.

use berth_engine::cli::ContainersArgs;
use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{Cgroups, Engine, Error, Result};

use super::{World, for_each};
use crate::events;
use crate::record::ContainerRecord;
use crate::state::Status;

/// What can keep a container from being paused or unpaused.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    /// `pause` of a container without processes.
    #[error("Error response from daemon: Container {id} is not running")]
    NotRunning {
        /// The container's id.
        id: String,
    },
    /// `pause` of a paused container.
    #[error("Error response from daemon: Container {id} is already paused")]
    AlreadyPaused {
        /// The container's id.
        id: String,
    },
    /// `unpause` of a container that is not paused.
    #[error("Error response from daemon: Container {id} is not paused")]
    NotPaused {
        /// The container's id.
        id: String,
    },
    /// No chapter offers a cgroup driver (a binary without chapter 02).
    #[error("this binary has no cgroup driver: pause needs chapter 02's freezer")]
    NoCgroups,
    /// The bundle's `config.json` is missing or damaged.
    #[error("reading the spec of container {id}: {reason}")]
    Spec {
        /// The container's id.
        id: String,
        /// What went wrong.
        reason: String,
    },
}

impl From<PauseError> for Error {
    fn from(e: PauseError) -> Self {
        match e {
            PauseError::NoCgroups => Error::usage(e.to_string()).hint("use ch02 or later"),
            PauseError::Spec { .. } => Error::failed(e.to_string()).hint("remove it with rm -f"),
            _ => Error::failed(e.to_string()),
        }
    }
}

/// The spec in container `record`'s bundle: what the cgroup driver works from.
pub fn container_spec(world: &World, record: &ContainerRecord) -> Result<Spec> {
    let path = world.containers.dir(&record.id).join("config.json");
    let spec_error = |reason: String| PauseError::Spec {
        id: record.id.clone(),
        reason,
    };
    let bytes = std::fs::read(&path).map_err(|e| spec_error(e.to_string()))?;
    Ok(serde_json::from_slice(&bytes).map_err(|e| spec_error(e.to_string()))?)
}

/// The engine's cgroup driver.
pub fn cgroups(engine: &Engine) -> Result<&dyn Cgroups> {
    Ok(engine.cgroups().ok_or(PauseError::NoCgroups)?)
}

/// `pause`: prints each name given; exit 1 after the rest if one failed.
pub fn pause(engine: &Engine, args: &ContainersArgs) -> Result<i32> {
    for_each(engine, &args.containers, |world, given| {
        pause_container(world, &world.find(given)?)
    })
}

/// `unpause`: prints each name given; exit 1 after the rest if one failed.
pub fn unpause(engine: &Engine, args: &ContainersArgs) -> Result<i32> {
    for_each(engine, &args.containers, |world, given| {
        unpause_container(world, &world.find(given)?)
    })
}

// ANCHOR: pause
/// Freezes a running container and records it `Paused`, under the record's
/// lock, so that a stop or an exit cannot slip in between.
pub fn pause_container(world: &World, record: &ContainerRecord) -> Result<()> {
    let spec = container_spec(world, record)?;
    let cgroups = cgroups(world.engine)?;
    let (paused, result) = world.containers.update(&record.id, |r| -> Result<()> {
        match r.state.status {
            Status::Running => {}
            Status::Paused => return Err(PauseError::AlreadyPaused { id: r.id.clone() }.into()),
            _ => return Err(PauseError::NotRunning { id: r.id.clone() }.into()),
        }
        cgroups.freeze(&spec)?;
        r.state.status = Status::Paused;
        Ok(())
    })?;
    result?;
    events::emit(world.engine, &paused, "pause", &[]);
    Ok(())
}
// ANCHOR_END: pause

/// Thaws a paused container and records it `Running` again.
pub fn unpause_container(world: &World, record: &ContainerRecord) -> Result<()> {
    let spec = container_spec(world, record)?;
    let cgroups = cgroups(world.engine)?;
    let (running, result) = world.containers.update(&record.id, |r| -> Result<()> {
        if r.state.status != Status::Paused {
            return Err(PauseError::NotPaused { id: r.id.clone() }.into());
        }
        cgroups.thaw(&spec)?;
        r.state.status = Status::Running;
        Ok(())
    })?;
    result?;
    events::emit(world.engine, &running, "unpause", &[]);
    Ok(())
}

// ANCHOR: thaw_after_kill
/// After a SIGKILL to a paused container: thaw it, so the kernel can deliver
/// the signal (a frozen v1 task dies only once thawed). The kill comes first,
/// so not one instruction of the container runs in between.
pub fn thaw_if_paused(world: &World, id: &str) {
    let Ok(record) = world.containers.load(id) else {
        return;
    };
    if record.state.status != Status::Paused {
        return;
    }
    let (Ok(spec), Ok(cgroups)) = (container_spec(world, &record), cgroups(world.engine)) else {
        return;
    };
    let _ = world.containers.update(id, |r| {
        if r.state.status == Status::Paused && cgroups.thaw(&spec).is_ok() {
            r.state.status = Status::Running;
        }
    });
    events::emit(world.engine, &record, "unpause", &[]);
}
// ANCHOR_END: thaw_after_kill
