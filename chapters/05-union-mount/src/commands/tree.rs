//! Walking a container's files through directory descriptors.
//!
//! A running container can rename and replace its files while `diff`, `commit`,
//! `export` or `cp` reads them. A walk by path names (`root/a/b`) would follow a
//! symlink the container just put in place of `a`, out to the host. So every
//! step here is relative to the descriptor of the directory already opened, with
//! `O_NOFOLLOW`: a directory swapped for a symlink fails to open, it is never
//! followed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat, openat2, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};

/// Why a tree could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A file or directory could not be opened, listed or examined.
    #[error("{action} {}: {source}", path.display())]
    Read {
        /// What was being done.
        action: &'static str,
        /// The path, relative to the tree's root.
        path: PathBuf,
        /// The system's error.
        source: Errno,
    },
}

impl TreeError {
    /// A constructor for `map_err`: what was being done, and where.
    pub fn read(action: &'static str, path: &Path) -> impl FnOnce(Errno) -> TreeError {
        let path = path.to_path_buf();
        move |source| TreeError::Read {
            action,
            path,
            source,
        }
    }
}

impl From<TreeError> for berth_engine::Error {
    fn from(e: TreeError) -> Self {
        berth_engine::Error::failed(e.to_string())
            .hint("the container's files changed while they were read; try again")
    }
}

/// The type of a file, from its `st_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A character device (an overlay whiteout when its number is 0:0).
    Char,
    /// A block device.
    Block,
    /// A unix socket.
    Socket,
}

impl Kind {
    /// The kind `st_mode` says.
    pub fn of(mode: u32) -> Kind {
        match SFlag::from_bits_truncate(mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => Kind::Dir,
            SFlag::S_IFLNK => Kind::Symlink,
            SFlag::S_IFIFO => Kind::Fifo,
            SFlag::S_IFCHR => Kind::Char,
            SFlag::S_IFBLK => Kind::Block,
            SFlag::S_IFSOCK => Kind::Socket,
            _ => Kind::File,
        }
    }
}

/// One file met in a walk.
pub struct Node<'a> {
    /// The directory holding it.
    pub parent: BorrowedFd<'a>,
    /// Its name in `parent`.
    pub name: &'a OsStr,
    /// Its path relative to the root of the walk.
    pub path: &'a Path,
    /// What `lstat` says of it.
    pub stat: FileStat,
}

impl Node<'_> {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        Kind::of(self.stat.st_mode)
    }

    /// Whether overlayfs reads it as a whiteout: a character device 0:0.
    pub fn is_whiteout(&self) -> bool {
        self.kind() == Kind::Char && self.stat.st_rdev == 0
    }
}

/// Whether the walk goes into a directory just visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descend {
    /// Visit what it holds.
    Yes,
    /// Skip what it holds.
    No,
}

