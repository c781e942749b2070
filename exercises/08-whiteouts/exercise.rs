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
//! Edit the two functions marked `TODO`. Run `cargo xtask exercise 08`.

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
    // TODO: refuse what `is_plain_path` refuses (UnsafePath). Split the entry at
    // its last `/` into directory and name (no `/`: the directory is "", the
    // root). The name OPAQUE_MARKER makes `Opaque`; a name starting with
    // WHITEOUT_PREFIX makes `Remove` of the directory joined with the rest of
    // the name, unless that rest is "", "." or ".." (BadWhiteout). Anything else
    // is `Add`.
    todo!()
}

/// Applies a layer's entries to `tree`; on an error, `tree` is left unchanged.
pub fn apply_layer(tree: &mut BTreeSet<String>, layer: &[&str]) -> Result<(), LayerError> {
    // TODO: classify every entry before changing anything. Then, on the tree as
    // the layers below left it: a `Remove` drops its path and every path under
    // it, an `Opaque` every path under its directory. Careful: `a/x` is under
    // `a`, `ab` is not. Only then insert the paths of the `Add` entries.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
