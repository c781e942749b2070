//! Images as single files: `load` reads them, `save` writes them, `import`
//! turns a plain file-system tarball into an image.
//!
//! Two archive shapes exist, and berth reads both and writes both at once:
//!
//! - **docker-archive**: `manifest.json` is a list of `{Config, RepoTags,
//!   Layers}` whose values are paths inside the tar (`<hex>.json`,
//!   `<id>/layer.tar`, or `blobs/sha256/<hex>` since docker 25).
//! - **OCI image layout**: `oci-layout`, `index.json` naming manifests by digest,
//!   and `blobs/sha256/<hex>` holding manifests, configs and layers.
//!
//! A tar is a stream, and the paths in `manifest.json` may point at members that
//! come before or after it, so a load first *spools* every member into the store
//! as a blob (hashing it on the way), then checks and links what the manifests
//! name, and only at the end records the names in `index.json`, in one atomic
//! write. A load that fails or is killed halfway leaves only unreferenced blobs,
//! which garbage collection removes.

mod import;
mod load;
mod member_path;
mod save;
mod spool;

use thiserror::Error;

use crate::layer::LayerError;
use crate::reference::{Reference, ReferenceError};
use crate::store::StoreError;

pub use import::{ImportOptions, Imported, import};
pub use load::{LoadReport, LoadedImage, load};
pub use member_path::member_path;
pub use save::{SaveItem, save};

/// Why an archive could not be loaded, saved or imported.
#[derive(Debug, Error)]
pub enum ArchiveError {
    /// The outer stream is not a readable tar (or is cut short).
    #[error("reading the archive: {source}")]
    Read {
        /// What the tar reader or the decompressor said.
        source: std::io::Error,
    },
    /// Writing the archive failed.
    #[error("writing the archive: {source}")]
    Write {
        /// The system's error.
        source: std::io::Error,
    },
    /// A path inside the archive (member name, or one named by a manifest)
    /// would leave the archive.
    #[error("archive path {path:?} is not allowed: {reason}")]
    BadPath {
        /// The path as written.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Neither `manifest.json` nor `index.json` was found.
    #[error("the archive holds neither manifest.json (docker-archive) nor index.json (OCI layout)")]
    UnknownFormat,
    /// A manifest names a file the archive does not hold.
    #[error("the archive has no {path:?}, which its manifest names")]
    MissingMember {
        /// The path (or digest) named.
        path: String,
    },
    /// A JSON document of the archive could not be parsed.
    #[error("{file} in the archive is not valid: {reason}")]
    BadJson {
        /// Which file.
        file: String,
        /// What the parser said.
        reason: String,
    },
    /// A descriptor's size does not match the blob it names.
    #[error("blob {digest} is {actual} bytes, its descriptor says {declared}")]
    SizeMismatch {
        /// The blob.
        digest: String,
        /// The size in the descriptor.
        declared: u64,
        /// The size of the content.
        actual: u64,
    },
    /// The config's `rootfs.diff_ids` do not match the layers' uncompressed content.
    #[error(
        "layer {index} of image {image}: config says diff id {expected}, the layer's content is {actual}"
    )]
    DiffIdMismatch {
        /// The image's config digest.
        image: String,
        /// Position of the layer (0 is the base).
        index: usize,
        /// The diff id the config lists (or `none` when it lists fewer).
        expected: String,
        /// The diff id of the content (or `none` when there are fewer layers).
        actual: String,
    },
    /// A name in the archive is not a valid reference.
    #[error("invalid name {name:?} in the archive: {source}")]
    BadName {
        /// The name.
        name: String,
        /// Why.
        source: ReferenceError,
    },
    /// A layer's tar stream is broken, too large, or refused.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ArchiveError> for berth_engine::Error {
    fn from(e: ArchiveError) -> Self {
        match e {
            ArchiveError::Store(e) => e.into(),
            ArchiveError::Write { .. } => berth_engine::Error::failed(e.to_string())
                .hint("check that the output is writable and has free space"),
            e => berth_engine::Error::failed(e.to_string()).hint(
                "the archive is damaged or was not made by docker save, podman save or skopeo; \
                 the image store is unchanged",
            ),
        }
    }
}

fn parse_name(name: &str) -> Result<Reference, ArchiveError> {
    Reference::parse(name)
        .map(|r| r.with_default_tag())
        .map_err(|source| ArchiveError::BadName {
            name: name.to_string(),
            source,
        })
}

/// Stores an OCI image manifest for a config and its layers, and returns its
/// descriptor: how `load` and `import` finish an image.
pub fn store_manifest(
    store: &crate::store::Store,
    config: &crate::store::Blob,
    layers: &[oci_spec::image::Descriptor],
) -> Result<oci_spec::image::Descriptor, ArchiveError> {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config.digest,
            "size": config.size,
        },
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let stored = store.put_blob(&bytes[..], None)?;
    Ok(oci_spec::image::Descriptor::new(
        oci_spec::image::MediaType::ImageManifest,
        stored.size,
        stored.digest,
    ))
}
