//! # Chapter 04 — lifecycle
//!
//! A container is a process with a life: created, running, paused, restarting,
//! exited, removed. This chapter keeps a record of each container and a
//! supervisor beside each one that runs.
#![deny(missing_docs)]

use berth_engine::Chapter;

/// Chapter 04 as a plug-in.
pub struct Lifecycle;

/// The chapter value a binary registers.
pub static LIFECYCLE: Lifecycle = Lifecycle;

impl Chapter for Lifecycle {
    fn number(&self) -> u8 {
        4
    }
}
