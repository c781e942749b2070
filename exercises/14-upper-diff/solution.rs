//! # Exercise 14 — diff from the upper directory
//!
//! `docker diff CONTAINER` lists what a container changed in its root:
//!
//! ```text
//! C /etc
//! A /etc/motd
//! D /tmp/old
//! ```
//!
//! `A` added, `C` changed, `D` deleted. On an overlay, everything the container
//! wrote is in one place, the *upper directory*, in overlayfs's own format:
//!
//! - a file or directory the container made or changed is there as itself;
//!   changing a file of a lower layer first *copies it up*, with every
//!   directory above it, keeping their type, mode, owner, size and times;
//! - a deleted entry of a lower layer is a *whiteout*: a character device with
//!   device number 0:0, under the deleted name. Any other device is a real one
//!   the container made;
//! - a directory deleted and made again is *opaque* (the extended attribute
//!   `trusted.overlay.opaque` is `y`): overlay shows nothing of the lower
//!   layers below it, so what they had there is gone.
//!
//! Being in the upper directory is not yet a change. docker 20.10 compares the
//! container's tree with the image's, file by file, and the upper directory only
//! says where to look. So `touch /usr/local/bin/n; rm /usr/local/bin/n` leaves
//! three copied-up directories and no line at all, and a file opened for writing
//! with nothing written is no change either. The diff walks the upper directory
//! and compares each entry with the same path in the tree of the layers below it
//! (the image and the init layer):
//!
//! 1. a whiteout is `D` of its path, when the tree below has that path (a
//!    whiteout over nothing deletes nothing);
//! 2. any other entry is `A` when the tree below lacks its path. When it has
//!    it, the entry is `C` only if the two differ in type (a device's number
//!    included), permission bits or owner, or, for all but a directory, in size
//!    or modification time (a directory's size and time change whenever a name
//!    in it does, which says nothing about the directory itself);
//! 3. below an opaque directory, the lower tree is hidden: for the opaque
//!    directory and for every directory of the upper under it, each of its
//!    children in the lower tree that the upper does not have is `D`. (Only the
//!    child: `D /a/sub` says all of `/a/sub` went.);
//! 4. a directory of the upper with no line of its own is `C` when a line of
//!    rules 1 to 3 names a path inside it: `chmod 700 /a/sub` gives `C /a` and
//!    `C /a/sub`.
//!
//! These are the answers docker 20.10 gives, on its overlay2 driver and on vfs
//! alike. (berth compares two more things, a symbolic link's target and a file's
//! capabilities, left out here.) docker prints the lines in the order of its
//! walk; berth sorts them by path, so two diffs of the same changes compare equal.
//!
//! Here a tree is a map from paths, as a walk gives them (relative,
//! `/`-separated, no `/` in front: `etc`, `etc/motd`), to what `lstat` says of
//! them; the upper listing holds every directory on the way to each entry. The
//! lines print the path with a `/` in front.
//!
//! This is the reference solution; the comments in the functions say why.

use std::collections::{BTreeMap, BTreeSet};

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device; 0:0 is overlay's whiteout.
    CharDevice {
        /// The device's major number.
        major: u32,
        /// The device's minor number.
        minor: u32,
    },
}

/// What `lstat` says of a file, as much of it as `diff` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The kind of file, with a device's number.
    pub kind: Kind,
    /// The permission bits, `0o755`.
    pub mode: u32,
    /// The owner's user id.
    pub uid: u32,
    /// The owner's group id.
    pub gid: u32,
    /// The size in bytes.
    pub size: u64,
    /// The modification time, in nanoseconds since 1970.
    pub mtime: i64,
}

/// One entry of the upper directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpperEntry {
    /// The entry's path, relative to the upper directory.
    pub path: String,
    /// What `lstat` says of it in the upper directory.
    pub stat: Stat,
    /// Whether it is a directory carrying `trusted.overlay.opaque=y`.
    pub opaque: bool,
}

/// One line of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The path is new.
    Added,
    /// The path was there below and is different now.
    Changed,
    /// The path was there below and is gone.
    Deleted,
}

impl Change {
    /// The letter `docker diff` prints for the change.
    pub fn letter(self) -> char {
        match self {
            Change::Added => 'A',
            Change::Changed => 'C',
            Change::Deleted => 'D',
        }
    }
}

