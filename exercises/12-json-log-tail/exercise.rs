//! # Exercise 12 — the last lines of a json-file log
//!
//! docker keeps what a container writes in a `json-file` log: one JSON object
//! per line of output, appended as the output comes.
//!
//! ```text
//! {"log":"hello world\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
//! {"log":"oops\n","stream":"stderr","time":"2026-01-02T03:04:05.5Z"}
//! ```
//!
//! `log` is the output, newline included; `stream` says which of stdout and
//! stderr it came from; `time` is when it was read, in UTC, with the trailing
//! zeros of the fraction of a second left out (`.5Z`, or no fraction at all).
//! The text is JSON-escaped (`\"`, `\n`, `\u003c` for `<`), so read it with a
//! JSON parser, never by cutting at quotes.
//!
//! `docker logs --tail N` prints the `log` of the last N entries (`--tail all`
//! for every one). With `-t` each entry is prefixed by its time and a space,
//! the fraction always written with nine digits so that the times line up:
//! `2026-01-02T03:04:05.500000000Z oops`.
//!
//! The log is read while the container may be writing to it, so its last line
//! can be *torn*: half an object, with no newline yet. A complete entry always
//! ends with `\n`; whatever follows the last `\n` is skipped, not an error. A
//! complete line that is not an entry is an error naming its line number.
//!
//! Edit the four functions marked `TODO`. Run `cargo xtask exercise 12`.

use std::fmt;

// `parse_entry` needs `use serde_json::Value;` here.

/// One entry of a json-file log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The output, newline included.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When it was read: RFC 3339 in UTC, trailing zeros of the fraction left out.
    pub time: String,
}

/// How many entries `--tail` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// `--tail all` (the default).
    All,
    /// `--tail N`.
    Last(usize),
}

/// A complete line of the log that is not an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLogLine {
    /// Its line number, counting from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for BadLogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "log line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for BadLogLine {}

/// The entry on line `line` (counting from 1) of the log, whose text is `text`.
pub fn parse_entry(line: usize, text: &str) -> Result<LogEntry, BadLogLine> {
    // TODO: parse `text` into a `serde_json::Value` (`serde_json::from_str`),
    // then take the string fields `log`, `stream` and `time`
    // (`value.get(name).and_then(Value::as_str)`). Invalid JSON or a missing
    // field is a `BadLogLine` with this `line` and a reason.
    todo!()
}

/// The last entries of the log `content`, as `--tail` asks, oldest first; a
/// torn last line is skipped.
pub fn last_entries(content: &str, tail: Tail) -> Result<Vec<LogEntry>, BadLogLine> {
    // TODO: keep only what comes before the last '\n' (no '\n': no entries),
    // split it into lines, and parse the last N of them (all of them for
    // `Tail::All`), numbering lines from 1. Oldest first.
    todo!()
}

/// `time` with the fraction of a second written with nine digits:
/// `…05.5Z` → `…05.500000000Z`, `…05Z` → `…05.000000000Z`. A time that does
/// not end in `Z` is returned as it is.
pub fn fixed_nanos(time: &str) -> String {
    // TODO: take off the 'Z' (none: return `time` unchanged), split the rest
    // at '.', and write the fraction padded on the right with zeros to nine
    // digits (`format!("{:0<9}", fraction)`), then the 'Z' again.
    todo!()
}

/// What `docker logs` prints for one entry, with `-t` when `timestamps`.
pub fn format_entry(entry: &LogEntry, timestamps: bool) -> String {
    // TODO: the `log` as it is, or, with timestamps, `fixed_nanos` of the
    // time, a space and the `log`.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
