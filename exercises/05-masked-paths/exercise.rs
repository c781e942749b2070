//! # Exercise 05 — masking paths under /proc and /sys
//!
//! Some files under `/proc` and `/sys` tell too much about the host (`/proc/kcore`,
//! `/proc/keys`) or let a process poke at hardware (`/sys/firmware`). docker hides
//! them, and how depends on what the path is in the container's fresh `/proc`:
//!
//! - a **file** gets `/dev/null` bind-mounted over it: reads are empty, writes vanish;
//! - a **directory** gets an empty, read-only tmpfs over it;
//! - a path this kernel does not have is **skipped** (there is nothing to hide).
//!
//! The runtime decides by looking at each path (following symlinks, as the mount
//! will), then mounts. Your task: look at a path, and turn the list into actions,
//! in the list's order.
//!
//! Edit the two functions marked `TODO`. Run `cargo xtask exercise 05`.

use std::io;
use std::path::Path;

/// The paths docker masks by default.
pub const DOCKER_MASKED_PATHS: [&str; 10] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

/// What a path is, as far as masking cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A directory (or a symlink to one).
    Directory,
    /// Anything else that exists: a regular file, a device, a pipe.
    File,
    /// Nothing there, or a symlink to nothing.
    Missing,
}

/// What the runtime does for one masked path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaskAction {
    /// Bind-mount `/dev/null` over this file.
    BindDevNull(String),
    /// Mount an empty read-only tmpfs over this directory.
    ReadOnlyTmpfs(String),
    /// Leave this missing path alone.
    Skip(String),
}

/// Looks at `path` on the filesystem; only errors other than "not found" are errors.
pub fn kind_of(path: &Path) -> io::Result<PathKind> {
    // TODO: `std::fs::metadata` follows symlinks. A directory is Directory, any
    // other thing File; an error of kind `io::ErrorKind::NotFound` means Missing,
    // and any other error is returned.
    todo!()
}

/// The actions for `masked`, in order, given how to look at a path.
pub fn mask_actions(masked: &[&str], kind: impl Fn(&str) -> PathKind) -> Vec<MaskAction> {
    // TODO: one action per path, chosen by its kind.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
