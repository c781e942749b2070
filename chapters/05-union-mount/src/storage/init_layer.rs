//! The init layer: what berth adds to every container's root, kept apart from
//! the container's own changes so that `diff` and `commit` do not show it.

use std::fs::{self, Metadata};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, chown};

use super::error::StorageError;

/// What an init entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitKind {
    /// A directory, for a file system mounted there.
    Dir,
    /// An empty file, for a file bind-mounted there.
    File,
    /// A symbolic link to this target.
    Symlink(&'static str),
}

// ANCHOR: init_entries
/// The entries of the init layer, relative to the root.
///
/// Every one of them is a place the runtime mounts over, so a container that
/// only runs does not change its own layer:
/// - `proc`, `sys`, `dev`: where procfs, sysfs and the `/dev` tmpfs go;
/// - `etc/hostname`, `etc/hosts`, `etc/resolv.conf`: files the runtime binds
///   from the container's directory (an image that has them keeps its copies
///   below, hidden, as docker does);
/// - `etc/mtab -> /proc/mounts`: what `mount` and `df` read, as docker links it;
/// - `dev/pts`, `dev/shm`, `dev/console`: hidden at run time by the `/dev`
///   tmpfs, but there in `export`, like docker's;
/// - `.dockerenv`: empty; scripts test it to know they run in a container.
///
/// These are docker's init layer's entries.
pub const ENTRIES: &[(&str, InitKind)] = &[
    (".dockerenv", InitKind::File),
    ("proc", InitKind::Dir),
    ("sys", InitKind::Dir),
    ("dev", InitKind::Dir),
    ("dev/pts", InitKind::Dir),
    ("dev/shm", InitKind::Dir),
    ("dev/console", InitKind::File),
    ("etc/hostname", InitKind::File),
    ("etc/hosts", InitKind::File),
    ("etc/resolv.conf", InitKind::File),
    ("etc/mtab", InitKind::Symlink("/proc/mounts")),
];
// ANCHOR_END: init_entries

// ANCHOR: write_init_layer
/// Writes the init entries into `init`, an empty directory above `image`
/// (the image's layer directories, top first, in overlayfs's format; for a
/// flattened tree, just it). A directory the image already has is made with
/// its owner, mode and times, so the merged root looks like the image's; an
/// entry under something the image has as a non-directory (an `etc` symlink)
/// is skipped rather than shadow it.
pub fn write(init: &Path, image: &[&Path]) -> Result<(), StorageError> {
    // Each directory's times as they should end, in the order first met.
    let mut dirs: Vec<(PathBuf, Metadata)> = Vec::new();
    let root = fs::symlink_metadata(init).map_err(StorageError::io("reading", init))?;
    dirs.push((PathBuf::new(), root));
    'entries: for &(entry, kind) in ENTRIES {
        let path = Path::new(entry);
        let mut prefix = PathBuf::new();
        let parents: Vec<Component> = path
            .parent()
            .into_iter()
            .flat_map(Path::components)
            .collect();
        for part in parents {
            prefix.push(part);
            let seen = lookup(image, &prefix);
            if seen.as_ref().is_some_and(|m| !m.is_dir()) {
                continue 'entries;
            }
            make_dir(init, &prefix, seen.as_ref(), &mut dirs)?;
        }
        let target = init.join(path);
        match kind {
            InitKind::Dir => make_dir(init, path, lookup(image, path).as_ref(), &mut dirs)?,
            InitKind::File => {
                if fs::symlink_metadata(&target).is_err() {
                    fs::File::create_new(&target).map_err(StorageError::io("creating", &target))?;
                    fs::set_permissions(&target, fs::Permissions::from_mode(0o644))
                        .map_err(StorageError::io("setting the mode of", &target))?;
                }
            }
            InitKind::Symlink(to) => {
                if fs::symlink_metadata(&target).is_err() {
                    symlink(to, &target).map_err(StorageError::io("creating", &target))?;
                }
            }
        }
    }
    // Times last, deepest first: making an entry changes its directory's mtime.
    for (path, meta) in dirs.iter().rev() {
        set_times(&init.join(path), meta)?;
    }
    Ok(())
}
// ANCHOR_END: write_init_layer

/// Makes `init/path` a directory, with the owner and mode of the image's
/// directory there if it has one (0755 root otherwise).
fn make_dir(
    init: &Path,
    path: &Path,
    image: Option<&Metadata>,
    dirs: &mut Vec<(PathBuf, Metadata)>,
) -> Result<(), StorageError> {
    let target = init.join(path);
    let remember = |dirs: &mut Vec<(PathBuf, Metadata)>, meta: &Metadata| {
        if !dirs.iter().any(|(seen, _)| seen == path) {
            dirs.push((path.to_path_buf(), meta.clone()));
        }
    };
    if let Ok(existing) = fs::symlink_metadata(&target) {
        // Already there (made for an earlier entry, or in a vfs copy): keep
        // its times once its new content is made.
        remember(dirs, &existing);
        return Ok(());
    }
    fs::create_dir(&target).map_err(StorageError::io("creating", &target))?;
    let (mode, uid, gid) = match image.filter(|m| m.is_dir()) {
        Some(meta) => {
            remember(dirs, meta);
            (meta.mode() & 0o7777, meta.uid(), meta.gid())
        }
        None => (0o755, 0, 0),
    };
    chown(&target, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
        .map_err(|e| StorageError::io("setting the owner of", &target)(e.into()))?;
    fs::set_permissions(&target, fs::Permissions::from_mode(mode))
        .map_err(StorageError::io("setting the mode of", &target))
}

/// Gives `path` the access and modification times of `meta`.
pub fn set_times(path: &Path, meta: &Metadata) -> Result<(), StorageError> {
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| StorageError::io("setting the times of", path)(e.into()))
}

