//! `exec [-d] [-i] [-t] [-e] [-w] [-u] CONTAINER COMMAND…`: a new process in a
//! running container, through chapter 01's `runtime exec`: the same
//! namespaces, cgroup, root, capabilities and seccomp filter as its init.
//!
//! In the foreground this command runs the runtime itself, which waits for the
//! process (and reaps it) and exits with its code. With `-d` the supervisor
//! runs it, so the process, once the runtime has left, is the supervisor's to
//! reap.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use berth_engine::cli::ExecArgs;
use berth_engine::{Engine, Error, Result};
use berth_isolation::user;

use super::World;
use super::pause::container_spec;
use crate::record::ContainerRecord;
use crate::state::Status;
use crate::supervisor::protocol::{self, Reply, Request};

/// Why `exec` cannot run its command.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The container has no process to join.
    #[error("Error response from daemon: Container {id} is not running")]
    NotRunning {
        /// The container's id.
        id: String,
    },
    /// Its processes are frozen.
    #[error(
        "Error response from daemon: Container {id} is paused, unpause the container before exec"
    )]
    Paused {
        /// The container's id.
        id: String,
    },
    /// An `--env-file` cannot be read.
    #[error("open {path}: {reason}")]
    EnvFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The runtime (or the supervisor asked to run it) failed.
    #[error("{message}")]
    Runtime {
        /// docker's exit code class: 126, 127, or 1.
        code: i32,
        /// What it said.
        message: String,
    },
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::EnvFile { .. } => Error::usage(e.to_string()),
            ExecError::Runtime { code, .. } if code == 126 || code == 127 => {
                Error::usage(e.to_string()).code(code)
            }
            _ => Error::failed(e.to_string()),
        }
    }
}

// ANCHOR: exec_command
/// `exec`: the process's exit code in the foreground; 0 once started with `-d`.
pub fn exec(engine: &Engine, args: &ExecArgs) -> Result<i32> {
    let world = World::open(engine)?;
    let record = world.find(&args.args[0])?;
    match record.state.status {
        Status::Running => {}
        Status::Paused => return Err(ExecError::Paused { id: record.id }.into()),
        _ => return Err(ExecError::NotRunning { id: record.id }.into()),
    }
    let runtime_args = runtime_args(&world, &record, args)?;
    if args.detach {
        return detached(engine, &record, runtime_args);
    }
    let exe =
        std::env::current_exe().map_err(|e| Error::failed(format!("finding ourselves: {e}")))?;
    let status = Command::new(exe)
        .args(["runtime", "exec"])
        .args(&runtime_args)
        // Without -i the process reads nothing, as in docker.
        .stdin(match args.interactive {
            true => Stdio::inherit(),
            false => Stdio::null(),
        })
        .status()
        .map_err(|e| Error::failed(format!("running the runtime: {e}")))?;
    // A process killed by a signal reads as 128 + its number, as in a shell.
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}
// ANCHOR_END: exec_command

/// Asks the supervisor to start the process and returns once it runs.
fn detached(engine: &Engine, record: &ContainerRecord, args: Vec<String>) -> Result<i32> {
    let failed = |e: std::io::Error| Error::failed(format!("asking the supervisor: {e}"));
    let mut stream = protocol::send(engine, &record.id, &Request::Exec { args }).map_err(failed)?;
    match protocol::reply(&mut stream, None).map_err(failed)? {
        Some(Reply { ok: true, .. }) => Ok(0),
        Some(Reply {
            exit_code, error, ..
        }) => Err(ExecError::Runtime {
            code: exit_code.unwrap_or(1),
            message: error.unwrap_or_default(),
        }
        .into()),
        None => Err(Error::failed("the supervisor did not answer")),
    }
}

// ANCHOR: exec_flags
/// docker's flags as the runtime's: `-u` names resolved in the container's own
/// passwd file, `-e KEY` taken from our environment, `--env-file` lines.
fn runtime_args(world: &World, record: &ContainerRecord, args: &ExecArgs) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if args.tty {
        out.push("--tty".to_string());
    }
    if let Some(dir) = &args.workdir {
        out.extend(["--cwd".to_string(), dir.clone()]);
    }
    for file in &args.env_file {
        let text = std::fs::read_to_string(file).map_err(|e| ExecError::EnvFile {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                out.extend(
                    with_host_value(line)
                        .map(|v| ["--env".to_string(), v])
                        .into_iter()
                        .flatten(),
                );
            }
        }
    }
    for pair in &args.env {
        out.extend(
            with_host_value(pair)
                .map(|v| ["--env".to_string(), v])
                .into_iter()
                .flatten(),
        );
    }
    if let Some(given) = &args.user {
        let spec = container_spec(world, record)?;
        let bundle = world.containers.dir(&record.id);
        let root = spec
            .root()
            .as_ref()
            .map_or_else(|| bundle.join("rootfs"), |r| bundle.join(r.path()));
        let who = user::resolve(Path::new(&root), Some(given))?;
        out.extend(["--user".to_string(), format!("{}:{}", who.uid, who.gid)]);
    }
    out.push(record.id.clone());
    out.extend(args.args[1..].iter().cloned());
    Ok(out)
}
// ANCHOR_END: exec_flags

/// `KEY` alone takes its value from our environment and is left out when we
/// have none, as in docker; `KEY=VALUE` is kept.
fn with_host_value(pair: &str) -> Option<String> {
    match pair.contains('=') {
        true => Some(pair.to_string()),
        false => std::env::var(pair).ok().map(|v| format!("{pair}={v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_takes_the_host_s_value() {
        // SAFETY: the test binary's other threads do not read this variable.
        unsafe { std::env::set_var("BERTH_EXEC_TEST_VAR", "from-host") };
        assert_eq!(
            with_host_value("BERTH_EXEC_TEST_VAR").as_deref(),
            Some("BERTH_EXEC_TEST_VAR=from-host")
        );
        assert_eq!(with_host_value("A=b=c").as_deref(), Some("A=b=c"));
        assert_eq!(with_host_value("BERTH_EXEC_TEST_UNSET"), None);
    }
}
