//! # Chapter 05 — union mount
//!
//! Chapter 03 copied every layer of the image into each container. This chapter
//! unpacks each layer once, shares it between every image and container on it,
//! and gives each container an overlay: the image's layers read-only below, one
//! writable directory of its own on top, copied up to on the first write.
//!
//! - [`storage`]: the layer cache, the overlay mount, the init layer, the
//!   plain-copy fallback;
//!
//! Read it in the book: chapter 05, "Union mount".
#![deny(missing_docs)]

pub mod storage;

use berth_engine::Chapter;

/// Chapter 05 as a plug-in.
pub struct Union;

/// The chapter value a binary registers.
pub static UNION: Union = Union;

// ANCHOR: chapter_05
impl Chapter for Union {
    fn number(&self) -> u8 {
        5
    }
}
// ANCHOR_END: chapter_05
