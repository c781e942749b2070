//! `import`: a file-system tarball becomes a one-layer image.

use std::io::{Cursor, Read};
use std::time::SystemTime;

use oci_spec::image::{Config, Descriptor, Digest, MediaType};

use super::ArchiveError;
use crate::layer::{self, Compression, Limits};
use crate::reference::Reference;
use crate::store::Store;

/// What `import` needs besides the tarball.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The history comment: `Imported from -` (or the file or URL), or `-m`'s text.
    pub comment: String,
    /// The run configuration (`-c` changes applied); none gives an empty one.
    pub config: Option<Config>,
    /// The name to give the image, if any.
    pub name: Option<Reference>,
}

/// The image an import made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The image id, as `import` prints it.
    pub id: Digest,
    /// Its manifest.
    pub manifest: Descriptor,
    /// The image that had the name before, if another one did.
    pub replaced: Option<Digest>,
}

// ANCHOR: import
/// Stores `reader` (a tar, plain or compressed) as the only layer of a new image
/// whose config says amd64/linux, created now, with one history entry.
pub fn import(
    store: &Store,
    mut reader: impl Read,
    options: &ImportOptions,
    limits: &Limits,
) -> Result<Imported, ArchiveError> {
    let _ingest = store.ingest()?;
    let mut head = Vec::new();
    (&mut reader)
        .take(6)
        .read_to_end(&mut head)
        .map_err(|source| ArchiveError::Read { source })?;
    let whole = Cursor::new(head.clone()).chain(reader);
    // OCI has media types for plain, gzip and zstd layers only; others are
    // stored decompressed.
    let (media_type, blob) = match Compression::detect(&head) {
        Compression::None => (MediaType::ImageLayer, store.put_blob(whole, None)?),
        Compression::Gzip => (MediaType::ImageLayerGzip, store.put_blob(whole, None)?),
        Compression::Zstd => (MediaType::ImageLayerZstd, store.put_blob(whole, None)?),
        Compression::Bzip2 | Compression::Xz => {
            let (_, plain) = layer::decompress(whole)?;
            (MediaType::ImageLayer, store.put_blob(plain, None)?)
        }
    };
    let diff_id = layer::diff_id(store.open_blob(&blob.digest)?, limits)?.diff_id;
    let created = humantime::format_rfc3339_nanos(SystemTime::now()).to_string();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": options.config.clone().unwrap_or_default(),
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "comment": options.comment}],
    });
    let config = store.put_blob(
        &serde_json::to_vec(&config).expect("a config serialises")[..],
        None,
    )?;
    let manifest = super::store_manifest(
        store,
        &config,
        &[Descriptor::new(media_type, blob.size, blob.digest)],
    )?;
    let names: Vec<Reference> = options
        .name
        .iter()
        .map(Reference::with_default_tag)
        .collect();
    let replaced = store.record(&[(manifest.clone(), names)])?;
    Ok(Imported {
        id: config.digest,
        manifest,
        replaced: replaced.into_iter().next().map(|r| r.old_id),
    })
}
// ANCHOR_END: import