/// True for overlay's whiteout: a character device numbered 0:0.
pub fn is_whiteout(kind: Kind) -> bool {
    // A device the container made with mknod has a real number; 0:0 names no
    // device, which is why overlay could take it as its marker.
    matches!(kind, Kind::CharDevice { major: 0, minor: 0 })
}

/// Whether the entry `new` differs from the file `old` below it (rule 2).
pub fn differs(new: &Stat, old: &Stat) -> bool {
    // Comparing kinds compares a device's number too: a `CharDevice` carries it.
    let metadata =
        new.kind != old.kind || new.mode != old.mode || new.uid != old.uid || new.gid != old.gid;
    // Adding or removing a name rewrites a directory's size and time, so only
    // a file's own size and time tell that it was written.
    let content = new.kind != Kind::Dir && (new.size != old.size || new.mtime != old.mtime);
    metadata || content
}

/// The line one upper entry gives on its own (rules 1 and 2), given the tree
/// of the layers below; `None` when it gives none.
pub fn change_of(entry: &UpperEntry, lower: &BTreeMap<String, Stat>) -> Option<Change> {
    match lower.get(&entry.path) {
        // Removing a file the container made itself leaves no whiteout, but a
        // whiteout over nothing would still be no deletion.
        _ if is_whiteout(entry.stat.kind) => lower.get(&entry.path).map(|_| Change::Deleted),
        None => Some(Change::Added),
        // A file replacing a directory (or the other way round) differs in
        // kind: a change of the path, as docker reports it, not a deletion
        // and an addition.
        Some(old) if differs(&entry.stat, old) => Some(Change::Changed),
        // Copied up and left as it was.
        Some(_) => None,
    }
}

/// `diff`'s lines, sorted by path: `"C /etc"`, `"A /etc/motd"`.
pub fn diff(upper: &[UpperEntry], lower: &BTreeMap<String, Stat>) -> Vec<String> {
    let in_upper: BTreeSet<&str> = upper.iter().map(|entry| entry.path.as_str()).collect();
    let opaque: BTreeSet<&str> = upper
        .iter()
        .filter(|entry| entry.stat.kind == Kind::Dir && entry.opaque)
        .map(|entry| entry.path.as_str())
        .collect();
    let dirs: Vec<&str> = upper
        .iter()
        .filter(|entry| entry.stat.kind == Kind::Dir)
        .map(|entry| entry.path.as_str())
        .collect();
    // A map keyed by path sorts the lines and keeps one change per path, should
    // a whiteout and rule 3 both name the same one.
    let mut changes: BTreeMap<&str, Change> = upper
        .iter()
        .filter_map(|entry| Some((entry.path.as_str(), change_of(entry, lower)?)))
        .collect();
    for &dir in dirs.iter().filter(|dir| hides_lower(dir, &opaque)) {
        for child in lower_children(lower, dir) {
            if !in_upper.contains(child) {
                changes.insert(child, Change::Deleted);
            }
        }
    }
    // The lines of rules 1 to 3 are enough for rule 4: a line that makes a
    // directory `C` is inside every parent of that directory too.
    let holding_a_change: Vec<&str> = dirs
        .iter()
        .copied()
        .filter(|dir| !changes.contains_key(dir))
        .filter(|dir| changes.keys().any(|path| inside(path, dir).is_some()))
        .collect();
    for dir in holding_a_change {
        changes.insert(dir, Change::Changed);
    }
    changes
        .into_iter()
        .map(|(path, change)| format!("{} /{path}", change.letter()))
        .collect()
}

/// True when `dir` or one of its parents is opaque: the lower tree does not show through it.
fn hides_lower(dir: &str, opaque: &BTreeSet<&str>) -> bool {
    let mut path = dir;
    loop {
        if opaque.contains(path) {
            return true;
        }
        match path.rsplit_once('/') {
            Some((parent, _)) => path = parent,
            None => return false,
        }
    }
}

/// What follows `dir/` in `path`, when `path` is inside the directory `dir`.
fn inside<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    // Both prefixes, not `starts_with(dir)`: `ab` is not inside `a`.
    path.strip_prefix(dir)?.strip_prefix('/')
}

/// The paths of the lower tree directly inside `dir`.
fn lower_children<'a>(
    lower: &'a BTreeMap<String, Stat>,
    dir: &'a str,
) -> impl Iterator<Item = &'a str> {
    lower
        .keys()
        .map(String::as_str)
        .filter(move |path| inside(path, dir).is_some_and(|name| !name.contains('/')))
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
