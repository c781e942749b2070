//! # Chapter 04 — lifecycle
//!
//! A container is a process with a life: created, running, paused, restarting,
//! exited, removed. This chapter keeps a record of each container and a
//! supervisor beside each one that runs.
//!
//! - [`record`]: `BERTH_ROOT/containers/<id>/`, written atomically under a lock,
//!   reconciled with the kernel when its supervisor is gone;
//! - [`names`]: unique names, random `adjective_surname`, lookups by prefix;
//! - [`state`]: docker's state machine and its answers to invalid moves;
//! - [`restart`]: restart policies and the back-off;
//! - [`logs`], [`events`]: the json-file log and the events journal;
//! - [`supervisor`]: the double-forked watcher of one container, its socket;
//! - [`commands`]: create, start, run, stop, kill, restart, wait, rm, ps, logs.
//!
//! Read it in the book: chapter 04, "Lifecycle".
#![deny(missing_docs)]

pub mod commands;
pub mod events;
pub mod logs;
pub mod names;
pub mod record;
pub mod restart;
pub mod state;
pub mod supervisor;

use berth_engine::cli::{Command, ContainerCommand};
use berth_engine::{Chapter, Engine, ReferenceHolder, Result};

/// Chapter 04 as a plug-in.
pub struct Lifecycle;

/// The chapter value a binary registers.
pub static LIFECYCLE: Lifecycle = Lifecycle;

// ANCHOR: chapter_04
impl Chapter for Lifecycle {
    fn number(&self) -> u8 {
        4
    }

    fn run_command(&self, engine: &Engine, command: &Command) -> Option<Result<i32>> {
        use Command as C;
        use ContainerCommand as CC;
        use commands::*;
        Some(match command {
            // Chapter 04 takes `run` over from chapter 03: a record and a supervisor.
            C::Run(args) | C::Container(CC::Run(args)) => run::run(engine, args),
            C::Create(args) | C::Container(CC::Create(args)) => create::create(engine, args),
            C::Start(args) | C::Container(CC::Start(args)) => start::start(engine, args),
            C::Stop(args) | C::Container(CC::Stop(args)) => stop::stop(engine, args),
            C::Restart(args) | C::Container(CC::Restart(args)) => restart::restart(engine, args),
            C::Kill(args) | C::Container(CC::Kill(args)) => kill::kill(engine, args),
            C::Wait(args) | C::Container(CC::Wait(args)) => wait::wait(engine, args),
            C::Rm(args) | C::Container(CC::Rm(args)) => rm::rm(engine, args),
            C::Ps(args) | C::Container(CC::Ls(args)) => ps::ps(engine, args),
            C::Logs(args) | C::Container(CC::Logs(args)) => logs::logs(engine, args),
            C::Pause(args) | C::Container(CC::Pause(args)) => pause::pause(engine, args),
            C::Unpause(args) | C::Container(CC::Unpause(args)) => pause::unpause(engine, args),
            C::Inspect(args) => inspect::inspect(engine, args),
            C::Container(CC::Inspect(args)) => inspect::container_inspect(engine, args),
            C::Rename(args) | C::Container(CC::Rename(args)) => rename::rename(engine, args),
            C::Container(CC::Prune(args)) => prune::prune(engine, args),
            C::Attach(args) | C::Container(CC::Attach(args)) => attach::attach(engine, args),
            C::Top(args) | C::Container(CC::Top(args)) => top::top(engine, args),
            C::Stats(args) | C::Container(CC::Stats(args)) => stats::stats(engine, args),
            C::Update(args) | C::Container(CC::Update(args)) => update::update(engine, args),
            C::Exec(args) | C::Container(CC::Exec(args)) => exec::exec(engine, args),
            C::Supervise(args) => supervisor::main(engine, args),
            _ => return None,
        })
    }

    fn reference_holder(&self) -> Option<&dyn ReferenceHolder> {
        Some(self)
    }
}
// ANCHOR_END: chapter_04

impl ReferenceHolder for Lifecycle {
    fn image_users(&self, engine: &Engine, image_id: &str) -> Result<Vec<String>> {
        let containers = record::Containers::open(engine)?;
        Ok(containers
            .list()?
            .into_iter()
            .filter(|r| r.image_id.as_deref() == Some(image_id))
            .map(|r| format!("container {}", berth_engine::state::short_id(&r.id)))
            .collect())
    }
}
