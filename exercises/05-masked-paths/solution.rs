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
//! This is the reference solution; the comments in each function say why.

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
    // `metadata`, not `symlink_metadata`: the mount will land on what the link
    // points to, so that is what must be looked at.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(PathKind::Directory),
        Ok(_) => Ok(PathKind::File),
        // Only "not found" means there is nothing to hide; a permission error
        // must not quietly leave a path unmasked.
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(PathKind::Missing),
        Err(err) => Err(err),
    }
}

/// The actions for `masked`, in order, given how to look at a path.
pub fn mask_actions(masked: &[&str], kind: impl Fn(&str) -> PathKind) -> Vec<MaskAction> {
    // Taking the look-up as a closure keeps this function pure: tests hand it a
    // table, the runtime hands it `kind_of` inside the container's root.
    masked
        .iter()
        .map(|path| {
            let path = path.to_string();
            match kind(&path) {
                PathKind::File => MaskAction::BindDevNull(path),
                PathKind::Directory => MaskAction::ReadOnlyTmpfs(path),
                PathKind::Missing => MaskAction::Skip(path),
            }
        })
        .collect()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