// ANCHOR: lookup_in_layers
/// What the merged image has at `path`, read from its layers (top first) as
/// overlayfs would: the topmost layer holding the name wins; a whiteout there,
/// a non-directory on the way, or an opaque directory without it ends the
/// search. Symlinks are never followed.
pub fn lookup(layers: &[&Path], path: &Path) -> Option<Metadata> {
    let parts: Vec<Component> = path.components().collect();
    'layers: for layer in layers {
        let mut here = layer.to_path_buf();
        for (index, part) in parts.iter().enumerate() {
            let parent_opaque = is_opaque(&here);
            here.push(part);
            match fs::symlink_metadata(&here) {
                Err(_) if parent_opaque => return None,
                Err(_) => continue 'layers,
                Ok(meta) if is_whiteout(&meta) => return None,
                Ok(meta) if index + 1 == parts.len() => return Some(meta),
                Ok(meta) if !meta.is_dir() => return None,
                Ok(_) => {}
            }
        }
    }
    None
}
// ANCHOR_END: lookup_in_layers

/// overlayfs's whiteout: a character device 0:0.
pub fn is_whiteout(meta: &Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether `dir` carries `trusted.overlay.opaque=y`.
pub fn is_opaque(dir: &Path) -> bool {
    matches!(xattr::get(dir, "trusted.overlay.opaque"), Ok(Some(value)) if value == b"y")
}

/// Whether `path` (relative to the root) is an init entry or below one (the
/// mount points `proc`, `sys`, `dev` hide what is under them): what a `diff`
/// or `commit` of a vfs copy leaves out, as docker leaves its init layer out.
pub fn is_init_path(path: &Path) -> bool {
    let path = path.strip_prefix("/").unwrap_or(path);
    ENTRIES.iter().any(|(entry, _)| path.starts_with(entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};

    #[test]
    fn the_topmost_layer_wins_and_whiteouts_hide() {
        let tmp = tempfile::tempdir().unwrap();
        let (top, bottom) = (tmp.path().join("top"), tmp.path().join("bottom"));
        fs::create_dir_all(bottom.join("etc")).unwrap();
        fs::write(bottom.join("etc/hosts"), "x").unwrap();
        fs::create_dir_all(bottom.join("gone")).unwrap();
        fs::create_dir_all(top.join("etc")).unwrap();
        mknod(
            &top.join("gone"),
            SFlag::S_IFCHR,
            Mode::empty(),
            makedev(0, 0),
        )
        .unwrap();
        let layers = [top.as_path(), bottom.as_path()];
        assert!(lookup(&layers, Path::new("etc/hosts")).unwrap().is_file());
        assert!(lookup(&layers, Path::new("gone")).is_none());
        assert!(lookup(&layers, Path::new("missing")).is_none());
    }

    #[test]
    fn an_opaque_directory_hides_lower_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let (top, bottom) = (tmp.path().join("top"), tmp.path().join("bottom"));
        fs::create_dir_all(bottom.join("etc")).unwrap();
        fs::write(bottom.join("etc/hosts"), "x").unwrap();
        fs::create_dir_all(top.join("etc")).unwrap();
        if xattr::set(top.join("etc"), "trusted.overlay.opaque", b"y").is_err() {
            eprintln!("skipped: trusted xattrs need root");
            return;
        }
        let layers = [top.as_path(), bottom.as_path()];
        assert!(lookup(&layers, Path::new("etc")).unwrap().is_dir());
        assert!(lookup(&layers, Path::new("etc/hosts")).is_none());
    }

    #[test]
    fn a_symlinked_etc_is_not_shadowed() {
        let tmp = tempfile::tempdir().unwrap();
        let (init, image) = (tmp.path().join("init"), tmp.path().join("image"));
        fs::create_dir_all(image.join("proc")).unwrap();
        fs::set_permissions(image.join("proc"), fs::Permissions::from_mode(0o555)).unwrap();
        symlink("/usr/etc", image.join("etc")).unwrap();
        fs::create_dir(&init).unwrap();
        if write(&init, &[image.as_path()]).is_err() {
            eprintln!("skipped: chown needs root");
            return;
        }
        assert!(!init.join("etc").exists());
        let proc = fs::metadata(init.join("proc")).unwrap();
        assert_eq!(proc.mode() & 0o7777, 0o555);
        assert!(init.join("dev/console").is_file());
        assert!(init.join("dev/pts").is_dir());
        assert!(is_init_path(Path::new("/etc/mtab")));
        assert!(!is_init_path(Path::new("/etc/passwd")));
        assert!(is_init_path(Path::new("dev/null")));
        assert!(!is_init_path(Path::new("devices")));
    }
}
