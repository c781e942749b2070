//! Whiteouts, the two ways berth represents them. In a copied root
//! (`Apply`) they delete from the lower layers already there. In an overlay
//! lower directory (`Overlay`) they are recorded the way overlayfs reads
//! them: a 0:0 character device for a deleted name, `trusted.overlay.opaque`
//! for a directory whose lower content is hidden.
//!
//! Whiteouts only hide what *lower* layers hold (layer.md): an entry this
//! layer wrote itself stays, whatever the order in the tar.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag, makedev, mknodat};
use xattr::FileExt;

use super::at::{open_parent, prune_dir, remove_all_at, resolve};
use super::error::sys;
use super::{LayerError, WhiteoutMode};

/// The xattr overlayfs reads to make a directory opaque.
const OVERLAY_OPAQUE: &str = "trusted.overlay.opaque";

/// Opens `dir` in the root if it exists and is a directory; a whiteout
/// whose directory is missing has nothing to delete.
fn existing_dir(root: BorrowedFd<'_>, dir: &Path, flags: OFlag) -> nix::Result<Option<File>> {
    match resolve(root, dir, flags | OFlag::O_DIRECTORY) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

// ANCHOR: apply_whiteout
/// `.wh.NAME` in `dir`: NAME of the lower layers is deleted.
pub(super) fn remove(
    root: BorrowedFd<'_>,
    dir: &Path,
    name: &OsStr,
    mode: WhiteoutMode,
    written: &HashSet<PathBuf>,
    entry: &str,
) -> Result<(), LayerError> {
    if written.contains(&dir.join(name)) {
        return Ok(());
    }
    match mode {
        WhiteoutMode::Apply => {
            // The directory is resolved in the root like any entry's parent,
            // so `link/.wh.x` with `link -> /` deletes the root's x, not the host's.
            let found =
                existing_dir(root, dir, OFlag::O_PATH).map_err(sys(entry, "open its directory"))?;
            let Some(parent) = found else { return Ok(()) };
            remove_all_at(parent.as_fd(), name).map_err(sys(entry, "delete the whited-out entry"))
        }
        WhiteoutMode::Overlay => {
            let parent = open_parent(root, dir).map_err(sys(entry, "open its directory"))?;
            remove_all_at(parent.as_fd(), name)
                .map_err(sys(entry, "replace the whited-out entry"))?;
            mknodat(&parent, name, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))
                .map_err(sys(entry, "create the overlay whiteout device"))
        }
        WhiteoutMode::Literal => unreachable!("literal mode reads no name as a whiteout"),
    }
}

/// `.wh..wh..opq` in `dir`: the lower layers' content of `dir` is hidden.
pub(super) fn opaque(
    root: BorrowedFd<'_>,
    dir: &Path,
    mode: WhiteoutMode,
    written: &HashSet<PathBuf>,
    entry: &str,
) -> Result<(), LayerError> {
    match mode {
        WhiteoutMode::Apply => {
            let found =
                existing_dir(root, dir, OFlag::O_PATH).map_err(sys(entry, "open its directory"))?;
            let Some(opaque_dir) = found else {
                return Ok(());
            };
            prune_dir(opaque_dir.as_fd(), dir, &|path| written.contains(path))
                .map_err(sys(entry, "empty the opaque directory"))
        }
        WhiteoutMode::Overlay => {
            open_parent(root, dir).map_err(sys(entry, "create its directory"))?;
            let opaque_dir = resolve(root, dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                .map_err(sys(entry, "open its directory"))?;
            File::from(opaque_dir)
                .set_xattr(OVERLAY_OPAQUE, b"y")
                .map_err(|source| LayerError::Write {
                    entry: entry.to_string(),
                    action: "mark the directory opaque",
                    source,
                })
        }
        WhiteoutMode::Literal => unreachable!("literal mode reads no name as a whiteout"),
    }
}
// ANCHOR_END: apply_whiteout
