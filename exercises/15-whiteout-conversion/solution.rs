//! # Exercise 15 — whiteout conversion
//!
//! A deletion has two spellings, one for each side of berth's storage.
//!
//! **overlayfs**, in a container's upper directory (exercise 14):
//! - a deleted entry is a character device numbered 0:0 under its name;
//! - a directory whose lower contents are all gone carries the extended
//!   attribute `trusted.overlay.opaque=y`.
//!
//! **OCI layer tars**, in images (exercise 08), since a tar cannot hold an
//! attribute that means "deleted" and a device node there would be a device:
//! - a deleted `DIR/NAME` is an empty file `DIR/.wh.NAME`;
//! - an opaque `DIR` is the directory's own entry and an empty file
//!   `DIR/.wh..wh..opq`, written right after it, as docker does.
//!
//! `commit` turns an upper directory into a layer tar: overlay's spelling into
//! OCI's. Unpacking a layer for overlay goes the other way, so that the kernel
//! sees the deletions: each `.wh.NAME` becomes a 0:0 device, each opaque marker
//! the attribute on its directory (a marker may come before its directory's
//! entry, after it, or with no entry for the directory at all: then the
//! directory is made for it, where the marker stood).
//!
//! Names starting with `.wh.` are reserved. An entry of an upper directory with
//! such a name — a container may well `touch /tmp/.wh.passwd` — cannot be
//! committed: in the tar it would delete `/tmp/passwd` instead. A whiteout that
//! names nothing (`.wh.`, `.wh..`, `.wh...`) is refused, and so is any other
//! `.wh..wh.` name (aufs kept its own bookkeeping under such names): berth
//! refuses what it does not understand rather than guess.
//!
//! Paths are relative and `/`-separated, as in exercises 08 and 14; the root
//! directory, which a marker at the top (`.wh..wh..opq`) makes opaque, is `""`.
//! Both conversions keep the order of the entries.
//!
//! This is the reference solution; the comments in the functions say why.

use std::collections::BTreeSet;
use std::fmt;

/// The prefix of every reserved name.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The prefix of the markers that are not whiteouts of a name.
pub const META_PREFIX: &str = ".wh..wh.";
/// The marker that makes its directory opaque.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

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

/// overlay's whiteout.
pub const OVERLAY_WHITEOUT: Kind = Kind::CharDevice { major: 0, minor: 0 };

/// One entry of an upper directory, in overlay's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpperEntry {
    /// The entry's path.
    pub path: String,
    /// The kind of file it is.
    pub kind: Kind,
    /// Whether it is a directory carrying `trusted.overlay.opaque=y`.
    pub opaque: bool,
}

/// One entry of a layer tar, in OCI's spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// The entry's path.
    pub path: String,
    /// The kind of file it is (a marker is an empty `File`).
    pub kind: Kind,
}

/// What a path's last name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// An ordinary name.
    Plain,
    /// `DIR/.wh.NAME`: `DIR/NAME` is deleted.
    Whiteout {
        /// The deleted path.
        target: String,
    },
    /// `DIR/.wh..wh..opq`: `DIR` is opaque.
    Opaque {
        /// The opaque directory; `""` for the root.
        dir: String,
    },
}

/// Why a conversion is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// An upper entry with a reserved name: it cannot go into a tar.
    ReservedName {
        /// The entry's path.
        path: String,
    },
    /// A whiteout that names nothing: `.wh.`, `.wh..`, `.wh...`.
    BadWhiteout {
        /// The entry's path.
        path: String,
    },
    /// A `.wh..wh.` name other than the opaque marker.
    UnknownMarker {
        /// The entry's path.
        path: String,
    },
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConvertError::ReservedName { path } => write!(
                f,
                "{path:?} cannot be committed: names starting with .wh. mean deletions in a layer"
            ),
            ConvertError::BadWhiteout { path } => {
                write!(
                    f,
                    "whiteout {path:?} does not name an entry of its directory"
                )
            }
            ConvertError::UnknownMarker { path } => write!(f, "unknown layer marker {path:?}"),
        }
    }
}

impl std::error::Error for ConvertError {}

