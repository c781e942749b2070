//! `exec` on the supervisor's side. The supervisor runs `runtime exec
//! --detach` itself: when the runtime leaves, its process is reparented to the
//! supervisor (the subreaper), which reaps it with the container's others.
//!
//! A foreground `exec` is a `Session`: the supervisor also holds the
//! process's stdio (pipes, or the pty master it receives on a console socket)
//! and relays them to the client, as containerd's shim does for docker. So the
//! process outlives its client: after the detach keys, or when the `exec`
//! command is killed, it runs on, and the supervisor still reaps it.
//!
//! After its request, the client speaks in frames ([`protocol::frame`]):
//! [`STDIN`] with the typed bytes (empty: the input ended) and [`RESIZE`] with
//! `ROWS COLS`. The supervisor answers with the usual stdout, stderr and exit
//! frames.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::protocol::{self, EXIT, Reply, STDERR, STDOUT};
use super::runtime::receive_console;

/// Frame stream number, client to supervisor: typed input (empty: it ended).
pub const STDIN: u8 = 0;
/// Frame stream number, client to supervisor: the terminal's new size, `ROWS COLS`.
pub const RESIZE: u8 = 4;

/// Runs `runtime exec --detach ARGS…` and waits for the runtime (not for the
/// process it started). The error is the runtime's last line and exit code.
pub fn run_detached(args: &[String]) -> Result<(), (i32, String)> {
    // The runtime's messages go to a nameless file, not a pipe: the process
    // inherits the runtime's stderr and would hold a pipe open for its whole
    // life, so reading it to the end would wait for the process.
    let mut errors = message_file()?;
    let stderr = errors
        .try_clone()
        .map_err(|e| (126, format!("a file for the runtime's messages: {e}")))?;
    let mut command = runtime_exec(&["--detach"], args);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let status = command.status().map_err(|e| (126, e.to_string()))?;
    match status.success() {
        true => Ok(()),
        false => Err((status.code().unwrap_or(1), last_line(&mut errors))),
    }
}

/// `runtime exec FLAGS… ARGS…` with an empty signal mask.
fn runtime_exec(flags: &[&str], args: &[String]) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    let mut command = Command::new(exe);
    command.args(["runtime", "exec"]).args(flags).args(args);
    // SAFETY: sigprocmask is async-signal-safe. The supervisor's blocked
    // signals (for its signalfd) must not stay blocked in the new process.
    unsafe {
        command.pre_exec(|| {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
                .map_err(std::io::Error::from)
        });
    }
    command
}

fn message_file() -> Result<File, (i32, String)> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(std::env::temp_dir())
        .map_err(|e| (126, format!("a file for the runtime's messages: {e}")))
}

/// The runtime's last line of complaint, read from the start of `from`.
fn last_line(from: &mut File) -> String {
    let mut text = String::new();
    let _ = from.seek(SeekFrom::Start(0));
    let _ = from.read_to_string(&mut text);
    text.lines()
        .last()
        .unwrap_or("runtime exec failed")
        .to_string()
}

/// One exec'd process whose stdio the supervisor holds.
struct Session {
    /// Its host pid: our child since the runtime left.
    pid: i32,
    /// The `exec` command attached to it; `None` once it left.
    client: Option<UnixStream>,
    /// Bytes of a frame from the client not complete yet.
    pending: Vec<u8>,
    /// Where the typed input goes: the stdin pipe or the pty master.
    input: Option<File>,
    /// What it writes, and the frame stream each goes out as.
    outputs: Vec<(File, u8)>,
    /// The pty master, for resizes.
    console: Option<File>,
}

/// The foreground `exec`s of one container.
#[derive(Default)]
pub struct Sessions {
    list: Vec<Session>,
    started: u32,
}

/// Where a session's process was asked to run.
pub struct ExecRequest<'a> {
    /// The runtime's flags, the container id and the command.
    pub args: &'a [String],
    /// Whether the client sends input.
    pub stdin: bool,
    /// Whether the process has a terminal.
    pub tty: bool,
    /// A path prefix for the pid file and console socket, short enough for a
    /// unix socket's name.
    pub scratch: &'a Path,
}

impl Sessions {
    // ANCHOR: exec_session_start
    /// Starts the process of `request` for `client` and answers it: ok, or
    /// the runtime's exit code (126, 127) and message.
    pub fn start(&mut self, mut client: UnixStream, request: &ExecRequest) {
        self.started += 1;
        let scratch = request
            .scratch
            .with_extension(format!("exec{}", self.started));
        let reply = match spawn(request, &scratch) {
            Ok(session) => {
                self.list.push(session);
                Reply {
                    ok: true,
                    ..Reply::default()
                }
            }
            Err((code, message)) => Reply {
                ok: false,
                exit_code: Some(code),
                error: Some(message),
            },
        };
        let mut line = serde_json::to_vec(&reply).expect("a reply serialises");
        line.push(b'\n');
        // The session just pushed takes the client, unless it left already.
        if reply.ok
            && client.write_all(&line).is_ok()
            && let Some(session) = self.list.last_mut()
        {
            session.client = Some(client);
        } else if !reply.ok {
            let _ = client.write_all(&line);
        }
    }
    // ANCHOR_END: exec_session_start

