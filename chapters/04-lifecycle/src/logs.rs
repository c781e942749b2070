//! docker's `json-file` log: one JSON object per line of output,
//! `{"log":"hello world\n","stream":"stdout","time":"2026-…Z"}`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::record::{parse_time, rfc3339_nano};

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The bytes written, newline included (lossy UTF-8).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When the supervisor read it (RFC 3339, nanoseconds).
    pub time: String,
}

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (and a terminal's output).
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// docker's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// A line longer than this is logged in pieces, as docker does (16 KiB).
pub const MAX_LINE: usize = 16 * 1024;

// ANCHOR: log_writer
/// Appends output to the log, one entry per line; an unfinished line waits
/// for its end (or for [`LogWriter::flush_partial`] when the process ends).
pub struct LogWriter<W: Write> {
    out: W,
    pending: [Vec<u8>; 2],
}

impl LogWriter<File> {
    /// Opens (creating) the log at `path` for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        Ok(LogWriter::new(file))
    }
}

impl<W: Write> LogWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        LogWriter {
            out,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// Logs `bytes` read from `stream` at `time`.
    pub fn write(&mut self, stream: Stream, bytes: &[u8], time: SystemTime) -> io::Result<()> {
        let slot = stream as usize;
        self.pending[slot].extend_from_slice(bytes);
        while let Some(end) = self.pending[slot].iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending[slot].drain(..=end).collect();
            self.entry(stream, &line, time)?;
        }
        while self.pending[slot].len() >= MAX_LINE {
            let piece: Vec<u8> = self.pending[slot].drain(..MAX_LINE).collect();
            self.entry(stream, &piece, time)?;
        }
        Ok(())
    }

    /// Logs what is left of unfinished lines.
    pub fn flush_partial(&mut self, time: SystemTime) -> io::Result<()> {
        for stream in [Stream::Stdout, Stream::Stderr] {
            let rest = std::mem::take(&mut self.pending[stream as usize]);
            if !rest.is_empty() {
                self.entry(stream, &rest, time)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, stream: Stream, bytes: &[u8], time: SystemTime) -> io::Result<()> {
        let line = LogLine {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream: stream.name().into(),
            time: rfc3339_nano(time),
        };
        let mut json = serde_json::to_vec(&line).expect("a log line serialises");
        json.push(b'\n');
        // One write per entry: a reader following the file never sees half a line.
        self.out.write_all(&json)
    }
}
// ANCHOR_END: log_writer

/// Which entries `logs` prints.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--tail N`: only the last N.
    pub tail: Option<usize>,
    /// `--since`: entries at or after.
    pub since: Option<SystemTime>,
    /// `--until`: entries before.
    pub until: Option<SystemTime>,
}

impl Selection {
    /// Whether an entry's time is in the window.
    pub fn admits(&self, line: &LogLine) -> bool {
        let Some(time) = parse_time(&line.time) else {
            return true;
        };
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }
}

// ANCHOR: tail
/// Reads the log's entries that `selection` admits. Returns them and the byte
/// offset where the file ended, for `--follow` to go on from.
pub fn read(path: &Path, selection: &Selection) -> io::Result<(Vec<LogLine>, u64)> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let mut lines = Vec::new();
    let mut offset = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        // A line without its newline is still being written: leave it for later.
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        offset += n as u64;
        if let Ok(line) = serde_json::from_slice::<LogLine>(&buf)
            && selection.admits(&line)
        {
            lines.push(line);
        }
    }
    if let Some(n) = selection.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    Ok((lines, offset))
}
// ANCHOR_END: tail

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn each_line_is_one_json_entry_and_halves_wait() {
        let mut w = LogWriter::new(Vec::new());
        w.write(Stream::Stdout, b"hello world\nhal", at(1)).unwrap();
        w.write(Stream::Stderr, b"oops\n", at(2)).unwrap();
        w.write(Stream::Stdout, b"f\n", at(3)).unwrap();
        w.write(Stream::Stdout, b"no newline", at(4)).unwrap();
        w.flush_partial(at(5)).unwrap();
        let text = String::from_utf8(w.out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"log":"hello world\n","stream":"stdout","time":"1970-01-01T00:00:01Z"}"#
        );
        assert_eq!(
            lines[1],
            r#"{"log":"oops\n","stream":"stderr","time":"1970-01-01T00:00:02Z"}"#
        );
        assert!(lines[2].starts_with(r#"{"log":"half\n""#));
        assert!(lines[3].starts_with(r#"{"log":"no newline","stream":"stdout""#));
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn a_very_long_line_is_cut_in_pieces() {
        let mut w = LogWriter::new(Vec::new());
        w.write(Stream::Stdout, &vec![b'x'; MAX_LINE + 10], at(1))
            .unwrap();
        w.flush_partial(at(1)).unwrap();
        assert_eq!(String::from_utf8(w.out).unwrap().lines().count(), 2);
    }

    #[test]
    fn tail_since_until_select_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = LogWriter::open(&path).unwrap();
        for i in 0..10u64 {
            w.write(Stream::Stdout, format!("{i}\n").as_bytes(), at(100 + i))
                .unwrap();
        }
        // An unfinished entry at the end is not read yet.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"log\":")
            .unwrap();
        let logs = |s: Selection| -> Vec<String> {
            read(&path, &s)
                .unwrap()
                .0
                .into_iter()
                .map(|l| l.log)
                .collect()
        };
        assert_eq!(
            logs(Selection {
                tail: Some(2),
                ..Default::default()
            }),
            ["8\n", "9\n"]
        );
        assert_eq!(
            logs(Selection {
                since: Some(at(107)),
                until: Some(at(109)),
                ..Default::default()
            }),
            ["7\n", "8\n"]
        );
        assert_eq!(
            logs(Selection {
                tail: Some(0),
                ..Default::default()
            })
            .len(),
            0
        );
        let (all, offset) = read(&path, &Selection::default()).unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(offset + 7, std::fs::metadata(&path).unwrap().len());
    }
}