/// Opens the root of a walk (a directory on the host the engine owns).
pub fn open_root(root: &Path) -> Result<OwnedFd, TreeError> {
    nix::fcntl::open(
        root,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(TreeError::read("opening", root))
}

// ANCHOR: walk_by_descriptor
/// Visits every file under `root` (not `root` itself), in lexical order of the
/// names in each directory, parents before children, as docker's walks do.
/// The visitor's own errors pass through.
pub fn walk<E: From<TreeError>>(
    root: BorrowedFd<'_>,
    visit: &mut dyn FnMut(&Node) -> Result<Descend, E>,
) -> Result<(), E> {
    walk_dir(root, Path::new(""), visit)
}

fn walk_dir<E: From<TreeError>>(
    dir: BorrowedFd<'_>,
    path: &Path,
    visit: &mut dyn FnMut(&Node) -> Result<Descend, E>,
) -> Result<(), E> {
    for name in names(dir, path)? {
        let child_path = path.join(&name);
        let stat = match fstatat(dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            // Removed since the listing: there is nothing left to report.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(TreeError::read("examining", &child_path)(e).into()),
        };
        let node = Node {
            parent: dir,
            name: &name,
            path: &child_path,
            stat,
        };
        let descend = visit(&node)?;
        if node.kind() == Kind::Dir && descend == Descend::Yes {
            let child = open_dir(dir, &name).map_err(TreeError::read("opening", &child_path))?;
            walk_dir(child.as_fd(), &child_path, visit)?;
        }
    }
    Ok(())
}
// ANCHOR_END: walk_by_descriptor

/// The names in `dir`, sorted by their bytes (`.` and `..` left out).
pub fn names(dir: BorrowedFd<'_>, path: &Path) -> Result<Vec<OsString>, TreeError> {
    let mut listing = Dir::openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(TreeError::read("listing", path))?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let entry = entry.map_err(TreeError::read("listing", path))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_os_string());
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Opens the directory `name` in `dir`, refusing a symlink.
pub fn open_dir(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Opens the regular file `name` in `dir` for reading, refusing a symlink, and
/// checks that what was opened is still a regular file (a fifo put in its
/// place would block the reader for ever; `O_NONBLOCK` keeps that open from
/// waiting).
pub fn open_file(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<File> {
    let fd = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    if Kind::of(fstat(&fd)?.st_mode) != Kind::File {
        return Err(Errno::EINVAL);
    }
    Ok(File::from(fd))
}

/// Where the symlink `name` in `dir` points.
pub fn link_target(dir: BorrowedFd<'_>, name: &OsStr) -> nix::Result<OsString> {
    readlinkat(dir, name)
}

// ANCHOR: lookup_without_symlinks
/// What is at `path` under `root`, refusing every symlink on the way (the
/// last component is examined, not followed): a layer's files are compared
/// as they are stored, never through a link that could point anywhere.
pub fn lstat_in(root: BorrowedFd<'_>, path: &Path) -> nix::Result<Option<FileStat>> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS);
    loop {
        match openat2(root, path, how) {
            Ok(fd) => return fstat(&fd).map(Some),
            Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => return Ok(None),
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}
// ANCHOR_END: lookup_without_symlinks

/// Opens the directory at `path` under `root` with no symlink on the way;
/// `None` when there is no directory there.
pub fn open_dir_in(root: BorrowedFd<'_>, path: &Path) -> nix::Result<Option<OwnedFd>> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS);
    loop {
        match openat2(root, path, how) {
            Ok(fd) => return Ok(Some(fd)),
            Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => return Ok(None),
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn walks_in_lexical_order_without_following_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("b/inner")).unwrap();
        fs::write(root.join("b/inner/f"), "x").unwrap();
        fs::write(root.join("a"), "y").unwrap();
        symlink("/", root.join("c")).unwrap();
        let fd = open_root(root).unwrap();
        let mut seen = Vec::new();
        walk::<TreeError>(fd.as_fd(), &mut |node| {
            seen.push((node.path.to_path_buf(), node.kind()));
            Ok(Descend::Yes)
        })
        .unwrap();
        let expected = [
            ("a", Kind::File),
            ("b", Kind::Dir),
            ("b/inner", Kind::Dir),
            ("b/inner/f", Kind::File),
            ("c", Kind::Symlink),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(p, k)| (PathBuf::from(p), *k))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn lookups_refuse_symlinks_on_the_way() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir(root.join("real")).unwrap();
        fs::write(root.join("real/f"), "x").unwrap();
        symlink("real", root.join("link")).unwrap();
        let fd = open_root(root).unwrap();
        assert!(lstat_in(fd.as_fd(), Path::new("real/f")).unwrap().is_some());
        assert!(lstat_in(fd.as_fd(), Path::new("link/f")).unwrap().is_none());
        let link = lstat_in(fd.as_fd(), Path::new("link")).unwrap().unwrap();
        assert_eq!(Kind::of(link.st_mode), Kind::Symlink);
        assert!(
            open_dir_in(fd.as_fd(), Path::new("link"))
                .unwrap()
                .is_none()
        );
    }
}
