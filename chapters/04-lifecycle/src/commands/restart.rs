//! `restart [-t N] CONTAINER…`: stop, then start.

use berth_engine::cli::StopArgs;
use berth_engine::{Engine, Result};

use super::for_each;
use super::start::start_detached;
use super::stop::stop_container;

/// `restart`: prints each name given.
pub fn restart(engine: &Engine, args: &StopArgs) -> Result<i32> {
    for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        stop_container(world, &record, args.time, args.signal.as_deref())?;
        let record = world.find(given)?;
        start_detached(world, &record, None)
    })
}
