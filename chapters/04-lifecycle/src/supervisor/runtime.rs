//! The supervisor's calls of chapter 01's runtime: `runtime create` in a fresh
//! process of the same binary (whose init the supervisor inherits as
//! subreaper), `runtime start` and `runtime delete` in the supervisor itself.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_engine::Engine;
use berth_engine::cli::RuntimeCommand;
use berth_engine::error::exit;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

/// Why a container could not be created or started, with docker's exit code class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StartFailure {
    /// 125 (setup), 126 (cannot execute) or 127 (not found).
    pub code: i32,
    /// The runtime's one-line message.
    pub message: String,
}

impl StartFailure {
    fn setup(message: impl Into<String>) -> Self {
        StartFailure {
            code: exit::USAGE,
            message: message.into(),
        }
    }
}

/// A container the runtime created: its init waits on the exec fifo.
#[derive(Debug)]
pub struct Created {
    /// The init's host pid.
    pub pid: i32,
    /// The read end of its stdout (None with a terminal).
    pub stdout: Option<OwnedFd>,
    /// The read end of its stderr (None with a terminal).
    pub stderr: Option<OwnedFd>,
    /// The write end of its stdin (only with `-i` and no terminal).
    pub stdin: Option<OwnedFd>,
    /// The pty master (only with `-t`).
    pub console: Option<OwnedFd>,
}

/// The runtime's options for one container.
pub struct Setup<'a> {
    /// The bundle directory.
    pub bundle: &'a Path,
    /// The container id.
    pub id: &'a str,
    /// `-i`.
    pub open_stdin: bool,
    /// `-t`.
    pub tty: bool,
    /// Where the pid file and the console socket go.
    pub scratch: PathBuf,
}

fn runtime(engine: &Engine) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    let mut command = Command::new(exe);
    command.arg("runtime");
    let _ = engine;
    // SAFETY: sigprocmask is async-signal-safe. The supervisor blocks SIGCHLD and
    // SIGTERM for its signalfd; the container must not inherit that mask, or a
    // `trap … TERM` in it would never run.
    unsafe {
        command.pre_exec(|| {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
                .map_err(std::io::Error::from)
        });
    }
    command
}

fn pipe() -> Result<(OwnedFd, OwnedFd), StartFailure> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| StartFailure::setup(format!("pipe: {e}")))
}

// ANCHOR: runtime_create
/// `runtime create`: the init is set up and waits; its stdio are our pipes (or
/// a pty whose master comes back over a console socket).
pub fn create(engine: &Engine, setup: &Setup) -> Result<Created, StartFailure> {
    let pid_file = setup.scratch.with_extension("pid");
    let console_path = setup.scratch.with_extension("tty");
    let _ = std::fs::remove_file(&console_path);
    let console_listener = match setup.tty {
        true => Some(
            UnixListener::bind(&console_path)
                .map_err(|e| StartFailure::setup(format!("console socket: {e}")))?,
        ),
        false => None,
    };
    let (out_read, out_write) = pipe()?;
    let (err_read, err_write) = pipe()?;
    let (stdin_for_child, stdin_write) = match setup.open_stdin && !setup.tty {
        true => {
            let (r, w) = pipe()?;
            (Stdio::from(r), Some(w))
        }
        false => (Stdio::null(), None),
    };
    let mut command = runtime(engine);
    command
        .arg("create")
        .arg("--bundle")
        .arg(setup.bundle)
        .arg("--pid-file")
        .arg(&pid_file);
    if setup.tty {
        command.arg("--console-socket").arg(&console_path);
    }
    command
        .arg(setup.id)
        .stdin(stdin_for_child)
        .stdout(Stdio::from(out_write))
        .stderr(Stdio::from(err_write));
    let status = command.status();
    drop(command);
    let _ = std::fs::remove_file(&console_path);
    let status = status.map_err(|e| StartFailure::setup(format!("running the runtime: {e}")))?;
    if !status.success() {
        let _ = std::fs::remove_file(&pid_file);
        return Err(failure(engine, status.code(), err_read));
    }
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| StartFailure::setup("the runtime wrote no pid file"));
    let _ = std::fs::remove_file(&pid_file);
    let pid = pid?;
    let console = match console_listener {
        Some(listener) => Some(receive_console(&listener).map_err(StartFailure::setup)?),
        None => None,
    };
    let tty = console.is_some();
    Ok(Created {
        pid,
        stdout: (!tty).then_some(out_read),
        stderr: (!tty).then_some(err_read),
        stdin: stdin_write,
        console,
    })
}
// ANCHOR_END: runtime_create

/// The runtime's message (its stderr, without the program prefix) and exit code.
fn failure(engine: &Engine, code: Option<i32>, stderr: OwnedFd) -> StartFailure {
    // The init was killed with the failure, so the pipe ends; do not trust it to.
    let _ = fcntl(&stderr, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    let mut text = String::new();
    let _ = std::fs::File::from(stderr).read_to_string(&mut text);
    let prefix = format!("{}: ", engine.program());
    let message = text
        .lines()
        .map(|l| l.strip_prefix(&prefix).unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let code = match code {
        Some(c @ (exit::CANNOT_EXECUTE | exit::NOT_FOUND)) => c,
        _ => exit::USAGE,
    };
    StartFailure {
        code,
        message: match message.is_empty() {
            true => "the runtime failed to create the container".into(),
            false => message,
        },
    }
}

/// Takes the pty master the runtime sent over the console socket (`runtime
/// create` or `runtime exec`, which has exited by now: its connection waits in
/// the backlog, or never came). The error says what failed.
pub(super) fn receive_console(listener: &UnixListener) -> Result<OwnedFd, String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("console socket: {e}"))?;
    let (stream, _) = listener
        .accept()
        .map_err(|e| format!("the runtime sent no terminal: {e}"))?;
    let mut name = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let message = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("receiving the terminal: {e}"))?;
    for cmsg in message
        .cmsgs()
        .map_err(|e| format!("receiving the terminal: {e}"))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg
            && let Some(&fd) = fds.first()
        {
            // SAFETY: the kernel just gave us this descriptor; nobody else owns it.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    Err("the runtime sent no terminal".into())
}

// ANCHOR: runtime_in_process
/// `runtime start`: the init execs the command. Run in this process: starting
/// only opens the exec fifo and reads a byte, and deleting only kills, removes
/// the cgroup and the state directory. Neither clones, joins a namespace or
/// execs, so neither needs the fresh process that `create` and `exec` do, and
/// each saves a fork and an exec of the whole binary per container.
pub fn start(engine: &Engine, id: &str) -> Result<(), StartFailure> {
    let start = RuntimeCommand::Start { id: id.into() };
    berth_isolation::runtime::command(engine, &start)
        .map(drop)
        .map_err(|e| StartFailure::setup(e.message()))
}

/// `runtime delete --force`: kills what is left, removes the cgroup and the
/// runtime's state. A container the runtime does not know is fine.
pub fn delete(engine: &Engine, id: &str) {
    let delete = RuntimeCommand::Delete {
        force: true,
        id: id.into(),
    };
    let _ = berth_isolation::runtime::command(engine, &delete);
}
// ANCHOR_END: runtime_in_process

/// Deletes the runtime's container `id` if its state is still there (after a
/// supervisor died). Uses the engine of this process.
pub fn delete_leftovers(id: &str) {
    let paths = berth_engine::state::Paths::from_env();
    if paths.run.join("runtime").join(id).exists() {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        let _ = Command::new(exe)
            .args(["runtime", "delete", "--force", id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
