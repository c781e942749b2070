//! What can go wrong while choosing or applying a container's privileges.

use std::path::PathBuf;

/// An error of the security module: a bad flag, a bad profile, or a refused syscall.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A `--cap-add`/`--cap-drop` name that is no Linux capability.
    #[error("unknown capability: {name:?}")]
    UnknownCapability {
        /// The name as the user wrote it.
        name: String,
    },
    /// A capability the spec asks for but the engine itself does not hold.
    #[error("capability {name} is not in berth's own bounding set, so a container cannot get it")]
    CapabilityNotHeld {
        /// The capability, spelled `CAP_X`.
        name: String,
    },
    /// A `--security-opt` that berth does not know.
    #[error("invalid --security-opt: {opt:?}")]
    UnknownSecurityOpt {
        /// The option as given.
        opt: String,
    },
    /// `--security-opt label=…` or `apparmor=…`: Linux security modules are not taught.
    #[error("--security-opt {opt:?}: berth does not apply LSM labels (SELinux, AppArmor)")]
    LsmNotSupported {
        /// The option as given.
        opt: String,
    },
    /// `no-new-privileges=VALUE` with a value that is not a boolean.
    #[error("invalid --security-opt no-new-privileges value {value:?}")]
    BadNoNewPrivileges {
        /// The value after `=` or `:`.
        value: String,
    },
    /// A seccomp profile file could not be read.
    #[error("cannot read seccomp profile {}: {source}", path.display())]
    ReadProfile {
        /// The profile's path.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A seccomp profile file is neither docker's JSON format nor an OCI `LinuxSeccomp`.
    #[error("invalid seccomp profile {}: {source}", path.display())]
    ParseProfile {
        /// The profile's path.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A profile field berth cannot turn into a filter.
    #[error("seccomp profile: {what}")]
    UnsupportedProfile {
        /// What is not supported, in a few words.
        what: String,
    },
    /// seccompiler refused to build a filter.
    #[error("cannot compile the seccomp filter: {source}")]
    CompileFilter {
        /// seccompiler's error.
        source: seccompiler::BackendError,
    },
    /// `/proc/self/status` could not be read or has no `CapBnd` line.
    #[error("cannot read the engine's own capabilities from /proc/self/status: {reason}")]
    ReadOwnCapabilities {
        /// What went wrong.
        reason: String,
    },
    /// A capability syscall (capset, PR_CAPBSET_DROP, ambient) failed.
    #[error("cannot {step}: {source}")]
    ApplyCapabilities {
        /// What was being done, e.g. "drop CAP_SYS_ADMIN from the bounding set".
        step: String,
        /// The caps crate's error (it carries errno's text).
        source: ::caps::errors::CapsError,
    },
    /// A prctl (keepcaps, no_new_privs) failed.
    #[error("cannot {step}: {source}")]
    Prctl {
        /// What was being done.
        step: &'static str,
        /// The errno.
        source: nix::Error,
    },
    /// The kernel refused a seccomp filter.
    #[error("cannot load seccomp filter {index} of {count}: {source}")]
    LoadFilter {
        /// Which filter (1-based).
        index: usize,
        /// How many there are.
        count: usize,
        /// The errno.
        source: std::io::Error,
    },
}

impl From<SecurityError> for berth_engine::Error {
    fn from(e: SecurityError) -> Self {
        let hint = match &e {
            SecurityError::UnknownCapability { .. } => {
                "write a capability as in capabilities(7), with or without CAP_, in any case \
                 (e.g. NET_ADMIN, net_admin, CAP_NET_ADMIN), or ALL"
            }
            SecurityError::CapabilityNotHeld { .. } => {
                "run berth with that capability, or do not ask for it"
            }
            SecurityError::UnknownSecurityOpt { .. } => {
                "use seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]"
            }
            SecurityError::LsmNotSupported { .. } => "remove the option",
            SecurityError::BadNoNewPrivileges { .. } => "write no-new-privileges=true or =false",
            SecurityError::ReadProfile { .. } | SecurityError::ParseProfile { .. } => {
                "give a readable profile in docker's seccomp JSON format"
            }
            SecurityError::UnsupportedProfile { .. } | SecurityError::CompileFilter { .. } => {
                "simplify the profile, or run with --security-opt seccomp=unconfined"
            }
            SecurityError::ReadOwnCapabilities { .. } => "is /proc mounted?",
            SecurityError::ApplyCapabilities { .. }
            | SecurityError::Prctl { .. }
            | SecurityError::LoadFilter { .. } => "berth must run as root with all capabilities",
        };
        berth_engine::Error::usage(e.to_string()).hint(hint)
    }
}
