//! `start [-a] [-i] CONTAINER…`: a supervisor for each container.

use berth_engine::cli::StartArgs;
use berth_engine::{Engine, Error, Result};

use super::{World, for_each, wait_for_supervisor};
use crate::record::ContainerRecord;
use crate::state::{Action, Answer, decide};
use crate::supervisor::launch::Launching;
use crate::supervisor::{attach, launch};

/// `start`: prints each name given; with `-a`, attaches to the (one) container
/// and exits with its code.
pub fn start(engine: &Engine, args: &StartArgs) -> Result<i32> {
    if args.attach || args.interactive {
        if args.containers.len() > 1 {
            return Err(Error::failed(
                "you cannot start and attach multiple containers at once",
            ));
        }
        let world = World::open(engine)?;
        let record = world.find(&args.containers[0])?;
        return start_attached(
            &world,
            &record,
            args.interactive,
            args.detach_keys.as_deref(),
            None,
        );
    }
    for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        start_detached(world, &record, None)
    })
}

/// Whether a start is needed; refuses as docker does.
fn needs_start(record: &ContainerRecord) -> Result<bool> {
    match decide(Action::Start, record.state.status) {
        Answer::Proceed => Ok(true),
        Answer::AlreadyDone => Ok(false),
        Answer::Refuse(why) => Err(Error::failed(why.message(
            &record.name,
            &record.id,
            record.state.status,
        ))),
    }
}

/// Starts the container in the background, with `supervisor` if one was
/// started for it already.
pub fn start_detached(
    world: &World,
    record: &ContainerRecord,
    supervisor: Option<Launching>,
) -> Result<()> {
    if !needs_start(record)? {
        return Ok(());
    }
    // A supervisor that just recorded the exit may still be leaving.
    wait_for_supervisor(record);
    supervise(world, record, supervisor)?.start()
}

// ANCHOR: start_attached
/// Starts the container with this command attached from its first byte:
/// create, attach, then start. Returns the container's exit code.
/// `supervisor` as in [`start_detached`].
pub fn start_attached(
    world: &World,
    record: &ContainerRecord,
    stdin: bool,
    detach_keys: Option<&str>,
    supervisor: Option<Launching>,
) -> Result<i32> {
    let keys = match detach_keys {
        Some(spec) => attach::parse_detach_keys(spec)?,
        None => attach::DEFAULT_DETACH_KEYS.to_vec(),
    };
    let connect = || {
        attach::connect(world.engine, &record.id, stdin, record.config.tty)
            .map(|attached| attached.with_detach_keys(keys.clone()))
    };
    if !needs_start(record)? {
        return finish(world, record, connect()?);
    }
    wait_for_supervisor(record);
    let handshake = supervise(world, record, supervisor)?;
    let attached = connect()?;
    handshake.start()?;
    finish(world, record, attached)
}
// ANCHOR_END: start_attached

/// The container's supervisor, once it has created the container. Why it
/// could not goes into the record too: a supervisor started ahead may have
/// failed before the record was on disk, and so could not write it there.
fn supervise(
    world: &World,
    record: &ContainerRecord,
    supervisor: Option<Launching>,
) -> Result<launch::Handshake> {
    let created = match supervisor {
        Some(launching) => launching.container(&record.id),
        None => launch::spawn(&record.id),
    };
    created.inspect_err(|e| {
        let message = e.message().to_string();
        let _ = world
            .containers
            .update(&record.id, |r| r.state.error = message);
    })
}

fn finish(world: &World, record: &ContainerRecord, attached: attach::Attached) -> Result<i32> {
    match attached.pump(world.engine, &record.id)? {
        Some(code) => Ok(code),
        None => Ok(world
            .containers
            .load(&record.id)
            .map_or(0, |r| r.state.exit_code)),
    }
}
