//! # Exercise 03 — docker's memory sizes
//!
//! `--memory 512m` ends up as a number of bytes in the cgroup's limit file
//! (`memory.limit_in_bytes` on cgroup v1, `memory.max` on v2). docker reads sizes
//! with binary units: `k` is 1024, `m` is 1024², `g` is 1024³, in either case, and
//! an optional `b` may follow (`512mb`, `10b`). A bare number is a count of bytes.
//! Anything else is refused, and the message names the value: `invalid size: '12zz'`
//! (docker exits 125 with it).
//!
//! docker also takes fractions (`1.5g`), `t` and `p`, and an `i` (`512MiB`); this
//! exercise keeps to the forms above.
//!
//! Edit the function marked `TODO`. Run `cargo xtask exercise 03`.

use std::fmt;

/// A size docker would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSize {
    /// The value as the user wrote it.
    pub value: String,
}

impl fmt::Display for InvalidSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid size: '{}'", self.value)
    }
}

impl std::error::Error for InvalidSize {}

/// Parses `512m`, `1G`, `100k`, `64mb`, `10b` or `4096` into bytes.
pub fn parse_memory_size(value: &str) -> Result<u64, InvalidSize> {
    // TODO: split the value where the digits end. The digits must not be empty;
    // the rest, lower-cased, is "", "b", "k", "kb", "m", "mb", "g" or "gb", and
    // picks the multiplier. A number too large for a u64 is invalid too
    // (`checked_mul` says when).
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
