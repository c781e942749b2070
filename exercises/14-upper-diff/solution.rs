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
//!   directory above it, so a changed file brings its parents along;
//! - a deleted entry of a lower layer is a *whiteout*: a character device with
//!   device number 0:0, under the deleted name. Any other device is a real one
//!   the container made;
//! - a directory deleted and made again is *opaque* (the extended attribute
//!   `trusted.overlay.opaque` is `y`): overlay shows nothing of the lower
//!   layers below it, so what they had there is gone.
//!
//! So the diff is a walk of the upper directory, compared with the tree of the
//! layers below it (the image and the init layer):
//!
//! 1. a whiteout is `D` of its path;
//! 2. any other entry is `C` when the tree below has its path, else `A`;
//! 3. below an opaque directory, the lower tree is hidden: for the opaque
//!    directory and for every directory of the upper under it, each of its
//!    children in the lower tree that the upper does not have is `D`. (Only the
//!    child: `D /a/sub` says all of `/a/sub` went.)
//!
//! These are the answers docker 20.10 gives on its overlay2 driver. docker prints
//! them in the order of its walk; berth sorts them by path, so two diffs of the
//! same changes compare equal.
//!
//! Here a tree is a set of paths as a walk gives them: relative, `/`-separated,
//! no `/` in front (`etc`, `etc/motd`); the upper listing holds every directory
//! on the way to each entry. The lines print the path with a `/` in front.
//!
//! This is the reference solution; the comments in the functions say why.

use std::collections::{BTreeMap, BTreeSet};

/// What kind of file an entry of the upper directory is.
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

/// One entry of the upper directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpperEntry {
    /// The entry's path, relative to the upper directory.
    pub path: String,
    /// The kind of file it is.
    pub kind: Kind,
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

/// The change one upper entry stands for, given the tree of the layers below.
pub fn change_of(entry: &UpperEntry, lower: &BTreeSet<String>) -> Change {
    if is_whiteout(entry.kind) {
        Change::Deleted
    } else if lower.contains(&entry.path) {
        // A file replacing a directory (or the other way round) is a change of
        // the path, as docker reports it, not a deletion and an addition.
        Change::Changed
    } else {
        Change::Added
    }
}

/// `diff`'s lines, sorted by path: `"C /etc"`, `"A /etc/motd"`.
pub fn diff(upper: &[UpperEntry], lower: &BTreeSet<String>) -> Vec<String> {
    let in_upper: BTreeSet<&str> = upper.iter().map(|entry| entry.path.as_str()).collect();
    let opaque: BTreeSet<&str> = upper
        .iter()
        .filter(|entry| entry.kind == Kind::Dir && entry.opaque)
        .map(|entry| entry.path.as_str())
        .collect();
    // A map keyed by path sorts the lines and keeps one change per path, should
    // a whiteout and rule 3 both name the same one.
    let mut changes: BTreeMap<&str, Change> = upper
        .iter()
        .map(|entry| (entry.path.as_str(), change_of(entry, lower)))
        .collect();
    for dir in upper.iter().filter(|entry| entry.kind == Kind::Dir) {
        if !hides_lower(&dir.path, &opaque) {
            continue;
        }
        for child in lower_children(lower, &dir.path) {
            if !in_upper.contains(child) {
                changes.insert(child, Change::Deleted);
            }
        }
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

/// The paths of the lower tree directly inside `dir`.
fn lower_children<'a>(lower: &'a BTreeSet<String>, dir: &str) -> impl Iterator<Item = &'a str> {
    let prefix = format!("{dir}/");
    let name_start = prefix.len();
    // In a sorted set, everything under `dir/` is one run starting at `dir/`:
    // no need to look at the rest of the tree.
    lower
        .range(prefix.clone()..)
        .take_while(move |path| path.starts_with(&prefix))
        .filter(move |path| !path[name_start..].contains('/'))
        .map(String::as_str)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
