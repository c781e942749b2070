//! # Exercise 08 — whiteouts
//!
//! A layer is a tar of what changed. Adding or replacing a file is easy to put in
//! a tar; *deleting* one is not, so the OCI image spec (layer.md) borrows aufs's
//! trick: an empty entry with a marked name.
//!
//! - `DIR/.wh.NAME` — a *whiteout*: `DIR/NAME` is gone, and, when it was a
//!   directory, everything under it.
//! - `DIR/.wh..wh..opq` — an *opaque* marker: `DIR` stays, but everything the
//!   layers below had under it is gone.
//!
//! Two rules make the result independent of the order of the entries in the tar:
//! whiteouts only hide what the layers *below* brought (an entry of this same
//! layer stays, even when it comes before the marker), and the markers themselves
//! never appear in the tree. So: first take away what the markers say, from the
//! tree as it was; then add every other entry of the layer.
//!
//! Names are also an attack surface. `etc/.wh...` looks harmless, but it would
//! whiteout `etc/..`, the root itself; `.wh..` would whiteout the directory it
//! sits in. Such a whiteout names no entry of its directory and is refused, as is
//! any path that is not a plain relative one (`/etc`, `a/../b`, `a//b`). A layer
//! with one bad entry is refused whole: the tree is left exactly as it was.
//!
//! Here the tree is a set of paths, as the extractor hands them over: relative,
//! `/`-separated, no `./` in front and no `/` at the end (`etc`, `etc/passwd`).
//!
//! This is the reference solution; the comments in the functions say why.

use std::collections::BTreeSet;
use std::fmt;

/// The prefix that makes an entry a whiteout.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name of the marker that makes its directory opaque.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What one entry of a layer does to the tree below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An ordinary entry: the path is added, or replaces what was there.
    Add {
        /// The entry's path.
        path: String,
    },
    /// A whiteout: the path, and everything under it, goes.
    Remove {
        /// The path taken away (the marker's name without `.wh.`).
        path: String,
    },
    /// An opaque marker: everything under the directory goes, the directory stays.
    Opaque {
        /// The directory; `""` for the root.
        dir: String,
    },
}

/// Why a layer is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerError {
    /// A path that is absolute, empty, or has an empty, `.` or `..` element.
    UnsafePath {
        /// The entry as the layer gave it.
        entry: String,
    },
    /// A whiteout naming nothing in its directory: `.wh.`, `.wh..` or `.wh...`.
    BadWhiteout {
        /// The entry as the layer gave it.
        entry: String,
    },
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::UnsafePath { entry } => {
                write!(f, "layer entry {entry:?} is not a plain relative path")
            }
            LayerError::BadWhiteout { entry } => {
                write!(
                    f,
                    "whiteout {entry:?} does not name an entry of its directory"
                )
            }
        }
    }
}

impl std::error::Error for LayerError {}

/// True for a relative path whose every element is a real name: not empty,
/// not `.`, not `..`.
pub fn is_plain_path(path: &str) -> bool {
    path.split('/')
        .all(|element| !matches!(element, "" | "." | ".."))
}

/// Reads one entry of a layer: an addition, a whiteout or an opaque marker.
pub fn classify(entry: &str) -> Result<Entry, LayerError> {
    if !is_plain_path(entry) {
        return Err(LayerError::UnsafePath {
            entry: entry.to_string(),
        });
    }
    let (dir, name) = entry.rsplit_once('/').unwrap_or(("", entry));
    // The opaque marker also starts with `.wh.`, so it must be tested first.
    if name == OPAQUE_MARKER {
        return Ok(Entry::Opaque {
            dir: dir.to_string(),
        });
    }
    let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) else {
        return Ok(Entry::Add {
            path: entry.to_string(),
        });
    };
    // `is_plain_path` passed `.wh..` as an ordinary name; only now, with the
    // prefix gone, does it show that it points at the directory or its parent.
    if matches!(target, "" | "." | "..") {
        return Err(LayerError::BadWhiteout {
            entry: entry.to_string(),
        });
    }
    let path = if dir.is_empty() {
        target.to_string()
    } else {
        format!("{dir}/{target}")
    };
    Ok(Entry::Remove { path })
}

/// True when `path` lies inside the directory `dir` (`""` is the root).
fn is_under(path: &str, dir: &str) -> bool {
    // Matching `dir` plus the slash keeps `ab` out of `a`.
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Applies a layer's entries to `tree`; on an error, `tree` is left unchanged.
pub fn apply_layer(tree: &mut BTreeSet<String>, layer: &[&str]) -> Result<(), LayerError> {
    // Classifying everything first is what makes a refused layer leave no trace:
    // `?` returns before the first change.
    let entries = layer
        .iter()
        .map(|entry| classify(entry))
        .collect::<Result<Vec<Entry>, LayerError>>()?;
    // All removals before any addition: a whiteout sees only the lower layers,
    // wherever it stands in the tar.
    for entry in &entries {
        match entry {
            Entry::Remove { path } => {
                tree.retain(|p| p != path && !is_under(p, path));
            }
            Entry::Opaque { dir } => tree.retain(|p| !is_under(p, dir)),
            Entry::Add { .. } => {}
        }
    }
    for entry in entries {
        if let Entry::Add { path } = entry {
            tree.insert(path);
        }
    }
    Ok(())
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
