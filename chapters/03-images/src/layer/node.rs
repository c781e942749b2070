//! Creating one node (file, directory, link, device) in its parent directory,
//! then giving it the owner, mode, xattrs and time the archive recorded.
//! Whatever was at the name before is removed first, never written through:
//! a regular file is opened with `O_CREAT | O_EXCL | O_NOFOLLOW`, so an old
//! symlink or hardlink at that name can never redirect the write.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, futimens, makedev, mkdirat,
    mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchown, fchownat, linkat, symlinkat};
use xattr::FileExt;

use super::LayerError;
use super::at::{existing_kind, open_subdir, remove_all_at};
use super::error::sys;
use super::xattrs::Xattr;

/// The metadata a tar header carries for a node.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    /// Owner, as recorded (numeric; names in the header are ignored, as docker does).
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Permission bits with setuid, setgid and sticky.
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Allowed extended attributes.
    pub xattrs: Vec<Xattr>,
}

/// The kind of special file a `mknod` entry creates.
#[derive(Debug, Clone, Copy)]
pub(super) enum Special {
    /// A character device with its major and minor numbers.
    Char(u32, u32),
    /// A block device.
    Block(u32, u32),
    /// A named pipe.
    Fifo,
}

/// Removes what lower layers (or earlier entries) left at `name`.
fn clear(parent: BorrowedFd<'_>, name: &OsStr, entry: &str) -> Result<(), LayerError> {
    remove_all_at(parent, name).map_err(sys(entry, "remove what was there"))
}

// ANCHOR: safe_create
/// Writes a regular file from `data`, which must hold `declared` bytes.
pub(super) fn file(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    meta: &Meta,
    data: &mut impl Read,
    declared: u64,
    entry: &str,
) -> Result<(), LayerError> {
    clear(parent, name, entry)?;
    let fd = openat(
        parent,
        name,
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(sys(entry, "create the file"))?;
    let mut file = File::from(fd);
    let found = copy_data(data, &mut file, entry)?;
    if found != declared {
        return Err(LayerError::Truncated {
            entry: entry.to_string(),
            declared,
            found,
        });
    }
    // Owner before mode: chown clears setuid/setgid and file capabilities.
    fchown(
        &file,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )
    .map_err(sys(entry, "set the owner"))?;
    fchmod(&file, Mode::from_bits_truncate(meta.mode)).map_err(sys(entry, "set the mode"))?;
    set_xattrs(&file, &meta.xattrs, entry)?;
    let time = TimeSpec::new(meta.mtime, 0);
    futimens(&file, &time, &time).map_err(sys(entry, "set the time"))
}
// ANCHOR_END: safe_create

/// Copies an entry's data, telling a read failure from a write failure.
fn copy_data(data: &mut impl Read, file: &mut File, entry: &str) -> Result<u64, LayerError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(LayerError::Read { source }),
        };
        file.write_all(&buf[..n])
            .map_err(|source| LayerError::Write {
                entry: entry.to_string(),
                action: "write the content",
                source,
            })?;
        total += n as u64;
    }
}

/// Creates a directory, or keeps the one that is there and updates its
/// metadata (its content from lower layers stays). Its time is set later by
/// the caller, after its content.
pub(super) fn directory(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    meta: &Meta,
    entry: &str,
) -> Result<(), LayerError> {
    let existing = existing_kind(parent, name).map_err(sys(entry, "look at what is there"))?;
    if existing != Some(SFlag::S_IFDIR) {
        clear(parent, name, entry)?;
        mkdirat(parent, name, Mode::from_bits_truncate(0o700))
            .map_err(sys(entry, "create the directory"))?;
    }
    let dir = File::from(open_subdir(parent, name).map_err(sys(entry, "open the directory"))?);
    set_dir_meta(&dir, meta, entry)
}

/// Owner, mode and xattrs of an open directory (the root's too).
pub(super) fn set_dir_meta(dir: &File, meta: &Meta, entry: &str) -> Result<(), LayerError> {
    fchown(
        dir,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )
    .map_err(sys(entry, "set the owner"))?;
    fchmod(dir, Mode::from_bits_truncate(meta.mode)).map_err(sys(entry, "set the mode"))?;
    set_xattrs(dir, &meta.xattrs, entry)
}

