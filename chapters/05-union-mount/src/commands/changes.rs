//! What a container changed, as `docker diff` reports it: `A` added, `C`
//! changed, `D` deleted, one line per path.
//!
//! With an overlay the answer is in the upper directory: everything there was
//! written by the container. A whiteout (a 0:0 character device) is a deleted
//! file; an opaque directory (`trusted.overlay.opaque=y`) was deleted and made
//! again, so what the layers below held in it is gone. Without an overlay (the
//! plain copy) docker compares the container's tree with the image's, file by
//! file; berth does the same.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::AtFlags;
use nix::sys::stat::{FileStat, fstatat};
use xattr::FileExt;

use super::tree::{self, Descend, Kind, TreeError, lstat_in, open_dir_in};

/// The xattr overlayfs sets on a directory that hides the layers' content below.
pub const OVERLAY_OPAQUE: &str = "trusted.overlay.opaque";

/// The kind of one change, with the letter `docker diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// `C`: the path existed in the image and is different now.
    Modified,
    /// `A`: the path is new.
    Added,
    /// `D`: the path was deleted.
    Deleted,
}

/// One line of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// The path, absolute in the container (`/etc/passwd`).
    pub path: PathBuf,
    /// What happened to it.
    pub kind: ChangeKind,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = match self.kind {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        };
        write!(f, "{letter} {}", self.path.display())
    }
}

fn absolute(relative: &Path) -> PathBuf {
    Path::new("/").join(relative)
}

/// Whether the directory `name` in `dir` is marked opaque by overlayfs.
pub fn is_opaque(dir: BorrowedFd<'_>, name: &OsStr) -> bool {
    tree::open_dir(dir, name).is_ok_and(|d| is_opaque_dir(&d))
}

/// Whether the open directory `dir` is marked opaque by overlayfs.
pub fn is_opaque_dir(dir: &OwnedFd) -> bool {
    dir.try_clone()
        .map(std::fs::File::from)
        .ok()
        .and_then(|d| d.get_xattr(OVERLAY_OPAQUE).ok().flatten())
        .is_some_and(|value| value == b"y")
}

/// The layers below a container's upper directory, top first, opened once.
pub struct Lowers {
    roots: Vec<OwnedFd>,
}

impl Lowers {
    /// Opens `dirs` (top first).
    pub fn open(dirs: &[PathBuf]) -> Result<Self, TreeError> {
        let roots = dirs
            .iter()
            .map(|dir| tree::open_root(dir))
            .collect::<Result<_, _>>()?;
        Ok(Lowers { roots })
    }

