//! `update [--memory …] [--cpus …] [--pids-limit …] [--restart …] CONTAINER…`:
//! new limits for containers that exist, running or not. The spec in the
//! bundle is rewritten (a later start uses it) and, for a running container,
//! the cgroup driver writes the new values into the kernel at once.

use berth_engine::cli::{RunArgs, UpdateArgs};
use berth_engine::oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources, Spec};
use berth_engine::state::atomic_write;
use berth_engine::{Engine, Error, Result};
use berth_resources::limits::Limits;
use berth_resources::spec_edit::HostFacts;

use super::pause::{cgroups, container_spec};
use super::{World, for_each};
use crate::record::ContainerRecord;
use crate::restart::RestartPolicy;

/// What keeps `update` from changing a container.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No flag says what to change.
    #[error("you must provide one or more flags when using this command")]
    NothingToDo,
    /// `--restart` of a container made with `--rm`.
    #[error(
        "Error response from daemon: Cannot update container {id}: Restart policy cannot be updated because AutoRemove is enabled for the container"
    )]
    AutoRemove {
        /// The container's id.
        id: String,
    },
    /// The new spec could not be written into the bundle.
    #[error("Error response from daemon: Cannot update container {id}: writing its spec: {reason}")]
    WriteSpec {
        /// The container's id.
        id: String,
        /// Why.
        reason: String,
    },
}

impl From<UpdateError> for Error {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::NothingToDo => {
                Error::failed(e.to_string()).hint("e.g. update --memory 256m CONTAINER")
            }
            _ => Error::failed(e.to_string()),
        }
    }
}

/// `update`: prints each name given; exit 1 after the rest if one failed.
pub fn update(engine: &Engine, args: &UpdateArgs) -> Result<i32> {
    let wanted = limits_of(args)?;
    let policy = match &args.restart {
        Some(text) => Some(RestartPolicy::parse(text).map_err(|e| Error::usage(e.to_string()))?),
        None => None,
    };
    if wanted.is_none() && policy.is_none() {
        return Err(UpdateError::NothingToDo.into());
    }
    for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        if let Some(limits) = &wanted {
            update_limits(world, &record, limits)?;
        }
        if let Some(policy) = policy {
            if record.auto_remove && policy != RestartPolicy::No {
                return Err(UpdateError::AutoRemove { id: record.id }.into());
            }
            world
                .containers
                .update(&record.id, |r| r.restart_policy = policy)?;
        }
        Ok(())
    })
}

/// The limit flags read and checked by chapter 02's rules; `None` when none
/// was given.
fn limits_of(args: &UpdateArgs) -> Result<Option<Limits>> {
    let run = RunArgs {
        memory: args.memory.clone(),
        memory_swap: args.memory_swap.clone(),
        memory_reservation: args.memory_reservation.clone(),
        cpus: args.cpus.clone(),
        cpu_shares: args.cpu_shares.clone(),
        cpu_period: args.cpu_period.clone(),
        cpu_quota: args.cpu_quota.clone(),
        cpuset_cpus: args.cpuset_cpus.clone(),
        pids_limit: args.pids_limit.clone(),
        ..RunArgs::default()
    };
    let host = HostFacts::probe().map_err(|e| Error::failed(e.to_string()))?;
    let limits = Limits::from_args(&run, &host.online_cpus)?;
    Ok((limits != Limits::default()).then_some(limits))
}

// ANCHOR: update_limits
/// Writes the new limits into the bundle's spec, then into the running
/// container's cgroup.
fn update_limits(world: &World, record: &ContainerRecord, limits: &Limits) -> Result<()> {
    let mut spec = container_spec(world, record)?;
    merge(&mut spec, limits);
    let path = world.containers.dir(&record.id).join("config.json");
    let bytes = serde_json::to_vec_pretty(&spec).expect("a spec serialises");
    atomic_write(&path, &bytes).map_err(|e| UpdateError::WriteSpec {
        id: record.id.clone(),
        reason: e.to_string(),
    })?;
    if record.init_alive() {
        cgroups(world.engine)?.update(&spec)?;
    }
    Ok(())
}
// ANCHOR_END: update_limits

/// Puts what `limits` sets into the spec's resources, keeping the rest.
fn merge(spec: &mut Spec, limits: &Limits) {
    let mut given = LinuxResources::default();
    limits.apply(&mut given);
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut resources = linux.resources().clone().unwrap_or_default();
    if let Some(new) = given.memory() {
        let mut memory: LinuxMemory = resources.memory().unwrap_or_default();
        if new.limit().is_some() {
            memory.set_limit(new.limit());
            memory.set_swap(new.swap());
        }
        if new.reservation().is_some() {
            memory.set_reservation(new.reservation());
        }
        resources.set_memory(Some(memory));
    }
    if let Some(new) = given.cpu() {
        let mut cpu: LinuxCpu = resources.cpu().clone().unwrap_or_default();
        if new.shares().is_some() {
            cpu.set_shares(new.shares());
        }
        if new.quota().is_some() {
            cpu.set_quota(new.quota());
        }
        if new.period().is_some() {
            cpu.set_period(new.period());
        }
        if new.cpus().is_some() {
            cpu.set_cpus(new.cpus().clone());
        }
        resources.set_cpu(Some(cpu));
    }
    if given.pids().is_some() {
        resources.set_pids(*given.pids());
    }
    linux.set_resources(Some(resources));
    spec.set_linux(Some(linux));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_limits_given_change() {
        let mut spec = Spec::default();
        let first = Limits {
            memory: Some(64 << 20),
            memory_swap: Some(128 << 20),
            cpu_shares: Some(512),
            pids: Some(50),
            ..Limits::default()
        };
        merge(&mut spec, &first);
        let second = Limits {
            memory: Some(32 << 20),
            memory_swap: Some(64 << 20),
            ..Limits::default()
        };
        merge(&mut spec, &second);
        let resources = spec.linux().as_ref().unwrap().resources().clone().unwrap();
        let memory = resources.memory().unwrap();
        assert_eq!(memory.limit(), Some(32 << 20));
        assert_eq!(memory.swap(), Some(64 << 20));
        assert_eq!(resources.cpu().as_ref().unwrap().shares(), Some(512));
        assert_eq!(resources.pids().as_ref().unwrap().limit(), 50);
    }
}
