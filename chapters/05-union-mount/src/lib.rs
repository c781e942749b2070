//! # Chapter 05 — union mount
//!
//! Chapter 03 copied every layer of the image into each container. This chapter
//! unpacks each layer once, shares it between every image and container on it,
//! and gives each container an overlay: the image's layers read-only below, one
//! writable directory of its own on top, copied up to on the first write.
//!
//! - [`storage`]: the layer cache, the overlay mount, the init layer, the
//!   plain-copy fallback;
//! - [`commands`]: diff, commit, export and cp.
//!
//! Read it in the book: chapter 05, "Union mount".
#![deny(missing_docs)]

pub mod commands;
pub mod storage;

use berth_engine::cli::{Command, ContainerCommand};
use berth_engine::{Chapter, Engine, Result, RootFilesystem};

/// Chapter 05 as a plug-in.
pub struct Union;

/// The chapter value a binary registers.
pub static UNION: Union = Union;

// ANCHOR: chapter_05
impl Chapter for Union {
    fn number(&self) -> u8 {
        5
    }

    fn run_command(&self, engine: &Engine, command: &Command) -> Option<Result<i32>> {
        use Command as C;
        use ContainerCommand as CC;
        use commands::*;
        Some(match command {
            C::Diff(args) | C::Container(CC::Diff(args)) => diff::diff(engine, args),
            C::Commit(args) | C::Container(CC::Commit(args)) => commit::commit(engine, args),
            C::Export(args) | C::Container(CC::Export(args)) => export::export(engine, args),
            C::Cp(args) | C::Container(CC::Cp(args)) => cp::cp(engine, args),
            _ => return None,
        })
    }

    // Replaces chapter 03's copy: layers unpacked once, an overlay per container.
    fn root_filesystem(&self) -> Option<&dyn RootFilesystem> {
        Some(&storage::driver::UnionStorage)
    }
}
// ANCHOR_END: chapter_05