/// Creates a symlink. Its target is stored as written: it is only ever
/// resolved inside the root (by `openat2` here, by the container later).
pub(super) fn symlink(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    target: &OsStr,
    meta: &Meta,
    entry: &str,
) -> Result<(), LayerError> {
    clear(parent, name, entry)?;
    symlinkat(target, parent, name).map_err(sys(entry, "create the symlink"))?;
    set_link_meta(parent, name, meta, entry)
}

// ANCHOR: hardlink
/// Creates a hardlink to `source_name` in `source_parent`, a directory
/// resolved inside the root. linkat without `AT_SYMLINK_FOLLOW` links a
/// symlink itself, never what it points to, so the link cannot reach out.
pub(super) fn hardlink(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    source_parent: BorrowedFd<'_>,
    source_name: &OsStr,
    entry: &str,
) -> Result<(), LayerError> {
    clear(parent, name, entry)?;
    linkat(source_parent, source_name, parent, name, AtFlags::empty())
        .map_err(sys(entry, "create the hardlink"))
}
// ANCHOR_END: hardlink

/// Creates a device node or a fifo. Device nodes are harmless in a
/// container: chapter 02's devices allow-list refuses to open them.
pub(super) fn special(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    kind: Special,
    meta: &Meta,
    entry: &str,
) -> Result<(), LayerError> {
    clear(parent, name, entry)?;
    let (flag, dev) = match kind {
        Special::Char(major, minor) => (SFlag::S_IFCHR, makedev(major.into(), minor.into())),
        Special::Block(major, minor) => (SFlag::S_IFBLK, makedev(major.into(), minor.into())),
        Special::Fifo => (SFlag::S_IFIFO, 0),
    };
    let mode = Mode::from_bits_truncate(meta.mode);
    mknodat(parent, name, flag, mode, dev).map_err(sys(entry, "create the node"))?;
    set_link_meta(parent, name, meta, entry)?;
    // mknod's mode went through the umask, so it is set again.
    chmod_no_follow(parent, name, mode).map_err(sys(entry, "set the mode"))
}

/// Sets the mode of `name` without following it if it is a symlink.
/// `fchmodat2` (Linux 6.6) does it in the kernel; glibc's `fchmodat` with
/// `AT_SYMLINK_NOFOLLOW` (the fallback for older kernels) needs `/proc`.
fn chmod_no_follow(parent: BorrowedFd<'_>, name: &OsStr, mode: Mode) -> nix::Result<()> {
    let c_name = CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: the descriptor is open and the name a NUL-terminated string
    // that outlives the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            parent.as_raw_fd(),
            c_name.as_ptr(),
            mode.bits(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    match Errno::result(result) {
        Ok(_) => Ok(()),
        Err(Errno::ENOSYS) => fchmodat(parent, name, mode, FchmodatFlags::NoFollowSymlink),
        Err(e) => Err(e),
    }
}

/// Owner and time of a node that cannot be opened safely (symlink, device,
/// fifo), set by name without following it.
fn set_link_meta(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    meta: &Meta,
    entry: &str,
) -> Result<(), LayerError> {
    fchownat(
        parent,
        name,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(sys(entry, "set the owner"))?;
    let time = TimeSpec::new(meta.mtime, 0);
    utimensat(parent, name, &time, &time, UtimensatFlags::NoFollowSymlink)
        .map_err(sys(entry, "set the time"))
}

/// Sets xattrs on an open file or directory.
fn set_xattrs(file: &File, xattrs: &[Xattr], entry: &str) -> Result<(), LayerError> {
    for (name, value) in xattrs {
        file.set_xattr(name, value)
            .map_err(|source| LayerError::Write {
                entry: entry.to_string(),
                action: "set an extended attribute",
                source,
            })?;
    }
    Ok(())
}

/// Sets a directory's modification time (done last, after its content).
pub(super) fn set_dir_time(dir: impl AsFd, mtime: i64, entry: &str) -> Result<(), LayerError> {
    let time = TimeSpec::new(mtime, 0);
    futimens(dir, &time, &time).map_err(sys(entry, "set the time"))
}
