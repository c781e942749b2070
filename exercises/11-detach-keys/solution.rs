//! # Exercise 11 — detach keys
//!
//! `docker attach` and `docker run -it` join your terminal to a container: what
//! you type goes to its process. To leave without stopping it, you type the
//! *detach keys*, ctrl-p then ctrl-q unless `--detach-keys` says otherwise.
//!
//! A terminal sends a control key as one byte: ctrl-a is 1, ctrl-b is 2, …
//! ctrl-z is 26, and the six characters around the capital letters in ASCII
//! give the rest, ctrl-@ 0, ctrl-[ 27 (the same byte as Escape), ctrl-\ 28,
//! ctrl-] 29, ctrl-^ 30 and ctrl-_ 31. The rule behind the table: a control
//! key is its character with only the low five bits kept (`c & 0x1f`).
//!
//! `--detach-keys` is a comma-separated list of keys, each either `ctrl-X`
//! with X one of the characters above (letters in lower case) or one plain
//! ASCII character: `ctrl-p,ctrl-q`, `ctrl-a,d`, `ctrl-\`. Anything else —
//! an empty key, `ctrl-1`, `ab` — is refused, naming the key.
//!
//! While attached, every byte you type passes through a matcher:
//!
//! - a byte that continues the sequence is *held back*, since it may be the
//!   start of a detach and must not reach the container;
//! - the last byte of the sequence detaches; bytes typed before it in the same
//!   read are still sent;
//! - a byte that breaks the match sends the held bytes on, then itself, and
//!   matching starts over *after* it. That is docker's rule: ctrl-p ctrl-p
//!   ctrl-q does not detach, it sends all three keys.
//!
//! The sequence can be split across reads (you type slowly), so the matcher
//! remembers how much of it it has seen.
//!
//! This is the reference solution; the comments in the functions say why.

use std::fmt;

/// The detach keys when `--detach-keys` is not given.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// A key of `--detach-keys` that is neither `ctrl-X` nor one ASCII character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadDetachKey {
    /// The key as given.
    pub key: String,
}

impl fmt::Display for BadDetachKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid detach key {:?}: use one character or ctrl-a…ctrl-z, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_",
            self.key
        )
    }
}

impl std::error::Error for BadDetachKey {}

/// The byte a terminal sends for one key: `ctrl-p` → 0x10, `q` → b'q'.
pub fn key_to_byte(key: &str) -> Result<u8, BadDetachKey> {
    let bad = || BadDetachKey {
        key: key.to_string(),
    };
    // A plain key is tested first: `key.len()` counts bytes, so "é" (two
    // bytes) is refused here as it is by docker, and the single byte must be
    // ASCII for the same reason.
    if key.len() == 1 && key.is_ascii() {
        return Ok(key.as_bytes()[0]);
    }
    let Some(name) = key.strip_prefix("ctrl-") else {
        return Err(bad());
    };
    match name.as_bytes() {
        // Masking to five bits maps '@' (0x40) to 0 and '_' (0x5f) to 31, and
        // the lower-case letters (0x61…0x7a) to 1…26, as a terminal does.
        [c @ (b'a'..=b'z' | b'@' | b'[' | b'\\' | b']' | b'^' | b'_')] => Ok(c & 0x1f),
        _ => Err(bad()),
    }
}

/// The bytes of a `--detach-keys` value, in order.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, BadDetachKey> {
    // `split` keeps empty pieces ("ctrl-p," gives "ctrl-p" and ""), and
    // `key_to_byte` refuses them: a stray comma is a mistake to report, not to
    // skip. Collecting into a `Result` stops at the first bad key.
    spec.split(',').map(key_to_byte).collect()
}

/// What one read from the terminal gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fed {
    /// The bytes to send to the container now.
    pub forward: Vec<u8>,
    /// Whether the detach sequence is complete: stop attaching.
    pub detach: bool,
}

/// Watches typed bytes for the detach sequence.
#[derive(Debug, Clone)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    /// A matcher for the sequence `keys` (from `parse_detach_keys`).
    pub fn new(keys: Vec<u8>) -> Self {
        DetachMatcher { keys, matched: 0 }
    }

    /// The sequence it watches for.
    pub fn keys(&self) -> &[u8] {
        &self.keys
    }

    /// How many bytes of the sequence are held back, waiting for the next read.
    pub fn held(&self) -> usize {
        self.matched
    }

    /// Takes the bytes of one read from the terminal.
    pub fn feed(&mut self, input: &[u8]) -> Fed {
        let mut forward = Vec::with_capacity(input.len() + self.matched);
        // No sequence, nothing to watch for (and nothing to index below).
        if self.keys.is_empty() {
            forward.extend_from_slice(input);
            return Fed {
                forward,
                detach: false,
            };
        }
        for &byte in input {
            if byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    // Whatever followed in this read is dropped: the client
                    // stops reading for this container.
                    self.matched = 0;
                    return Fed {
                        forward,
                        detach: true,
                    };
                }
            } else {
                // The held bytes were the start of the sequence, so they
                // are exactly `keys[..matched]`: no buffer of their own needed.
                forward.extend_from_slice(&self.keys[..self.matched]);
                forward.push(byte);
                self.matched = 0;
            }
        }
        Fed {
            forward,
            detach: false,
        }
    }
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
