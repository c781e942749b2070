//! File system calls confined to the root. A path is never handed to the
//! kernel as a host path: it is resolved relative to a descriptor of the root
//! with `openat2(RESOLVE_IN_ROOT)`, which treats the root as `/` for every
//! symlink and `..` met on the way. A symlink `a -> /` inside a layer thus
//! means the layer's root, never the host's. The last component is then
//! handled with an `*at` call that does not follow it.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat, openat2};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// Mode of the parent directories a layer leaves out (docker uses the same).
const IMPLIED_DIR_MODE: u32 = 0o755;

// ANCHOR: resolve_in_root
/// Opens `path` (relative, normalised) under `root` as the kernel would see it
/// with `root` as `/`. `flags` adds e.g. `O_DIRECTORY`, `O_PATH`, `O_NOFOLLOW`.
pub(super) fn resolve(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        // Magic links (/proc/self/root…) would jump out whatever the root.
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match openat2(root, path, how) {
            // The kernel asks for a retry when a rename raced the lookup.
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            result => return result,
        }
    }
}
// ANCHOR_END: resolve_in_root

// ANCHOR: resolve_parent
/// Opens the directory `dir` under `root` (an `O_PATH` descriptor to use with
/// `*at` calls), creating the directories a layer left out as 0755 root:root.
/// Each component is resolved in the root again, so a symlink met on the way
/// is followed inside the root and a missing one is created where the kernel
/// would have looked for it.
pub(super) fn open_parent(root: BorrowedFd<'_>, dir: &Path) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    match resolve(root, dir, flags) {
        Err(Errno::ENOENT) => {}
        found => return found,
    }
    let mut current = resolve(root, Path::new(""), flags)?;
    let mut walked = std::path::PathBuf::new();
    for name in dir.iter() {
        walked.push(name);
        current = match resolve(root, &walked, flags) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                // A dangling symlink here makes mkdirat fail with EEXIST:
                // the layer is refused rather than the link followed.
                mkdirat(&current, name, Mode::from_bits_truncate(IMPLIED_DIR_MODE))?;
                resolve(root, &walked, flags)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(current)
}
// ANCHOR_END: resolve_parent

/// What is at `name` in `dir`, without following a symlink.
pub(super) fn existing_kind(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<Option<SFlag>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(
            SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT,
        )),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

// ANCHOR: remove_all_at
/// Removes `name` from `dir` whatever it is; a directory with its content.
/// Nothing is followed: a symlink is removed, not its target.
pub(super) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<()> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(Errno::EISDIR) => {
            let child = open_subdir(dir, name)?;
            prune_dir(child.as_fd(), Path::new(""), &|_| false)?;
            unlinkat(dir, name, UnlinkatFlags::RemoveDir)
        }
        Err(e) => Err(e),
    }
}

/// Removes the content of `dir` (whose path in the layer is `path`) except
/// what `keep` names; a kept directory is pruned in turn, so that an opaque
/// directory loses the lower layers' files at every depth but keeps the
/// entries its own layer wrote.
pub(super) fn prune_dir(
    dir: BorrowedFd<'_>,
    path: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> nix::Result<()> {
    for name in list_dir(dir)? {
        let child_path = path.join(&name);
        if !keep(&child_path) {
            remove_all_at(dir, &name)?;
        } else if existing_kind(dir, &name)? == Some(SFlag::S_IFDIR) {
            let child = open_subdir(dir, &name)?;
            prune_dir(child.as_fd(), &child_path, keep)?;
        }
    }
    Ok(())
}
// ANCHOR_END: remove_all_at

/// Opens the directory `name` in `dir` for reading; a symlink is refused.
pub(super) fn open_subdir(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// The names in a directory, read before anything in it is changed.
fn list_dir(dir: BorrowedFd<'_>) -> nix::Result<Vec<OsString>> {
    use std::os::unix::ffi::OsStrExt;
    // A fresh descriptor: `Dir` takes ownership and keeps a read position.
    let fd = openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut listing = Dir::from_fd(fd)?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let name = entry?.file_name().to_bytes().to_vec();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(&name).to_os_string());
        }
    }
    Ok(names)
}
