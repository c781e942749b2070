//! # Layers, safely
//!
//! A layer is a tar stream (often compressed) of the files one build step
//! added, changed or removed. Removals are *whiteouts*: an empty entry
//! `.wh.NAME` deletes NAME from the layers below, and `.wh..wh..opq` hides
//! everything the lower layers had in its directory (OCI image spec,
//! layer.md).
//!
//! Layers come from strangers, so unpacking one is the most dangerous thing
//! an image engine does. The tar crate is used only to *read* entries, never
//! to unpack them: its `unpack` resolves symlinks against the host and knows
//! no whiteouts. Instead, every entry is placed by `*at` system calls
//! relative to a descriptor of the root, its parent directory resolved with
//! `openat2(RESOLVE_IN_ROOT)`, so that neither `..`, nor an absolute path,
//! nor a symlink written by this or an earlier layer, can reach the host.
//! Sizes are capped, so a compression bomb stops with an error.

mod at;
mod compression;
pub mod entry_path;
mod error;
mod meter;
mod node;
mod unpack;
mod whiteout;
pub mod xattrs;

use std::io::Read;
use std::path::Path;

pub use compression::{Compression, decompress};
pub use error::LayerError;

/// Environment variable that overrides [`Limits::max_bytes`].
pub const MAX_BYTES_ENV: &str = "BERTH_MAX_LAYER_BYTES";
/// Environment variable that overrides [`Limits::max_entries`].
pub const MAX_ENTRIES_ENV: &str = "BERTH_MAX_LAYER_ENTRIES";

/// Limits an extraction is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decompressed size cap in bytes (default 8 GiB, env `BERTH_MAX_LAYER_BYTES`).
    pub max_bytes: u64,
    /// Most tar entries one layer may hold (default 4 Mi, env `BERTH_MAX_LAYER_ENTRIES`).
    pub max_entries: u64,
}

impl Limits {
    /// 8 GiB: larger than any layer of the common base images by far, small
    /// enough that a bomb stops before it fills a disk.
    pub const DEFAULT_MAX_BYTES: u64 = 8 << 30;
    /// 4 Mi entries: the largest distribution layers hold a few hundred
    /// thousand files; millions of empty entries would only eat inodes.
    pub const DEFAULT_MAX_ENTRIES: u64 = 4 << 20;

    /// The defaults, overridden by `BERTH_MAX_LAYER_BYTES` and
    /// `BERTH_MAX_LAYER_ENTRIES` when they are set.
    pub fn from_env() -> Result<Self, LayerError> {
        let read = |variable: &'static str, default: u64| match std::env::var(variable) {
            Ok(value) => parse_size(&value).ok_or(LayerError::BadLimit { variable, value }),
            Err(_) => Ok(default),
        };
        Ok(Self {
            max_bytes: read(MAX_BYTES_ENV, Self::DEFAULT_MAX_BYTES)?,
            max_entries: read(MAX_ENTRIES_ENV, Self::DEFAULT_MAX_ENTRIES)?,
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_entries: Self::DEFAULT_MAX_ENTRIES,
        }
    }
}

/// Parses `123`, `512k`, `64m`, `8g`, `1t` (binary multiples, any case).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 10),
        (i, 'm' | 'M') => (&text[..i], 20),
        (i, 'g' | 'G') => (&text[..i], 30),
        (i, 't' | 'T') => (&text[..i], 40),
        _ => (text, 0),
    };
    let number: u64 = digits.parse().ok()?;
    number.checked_mul(1u64 << shift)
}

/// How whiteouts are represented in the unpacked tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// The root holds the layers below: whiteouts delete files there
    /// (chapter 03's copied root filesystem).
    Apply,
    /// The root is one overlayfs lower directory: a whiteout becomes a 0:0
    /// character device and an opaque directory gets `trusted.overlay.opaque=y`
    /// (chapter 05).
    Overlay,
    /// Not a layer: every name is an ordinary file, `.wh.*` included, as
    /// `docker cp` copies them (chapter 05's `cp`).
    Literal,
}

/// What extraction produced (for diff_id checks and history sizes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStats {
    /// `sha256:<hex>` of the uncompressed tar stream.
    pub diff_id: String,
    /// Uncompressed bytes.
    pub size: u64,
    /// Tar entries, whiteouts included.
    pub entries: u64,
}

/// Applies one layer (an uncompressed or compressed tar stream) onto `root`, a
/// directory that holds the layers below: whiteouts remove, entries are
/// created safely. On error the root is half-made and should be thrown away.
pub fn unpack_layer(
    root: &Path,
    blob: impl Read,
    mode: WhiteoutMode,
    limits: &Limits,
) -> Result<LayerStats, LayerError> {
    unpack::unpack(root, blob, mode, limits)
}

/// Hashes a layer's uncompressed stream without extracting it (diff_id of a blob).
pub fn diff_id(blob: impl Read, limits: &Limits) -> Result<LayerStats, LayerError> {
    unpack::measure(blob, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("8g"), Some(8 << 30));
        assert_eq!(parse_size("1T"), Some(1 << 40));
    }

    #[test]
    fn bad_sizes_are_rejected() {
        for bad in ["", "g", "-1", "1.5g", "12zz", "99999999999t"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
