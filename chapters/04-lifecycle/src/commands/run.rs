//! `run`: create, then start — in the background with `-d` (printing the id),
//! else attached, exiting with the container's code.

use berth_engine::cli::RunArgs;
use berth_engine::{Engine, Result};

use super::World;
use super::create::create_container;
use super::start::{start_attached, start_detached};
use crate::supervisor::launch::Launching;

// ANCHOR: run
/// `run`: chapter 03's foreground run, now with a record and a supervisor.
pub fn run(engine: &Engine, args: &RunArgs) -> Result<i32> {
    // The supervisor starts up on another CPU while this process makes the
    // container; it learns the container's id once there is one.
    let mut supervisor = Launching::begin()?;
    let record = create_container(engine, args, Some(&mut supervisor))?;
    let world = World::open(engine)?;
    let started = match args.detach {
        true => start_detached(&world, &record, Some(supervisor)).map(|()| {
            println!("{}", record.id);
            0
        }),
        false => start_attached(
            &world,
            &record,
            args.interactive,
            args.detach_keys.as_deref(),
            Some(supervisor),
        ),
    };
    if started.is_err() && record.auto_remove {
        super::rm::remove_record(engine, &record);
    }
    started
}
// ANCHOR_END: run
