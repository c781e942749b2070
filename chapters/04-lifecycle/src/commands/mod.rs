//! The CLI glue, one command per file, on top of the records and the supervisor.

pub mod attach;
pub mod create;
pub mod exec;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod pause;
pub mod prune;
pub mod ps;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod update;
pub mod wait;

use std::time::{Duration, Instant};

use berth_engine::{Engine, Result};
use berth_isolation::runtime::record::is_alive;

use crate::names::{Names, lookup};
use crate::record::{ContainerRecord, Containers};

/// The two stores every command reads.
pub struct World<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// Container records.
    pub containers: Containers,
    /// Names.
    pub names: Names,
}

impl<'a> World<'a> {
    /// Opens the containers and names of `engine`'s state root.
    pub fn open(engine: &'a Engine) -> Result<Self> {
        Ok(World {
            engine,
            containers: Containers::open(engine)?,
            names: Names::open(engine)?,
        })
    }

    /// The record of the container `given` names (reconciled).
    pub fn find(&self, given: &str) -> Result<ContainerRecord> {
        let id = lookup(&self.containers, &self.names, given)?;
        Ok(self.containers.get(&id)?)
    }
}

/// Runs `one` for every container named, printing the name given on success
/// and the error on failure; exit 1 if any failed, after doing the rest.
pub fn for_each(
    engine: &Engine,
    given: &[String],
    mut one: impl FnMut(&World, &str) -> Result<()>,
) -> Result<i32> {
    let world = World::open(engine)?;
    let mut failed = false;
    for name in given {
        match one(&world, name) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// Waits (at most 5 s) until the supervisor recorded in `record` has gone, so
/// that its socket is gone too.
pub fn wait_for_supervisor(record: &ContainerRecord) {
    let (pid, started) = (
        record.state.supervisor_pid,
        record.state.supervisor_start_time,
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid > 0 && is_alive(pid, started) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}
