//! Paths inside the container's root, resolved by the kernel as if the root were
//! `/`: a symlink in the image such as `etc -> /` or `x -> ../../..` can never lead
//! a mount or a `mkdir` out to the host (`openat2` with `RESOLVE_IN_ROOT`).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{Mode, mkdirat};

/// What to create when a mount target is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (mkdir -p).
    Dir,
    /// An empty file, for a bind mount of a file.
    File,
}

/// `path` made relative and lexically clean: `/a/./b/../c` → `a/c`; `..` never
/// climbs above the root (as Go's `filepath.Clean` of an absolute path).
pub fn clean(path: &Path) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(p) => parts.push(p),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts.iter().collect()
}

// ANCHOR: resolve_in_root
/// Opens `path` under `root` as an `O_PATH` descriptor. Symlinks resolve inside
/// `root`, and "magic" links such as `/proc/self/fd/N`, which could name any
/// file of the host, are refused (ELOOP).
pub fn open_in_root(root: impl AsFd, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let relative = clean(path);
    let relative = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &relative
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC | flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match openat2(root.as_fd(), relative, how) {
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            result => return result,
        }
    }
}

// ANCHOR_END: resolve_in_root
/// Opens `path` under `root`, creating it (and missing parents as directories)
/// first; a new node gets mode 0755 (directory) or 0644 (file).
pub fn ensure_in_root(root: impl AsFd + Copy, path: &Path, kind: Kind) -> nix::Result<OwnedFd> {
    match open_in_root(root, path, OFlag::empty()) {
        Err(Errno::ENOENT) => {}
        result => return result,
    }
    let path = clean(path);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Errno::ENOENT);
    };
    let parent = ensure_in_root(root, parent, Kind::Dir)?;
    let created = match kind {
        Kind::Dir => mkdirat(&parent, name, Mode::from_bits_truncate(0o755)),
        Kind::File => nix::fcntl::openat(
            &parent,
            name,
            OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop),
    };
    match created {
        Ok(()) | Err(Errno::EEXIST) => open_in_root(root, &path, OFlag::empty()),
        Err(e) => Err(e),
    }
}

/// The path through which mount(2) reaches an `O_PATH` descriptor.
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn clean_never_climbs_above_the_root() {
        assert_eq!(clean(Path::new("/a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean(Path::new("/../../etc")), PathBuf::from("etc"));
        assert_eq!(clean(Path::new("/")), PathBuf::new());
    }

    #[test]
    fn symlinks_resolve_inside_the_root_and_targets_are_created_there() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        fs::create_dir(&root).unwrap();
        // An absolute symlink to "/" and a relative one that climbs out.
        symlink("/", root.join("escape")).unwrap();
        symlink("../../../..", root.join("up")).unwrap();
        let root_fd = fs::File::open(&root).unwrap();
        ensure_in_root(&root_fd, Path::new("/escape/made/here"), Kind::Dir).unwrap();
        ensure_in_root(&root_fd, Path::new("/up/file"), Kind::File).unwrap();
        assert!(root.join("made/here").is_dir());
        assert!(root.join("file").is_file());
        assert!(!tmp.path().join("file").exists());
    }

    #[test]
    fn magic_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::File::open(tmp.path()).unwrap();
        let magic = fd_path(&root);
        let err = open_in_root(fs::File::open("/").unwrap().as_fd(), &magic, OFlag::empty());
        assert_eq!(err.unwrap_err(), Errno::ELOOP);
    }
}