    /// What to poll: each session's outputs, then its client.
    pub fn poll_fds(&self) -> Vec<PollFd<'_>> {
        let mut fds = Vec::new();
        for session in &self.list {
            for (file, _) in &session.outputs {
                fds.push(PollFd::new(file.as_fd(), PollFlags::POLLIN));
            }
            if let Some(client) = &session.client {
                fds.push(PollFd::new(client.as_fd(), PollFlags::POLLIN));
            }
        }
        fds
    }

    /// Handles what [`Sessions::poll_fds`] found ready, in the same order.
    pub fn dispatch(&mut self, fired: &[bool]) {
        let mut at = 0;
        for session in &mut self.list {
            let outputs = session.outputs.len();
            let ready: Vec<usize> = (0..outputs).filter(|i| fired[at + i]).collect();
            at += outputs;
            let client_ready = session.client.is_some() && fired[at];
            if session.client.is_some() {
                at += 1;
            }
            // From the last, so removing one keeps the others' indexes.
            for &i in ready.iter().rev() {
                if !session.relay_output(i) {
                    session.outputs.remove(i);
                }
            }
            if client_ready {
                session.take_input();
            }
        }
    }

    /// A child of the supervisor ended: if it is a session's process, its
    /// last output and its exit code go to the client, and the session ends.
    pub fn reaped(&mut self, status: &WaitStatus) {
        let (pid, code) = match *status {
            WaitStatus::Exited(pid, code) => (pid, code),
            WaitStatus::Signaled(pid, signal, _) => (pid, 128 + signal as i32),
            _ => return,
        };
        if let Some(at) = self.list.iter().position(|s| s.pid == pid.as_raw()) {
            self.list.remove(at).end(code);
        }
    }

    /// The container is gone: its exec'd processes too (they are our
    /// children, so the pid cannot have been reused before we reap it).
    pub fn end_all(&mut self) {
        for session in self.list.drain(..) {
            let pid = Pid::from_raw(session.pid);
            let _ = kill(pid, Signal::SIGKILL);
            let code = match waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, code)) => code,
                _ => 128 + Signal::SIGKILL as i32,
            };
            session.end(code);
        }
    }
}

impl Session {
    /// Copies one read of output `i` to the client; false at its end.
    fn relay_output(&mut self, i: usize) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let (file, stream) = &mut self.outputs[i];
        let n = match file.read(&mut buf) {
            // EIO: the pty's last user closed it.
            Ok(0) => return false,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
            Ok(n) => n,
        };
        // Nobody attached: the output is read and dropped, so the process
        // never blocks on a full pipe (docker keeps no log of an exec).
        if let Some(client) = &mut self.client
            && client
                .write_all(&protocol::frame(*stream, &buf[..n]))
                .is_err()
        {
            self.client_left();
        }
        true
    }

    /// Reads from the client: input frames, resizes, or its leaving.
    fn take_input(&mut self) {
        let Some(client) = &mut self.client else {
            return;
        };
        let mut buf = [0u8; 8192];
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => return self.client_left(),
            Ok(n) => n,
        };
        self.pending.extend_from_slice(&buf[..n]);
        while let Some((stream, payload)) = next_frame(&mut self.pending) {
            match (stream, payload.is_empty()) {
                (STDIN, true) => self.input = None,
                (STDIN, false) => {
                    if let Some(input) = &mut self.input {
                        let _ = input.write_all(&payload);
                    }
                }
                (RESIZE, _) => {
                    if let (Some(console), Some((rows, cols))) = (&self.console, size(&payload)) {
                        resize(console, rows, cols);
                    }
                }
                _ => {}
            }
        }
    }

    /// The `exec` command detached or died: the process runs on without
    /// input (a pipe's end closes; a pty stays, as it is the output too).
    fn client_left(&mut self) {
        self.client = None;
        if self.console.is_none() {
            self.input = None;
        }
    }

    /// Sends what is left of the output, then the exit code.
    fn end(mut self, code: i32) {
        for i in (0..self.outputs.len()).rev() {
            while self.client.is_some() && self.relay_output_now(i) {}
        }
        if let Some(client) = &mut self.client {
            let _ = client.write_all(&protocol::frame(EXIT, code.to_string().as_bytes()));
        }
    }

    /// One read of output `i` that is there now; false when none is.
    fn relay_output_now(&mut self, i: usize) -> bool {
        let mut probe = [PollFd::new(self.outputs[i].0.as_fd(), PollFlags::POLLIN)];
        let ready = nix::poll::poll(&mut probe, nix::poll::PollTimeout::ZERO).unwrap_or(0) > 0;
        ready && self.relay_output(i)
    }
}

/// Takes one complete frame off the front of `pending`.
fn next_frame(pending: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if pending.len() < 8 {
        return None;
    }
    let len = u32::from_be_bytes([pending[4], pending[5], pending[6], pending[7]]) as usize;
    if pending.len() < 8 + len {
        return None;
    }
    let payload = pending[8..8 + len].to_vec();
    let stream = pending[0];
    pending.drain(..8 + len);
    Some((stream, payload))
}

