//! # Chapter 02 — resources: cgroups
#![deny(missing_docs)]

use berth_engine::Chapter;

/// Chapter 02 as a plug-in.
pub struct Resources;

/// The chapter value a binary registers.
pub static RESOURCES: Resources = Resources;

impl Chapter for Resources {
    fn number(&self) -> u8 {
        2
    }
}
