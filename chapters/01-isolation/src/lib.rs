//! # Chapter 01 — isolation: the runtime
//!
//! A container is an ordinary process that the kernel shows a different world:
//! its own mount table, process tree, host name, IPC and network stack
//! (namespaces), a different root directory (`pivot_root`), fewer privileges
//! (capabilities, seccomp). This chapter builds the piece that sets that world up:
//! the *runtime*, shaped like runc, which takes an OCI bundle (a root filesystem
//! and a `config.json`) and runs it.
//!
//! - [`spec`]: docker's defaults as an edit of the OCI runtime spec;
//! - [`runtime`]: `create`, `start`, `state`, `kill`, `delete`, `run` on a bundle;
//! - [`security`]: capabilities and seccomp;
//! - [`run`]: `ch01 run --rootfs DIR CMD…`, which writes a bundle and runs it.
//!
//! Read it in the book: chapter 01, "Isolation".
#![deny(missing_docs)]

pub mod run;
pub mod runtime;
pub mod security;
pub mod spec;
pub mod user;

use berth_engine::cli::Command;
use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{Chapter, ContainerPlan, Engine, Result};

/// Chapter 01 as a plug-in.
pub struct Isolation;

/// The chapter value a binary registers.
pub static ISOLATION: Isolation = Isolation;

impl Chapter for Isolation {
    fn number(&self) -> u8 {
        1
    }

    fn run_command(&self, engine: &Engine, command: &Command) -> Option<Result<i32>> {
        match command {
            Command::Run(args) => Some(run::run(engine, args)),
            Command::Runtime(cmd) => Some(runtime::command(engine, cmd)),
            _ => None,
        }
    }

    fn edit_spec(&self, engine: &Engine, plan: &ContainerPlan, spec: &mut Spec) -> Result<()> {
        spec::edit(engine, plan, spec)
    }
}
