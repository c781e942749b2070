//! The supervisor's socket, `BERTH_RUN/sv/<12-hex>.sock`, and what is said on
//! it. A client sends one request as a JSON line; the supervisor answers with
//! one JSON line, and, for `attach`, then streams frames in docker's layout
//! (1 byte stream, 3 zero bytes, 4 bytes big-endian length, the payload) —
//! stdout 1, stderr 2, and 3 for "the container exited" with the code as text.
//! After an `attach` with stdin, the client's further bytes are the
//! container's input; shutting down its write side closes that input.
//! New requests (exec, pause, stats) are new variants of [`Request`].

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use berth_engine::Engine;
use berth_engine::state::short_id;
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};
use serde::{Deserialize, Serialize};

/// Frame stream number: the container's stdout.
pub const STDOUT: u8 = 1;
/// Frame stream number: the container's stderr.
pub const STDERR: u8 = 2;
/// Frame stream number: the container's process exited; the payload is its code.
pub const EXIT: u8 = 3;

// ANCHOR: protocol_request
/// What a client asks of the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "lowercase")]
pub enum Request {
    /// Answer with the exit code when the container's process ends.
    Wait,
    /// Stream the container's output (and, with `stdin`, take its input).
    Attach {
        /// Forward the client's bytes to the container's stdin.
        stdin: bool,
    },
    /// Send signal number `signal` to the container's init.
    Signal {
        /// The signal's number.
        signal: i32,
    },
    /// Run `runtime exec --detach` with these arguments, so that the new
    /// process is the supervisor's to reap.
    Exec {
        /// The runtime's flags, the container id and the command.
        args: Vec<String>,
    },
    /// Run `runtime exec` and stay attached to the new process: the
    /// supervisor holds its stdio and reaps it ([`super::exec::Sessions`]).
    /// After the answer, the client sends frames (stdin, resize), not raw bytes.
    ExecAttached {
        /// The runtime's flags, the container id and the command.
        args: Vec<String>,
        /// Whether the client sends input (`-i`).
        stdin: bool,
        /// Whether the process has a terminal (`-t`).
        tty: bool,
    },
    /// Set the container's terminal size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
}
// ANCHOR_END: protocol_request

/// The first line a supervisor started ahead of its container reads on the
/// ready channel: which container, and, when its record is still being
/// written, what the supervisor needs of it to create the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The container's id.
    pub id: String,
    /// Given while the record is not on disk yet; `None`: read the record.
    #[serde(default)]
    pub made: Option<Made>,
}

/// What the supervisor's `create` reads of a new container's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// The root is an image's, which the root-filesystem driver mounts.
    pub image_root: bool,
    /// `-i`: keep a pipe to the container's stdin.
    pub open_stdin: bool,
    /// `-t`: a pty.
    pub tty: bool,
}

impl Made {
    /// What the supervisor reads of `record`.
    pub fn of(record: &crate::record::ContainerRecord) -> Self {
        Made {
            image_root: record.external_rootfs.is_none(),
            open_stdin: record.config.open_stdin,
            tty: record.config.tty,
        }
    }
}

/// The supervisor's one-line answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reply {
    /// Whether the request was done.
    pub ok: bool,
    /// For `wait`: the exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// What went wrong, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where the supervisor of container `id` listens (short enough for the
/// 108-byte limit of a unix socket path).
pub fn socket_path(engine: &Engine, id: &str) -> PathBuf {
    engine
        .paths
        .run
        .join("sv")
        .join(format!("{}.sock", short_id(id)))
}

