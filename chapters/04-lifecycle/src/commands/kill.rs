//! `kill [-s SIG] CONTAINER…`: a signal to the container's init, through its
//! supervisor.

use berth_engine::cli::KillArgs;
use berth_engine::{Engine, Error, Result};
use berth_isolation::runtime::signals;

use super::for_each;
use crate::events;
use crate::state::{Action, Answer, decide};
use crate::supervisor::protocol;

/// `kill`: prints each name given.
pub fn kill(engine: &Engine, args: &KillArgs) -> Result<i32> {
    let signal = signals::parse(&args.signal)
        .map_err(|_| Error::failed(format!("Invalid signal: {}", args.signal)))?;
    for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        if let Answer::Refuse(why) = decide(Action::Kill, record.state.status) {
            return Err(Error::failed(why.message(
                given,
                &record.id,
                record.state.status,
            )));
        }
        // A kill by the user is a stop as far as the restart policy goes.
        world
            .containers
            .update(&record.id, |r| r.state.stopped_by_user = true)?;
        protocol::signal(engine, &record.id, signal as i32)
            .map_err(|e| Error::failed(format!("Cannot kill container: {given}: {e}")))?;
        if signal == nix::sys::signal::Signal::SIGKILL {
            super::pause::thaw_if_paused(world, &record.id);
        }
        events::emit(
            engine,
            &record,
            "kill",
            &[("signal", (signal as i32).to_string())],
        );
        Ok(())
    })
}
