//! `exec [-d] [-i] [-t] [-e] [-w] [-u] [--privileged] CONTAINER COMMAND…`: a
//! new process in a running container, through chapter 01's `runtime exec`:
//! the same namespaces, cgroup, root, capabilities and seccomp filter as its
//! init.
//!
//! The supervisor runs the runtime, so the process is always the supervisor's
//! to reap. In the foreground it also holds the process's stdio and relays
//! them to this command, which may leave with the detach keys (or be killed)
//! while the process runs on, as under docker's shim. With `-d` this command
//! returns as soon as the process runs.

use std::path::Path;

use berth_engine::cli::ExecArgs;
use berth_engine::{Engine, Error, Result};
use berth_isolation::user;

use super::World;
use super::pause::container_spec;
use crate::record::ContainerRecord;
use crate::state::Status;
use crate::supervisor::attach::{DEFAULT_DETACH_KEYS, Ending, exec_session, parse_detach_keys};
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
        // docker names the container as it was given here, and by id below.
        Status::Paused => {
            return Err(ExecError::Paused {
                id: args.args[0].clone(),
            }
            .into());
        }
        _ => return Err(ExecError::NotRunning { id: record.id }.into()),
    }
    let runtime_args = runtime_args(&world, &record, args)?;
    if args.detach {
        return detached(engine, &record, runtime_args);
    }
    let keys = match &args.detach_keys {
        Some(spec) => parse_detach_keys(spec)?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    foreground(engine, &record, args, runtime_args, keys)
}
// ANCHOR_END: exec_command

// ANCHOR: exec_foreground
/// Asks the supervisor to run the process and hold its stdio, then relays
/// them until it ends (its code) or the user types the detach keys (it runs
/// on, as under docker's shim, and we exit 1 as `docker exec` does).
fn foreground(
    engine: &Engine,
    record: &ContainerRecord,
    args: &ExecArgs,
    runtime_args: Vec<String>,
    detach_keys: Vec<u8>,
) -> Result<i32> {
    let failed = |e: std::io::Error| Error::failed(format!("asking the supervisor: {e}"));
    let request = Request::ExecAttached {
        args: runtime_args,
        stdin: args.interactive,
        tty: args.tty,
    };
    let mut stream = protocol::send(engine, &record.id, &request).map_err(failed)?;
    refused(engine, protocol::reply(&mut stream, None).map_err(failed)?)?;
    let session = exec_session(stream, args.interactive, args.tty).with_detach_keys(detach_keys);
    match session.session(engine, &record.id)? {
        Ending::Exited(Some(code)) => Ok(code),
        Ending::Exited(None) => Err(Error::failed(
            "the container's supervisor went away before the process ended",
        )),
        Ending::Detached => {
            eprintln!("read escape sequence");
            Ok(1)
        }
    }
}
// ANCHOR_END: exec_foreground

/// The supervisor's answer as an error when it could not start the process.
fn refused(engine: &Engine, reply: Option<Reply>) -> Result<()> {
    let prefix = format!("{}: ", engine.program());
    match reply {
        Some(Reply { ok: true, .. }) => Ok(()),
        Some(Reply {
            exit_code, error, ..
        }) => Err(ExecError::Runtime {
            code: cannot_start(exit_code.unwrap_or(1)),
            message: error
                .as_deref()
                .map(|e| e.strip_prefix(&prefix).unwrap_or(e).to_string())
                .unwrap_or_default(),
        }
        .into()),
        None => Err(Error::failed("the supervisor did not answer")),
    }
}

/// docker 20.10 answers 126 for any process that cannot start, a missing
/// command too (where `run` says 127).
fn cannot_start(runtime_code: i32) -> i32 {
    match runtime_code {
        127 => 126,
        code => code,
    }
}

/// Asks the supervisor to start the process and returns once it runs.
fn detached(engine: &Engine, record: &ContainerRecord, args: Vec<String>) -> Result<i32> {
    let failed = |e: std::io::Error| Error::failed(format!("asking the supervisor: {e}"));
    let mut stream = protocol::send(engine, &record.id, &Request::Exec { args }).map_err(failed)?;
    refused(engine, protocol::reply(&mut stream, None).map_err(failed)?)?;
    Ok(0)
}

// ANCHOR: exec_flags
/// docker's flags as the runtime's: `-u` names resolved in the container's own
/// passwd file, `-e KEY` taken from our environment, `--env-file` lines.
fn runtime_args(world: &World, record: &ContainerRecord, args: &ExecArgs) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if args.tty {
        out.push("--tty".to_string());
    }
    if args.privileged {
        out.extend(privileged_caps()?);
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

/// `--privileged`: every capability the engine holds, as docker gives
/// `exec --privileged` all of them. The container's seccomp filter stays, as
/// in docker (moby issue 21984): it was fitted to the container's own set.
fn privileged_caps() -> Result<Vec<String>> {
    let all = berth_isolation::security::engine_bounding_set()?;
    let mut names: Vec<String> = all.iter().map(|cap| cap.to_string()).collect();
    names.sort();
    Ok(names
        .into_iter()
        .flat_map(|name| ["--cap".to_string(), name])
        .collect())
}

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
