//! # Chapter 01 — isolation: the runtime
#![deny(missing_docs)]

use berth_engine::Chapter;

/// Chapter 01 as a plug-in.
pub struct Isolation;

/// The chapter value a binary registers.
pub static ISOLATION: Isolation = Isolation;

impl Chapter for Isolation {
    fn number(&self) -> u8 {
        1
    }
}
