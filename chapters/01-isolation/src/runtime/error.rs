//! What can go wrong in the runtime, and the exit code each failure ends with.

use std::path::PathBuf;

use berth_engine::Error;
use serde::{Deserialize, Serialize};

/// How a failure inside the container's init maps to a shell's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// Setting the container up failed (mounts, namespaces...): 125.
    Setup,
    /// The command does not exist: 127.
    NotFound,
    /// The command exists but cannot be executed: 126.
    CannotExecute,
}

impl FailureKind {
    /// The exit code docker gives this failure.
    pub fn exit_code(self) -> i32 {
        use berth_engine::error::exit;
        match self {
            FailureKind::Setup => exit::USAGE,
            FailureKind::NotFound => exit::NOT_FOUND,
            FailureKind::CannotExecute => exit::CANNOT_EXECUTE,
        }
    }
}

/// An error of the runtime, on the host side.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// `config.json` could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `config.json` is not an OCI runtime spec.
    #[error("invalid {}: {source}", path.display())]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A field of `config.json` the runtime cannot obey.
    #[error("{}: {field} {problem}", path.display())]
    InvalidConfig {
        /// The file.
        path: PathBuf,
        /// The JSON field, e.g. `process.args`.
        field: &'static str,
        /// What is wrong with it and what to do.
        problem: String,
    },
    /// A container id that cannot name a directory.
    #[error("invalid container id {id:?}: use letters, digits, '_', '-' and '.'")]
    BadId {
        /// The id as given.
        id: String,
    },
    /// `create` or `run` with an id already in use.
    #[error("container {id} already exists; delete it first or pick another id")]
    Exists {
        /// The id.
        id: String,
    },
    /// No container has this id.
    #[error("container {id} does not exist")]
    NotFound {
        /// The id.
        id: String,
    },
    /// An operation the container's status does not allow.
    #[error("container {id} is {status}: cannot {action} it")]
    WrongStatus {
        /// The id.
        id: String,
        /// Its status (created, running, stopped).
        status: String,
        /// The refused operation (start, kill, delete).
        action: &'static str,
    },
    /// The spec sets limits but no cgroup driver is registered.
    #[error("cgroup limits are taught in chapter 02 (resources)")]
    LimitsNeedCgroups,
    /// The cgroup driver (chapter 02) refused a step.
    #[error("{what}: {message}")]
    Cgroup {
        /// The step, e.g. "putting the container in its cgroup".
        what: &'static str,
        /// The driver's message.
        message: String,
    },
    /// A signal name or number that is no signal.
    #[error("unknown signal {name:?}")]
    UnknownSignal {
        /// The name as given.
        name: String,
    },
    /// The container's state file is unreadable.
    #[error("corrupt state file {}: {reason}", path.display())]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A system call on the host side failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was being done.
        what: String,
        /// The errno.
        source: nix::Error,
    },
    /// A file operation on the host side failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The container's init reported a failure before it could exec.
    #[error("{message}")]
    Init {
        /// What failed, as the init wrote it.
        message: String,
        /// Which exit code it maps to.
        kind: FailureKind,
    },
    /// The container's init died before it reported anything.
    #[error("the container's init process ended before it could run the command ({status})")]
    InitDied {
        /// How it ended.
        status: String,
    },
}

impl RuntimeError {
    /// A failed system call, with what was being done.
    pub fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> Self {
        let what = what.into();
        move |source| RuntimeError::Sys { what, source }
    }

    /// A failed file operation, with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| RuntimeError::Io { what, source }
    }

    /// A step the cgroup driver refused, with what was being done.
    pub fn cgroup(what: &'static str) -> impl FnOnce(Error) -> Self {
        move |e| RuntimeError::Cgroup {
            what,
            message: e.message().to_string(),
        }
    }
}

impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        let message = e.to_string();
        match e {
            // Commands on an existing container fail like docker's: exit 1.
            RuntimeError::NotFound { .. }
            | RuntimeError::WrongStatus { .. }
            | RuntimeError::UnknownSignal { .. }
            | RuntimeError::CorruptState { .. } => Error::failed(message),
            RuntimeError::Init { kind, .. } => Error::usage(message).code(kind.exit_code()),
            RuntimeError::ReadConfig { .. } => Error::usage(message)
                .hint("pass -b with the bundle directory that holds config.json"),
            _ => Error::usage(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_failures_keep_docker_exit_codes() {
        let e = |kind| {
            Error::from(RuntimeError::Init {
                message: "x".into(),
                kind,
            })
            .exit_code()
        };
        assert_eq!(e(FailureKind::NotFound), 127);
        assert_eq!(e(FailureKind::CannotExecute), 126);
        assert_eq!(e(FailureKind::Setup), 125);
    }

    #[test]
    fn commands_on_missing_containers_exit_one() {
        let e = Error::from(RuntimeError::NotFound { id: "c1".into() });
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "container c1 does not exist");
    }
}
