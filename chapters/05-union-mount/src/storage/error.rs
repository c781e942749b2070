//! What can go wrong while making, mounting and removing a container's storage.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// A storage failure, with the path or value it concerns.
#[derive(Debug, Error)]
pub enum StorageError {
    /// A file-system call on `path` failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What berth was doing (`creating`, `removing`…).
        action: &'static str,
        /// The path it was doing it to.
        path: PathBuf,
        /// What the kernel said.
        source: io::Error,
    },
    /// `BERTH_STORAGE_DRIVER` names no driver.
    #[error("BERTH_STORAGE_DRIVER={value} is not a storage driver")]
    UnknownDriver {
        /// The value found in the environment.
        value: String,
    },
    /// The overlay driver was forced where overlay cannot work.
    #[error("the overlay storage driver cannot be used here: {reason}")]
    OverlayUnavailable {
        /// Why not.
        reason: String,
    },
    /// mount(2) of the container's overlay failed.
    #[error("mounting the overlay on {}: {source}", target.display())]
    Mount {
        /// The mount point.
        target: PathBuf,
        /// What the kernel said.
        source: nix::errno::Errno,
    },
    /// umount2(2) failed even detached.
    #[error("unmounting {}: {source}", target.display())]
    Unmount {
        /// The mount point.
        target: PathBuf,
        /// What the kernel said.
        source: nix::errno::Errno,
    },
    /// The overlay's options do not fit the one page mount(2) accepts.
    #[error("the overlay options are {length} bytes, more than the {max} mount(2) accepts")]
    OptionsTooLong {
        /// Their length.
        length: usize,
        /// The limit.
        max: usize,
    },
}

impl StorageError {
    /// A closure turning an `io::Error` on `path` into a [`StorageError::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| StorageError::Io {
            action,
            path,
            source,
        }
    }
}

impl From<StorageError> for berth_engine::Error {
    fn from(error: StorageError) -> Self {
        let hint = match &error {
            StorageError::UnknownDriver { .. } => "use BERTH_STORAGE_DRIVER=overlay or vfs",
            StorageError::OverlayUnavailable { .. } => {
                "unset BERTH_STORAGE_DRIVER, or set it to vfs (a full copy per container)"
            }
            StorageError::Mount { .. } => "`cargo xtask doctor` says whether overlayfs works here",
            StorageError::OptionsTooLong { .. } => "the image has too many layers",
            StorageError::Io { .. } | StorageError::Unmount { .. } => {
                "check the state directory (BERTH_ROOT) and its free space"
            }
        };
        berth_engine::Error::usage(error.to_string()).hint(hint)
    }
}
