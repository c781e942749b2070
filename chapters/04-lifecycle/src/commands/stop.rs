//! `stop [-t N] CONTAINER…`: the stop signal, N seconds, then SIGKILL.

use std::time::Duration;

use berth_engine::cli::StopArgs;
use berth_engine::{Engine, Error, Result};
use berth_isolation::runtime::signals;

use super::pause::thaw_if_paused;
use super::{World, for_each, wait_for_supervisor};
use crate::events;
use crate::record::ContainerRecord;
use crate::state::{Action, Answer, Status, decide};
use crate::supervisor::protocol::{self, Request};

/// `stop`: prints each name given.
pub fn stop(engine: &Engine, args: &StopArgs) -> Result<i32> {
    for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        stop_container(world, &record, args.time, args.signal.as_deref())
    })
}

// ANCHOR: stop
/// Marks the container stopped by the user (so no policy restarts it), sends
/// the stop signal, waits up to the timeout, then sends SIGKILL.
pub fn stop_container(
    world: &World,
    record: &ContainerRecord,
    time: Option<i64>,
    signal: Option<&str>,
) -> Result<()> {
    match decide(Action::Stop, record.state.status) {
        Answer::Proceed => {}
        Answer::AlreadyDone => return Ok(()),
        Answer::Refuse(why) => {
            return Err(Error::failed(why.message(
                &record.name,
                &record.id,
                record.state.status,
            )));
        }
    }
    let signal_name = signal.unwrap_or(&record.config.stop_signal);
    let mut signal = signals::parse(signal_name)
        .map_err(|_| Error::failed(format!("Invalid signal: {signal_name}")))?;
    let mut timeout = match time.or(record.config.stop_timeout).unwrap_or(10) {
        t if t < 0 => None,
        t => Some(Duration::from_secs(t as u64)),
    };
    // A frozen process cannot act on a stop signal: a paused container is
    // killed and thawed at once, and ends 137 as in docker.
    if record.state.status == Status::Paused {
        signal = nix::sys::signal::Signal::SIGKILL;
        timeout = Some(Duration::ZERO);
    }
    world
        .containers
        .update(&record.id, |r| r.state.stopped_by_user = true)?;
    events::emit(
        world.engine,
        record,
        "kill",
        &[("signal", (signal as i32).to_string())],
    );
    signal_and_wait(world, record, signal as i32, timeout)?;
    events::emit(world.engine, record, "stop", &[]);
    Ok(())
}
// ANCHOR_END: stop

/// Sends `signal`, waits up to `timeout` for the exit, then SIGKILL and waits.
/// A supervisor that is already gone means the container is already down.
pub fn signal_and_wait(
    world: &World,
    record: &ContainerRecord,
    signal: i32,
    timeout: Option<Duration>,
) -> Result<()> {
    let engine = world.engine;
    // Waiting first, so the exit cannot slip between the signal and the wait.
    let Ok(mut waiter) = protocol::send(engine, &record.id, &Request::Wait) else {
        return Ok(());
    };
    let _ = protocol::signal(engine, &record.id, signal);
    if signal == libc::SIGKILL {
        thaw_if_paused(world, &record.id);
    }
    let failed = |e: std::io::Error| Error::failed(format!("waiting for {}: {e}", record.name));
    let exited = match protocol::reply(&mut waiter, timeout) {
        Ok(Some(_)) => true,
        Ok(None) => false,
        Err(_) => true,
    };
    if !exited {
        let _ = protocol::signal(engine, &record.id, libc::SIGKILL);
        thaw_if_paused(world, &record.id);
        match protocol::reply(&mut waiter, Some(Duration::from_secs(30))) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(failed(e)),
        }
    }
    if let Ok(current) = world.containers.load(&record.id) {
        wait_for_supervisor(&current);
    }
    Ok(())
}
