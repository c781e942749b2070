//! Capabilities and seccomp: what the container's process may still do.
//!
//! Namespaces change what a process *sees*; this module limits what it may *do*.
//! It has two sides, used at two different moments:
//!
//! - the **spec side** runs when a container's `config.json` is written: it turns
//!   docker's flags (`--cap-add`, `--cap-drop`, `--privileged`, `--security-opt`)
//!   into the OCI fields `process.capabilities`, `process.noNewPrivileges` and
//!   `linux.seccomp` ([`capability_set`], [`linux_capabilities`],
//!   [`parse_security_opts`], [`seccomp_profile`]);
//! - the **runtime side** runs inside the container's init process, between clone
//!   and execve: [`ProcessSecurity`] applies those fields to the kernel, in an
//!   order that matters (see [`process`]).
//!
//! Read it in the book: chapter 01, "Capabilities and seccomp".

mod capabilities;
mod default_profile;
mod docker_profile;
mod error;
mod opts;
pub mod process;
mod seccomp;
mod syscall_ranges;

pub use capabilities::{
    Capabilities, capability_set, engine_bounding_set, linux_capabilities, mask, parse_capability,
};
pub use error::SecurityError;
pub use opts::{SeccompChoice, SecurityOpts, parse_security_opts};
pub use process::ProcessSecurity;
pub use seccomp::{CompiledFilter, compile_filters, seccomp_profile};