/// One frame.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads one frame; `None` at the end of the stream.
pub fn read_frame(from: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    match from.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut payload = vec![0u8; len];
    from.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

// ANCHOR: read_line
/// Reads one line, and nothing after it: what follows belongs to whoever reads
/// the stream next. It looks at what has arrived without taking it
/// (`MSG_PEEK`), then takes it up to the newline: two system calls a line,
/// where reading byte by byte took one per byte (an announcement is a hundred
/// and forty bytes, on the path of every `run`).
pub fn read_line(from: &mut UnixStream) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        let arrived = match recv(from.as_raw_fd(), &mut chunk, MsgFlags::MSG_PEEK) {
            Ok(arrived) => arrived,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if arrived == 0 {
            return Ok((!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned()));
        }
        let newline = chunk[..arrived].iter().position(|b| *b == b'\n');
        let take = newline.map_or(arrived, |at| at + 1);
        // Already arrived: this read takes exactly those bytes, without waiting.
        from.read_exact(&mut chunk[..take])?;
        match newline {
            Some(at) => {
                line.extend_from_slice(&chunk[..at]);
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            None => line.extend_from_slice(&chunk[..take]),
        }
    }
}
// ANCHOR_END: read_line

/// Connects to container `id`'s supervisor and sends `request`.
pub fn send(engine: &Engine, id: &str, request: &Request) -> io::Result<UnixStream> {
    let mut stream = UnixStream::connect(socket_path(engine, id))?;
    let mut line = serde_json::to_vec(request).expect("a request serialises");
    line.push(b'\n');
    stream.write_all(&line)?;
    Ok(stream)
}

/// Reads the supervisor's answer; `timeout` bounds the wait (None: for ever).
/// `Ok(None)` when the time ran out.
pub fn reply(stream: &mut UnixStream, timeout: Option<Duration>) -> io::Result<Option<Reply>> {
    stream.set_read_timeout(timeout)?;
    match read_line(stream) {
        Ok(Some(line)) => serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the supervisor closed the connection",
        )),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Sends signal `signal` to container `id`'s init through its supervisor.
pub fn signal(engine: &Engine, id: &str, signal: i32) -> io::Result<()> {
    let mut stream = send(engine, id, &Request::Signal { signal })?;
    match reply(&mut stream, Some(Duration::from_secs(10)))? {
        Some(Reply { ok: true, .. }) => Ok(()),
        Some(Reply { error, .. }) => Err(io::Error::other(error.unwrap_or_default())),
        None => Err(io::Error::other("the supervisor did not answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_docker_s_layout() {
        let bytes = frame(STDERR, b"oops\n");
        assert_eq!(&bytes[..8], &[2, 0, 0, 0, 0, 0, 0, 5]);
        let mut reader = io::Cursor::new([bytes, frame(EXIT, b"137")].concat());
        assert_eq!(
            read_frame(&mut reader).unwrap(),
            Some((STDERR, b"oops\n".to_vec()))
        );
        assert_eq!(
            read_frame(&mut reader).unwrap(),
            Some((EXIT, b"137".to_vec()))
        );
        assert_eq!(read_frame(&mut reader).unwrap(), None);
    }

    #[test]
    fn requests_are_tagged_json_lines() {
        let json = serde_json::to_string(&Request::Signal { signal: 15 }).unwrap();
        assert_eq!(json, r#"{"request":"signal","signal":15}"#);
        let back: Request = serde_json::from_str(r#"{"request":"wait"}"#).unwrap();
        assert_eq!(back, Request::Wait);
        let reply = serde_json::to_string(&Reply {
            ok: true,
            exit_code: Some(0),
            error: None,
        });
        assert_eq!(reply.unwrap(), r#"{"ok":true,"exit_code":0}"#);
    }

    #[test]
    fn a_line_leaves_what_follows_it() {
        let (mut writer, mut reader) = UnixStream::pair().unwrap();
        writer.write_all(b"{\"ok\":true}\nrest").unwrap();
        drop(writer);
        assert_eq!(
            read_line(&mut reader).unwrap().as_deref(),
            Some("{\"ok\":true}")
        );
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "rest");
    }

    #[test]
    fn a_line_longer_than_a_chunk_or_sent_in_parts_is_read_whole() {
        let (mut writer, mut reader) = UnixStream::pair().unwrap();
        let long = "x".repeat(1300);
        let sender = std::thread::spawn(move || {
            writer.write_all(&long.as_bytes()[..700]).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            writer
                .write_all(format!("{}\nnext\nlast", &long[700..]).as_bytes())
                .unwrap();
        });
        assert_eq!(read_line(&mut reader).unwrap().unwrap().len(), 1300);
        assert_eq!(read_line(&mut reader).unwrap().as_deref(), Some("next"));
        sender.join().unwrap();
        // The end of the stream ends a line; then there is none.
        assert_eq!(read_line(&mut reader).unwrap().as_deref(), Some("last"));
        assert_eq!(read_line(&mut reader).unwrap(), None);
    }

    #[test]
    fn a_read_timeout_is_an_error_not_an_end() {
        let (_writer, mut reader) = UnixStream::pair().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let err = read_line(&mut reader).unwrap_err();
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
    }
}
