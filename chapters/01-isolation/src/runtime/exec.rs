//! `runtime exec`: a new process in a running container, shaped like runc's.
//!
//! The process joins what the container's init made: its namespaces (through
//! `/proc/PID/ns`), its cgroup, its root (the mount namespace's, since the init
//! pivoted), and it is restricted as the init was: same user unless told
//! otherwise, same capabilities, no_new_privs and seccomp filter. As for the
//! init, this runtime process forks it into the cgroup, lets it go on, and
//! hears of any failure before execve over the close-on-exec channel.
//!
//! - [`process`]: the process to run, from `--process FILE` or the spec;
//! - [`target`]: the container's init, pinned, and its namespaces;
//! - [`enter`]: the child's side, from fork to execve.

pub mod enter;
pub mod process;
pub mod target;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_engine::cli::RuntimeCommand;
use berth_engine::oci_spec::runtime::{Process, Spec};
use berth_engine::{Engine, Error};
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::channel::{self, Channel, Message};
use super::error::{FailureKind, RuntimeError};
use super::fork::{Forked, fork_into};
use super::pty::{self, RawMode};
use super::record::{StateDir, Status};
use super::{signals, supervise};
use crate::security::{ProcessSecurity, SecurityError};
use enter::ExecContext;
use process::Overrides;
use target::Target;

/// What can stop an `exec` before its process runs.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The container is created, stopped, or its init is gone.
    #[error("container {id} is not running")]
    NotRunning {
        /// The container id.
        id: String,
    },
    /// The container's processes are frozen.
    #[error("container {id} is paused, unpause the container before exec")]
    Paused {
        /// The container id.
        id: String,
    },
    /// `--process FILE` cannot be read.
    #[error("cannot read the process file {}: {source}", path.display())]
    ReadProcess {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--process FILE` is not an OCI process.
    #[error("invalid process file {}: {source}", path.display())]
    ParseProcess {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A field of the process the runtime cannot run.
    #[error("process.{field} {problem}")]
    InvalidProcess {
        /// The field, e.g. `args`.
        field: &'static str,
        /// What is wrong and what to do.
        problem: String,
    },
    /// `--user` is not `UID[:GID]`.
    #[error("invalid --user {value:?}: write UID or UID:GID, in numbers")]
    BadUser {
        /// The value as given.
        value: String,
    },
    /// A detached process with a terminal needs someone to hold the pty.
    #[error("--detach with a terminal needs --console-socket: nobody would hold the pty")]
    DetachedTerminal,
    /// A capability or seccomp problem.
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// Any other failure of the runtime.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Security(e) => e.into(),
            ExecError::Runtime(e) => e.into(),
            // Commands on an existing container fail like docker's: exit 1.
            e @ (ExecError::NotRunning { .. } | ExecError::Paused { .. }) => {
                Error::failed(e.to_string())
            }
            e => Error::usage(e.to_string()),
        }
    }
}

/// The flags of one `exec`, as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// The container id.
    pub id: String,
    /// `--process FILE`.
    pub process_file: Option<PathBuf>,
    /// The command and the per-field overrides.
    pub overrides: Overrides,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--detach`.
    pub detach: bool,
}

impl ExecRequest {
    /// The request a `runtime exec` command line makes; `None` for another command.
    pub fn from_command(cmd: &RuntimeCommand) -> Option<Self> {
        let RuntimeCommand::Exec {
            process,
            tty,
            console_socket,
            pid_file,
            detach,
            cwd,
            env,
            user,
            cap,
            id,
            command,
        } = cmd
        else {
            return None;
        };
        Some(ExecRequest {
            id: id.clone(),
            process_file: process.as_ref().map(PathBuf::from),
            overrides: Overrides {
                args: command.clone(),
                cwd: cwd.clone(),
                env: env.clone(),
                user: user.clone(),
                caps: cap.clone(),
                tty: *tty,
            },
            console_socket: console_socket.as_ref().map(PathBuf::from),
            pid_file: pid_file.as_ref().map(PathBuf::from),
            detach: *detach,
        })
    }
}

