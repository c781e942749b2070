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

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{FileStat, fstatat};
use xattr::FileExt;

use super::tree::{self, Kind, TreeError, lstat_in, open_dir_in};
use super::tree_tar::CAPABILITY_XATTR;

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

impl Change {
    /// The change `kind` of the relative path `relative`.
    fn new(relative: &Path, kind: ChangeKind) -> Change {
        Change {
            path: absolute(relative),
            kind,
        }
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

/// One directory as the layers below a container's upper directory show it:
/// that directory in each layer that adds to it, top first. overlayfs merges
/// a directory down the layers until one of them holds a file or a whiteout
/// under its name, or marks its own directory opaque (that one still counts).
pub struct Lowers {
    dirs: Vec<OwnedFd>,
}

/// What the layers below show under one name.
pub struct Lower<'a> {
    /// The directory, in the layer that decides, holding the file.
    pub parent: BorrowedFd<'a>,
    /// What `lstat` says of it there.
    pub stat: FileStat,
    /// For a directory, the directory merged down the layers.
    pub dir: Option<Lowers>,
}

impl Lowers {
    /// The root directories of the layers `dirs` (top first).
    pub fn open(dirs: &[PathBuf]) -> Result<Self, TreeError> {
        let dirs = dirs
            .iter()
            .map(|dir| tree::open_root(dir))
            .collect::<Result<_, _>>()?;
        Ok(Lowers { dirs })
    }

    // ANCHOR: lower_listing
    /// What the layers show under `name` in this directory (at `path`,
    /// relative, for messages); `None` when nothing or a whiteout is there.
    pub fn child(&self, name: &OsStr, path: &Path) -> Result<Option<Lower<'_>>, TreeError> {
        let mut found: Option<Lower<'_>> = None;
        let mut merged = Vec::new();
        for layer in &self.dirs {
            let stat = match fstatat(layer.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(TreeError::read("examining", path)(e)),
            };
            let is_dir = Kind::of(stat.st_mode) == Kind::Dir;
            if found.is_none() {
                if is_whiteout(&stat) {
                    return Ok(None);
                }
                found = Some(Lower {
                    parent: layer.as_fd(),
                    stat,
                    dir: None,
                });
            }
            if !is_dir {
                // A file or a whiteout hides every layer below it.
                break;
            }
            let dir =
                tree::open_dir(layer.as_fd(), name).map_err(TreeError::read("opening", path))?;
            let opaque = is_opaque_dir(&dir);
            merged.push(dir);
            if opaque {
                break;
            }
        }
        Ok(found.map(|mut lower| {
            if Kind::of(lower.stat.st_mode) == Kind::Dir {
                lower.dir = Some(Lowers { dirs: merged });
            }
            lower
        }))
    }

    // ANCHOR_END: lower_listing

    /// The names the layers together show in this directory (at `path`,
    /// relative, for messages): a whiteout in a higher layer hides the name below.
    pub fn names(&self, path: &Path) -> Result<BTreeSet<OsString>, TreeError> {
        let mut shown = BTreeSet::new();
        let mut seen = HashSet::new();
        for layer in &self.dirs {
            for name in tree::names(layer.as_fd(), path)? {
                if !seen.insert(name.clone()) {
                    continue;
                }
                let stat = fstatat(
                    layer.as_fd(),
                    name.as_os_str(),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(TreeError::read("examining", &path.join(&name)))?;
                if !is_whiteout(&stat) {
                    shown.insert(name);
                }
            }
        }
        Ok(shown)
    }
}

/// What `lstat` says of `name` in `dir` (at `path`), `None` when it is gone.
fn stat_entry(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    path: &Path,
) -> Result<Option<FileStat>, TreeError> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(TreeError::read("examining", path)(e)),
    }
}

/// Whether overlayfs reads `stat` as a whiteout: a character device 0:0.
fn is_whiteout(stat: &FileStat) -> bool {
    Kind::of(stat.st_mode) == Kind::Char && stat.st_rdev == 0
}

/// docker's `sameFsTime`: equal, or equal seconds where one side has no
/// nanoseconds (a tar stores whole seconds).
fn same_time(a: &FileStat, b: &FileStat) -> bool {
    (a.st_mtime, a.st_mtime_nsec) == (b.st_mtime, b.st_mtime_nsec)
        || (a.st_mtime == b.st_mtime && (a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0))
}

/// The changes recorded in an overlay's `upper` directory over `lowers`
/// (the root of the layers below, the init layer first, as docker counts
/// it), sorted by path.
///
/// docker 20.10 reports what its naive diff finds when it compares the
/// container's whole tree with the image's: the upper directory is only where
/// to look, since everything else shows the layers unchanged. So a directory
/// overlay copied up on the way to a changed file is `C` for holding a
/// change, not for being in the upper directory, and one copied up with
/// nothing changed below it is no change at all.
pub fn overlay_changes(upper: &Path, lowers: &Lowers) -> Result<Vec<Change>, TreeError> {
    let root = tree::open_root(upper)?;
    let mut changes = Vec::new();
    let top = UpperDir {
        dir: root.as_fd(),
        path: Path::new(""),
        below: Some(lowers),
        hides_below: false,
    };
    compare_upper(&top, &mut changes)?;
    changes.sort();
    Ok(changes)
}

/// A directory of the upper directory, with what the layers below show at
/// its path.
struct UpperDir<'a> {
    dir: BorrowedFd<'a>,
    /// Its path, relative.
    path: &'a Path,
    /// The same directory in the layers below (`None`: new, or not a directory there).
    below: Option<&'a Lowers>,
    /// Whether it, or a directory above it, is opaque: the container sees
    /// only what the upper directory holds here.
    hides_below: bool,
}

