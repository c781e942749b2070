//! `rm [-f] CONTAINER…`: remove containers (killing running ones with `-f`).

use std::time::Duration;

use berth_engine::cli::RmArgs;
use berth_engine::{Engine, Error, Result};

use super::stop::signal_and_wait;
use super::{World, for_each};
use crate::events;
use crate::names::Names;
use crate::record::{ContainerRecord, Containers};
use crate::state::{Action, Answer, decide};
use crate::supervisor::runtime::delete_leftovers;

/// `rm`: prints each name given; exit 1 after the rest if one failed.
pub fn rm(engine: &Engine, args: &RmArgs) -> Result<i32> {
    for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        remove_container(world, &record, args.force)
    })
}

/// Removes one container, as `rm` (or `rm -f`) does.
pub fn remove_container(world: &World, record: &ContainerRecord, force: bool) -> Result<()> {
    let action = if force {
        Action::ForceRemove
    } else {
        Action::Remove
    };
    if let Answer::Refuse(why) = decide(action, record.state.status) {
        return Err(Error::failed(why.message(
            &record.id,
            &record.id,
            record.state.status,
        )));
    }
    if record.state.status.is_active() {
        world
            .containers
            .update(&record.id, |r| r.state.stopped_by_user = true)?;
        signal_and_wait(world, record, libc::SIGKILL, Some(Duration::from_secs(10)))?;
    }
    let current = world
        .containers
        .load(&record.id)
        .unwrap_or_else(|_| record.clone());
    remove_record(world.engine, &current);
    Ok(())
}

// ANCHOR: remove_record
/// Removes everything of a container that is not running: what the runtime
/// still holds, the directory (bundle, root filesystem, record, log), the name.
pub fn remove_record(engine: &Engine, record: &ContainerRecord) {
    delete_leftovers(&record.id);
    if let Ok(containers) = Containers::open(engine) {
        if record.external_rootfs.is_none() {
            let driver = super::create::root_filesystem_driver(engine);
            let _ = driver.remove(engine, &containers.dir(&record.id));
        }
        let _ = containers.remove(&record.id);
    }
    if let Ok(names) = Names::open(engine) {
        names.release(&record.name, &record.id);
    }
    events::emit(engine, record, "destroy", &[]);
}
// ANCHOR_END: remove_record
