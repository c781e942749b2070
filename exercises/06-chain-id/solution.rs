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
//! This is the reference solution; the comments in the functions say why.

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
    let Some(hex) = digest.strip_prefix(SHA256_PREFIX) else {
        return false;
    };
    // `len()` counts bytes; that is safe here because any non-ASCII character
    // fails the digit test below anyway.
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The chain id of every layer, bottom first: entry `i` names layers `0..=i`.
pub fn chain_ids(diff_ids: &[&str]) -> Result<Vec<String>, InvalidDiffId> {
    // Checking every id before hashing any keeps the function all-or-nothing:
    // a caller never sees half a chain.
    if let Some((index, bad)) = diff_ids
        .iter()
        .enumerate()
        .find(|(_, id)| !is_sha256_digest(id))
    {
        return Err(InvalidDiffId {
            index,
            value: bad.to_string(),
        });
    }
    let mut chain: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        // `last()` is the chain id of everything below this layer; the bottom
        // layer has nothing below it, so its chain id is its own diff id.
        let next = match chain.last() {
            None => diff_id.to_string(),
            Some(parent) => sha256_digest(format!("{parent} {diff_id}").as_bytes()),
        };
        chain.push(next);
    }
    Ok(chain)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
