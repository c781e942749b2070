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
//! This is the reference solution; the comments in the functions say why.

use std::fmt;

use serde_json::Value;

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
    let bad = |reason: String| BadLogLine { line, reason };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    // `Value::get` is `None` for a missing key and for a non-object alike, and
    // `as_str` is `None` for a non-string: one chain covers every shape.
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("no string field {name:?}")))
    };
    Ok(LogEntry {
        log: field("log")?,
        stream: field("stream")?,
        time: field("time")?,
    })
}

/// The last entries of the log `content`, as `--tail` asks, oldest first; a
/// torn last line is skipped.
pub fn last_entries(content: &str, tail: Tail) -> Result<Vec<LogEntry>, BadLogLine> {
    // `split_terminator` would hide the torn piece; cutting at the last
    // newline shows the decision: everything after it is not an entry yet.
    let complete = match content.rfind('\n') {
        Some(end) => &content[..end],
        None => return Ok(Vec::new()),
    };
    let lines: Vec<&str> = complete.split('\n').collect();
    let skip = match tail {
        Tail::All => 0,
        Tail::Last(n) => lines.len().saturating_sub(n),
    };
    // Only the lines that will be printed are parsed: a log of a million
    // entries and `--tail 10` costs ten parses, not a million.
    lines
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(index, text)| parse_entry(index + 1, text))
        .collect()
}

/// `time` with the fraction of a second written with nine digits:
/// `…05.5Z` → `…05.500000000Z`, `…05Z` → `…05.000000000Z`. A time that does
/// not end in `Z` is returned as it is.
pub fn fixed_nanos(time: &str) -> String {
    let Some(without_zone) = time.strip_suffix('Z') else {
        return time.to_string();
    };
    let (seconds, fraction) = without_zone.split_once('.').unwrap_or((without_zone, ""));
    // `{:0<9}` pads on the right: trailing zeros are what RFC 3339 left out.
    format!("{seconds}.{fraction:0<9}Z")
}

/// What `docker logs` prints for one entry, with `-t` when `timestamps`.
pub fn format_entry(entry: &LogEntry, timestamps: bool) -> String {
    if timestamps {
        format!("{} {}", fixed_nanos(&entry.time), entry.log)
    } else {
        entry.log.clone()
    }
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