    /// What the topmost layer holding `path` has there (a whiteout counts, as
    /// in docker: it is something a layer holds).
    fn stat(&self, path: &Path) -> Result<Option<FileStat>, TreeError> {
        for root in &self.roots {
            let found = lstat_in(root.as_fd(), path).map_err(TreeError::read("examining", path))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    // ANCHOR: lower_listing
    /// The names the layers together show in the directory `path`: a
    /// whiteout in a higher layer hides the name below, and an opaque
    /// directory hides everything below it.
    pub fn names(&self, path: &Path) -> Result<BTreeSet<OsString>, TreeError> {
        let mut shown = BTreeSet::new();
        let mut hidden = HashSet::new();
        for root in &self.roots {
            let opened =
                open_dir_in(root.as_fd(), path).map_err(TreeError::read("opening", path))?;
            let Some(dir) = opened else {
                // A file or a whiteout here hides whatever the layers below have.
                match lstat_in(root.as_fd(), path).map_err(TreeError::read("examining", path))? {
                    Some(_) => break,
                    None => continue,
                }
            };
            for name in tree::names(dir.as_fd(), path)? {
                let stat = fstatat(dir.as_fd(), name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(TreeError::read("examining", &path.join(&name)))?;
                if !hidden.insert(name.clone()) {
                    continue;
                }
                let whiteout = Kind::of(stat.st_mode) == Kind::Char && stat.st_rdev == 0;
                if !whiteout {
                    shown.insert(name);
                }
            }
            if is_opaque_dir(&dir) {
                break;
            }
        }
        Ok(shown)
    }
    // ANCHOR_END: lower_listing
}

/// docker's `sameFsTime`: equal, or equal seconds where one side has no
/// nanoseconds (a tar stores whole seconds).
fn same_time(a: &FileStat, b: &FileStat) -> bool {
    (a.st_mtime, a.st_mtime_nsec) == (b.st_mtime, b.st_mtime_nsec)
        || (a.st_mtime == b.st_mtime && (a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0))
}

// ANCHOR: overlay_changes
/// The changes recorded in an overlay's `upper` directory over `lowers`
/// (top first; the init layer is the first, as docker counts it), sorted by path.
///
/// docker's rules: a path in the upper directory is `A` unless a layer below
/// has it, then `C` — but a directory that only looks copied up (same size,
/// mode and time) is no change. A whiteout is `D`. The parent of an `A` or `D`
/// is `C` even when it looks the same. An opaque directory's lower content is
/// gone: each name the layers showed there and the upper dir lacks is `D`.
pub fn overlay_changes(upper: &Path, lowers: &Lowers) -> Result<Vec<Change>, TreeError> {
    let root = tree::open_root(upper)?;
    let mut changes = Vec::new();
    let mut changed_dirs = HashSet::new();
    let record = |changes: &mut Vec<Change>,
                  changed_dirs: &mut HashSet<PathBuf>,
                  path: &Path,
                  kind: ChangeKind| {
        if kind != ChangeKind::Modified
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && changed_dirs.insert(parent.to_path_buf())
        {
            changes.push(Change {
                path: absolute(parent),
                kind: ChangeKind::Modified,
            });
        }
        changes.push(Change {
            path: absolute(path),
            kind,
        });
    };
    tree::walk(root.as_fd(), &mut |node| {
        if node.is_whiteout() {
            record(
                &mut changes,
                &mut changed_dirs,
                node.path,
                ChangeKind::Deleted,
            );
            return Ok(Descend::No);
        }
        let below = lowers.stat(node.path)?;
        let is_dir = node.kind() == Kind::Dir;
        let kind = match &below {
            None => ChangeKind::Added,
            Some(old)
                if is_dir
                    && Kind::of(old.st_mode) == Kind::Dir
                    && old.st_size == node.stat.st_size
                    && old.st_mode == node.stat.st_mode
                    && same_time(old, &node.stat)
                    && !is_opaque(node.parent, node.name) =>
            {
                return Ok(Descend::Yes);
            }
            Some(_) => ChangeKind::Modified,
        };
        if is_dir {
            changed_dirs.insert(node.path.to_path_buf());
        }
        record(&mut changes, &mut changed_dirs, node.path, kind);
        if is_dir && below.is_some() && is_opaque(node.parent, node.name) {
            let upper_names: HashSet<OsString> = tree::open_dir(node.parent, node.name)
                .map_err(TreeError::read("opening", node.path))
                .and_then(|dir| tree::names(dir.as_fd(), node.path))?
                .into_iter()
                .collect();
            for gone in lowers.names(node.path)? {
                if !upper_names.contains(&gone) {
                    record(
                        &mut changes,
                        &mut changed_dirs,
                        &node.path.join(gone),
                        ChangeKind::Deleted,
                    );
                }
            }
        }
        Ok(Descend::Yes)
    })?;
    changes.sort();
    Ok(changes)
}
// ANCHOR_END: overlay_changes

// ANCHOR: naive_changes
/// The changes between the container's tree `new` and the image's tree `old`,
/// compared file by file as docker's naive diff does: type and permissions,
/// owner, device number, and for all but directories size, time and symlink
/// target. A directory holding a change is `C` itself. `skip` names paths
/// (relative) the engine adds to every container and the image lacks.
pub fn naive_changes(
    new: &Path,
    old: &Path,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<Vec<Change>, TreeError> {
    let new_root = tree::open_root(new)?;
    let old_root = tree::open_root(old)?;
    let mut changes = Vec::new();
    compare_dir(
        new_root.as_fd(),
        Some(old_root.as_fd()),
        Path::new(""),
        skip,
        &mut changes,
    )?;
    changes.sort();
    Ok(changes)
}

fn compare_dir(
    new: BorrowedFd<'_>,
    old: Option<BorrowedFd<'_>>,
    path: &Path,
    skip: &dyn Fn(&Path) -> bool,
    changes: &mut Vec<Change>,
) -> Result<bool, TreeError> {
    let before = changes.len();
    let new_names = tree::names(new, path)?;
    for name in &new_names {
        let child = path.join(name);
        let new_stat = nix::sys::stat::fstatat(
            new,
            name.as_os_str(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(TreeError::read("examining", &child))?;
        let old_stat = match old {
            Some(old) => {
                lstat_in(old, Path::new(name)).map_err(TreeError::read("examining", &child))?
            }
            None => None,
        };
        if old_stat.is_none() && skip(&child) {
            continue;
        }
        let changed = match &old_stat {
            None => Some(ChangeKind::Added),
            Some(old_stat) if differs(new, old, name, &new_stat, old_stat)? => {
                Some(ChangeKind::Modified)
            }
            Some(_) => None,
        };
        if let Some(kind) = changed {
            changes.push(Change {
                path: absolute(&child),
                kind,
            });
        }
        if Kind::of(new_stat.st_mode) == Kind::Dir {
            let new_dir = tree::open_dir(new, name).map_err(TreeError::read("opening", &child))?;
            let old_dir = match (old, &old_stat) {
                (Some(old), Some(s)) if Kind::of(s.st_mode) == Kind::Dir => {
                    open_dir_in(old, Path::new(name)).map_err(TreeError::read("opening", &child))?
                }
                _ => None,
            };
            let inner = compare_dir(
                new_dir.as_fd(),
                old_dir.as_ref().map(|d| d.as_fd()),
                &child,
                skip,
                changes,
            )?;
            if inner && changed.is_none() {
                // docker lists a directory whose content changed, before its content.
                let at = changes
                    .iter()
                    .position(|c| c.path.starts_with(absolute(&child)))
                    .unwrap_or(changes.len());
                changes.insert(
                    at,
                    Change {
                        path: absolute(&child),
                        kind: ChangeKind::Modified,
                    },
                );
            }
        }
    }
    if let Some(old) = old {
        let new_names: HashSet<&OsString> = new_names.iter().collect();
        for name in tree::names(old, path)? {
            if !new_names.contains(&name) {
                changes.push(Change {
                    path: absolute(&path.join(name)),
                    kind: ChangeKind::Deleted,
                });
            }
        }
    }
    Ok(changes.len() > before)
}

/// docker's `statDifferent`, plus the symlink target.
fn differs(
    new_dir: BorrowedFd<'_>,
    old_dir: Option<BorrowedFd<'_>>,
    name: &OsStr,
    new: &FileStat,
    old: &FileStat,
) -> Result<bool, TreeError> {
    if new.st_mode != old.st_mode
        || new.st_uid != old.st_uid
        || new.st_gid != old.st_gid
        || new.st_rdev != old.st_rdev
    {
        return Ok(true);
    }
    match Kind::of(new.st_mode) {
        Kind::Dir => Ok(false),
        Kind::Symlink => {
            let target = |dir| tree::link_target(dir, name).ok();
            Ok(new.st_size != old.st_size
                || !same_time(new, old)
                || target(new_dir) != old_dir.and_then(target))
        }
        _ => Ok(new.st_size != old.st_size || !same_time(new, old)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn lines(changes: &[Change]) -> Vec<String> {
        changes.iter().map(ToString::to_string).collect()
    }

    fn whiteout(path: &Path) {
        nix::sys::stat::mknod(
            path,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
    }

    fn can_mknod() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[test]
    fn upper_dir_entries_become_docker_s_lines() {
        if !can_mknod() {
            eprintln!("skipped: whiteouts need root (mknod)");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let (lower, upper) = (tmp.path().join("lower"), tmp.path().join("upper"));
        for dir in ["etc/x", "etc/ren/sub", "bin"] {
            fs::create_dir_all(lower.join(dir)).unwrap();
        }
        for file in [
            "etc/x/a",
            "etc/x/b",
            "etc/keep",
            "etc/del",
            "etc/ren/sub/f",
            "bin/sh",
        ] {
            fs::write(lower.join(file), "old").unwrap();
        }
        // What a container's `rm -rf /etc/x; mkdir /etc/x; echo n > /etc/x/new;
        // echo m >> /etc/keep; rm /etc/del; mv /etc/ren /etc/ren2; mkdir -p /new/dir`
        // leaves in the upper directory.
        fs::create_dir_all(upper.join("etc/x")).unwrap();
        std::fs::File::open(upper.join("etc/x"))
            .unwrap()
            .set_xattr(OVERLAY_OPAQUE, b"y")
            .unwrap();
        fs::write(upper.join("etc/x/new"), "n").unwrap();
        fs::write(upper.join("etc/keep"), "oldm").unwrap();
        whiteout(&upper.join("etc/del"));
        whiteout(&upper.join("etc/ren"));
        fs::create_dir_all(upper.join("etc/ren2/sub")).unwrap();
        fs::write(upper.join("etc/ren2/sub/f"), "old").unwrap();
        fs::create_dir_all(upper.join("new/dir")).unwrap();
        symlink("/etc/keep", upper.join("lnk")).unwrap();

        let lowers = Lowers::open(&[lower]).unwrap();
        let changes = overlay_changes(&upper, &lowers).unwrap();
        assert_eq!(
            lines(&changes),
            [
                "C /etc",
                "D /etc/del",
                "C /etc/keep",
                "D /etc/ren",
                "A /etc/ren2",
                "A /etc/ren2/sub",
                "A /etc/ren2/sub/f",
                "C /etc/x",
                "D /etc/x/a",
                "D /etc/x/b",
                "A /etc/x/new",
                "A /lnk",
                "A /new",
                "A /new/dir",
            ]
        );
    }

    #[test]
    fn a_lower_whiteout_hides_the_name_from_the_listing() {
        if !can_mknod() {
            eprintln!("skipped: whiteouts need root (mknod)");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let (top, bottom) = (tmp.path().join("top"), tmp.path().join("bottom"));
        fs::create_dir_all(top.join("d")).unwrap();
        fs::create_dir_all(bottom.join("d")).unwrap();
        fs::write(bottom.join("d/gone"), "").unwrap();
        fs::write(bottom.join("d/kept"), "").unwrap();
        whiteout(&top.join("d/gone"));
        fs::write(top.join("d/added"), "").unwrap();
        let lowers = Lowers::open(&[top, bottom]).unwrap();
        let names: Vec<_> = lowers.names(Path::new("d")).unwrap().into_iter().collect();
        assert_eq!(names, ["added", "kept"]);
    }

    #[test]
    fn naive_diff_compares_trees_file_by_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (image, container) = (tmp.path().join("image"), tmp.path().join("container"));
        for root in [&image, &container] {
            fs::create_dir_all(root.join("etc/sub")).unwrap();
            fs::write(root.join("etc/same"), "s").unwrap();
            fs::write(root.join("etc/sub/f"), "f").unwrap();
            fs::write(root.join("gone"), "g").unwrap();
            symlink("a", root.join("link")).unwrap();
        }
        // Same metadata on both sides, as an unpacked layer gives.
        let copy_times = |path: &str| {
            let stat = fs::symlink_metadata(image.join(path)).unwrap();
            let time = nix::sys::time::TimeSpec::new(stat.mtime(), stat.mtime_nsec());
            nix::sys::stat::utimensat(
                nix::fcntl::AT_FDCWD,
                &container.join(path),
                &time,
                &time,
                nix::sys::stat::UtimensatFlags::NoFollowSymlink,
            )
            .unwrap();
        };
        use std::os::unix::fs::MetadataExt;
        for path in ["etc/same", "etc/sub/f", "link"] {
            copy_times(path);
        }
        fs::write(container.join("etc/sub/f"), "changed").unwrap();
        fs::remove_file(container.join("gone")).unwrap();
        fs::remove_file(container.join("link")).unwrap();
        symlink("b", container.join("link")).unwrap();
        fs::write(container.join("new"), "").unwrap();
        fs::create_dir(container.join("proc")).unwrap();
        let skip = |p: &Path| p == Path::new("proc");
        let changes = naive_changes(&container, &image, &skip).unwrap();
        assert_eq!(
            lines(&changes),
            [
                "C /etc",
                "C /etc/sub",
                "C /etc/sub/f",
                "D /gone",
                "C /link",
                "A /new"
            ]
        );
    }
}
