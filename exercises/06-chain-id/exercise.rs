//! # Exercise 06 — chain ids
//!
//! An image's config lists one *diff id* per layer: the sha256 of the layer's
//! uncompressed tar, `sha256:<64 hex>`. A diff id names one layer on its own, but
//! a layer only means something on top of the layers below it: `rm /etc/motd`
//! applied to a different base gives a different tree. So berth, like docker and
//! containerd, names each *stack* of layers by a **chain id** (OCI image spec,
//! config.md):
//!
//! ```text
//! ChainID(L0)        = DiffID(L0)
//! ChainID(L0|…|Ln)   = sha256( ChainID(L0|…|Ln-1) + " " + DiffID(Ln) )
//! ```
//!
//! The string hashed is both digests written out in full, `sha256:` included,
//! with one space between them; the result is written the same way. Two images
//! that start with the same layers share the chain ids of that start, which is how
//! an unpacked stack can be reused.
//!
//! A diff id that is not `sha256:` followed by 64 lower-case hex digits is refused
//! before anything is hashed: hashing a mistyped id would give a chain id that
//! looks right and names nothing.
//!
//! Edit the two functions marked `TODO`. Run `cargo xtask exercise 06`.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// The only digest algorithm this exercise accepts, with its separator.
pub const SHA256_PREFIX: &str = "sha256:";

/// A diff id that is not `sha256:<64 lower-case hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDiffId {
    /// Where it was in the list, counting from 0 (the bottom layer).
    pub index: usize,
    /// The diff id as given.
    pub value: String,
}

impl fmt::Display for InvalidDiffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "diff id {} ({:?}) is not sha256:<64 lower-case hex digits>",
            self.index, self.value
        )
    }
}

impl std::error::Error for InvalidDiffId {}

/// The sha256 digest of `bytes`, written as `sha256:<64 lower-case hex>`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{SHA256_PREFIX}{hex}")
}

/// True when `digest` is `sha256:` followed by exactly 64 lower-case hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    // TODO: strip SHA256_PREFIX (no prefix: false), then check that exactly 64
    // characters are left and each is 0-9 or a-f. Upper-case hex is refused:
    // digests are compared as strings, so `ABC…` and `abc…` would be two names.
    todo!()
}

/// The chain id of every layer, bottom first: entry `i` names layers `0..=i`.
pub fn chain_ids(diff_ids: &[&str]) -> Result<Vec<String>, InvalidDiffId> {
    // TODO: check each diff id with `is_sha256_digest` (the error says which
    // one). The first chain id is the first diff id, unchanged; each next one is
    // `sha256_digest` of the previous chain id, a space and the layer's diff id.
    // No layers, no chain ids.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
