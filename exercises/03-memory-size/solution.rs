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
//! This is the reference solution; the comments in the function say why.

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
    let invalid = || InvalidSize {
        value: value.to_string(),
    };
    // Digits are ASCII, so the index where they end is also a char boundary.
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(digits_end);
    // Checking for emptiness here, rather than leaving it to `parse`, makes the
    // rule visible: `u64::from_str` would also accept a leading `+`.
    if digits.is_empty() {
        return Err(invalid());
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(invalid()),
    };
    // Both steps can overflow: a long run of digits, or a large count of GiB.
    let count: u64 = digits.parse().map_err(|_| invalid())?;
    count.checked_mul(multiplier).ok_or_else(invalid)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
