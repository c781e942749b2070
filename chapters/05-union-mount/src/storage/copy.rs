//! A faithful copy of a directory tree, for the vfs driver: owners, modes,
//! extended attributes, times, hard links and device nodes all survive, so the
//! copy runs exactly as the original would.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use nix::sys::stat::{Mode, SFlag, UtimensatFlags, mknod, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchownat};

use super::error::StorageError;

/// The first copy of each multiply-linked file, by (device, inode) of the source.
type Seen = HashMap<(u64, u64), std::path::PathBuf>;

// ANCHOR: copy_tree
/// Copies the tree at `from` to `to` (which must not exist).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), StorageError> {
    let mut seen = Seen::new();
    copy_node(from, to, &mut seen)
}

fn copy_node(from: &Path, to: &Path, seen: &mut Seen) -> Result<(), StorageError> {
    let meta = fs::symlink_metadata(from).map_err(StorageError::io("reading", from))?;
    let kind = meta.file_type();
    // A second name of a file already copied becomes a second name of the copy.
    if !kind.is_dir() && meta.nlink() > 1 {
        if let Some(first) = seen.get(&(meta.dev(), meta.ino())) {
            return fs::hard_link(first, to).map_err(StorageError::io("linking", to));
        }
        seen.insert((meta.dev(), meta.ino()), to.to_path_buf());
    }
    if kind.is_dir() {
        fs::create_dir(to).map_err(StorageError::io("creating", to))?;
        let entries = fs::read_dir(from).map_err(StorageError::io("listing", from))?;
        for entry in entries {
            let entry = entry.map_err(StorageError::io("listing", from))?;
            copy_node(&entry.path(), &to.join(entry.file_name()), seen)?;
        }
    } else if kind.is_file() {
        let mut source = File::open(from).map_err(StorageError::io("opening", from))?;
        let mut copy = File::create_new(to).map_err(StorageError::io("creating", to))?;
        io::copy(&mut source, &mut copy).map_err(StorageError::io("copying into", to))?;
    } else if kind.is_symlink() {
        let target = fs::read_link(from).map_err(StorageError::io("reading", from))?;
        symlink(target, to).map_err(StorageError::io("creating", to))?;
    } else {
        // Devices, FIFOs and sockets: a new node of the same type and numbers.
        let file_type = SFlag::from_bits_truncate(meta.mode() & SFlag::S_IFMT.bits());
        mknod(to, file_type, Mode::empty(), meta.rdev())
            .map_err(|e| StorageError::io("creating", to)(e.into()))?;
    }
    copy_metadata(from, to, &meta)
}
// ANCHOR_END: copy_tree

/// Owner first (chown clears set-id bits), then mode, xattrs and times last
/// (setting the others changes ctime, never mtime).
fn copy_metadata(from: &Path, to: &Path, meta: &fs::Metadata) -> Result<(), StorageError> {
    let failed = |e: nix::errno::Errno| StorageError::io("setting the metadata of", to)(e.into());
    fchownat(
        nix::fcntl::AT_FDCWD,
        to,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(failed)?;
    if !meta.file_type().is_symlink() {
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(StorageError::io("setting the mode of", to))?;
    }
    let names = xattr::list(from).map_err(StorageError::io("listing the xattrs of", from))?;
    for name in names {
        if let Some(value) =
            xattr::get(from, &name).map_err(StorageError::io("reading the xattrs of", from))?
        {
            xattr::set(to, &name, &value).map_err(StorageError::io("setting the xattrs of", to))?;
        }
    }
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        to,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_files_links_modes_and_times() {
        let tmp = tempfile::tempdir().unwrap();
        let from = tmp.path().join("from");
        fs::create_dir_all(from.join("d/e")).unwrap();
        fs::write(from.join("d/f"), "hello").unwrap();
        fs::set_permissions(from.join("d/f"), fs::Permissions::from_mode(0o4750)).unwrap();
        fs::hard_link(from.join("d/f"), from.join("g")).unwrap();
        symlink("../g", from.join("d/link")).unwrap();
        utimensat(
            nix::fcntl::AT_FDCWD,
            &from.join("d"),
            &TimeSpec::new(1_000_000, 0),
            &TimeSpec::new(1_000_000, 0),
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
        let to = tmp.path().join("to");
        copy_tree(&from, &to).unwrap();

        assert_eq!(fs::read_to_string(to.join("d/f")).unwrap(), "hello");
        let f = fs::metadata(to.join("d/f")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o4750);
        assert_eq!(f.ino(), fs::metadata(to.join("g")).unwrap().ino());
        assert_ne!(f.ino(), fs::metadata(from.join("g")).unwrap().ino());
        assert_eq!(fs::read_link(to.join("d/link")).unwrap(), Path::new("../g"));
        assert!(to.join("d/e").is_dir());
        // The directory's time is set after its content was made.
        assert_eq!(fs::metadata(to.join("d")).unwrap().mtime(), 1_000_000);
    }

    #[test]
    fn refuses_an_existing_target() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("a"), "x").unwrap();
        fs::write(tmp.path().join("b"), "y").unwrap();
        assert!(copy_tree(&tmp.path().join("a"), &tmp.path().join("b")).is_err());
    }
}
