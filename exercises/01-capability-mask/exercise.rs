//! # Exercise 01 — the capability mask
//!
//! Root inside a container is not the host's root: docker keeps 14 of the
//! kernel's 41 capabilities and drops the rest. The kernel shows a process's sets
//! in `/proc/PID/status` as 64-bit masks, one bit per capability number:
//!
//! ```text
//! CapEff: 00000000a80425fb
//! ```
//!
//! Users name capabilities in several spellings: `--cap-add net_admin`,
//! `--cap-add CAP_NET_ADMIN`, `--cap-drop ALL`. docker upper-cases the name and
//! adds the `CAP_` prefix when it is missing; `ALL` (any case) means every
//! capability. Your task: turn spellings into capabilities, a set of spellings
//! into a mask, and a mask into the 16 hex digits the kernel prints.
//!
//! Edit the three functions marked `TODO`. Run `cargo xtask exercise 01`.

use std::fmt;

/// The kernel's capability names, indexed by capability number
/// (`include/uapi/linux/capability.h`): `CAP_CHOWN` is bit 0, `CAP_CHECKPOINT_RESTORE` bit 40.
pub const CAPABILITY_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The 14 capabilities docker gives a container by default, as docker spells them.
pub const DOCKER_DEFAULTS: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// What one spelling names: every capability, or the one with this bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `ALL`, in any case.
    All,
    /// One capability, by its bit number in the mask.
    Bit(u32),
}

/// A spelling that names no capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCapability {
    /// The spelling as the user wrote it.
    pub spelling: String,
}

impl fmt::Display for UnknownCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown capability: {:?}", self.spelling)
    }
}

impl std::error::Error for UnknownCapability {}

/// Reads one of docker's spellings: `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN`
/// (any case) or `ALL` (any case).
pub fn parse_capability(spelling: &str) -> Result<Capability, UnknownCapability> {
    // TODO: upper-case the spelling; `ALL` means every capability. Otherwise add
    // the `CAP_` prefix when it is missing and find the name's index in
    // CAPABILITY_NAMES. Anything else is an UnknownCapability naming the spelling.
    todo!()
}

/// The mask of a set of spellings, one bit per capability.
pub fn mask_of(spellings: &[&str]) -> Result<u64, UnknownCapability> {
    // TODO: parse each spelling and set its bit; `ALL` sets the bit of every
    // capability in CAPABILITY_NAMES. The first unknown spelling is the error.
    todo!()
}

/// The mask as `/proc/PID/status` prints it: 16 lower-case hex digits.
pub fn status_hex(mask: u64) -> String {
    // TODO: format the mask so that 0 prints as 0000000000000000.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
