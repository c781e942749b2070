//! # Chapter 03 — images
//!
//! An image is a stack of file-system layers plus a configuration, all named by
//! the SHA-256 of their bytes.
#![deny(missing_docs)]

pub mod archive;
pub mod layer;
pub mod reference;
pub mod store;

use berth_engine::Chapter;

/// Chapter 03 as a plug-in.
pub struct Images;

/// The chapter value a binary registers.
pub static IMAGES: Images = Images;

impl Chapter for Images {
    fn number(&self) -> u8 {
        3
    }
}