/// `ROWS COLS` as numbers.
fn size(payload: &[u8]) -> Option<(u16, u16)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (rows, cols) = text.split_once(' ')?;
    Some((rows.parse().ok()?, cols.parse().ok()?))
}

fn resize(console: &File, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize we own; a failure changes nothing.
    unsafe { libc::ioctl(console.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

// ANCHOR: exec_session_spawn
/// Runs `runtime exec --detach` with our pipes as the process's stdio (or a
/// console socket for its pty), and takes the process over once the runtime
/// has left.
fn spawn(request: &ExecRequest, scratch: &Path) -> Result<Session, (i32, String)> {
    let setup = |what: &'static str| move |e: std::io::Error| (126, format!("{what}: {e}"));
    let pid_file = scratch.with_extension("pid");
    let console_path = scratch.with_extension("tty");
    let mut flags = vec!["--detach", "--pid-file", path_str(&pid_file)];
    let listener = match request.tty {
        true => {
            let _ = std::fs::remove_file(&console_path);
            flags.extend(["--console-socket", path_str(&console_path)]);
            Some(UnixListener::bind(&console_path).map_err(setup("the console socket"))?)
        }
        false => None,
    };
    let mut command = runtime_exec(&flags, request.args);
    let mut outputs = Vec::new();
    let mut input = None;
    // With a terminal the process's stdio is the pty, and a nameless file
    // takes the runtime's messages; without, they share the stderr pipe.
    let mut messages = match request.tty {
        true => {
            let file = message_file()?;
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(file.try_clone().map_err(setup("the message file"))?);
            Some(file)
        }
        false => {
            let (out_read, out_write) = pipe()?;
            let (err_read, err_write) = pipe()?;
            command.stdout(out_write).stderr(err_write);
            match request.stdin {
                true => {
                    let (in_read, in_write) = pipe()?;
                    command.stdin(in_read);
                    input = Some(File::from(in_write));
                }
                false => {
                    command.stdin(Stdio::null());
                }
            }
            outputs.push((File::from(out_read), STDOUT));
            outputs.push((File::from(err_read), STDERR));
            None
        }
    };
    let status = command.status().map_err(setup("running the runtime"));
    // Our copies of the child's ends go now, so the pipes end with the process.
    drop(command);
    let _ = std::fs::remove_file(&console_path);
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    let _ = std::fs::remove_file(&pid_file);
    let status = status?;
    if !status.success() {
        let message = match (&mut messages, outputs.get_mut(1)) {
            (Some(file), _) => last_line(file),
            (None, Some((err, _))) => last_line_of_pipe(err),
            (None, None) => "runtime exec failed".into(),
        };
        return Err((status.code().unwrap_or(126), message));
    }
    let pid = pid.ok_or((126, "the runtime wrote no pid file".to_string()))?;
    let mut console = None;
    if let Some(listener) = listener {
        let master = File::from(receive_console(&listener).map_err(|e| (126, e))?);
        let dup = master.try_clone().map_err(setup("the terminal"))?;
        input = Some(master.try_clone().map_err(setup("the terminal"))?);
        outputs.push((dup, STDOUT));
        console = Some(master);
    }
    for (file, _) in &outputs {
        let _ = fcntl(file, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    }
    Ok(Session {
        pid,
        client: None,
        pending: Vec::new(),
        input,
        outputs,
        console,
    })
}
// ANCHOR_END: exec_session_spawn

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

fn pipe() -> Result<(OwnedFd, OwnedFd), (i32, String)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| (126, format!("pipe: {e}")))
}

/// The last line the runtime wrote into the stderr pipe before it failed
/// (nothing else holds the pipe then, so it ends).
fn last_line_of_pipe(pipe: &mut File) -> String {
    let _ = fcntl(&*pipe, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    let mut text = String::new();
    let _ = pipe.read_to_string(&mut text);
    text.lines()
        .last()
        .unwrap_or("runtime exec failed")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_taken_whole_and_in_order() {
        let mut pending = [
            protocol::frame(STDIN, b"ls\n"),
            protocol::frame(RESIZE, b"24 80"),
        ]
        .concat();
        let tail = pending.split_off(13);
        assert_eq!(next_frame(&mut pending), Some((STDIN, b"ls\n".to_vec())));
        assert_eq!(next_frame(&mut pending), None, "half a frame waits");
        pending.extend(tail);
        let (stream, payload) = next_frame(&mut pending).unwrap();
        assert_eq!((stream, size(&payload)), (RESIZE, Some((24, 80))));
        assert!(pending.is_empty());
    }

    #[test]
    fn a_size_is_two_numbers() {
        assert_eq!(size(b"50 132"), Some((50, 132)));
        for bad in [&b"50"[..], b"x 1", b"1 70000", b""] {
            assert_eq!(size(bad), None, "{bad:?}");
        }
    }
}
