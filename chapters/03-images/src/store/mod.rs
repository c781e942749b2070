//! The image store: `BERTH_ROOT/images` is an OCI image layout.
//!
//! ```text
//! images/
//!   oci-layout            {"imageLayoutVersion":"1.0.0"}
//!   index.json            one manifest descriptor per name (plus untagged images)
//!   blobs/sha256/<hex>    manifests, configs and layers, named by their digest
//!   tmp/                  blobs being written (renamed into blobs/ when complete)
//!   index.lock, ingest.lock
//! ```
//!
//! Because the layout is the standard one, `skopeo inspect
//! oci:$BERTH_ROOT/images:docker.io/library/busybox:latest` and `umoci ls --layout
//! $BERTH_ROOT/images` read what berth stored. Each named descriptor carries the
//! full normalised name twice: as `org.opencontainers.image.ref.name` (what skopeo
//! and umoci look up; the OCI grammar for it allows `/` and `:`) and as
//! `io.containerd.image.name` (what containerd and docker 25+ read). The tag alone
//! would not do as the ref name: `busybox:latest` and `alpine:latest` would both
//! be `latest`.
//!
//! An image's id is the digest of its config, as in docker.

mod blobs;
mod gc;
mod index;

use std::fs;
use std::path::{Path, PathBuf};

use berth_engine::state::{self, Paths};
use oci_spec::image::{Descriptor, Digest, ImageConfiguration, ImageManifest};
use thiserror::Error;

use crate::reference::{Reference, ReferenceError};

pub use blobs::{Blob, digest_of};
pub use gc::{Collected, IngestGuard};
pub use index::{ImageRecord, Replaced};

/// The annotation skopeo and umoci read a name from.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd (and docker 25+) read the full name from.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// Manifests and configs larger than this are refused: they are small JSON
/// documents, and reading one into memory must not be a way to exhaust it.
pub const MAX_JSON_BLOB: u64 = 8 << 20;

/// What went wrong in the image store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A file or directory of the store could not be read or written.
    #[error("image store: {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A blob's content does not hash to the digest it was expected to have.
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        /// The digest the blob was announced with.
        expected: String,
        /// The digest of what was actually read.
        actual: String,
    },
    /// A digest this store cannot use (only sha256 is supported).
    #[error("unsupported digest {digest}: only sha256 is supported")]
    UnsupportedDigest {
        /// The digest as given.
        digest: String,
    },
    /// A blob the index or a manifest refers to is not in the store.
    #[error("blob {digest} is missing from the image store")]
    MissingBlob {
        /// The missing blob.
        digest: String,
    },
    /// A manifest or config is not valid JSON of the expected shape.
    #[error("blob {digest} is not a valid {kind}: {reason}")]
    BadDocument {
        /// The blob's digest.
        digest: String,
        /// `image manifest`, `image config`, `index.json`.
        kind: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// A JSON blob larger than [`MAX_JSON_BLOB`].
    #[error("blob {digest} is {size} bytes, too large for a {kind}")]
    TooLarge {
        /// The blob's digest.
        digest: String,
        /// Its size.
        size: u64,
        /// What it was supposed to be.
        kind: &'static str,
    },
    /// No image has this name, id or id prefix.
    #[error("No such image: {name}")]
    NotFound {
        /// What was looked up.
        name: String,
    },
    /// An id prefix matches several images.
    #[error("multiple IDs found with provided prefix: {prefix}")]
    Ambiguous {
        /// The prefix given.
        prefix: String,
    },
    /// A name with a digest cannot be used as a tag.
    #[error("refusing to create a tag with a digest reference: {name}")]
    DigestName {
        /// The name given.
        name: String,
    },
    /// The argument is neither a valid reference nor an id prefix.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

impl StoreError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { what, path, source }
    }
}

