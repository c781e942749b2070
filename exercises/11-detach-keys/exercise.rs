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
//! Edit the three functions marked `TODO`. Run `cargo xtask exercise 11`.

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
    // TODO: one ASCII character is its own byte. Otherwise the key must be
    // `ctrl-` followed by exactly one of a…z, @, [, \, ], ^ or _; its byte is
    // that character `& 0x1f`. Anything else is a `BadDetachKey` naming `key`.
    todo!()
}

/// The bytes of a `--detach-keys` value, in order.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>, BadDetachKey> {
    // TODO: split on ',' and turn each key into its byte; the first bad key
    // is the error (an empty key, from a stray comma, is bad too).
    todo!()
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
        // TODO: go through `input` byte by byte. A byte equal to
        // `self.keys[self.matched]` is held (count it in `self.matched`); when
        // the whole sequence is matched, detach, sending what came before it.
        // Any other byte sends the held bytes (`&self.keys[..self.matched]`)
        // and itself on, and matching starts over. Bytes held at the end of
        // the input wait for the next call. An empty sequence never detaches.
        todo!()
    }
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
