//! The container's whole tree, as its processes see it, for `export` and `cp`.
//!
//! A plain copy is the tree. An overlay must be mounted to show it, and a
//! stopped container's is not. berth mounts it in a mount namespace of the
//! command's own: the mount exists only there, and it goes when the command
//! ends, however it ends, so nothing can leak onto the host.

use std::path::PathBuf;

use berth_engine::{Error, Result};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use super::container::Target;
use crate::storage::{DriverKind, STORAGE_RECORD, StorageRecord};

/// Why the merged view could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MergedError {
    /// The private mount namespace could not be made.
    #[error("making a private mount namespace for container {id}'s files: {source}")]
    Namespace {
        /// The container's id.
        id: String,
        /// The system's error.
        source: nix::errno::Errno,
    },
}

impl From<MergedError> for Error {
    fn from(e: MergedError) -> Self {
        Error::failed(e.to_string()).hint("run berth as root")
    }
}

// ANCHOR: private_merged_view
/// The directory that shows the container's merged tree for the rest of this
/// process: `dir/rootfs`, mounted first in a private mount namespace when the
/// container is an overlay (a running container's is mounted already; the
/// driver then does nothing).
pub fn merged_view(target: &Target) -> Result<PathBuf> {
    let rootfs = target.dir.join("rootfs");
    if let Some(dir) = &target.record.external_rootfs {
        return Ok(dir.clone());
    }
    if !target.dir.join(STORAGE_RECORD).exists()
        || StorageRecord::load(&target.dir)?.driver != DriverKind::Overlay
    {
        return Ok(rootfs);
    }
    let failed = |source| MergedError::Namespace {
        id: target.record.id.clone(),
        source,
    };
    unshare(CloneFlags::CLONE_NEWNS).map_err(failed)?;
    // Private, so that the mount below does not propagate back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(failed)?;
    let engine = target.engine();
    let driver = engine
        .root_filesystem()
        .ok_or_else(|| Error::failed("this binary has no root-filesystem driver"))?;
    driver.mount(engine, &target.dir)?;
    Ok(rootfs)
}
// ANCHOR_END: private_merged_view