/// Splits a path into its directory (`""` at the top) and its last name.
pub fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Joins a directory (`""` at the top) and a name.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Reads the last name of a path: plain, a whiteout, or the opaque marker.
pub fn classify(path: &str) -> Result<Marker, ConvertError> {
    let (dir, name) = split(path);
    // The opaque marker starts with META_PREFIX, which starts with
    // WHITEOUT_PREFIX: test from the longest name down.
    if name == OPAQUE_MARKER {
        return Ok(Marker::Opaque {
            dir: dir.to_string(),
        });
    }
    if name.starts_with(META_PREFIX) {
        return Err(ConvertError::UnknownMarker {
            path: path.to_string(),
        });
    }
    match name.strip_prefix(WHITEOUT_PREFIX) {
        None => Ok(Marker::Plain),
        // `.wh..` would delete the directory it is in, `.wh...` its parent.
        Some("" | "." | "..") => Err(ConvertError::BadWhiteout {
            path: path.to_string(),
        }),
        Some(deleted) => Ok(Marker::Whiteout {
            target: join(dir, deleted),
        }),
    }
}

/// An upper directory's entries as a layer tar's (what `commit` writes).
pub fn to_tar(upper: &[UpperEntry]) -> Result<Vec<TarEntry>, ConvertError> {
    let mut tar = Vec::with_capacity(upper.len());
    for entry in upper {
        // A reserved name written by the container would be read back as a
        // deletion: refuse it, whatever `classify` thinks of it.
        if classify(&entry.path) != Ok(Marker::Plain) {
            return Err(ConvertError::ReservedName {
                path: entry.path.clone(),
            });
        }
        let (dir, name) = split(&entry.path);
        if entry.kind == OVERLAY_WHITEOUT {
            tar.push(TarEntry {
                path: join(dir, &format!("{WHITEOUT_PREFIX}{name}")),
                kind: Kind::File,
            });
            continue;
        }
        tar.push(TarEntry {
            path: entry.path.clone(),
            kind: entry.kind,
        });
        // Right after the directory, so a reader meets the marker before any
        // entry the directory holds in this layer.
        if entry.kind == Kind::Dir && entry.opaque {
            tar.push(TarEntry {
                path: join(&entry.path, OPAQUE_MARKER),
                kind: Kind::File,
            });
        }
    }
    Ok(tar)
}

/// A layer tar's entries as an upper directory's (what overlay is given to mount).
pub fn to_upper(tar: &[TarEntry]) -> Result<Vec<UpperEntry>, ConvertError> {
    // Classify everything first: a marker may come after its directory, so
    // which directories are opaque is known only once the whole tar is read.
    let markers = tar
        .iter()
        .map(|entry| classify(&entry.path))
        .collect::<Result<Vec<_>, _>>()?;
    let opaque: BTreeSet<&str> = markers
        .iter()
        .filter_map(|marker| match marker {
            Marker::Opaque { dir } => Some(dir.as_str()),
            _ => None,
        })
        .collect();
    let dirs_in_tar: BTreeSet<&str> = tar
        .iter()
        .zip(&markers)
        .filter(|(entry, marker)| **marker == Marker::Plain && entry.kind == Kind::Dir)
        .map(|(entry, _)| entry.path.as_str())
        .collect();
    let mut made = BTreeSet::new();
    let mut upper = Vec::with_capacity(tar.len());
    for (entry, marker) in tar.iter().zip(&markers) {
        match marker {
            Marker::Plain => upper.push(UpperEntry {
                path: entry.path.clone(),
                kind: entry.kind,
                opaque: entry.kind == Kind::Dir && opaque.contains(entry.path.as_str()),
            }),
            Marker::Whiteout { target } => upper.push(UpperEntry {
                path: target.clone(),
                kind: OVERLAY_WHITEOUT,
                opaque: false,
            }),
            // The attribute needs a directory to sit on; a second marker for
            // the same directory adds nothing.
            Marker::Opaque { dir } => {
                if !dirs_in_tar.contains(dir.as_str()) && made.insert(dir.as_str()) {
                    upper.push(UpperEntry {
                        path: dir.clone(),
                        kind: Kind::Dir,
                        opaque: true,
                    });
                }
            }
        }
    }
    Ok(upper)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