/// Runs `runtime exec`; any other command is not ours.
pub fn command(engine: &Engine, cmd: &RuntimeCommand) -> berth_engine::Result<i32> {
    let request = ExecRequest::from_command(cmd).expect("dispatched on RuntimeCommand::Exec");
    exec(engine, &request)
}

// ANCHOR: exec
/// Runs a new process in container `request.id`. Without `--detach` it waits
/// and returns the process's exit status as a shell does; with it, it returns 0
/// as soon as the command runs.
pub fn exec(engine: &Engine, request: &ExecRequest) -> berth_engine::Result<i32> {
    let state = StateDir::open(engine, &request.id)?;
    let record = state.load()?;
    if record.status() != Status::Running {
        return Err(ExecError::NotRunning {
            id: request.id.clone(),
        }
        .into());
    }
    let target = Target::open(&request.id, record.pid, record.pid_start_time)?;
    if target.is_paused() {
        return Err(ExecError::Paused {
            id: request.id.clone(),
        }
        .into());
    }
    let spec = container_spec(&state, &record.bundle)?;
    let mut process = exec_process(&spec, request)?;
    let terminal = process.terminal() == Some(true);
    if terminal && request.detach && request.console_socket.is_none() {
        return Err(ExecError::DetachedTerminal.into());
    }
    if terminal && request.console_socket.is_none() && process.console_size().is_none() {
        process.set_console_size(pty::host_console_size());
    }
    let security = ProcessSecurity::from_spec(&process, spec.linux().as_ref())?;
    let namespaces = target.namespaces()?;
    let run = Run {
        engine,
        spec: &spec,
        process: &process,
        security: &security,
        request,
    };
    match request.detach {
        true => run.detached(target, namespaces),
        false => run.foreground(target, namespaces),
    }
}
// ANCHOR_END: exec

/// The container's spec: the copy `create` saved in the state directory, else
/// the bundle's `config.json` (a container of `runtime run` has no copy).
fn container_spec(state: &StateDir, bundle: &Path) -> Result<Spec, ExecError> {
    let copy = state.spec_copy();
    let path = match copy.is_file() {
        true => copy,
        false => bundle.join("config.json"),
    };
    let corrupt = |reason: String| RuntimeError::CorruptState {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| corrupt(e.to_string()))?;
    Ok(serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?)
}

/// The process to run: the file's, or the container's own, with the overrides.
fn exec_process(spec: &Spec, request: &ExecRequest) -> Result<Process, ExecError> {
    let base = match &request.process_file {
        Some(path) if !request.overrides.args.is_empty() => {
            return Err(ExecError::InvalidProcess {
                field: "args",
                problem: format!(
                    "comes from {}: give either --process or a command, not both",
                    path.display()
                ),
            });
        }
        Some(path) => process::from_file(path)?,
        // The container's own command is its init's business, never a default.
        None if request.overrides.args.is_empty() => {
            return Err(ExecError::InvalidProcess {
                field: "args",
                problem: "is empty: give the command to run after the container id".into(),
            });
        }
        None => spec.process().clone().unwrap_or_default(),
    };
    process::build(&base, &request.overrides)
}

/// One exec on its way: what the parent needs at each step.
struct Run<'a> {
    engine: &'a Engine,
    spec: &'a Spec,
    process: &'a Process,
    security: &'a ProcessSecurity,
    request: &'a ExecRequest,
}