impl From<StoreError> for berth_engine::Error {
    fn from(e: StoreError) -> Self {
        let hint = match &e {
            StoreError::Io { .. } => "check that BERTH_ROOT is writable and has free space",
            StoreError::DigestMismatch { .. } | StoreError::BadDocument { .. } => {
                "the data is corrupt or was tampered with; load the image again from a good copy"
            }
            StoreError::MissingBlob { .. } => {
                "the store is incomplete; remove the image and load it again"
            }
            StoreError::UnsupportedDigest { .. } | StoreError::TooLarge { .. } => {
                "use an image made by docker, podman or skopeo"
            }
            StoreError::NotFound { .. } => "`images` lists the images there are",
            StoreError::Ambiguous { .. } => "give more characters of the id",
            StoreError::DigestName { .. } => "name the tag as repo:tag, without @sha256:",
            StoreError::Reference(_) => {
                "write a name like busybox, user/repo:tag or host:5000/ns/repo"
            }
        };
        berth_engine::Error::failed(e.to_string()).hint(hint)
    }
}

/// The image store rooted at `BERTH_ROOT/images`.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

// ANCHOR: store_open
impl Store {
    /// Opens the store, creating an empty OCI layout the first time.
    pub fn open(paths: &Paths) -> Result<Store, StoreError> {
        let root = paths
            .root_dir("images")
            .map_err(StoreError::io("creating", &paths.root.join("images")))?;
        Store::open_at(root)
    }

    /// Opens (or creates) a store in any directory; tests use this.
    pub fn open_at(root: PathBuf) -> Result<Store, StoreError> {
        let store = Store { root };
        for dir in [store.blob_dir(), store.tmp_dir()] {
            state::ensure_private_dir(&dir).map_err(StoreError::io("creating", &dir))?;
        }
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            state::atomic_write(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
                .map_err(StoreError::io("writing", &layout))?;
        }
        let index = store.index_path();
        if !index.exists() {
            let _lock = store.lock_index()?;
            if !index.exists() {
                store.write_index(&index::empty_index())?;
            }
        }
        Ok(store)
    }
    // ANCHOR_END: store_open

    /// The layout's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The image manifest of an image, read from a verified blob.
    pub fn manifest(&self, image: &ImageRecord) -> Result<ImageManifest, StoreError> {
        self.read_manifest(&image.manifest_digest())
    }

    /// The config of an image as stored (docker's extra fields included), verified.
    pub fn config_bytes(&self, image: &ImageRecord) -> Result<Vec<u8>, StoreError> {
        self.read_json_blob(&image.id, "image config")
    }

    /// The config of an image, parsed.
    pub fn config(&self, image: &ImageRecord) -> Result<ImageConfiguration, StoreError> {
        let bytes = self.config_bytes(image)?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadDocument {
            digest: image.id.to_string(),
            kind: "image config",
            reason: e.to_string(),
        })
    }

    /// Reads and parses a manifest blob.
    pub fn read_manifest(&self, digest: &Digest) -> Result<ImageManifest, StoreError> {
        let bytes = self.read_json_blob(digest, "image manifest")?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadDocument {
            digest: digest.to_string(),
            kind: "image manifest",
            reason: e.to_string(),
        })
    }

    /// Checks that every blob a manifest names is present (not their content).
    pub fn check_complete(&self, manifest: &Descriptor) -> Result<(), StoreError> {
        let parsed = self.read_manifest(manifest.digest())?;
        for digest in std::iter::once(parsed.config()).chain(parsed.layers()) {
            let path = self.blob_path(digest.digest())?;
            if !path.exists() {
                return Err(StoreError::MissingBlob {
                    digest: digest.digest().to_string(),
                });
            }
        }
        Ok(())
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    fn lock_index(&self) -> Result<state::Lock, StoreError> {
        let path = self.root.join("index.lock");
        state::lock(&path).map_err(StoreError::io("locking", &path))
    }

    /// Removes `path`, treating "already gone" as done.
    fn remove_file(path: &Path) -> Result<(), StoreError> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::io("removing", path)(e))
            }
            _ => Ok(()),
        }
    }
}

/// Parses a name for tagging: `latest` is filled in and a digest refused.
pub fn tag_name(name: &str) -> Result<Reference, StoreError> {
    let reference = Reference::parse(name)?;
    if reference.digest.is_some() {
        return Err(StoreError::DigestName {
            name: name.to_string(),
        });
    }
    Ok(reference.with_default_tag())
}
