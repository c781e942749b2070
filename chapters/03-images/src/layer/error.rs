//! Everything that can stop a layer from being read or unpacked. Each message
//! names the entry it is about, so a refused archive can be traced to the
//! header that was refused.

use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// Why a layer could not be read or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The (decompressed) stream could not be read or is not a tar archive.
    #[error("cannot read the layer: {source}")]
    Read {
        /// What the reader or the tar parser reported.
        source: io::Error,
    },
    /// The decompressed stream went past [`super::Limits::max_bytes`].
    #[error("layer is larger than {max} bytes uncompressed, raise BERTH_MAX_LAYER_BYTES")]
    TooLarge {
        /// The cap that was reached.
        max: u64,
    },
    /// The archive holds more entries than [`super::Limits::max_entries`].
    #[error("layer has more than {max} entries, raise BERTH_MAX_LAYER_ENTRIES")]
    TooManyEntries {
        /// The cap that was reached.
        max: u64,
    },
    /// A limit in the environment is not a size.
    #[error("{variable}={value:?} is not a number (bytes, or with a k, m, g or t suffix)")]
    BadLimit {
        /// The environment variable.
        variable: &'static str,
        /// What it held.
        value: String,
    },
    /// The directory to unpack into could not be opened.
    #[error("cannot open the layer root {root}: {source}")]
    OpenRoot {
        /// The directory given by the caller.
        root: PathBuf,
        /// What the kernel said.
        source: Errno,
    },
    /// The entry would reach outside the root, or is malformed in a way that
    /// only a hostile archive produces.
    #[error("layer entry {entry:?} refused: {reason}")]
    Refused {
        /// The entry's path as written in the archive.
        entry: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A hardlink whose target lies outside the root.
    #[error("layer entry {entry:?} refused: hardlink target {target:?} is outside the root")]
    LinkEscapes {
        /// The entry's path as written in the archive.
        entry: String,
        /// The link target as written in the archive.
        target: String,
    },
    /// A regular file whose data ends before its header's size.
    #[error(
        "layer entry {entry:?} is cut short: its header says {declared} bytes, the archive holds {found}"
    )]
    Truncated {
        /// The entry's path as written in the archive.
        entry: String,
        /// The size in the header.
        declared: u64,
        /// The bytes that were there.
        found: u64,
    },
    /// A tar entry type that has no place in a layer (e.g. a GNU volume label).
    #[error("layer entry {entry:?} has tar type {kind:?}, which a layer cannot hold")]
    UnsupportedType {
        /// The entry's path as written in the archive.
        entry: String,
        /// The type flag byte.
        kind: char,
    },
    /// A system call on the entry failed.
    #[error("layer entry {entry:?}: {action}: {source}")]
    Syscall {
        /// The entry's path as written in the archive.
        entry: String,
        /// What was being done (`create the file`, `set the owner`…).
        action: &'static str,
        /// What the kernel said.
        source: Errno,
    },
    /// Writing a file's content (or an xattr) failed.
    #[error("layer entry {entry:?}: {action}: {source}")]
    Write {
        /// The entry's path as written in the archive.
        entry: String,
        /// What was being written.
        action: &'static str,
        /// What the kernel said.
        source: io::Error,
    },
}

impl From<LayerError> for berth_engine::Error {
    fn from(error: LayerError) -> Self {
        // Exit 1 as for `load`; `run` turns it into 125 with `.code()`.
        berth_engine::Error::failed(error.to_string())
    }
}

/// Turns a kernel error into one naming the entry and the step that failed.
pub(super) fn sys<'a>(
    entry: &'a str,
    action: &'static str,
) -> impl FnOnce(Errno) -> LayerError + 'a {
    move |source| LayerError::Syscall {
        entry: entry.to_string(),
        action,
        source,
    }
}