impl Run<'_> {
    /// `--detach`: start it, hand over its pty if any, and leave. The process is
    /// adopted by the nearest subreaper above us (chapter 04's supervisor).
    fn detached(
        &self,
        target: Target,
        namespaces: Vec<target::Namespace>,
    ) -> berth_engine::Result<i32> {
        let started = self.start(target, namespaces, signals::current_mask())?;
        drop(started.console);
        Ok(0)
    }

    /// Without `--detach`: like `run`, forward signals (and proxy the pty when no
    /// console socket takes it) until the process ends, and return its status.
    fn foreground(
        &self,
        target: Target,
        namespaces: Vec<target::Namespace>,
    ) -> berth_engine::Result<i32> {
        let proxies =
            self.process.terminal() == Some(true) && self.request.console_socket.is_none();
        let _raw = match proxies {
            true => Some(RawMode::enter()?),
            false => None,
        };
        let (signal_fd, old_mask) = signals::intercept()?;
        let result = self
            .start(target, namespaces, old_mask)
            .map_err(Error::from)
            .and_then(|started| {
                let console = started.console.filter(|_| proxies);
                let status = supervise::wait_for(started.pid, &signal_fd, console.as_ref())?;
                signals::exit_code(status).ok_or_else(|| {
                    RuntimeError::InitDied {
                        status: format!("{status:?}"),
                    }
                    .into()
                })
            });
        signals::restore(&old_mask);
        result
    }

    // ANCHOR: exec_fork
    /// Forks the process in the container's pid namespace and drives it to
    /// execve. On any failure it is killed and reaped before the error returns.
    fn start(
        &self,
        target: Target,
        namespaces: Vec<target::Namespace>,
        sigmask: SigSet,
    ) -> Result<Started, ExecError> {
        let placement = match self.engine.cgroups() {
            Some(cgroups) => Some(
                cgroups
                    .placement(self.spec)
                    .map_err(RuntimeError::cgroup("opening the container's cgroup"))?,
            ),
            None => None,
        };
        target.join_pid_namespace_for_children()?;
        drop(target);
        let (ours, theirs) =
            channel::pair().map_err(RuntimeError::sys("creating the exec channel"))?;
        let born_into = placement.as_ref().and_then(|p| p.born_into());
        // SAFETY: this runtime process is single-threaded, so the child may run
        // any code; it never returns from exec_child.
        let forked = unsafe { fork_into(CloneFlags::empty(), born_into) }
            .map_err(RuntimeError::sys("forking the process"))?;
        let pid = match forked {
            Forked::Child => {
                drop(ours);
                enter::exec_child(ExecContext {
                    program: self.engine.program(),
                    process: self.process,
                    security: self.security,
                    placement: placement.as_ref(),
                    namespaces,
                    channel: theirs,
                    sigmask,
                    detached: self.request.detach,
                });
            }
            Forked::Parent(child) => child,
        };
        drop(placement);
        drop(theirs);
        drop(namespaces);
        let result = self.drive(&ours, pid);
        if result.is_err() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        result.map(|console| Started { pid, console })
    }
    // ANCHOR_END: exec_fork

    /// The parent's half: pid file, "go", then the child's reports until
    /// end-of-file, which means it exec'd.
    fn drive(&self, channel: &Channel, pid: Pid) -> Result<Option<OwnedFd>, ExecError> {
        if let Some(path) = &self.request.pid_file {
            berth_engine::state::atomic_write(path, pid.to_string().as_bytes()).map_err(
                RuntimeError::io(format!("writing the pid file {}", path.display())),
            )?;
        }
        channel
            .send(&Message::Go, None)
            .map_err(RuntimeError::sys("starting the process"))?;
        let mut console = None;
        loop {
            match channel
                .recv()
                .map_err(RuntimeError::sys("reading the process's report"))?
            {
                None => break,
                Some((Message::Console, fd)) => console = fd,
                Some((Message::Failed { kind, message }, _)) => {
                    return Err(RuntimeError::Init { message, kind }.into());
                }
                Some((other, _)) => {
                    return Err(RuntimeError::Init {
                        message: format!("unexpected message from the process: {other:?}"),
                        kind: FailureKind::Setup,
                    }
                    .into());
                }
            }
        }
        if let (Some(socket), Some(master)) = (&self.request.console_socket, &console) {
            pty::send_to_console_socket(socket, master.as_fd())?;
        }
        Ok(console)
    }
}

/// A process that exec'd.
struct Started {
    pid: Pid,
    console: Option<OwnedFd>,
}

#[cfg(test)]
mod tests;