// ANCHOR: overlay_changes
/// Adds the changes under `upper` to `changes`; true when there are any.
/// Each entry is compared with what the layers show under its name, as
/// docker's naive diff compares two trees; where the directory hides the
/// layers, each name they showed and it lacks is `D`.
fn compare_upper(upper: &UpperDir, changes: &mut Vec<Change>) -> Result<bool, TreeError> {
    let before = changes.len();
    let names = tree::names(upper.dir, upper.path)?;
    for name in &names {
        compare_upper_entry(upper, name, changes)?;
    }
    if let (true, Some(below)) = (upper.hides_below, upper.below) {
        for gone in below.names(upper.path)? {
            if !names.contains(&gone) {
                changes.push(Change::new(&upper.path.join(gone), ChangeKind::Deleted));
            }
        }
    }
    Ok(changes.len() > before)
}
// ANCHOR_END: overlay_changes

// ANCHOR: upper_entry
/// Adds the changes of the entry `name` of `upper`, and of what it holds.
fn compare_upper_entry(
    upper: &UpperDir,
    name: &OsStr,
    changes: &mut Vec<Change>,
) -> Result<(), TreeError> {
    let path = upper.path.join(name);
    // Removed since the listing: the layers show it again, unchanged.
    let Some(stat) = stat_entry(upper.dir, name, &path)? else {
        return Ok(());
    };
    let old = match upper.below {
        Some(below) => below.child(name, &path)?,
        None => None,
    };
    let kind = match &old {
        // A whiteout over nothing the layers show deletes nothing.
        _ if is_whiteout(&stat) => old.as_ref().map(|_| ChangeKind::Deleted),
        None => Some(ChangeKind::Added),
        Some(old) if differs(upper.dir, Some(old.parent), name, &stat, &old.stat)? => {
            Some(ChangeKind::Modified)
        }
        Some(_) => None,
    };
    if let Some(kind) = kind {
        changes.push(Change::new(&path, kind));
    }
    if Kind::of(stat.st_mode) != Kind::Dir {
        return Ok(());
    }
    let dir = tree::open_dir(upper.dir, name).map_err(TreeError::read("opening", &path))?;
    let inner = UpperDir {
        dir: dir.as_fd(),
        path: &path,
        below: old.as_ref().and_then(|old| old.dir.as_ref()),
        hides_below: upper.hides_below || is_opaque_dir(&dir),
    };
    // docker lists a directory holding a change as changed itself.
    if compare_upper(&inner, changes)? && kind.is_none() {
        changes.push(Change::new(&path, ChangeKind::Modified));
    }
    Ok(())
}
// ANCHOR_END: upper_entry

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

/// docker's `statDifferent`, plus the symlink target and the file
/// capabilities, which docker compares too.
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
    let resized = new.st_size != old.st_size || !same_time(new, old);
    match Kind::of(new.st_mode) {
        Kind::Dir => Ok(false),
        Kind::Symlink => {
            let target = |dir| tree::link_target(dir, name).ok();
            Ok(resized || target(new_dir) != old_dir.and_then(target))
        }
        Kind::File => {
            Ok(resized || capability(new_dir, name) != old_dir.and_then(|d| capability(d, name)))
        }
        _ => Ok(resized),
    }
}

/// The `security.capability` attribute of the regular file `name` in `dir`.
fn capability(dir: BorrowedFd<'_>, name: &OsStr) -> Option<Vec<u8>> {
    tree::open_file(dir, name)
        .ok()?
        .get_xattr(CAPABILITY_XATTR)
        .ok()
        .flatten()
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
    fn copied_up_directories_count_only_for_what_they_hold() {
        let tmp = tempfile::tempdir().unwrap();
        let (lower, upper) = (tmp.path().join("lower"), tmp.path().join("upper"));
        for dir in ["usr/local/bin", "opt/empty", "a/sub"] {
            fs::create_dir_all(lower.join(dir)).unwrap();
        }
        fs::write(lower.join("a/x"), "x").unwrap();
        fs::write(lower.join("a/sub/y"), "y").unwrap();
        // `touch /usr/local/bin/n`; a file made and removed again in /opt/empty;
        // `rm -rf /a; mkdir -p /a/sub; touch /a/sub/z`.
        for dir in ["usr/local/bin", "opt/empty", "a/sub"] {
            fs::create_dir_all(upper.join(dir)).unwrap();
        }
        fs::write(upper.join("usr/local/bin/n"), "").unwrap();
        std::fs::File::open(upper.join("a"))
            .unwrap()
            .set_xattr(OVERLAY_OPAQUE, b"y")
            .unwrap();
        fs::write(upper.join("a/sub/z"), "").unwrap();

        let lowers = Lowers::open(&[lower]).unwrap();
        let changes = overlay_changes(&upper, &lowers).unwrap();
        assert_eq!(
            lines(&changes),
            [
                "C /a",
                "C /a/sub",
                "D /a/sub/y",
                "A /a/sub/z",
                "D /a/x",
                "C /usr",
                "C /usr/local",
                "C /usr/local/bin",
                "A /usr/local/bin/n",
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
        let d = lowers
            .child(OsStr::new("d"), Path::new("d"))
            .unwrap()
            .unwrap();
        let names: Vec<_> = d
            .dir
            .unwrap()
            .names(Path::new("d"))
            .unwrap()
            .into_iter()
            .collect();
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
