//! `load`: an archive in, images recorded in the store.

use std::io::Read;

use oci_spec::image::{Descriptor, Digest, ImageIndex, ImageManifest, MediaType};
use serde::Deserialize;

use super::spool::Spool;
use super::{ArchiveError, parse_name};
use crate::layer::{self, Compression, Limits};
use crate::reference::Reference;
use crate::store::{Blob, CONTAINERD_NAME, REF_NAME, Replaced, Store};

/// One image a load recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The image id (`sha256:` of its config).
    pub id: Digest,
    /// The manifest recorded in `index.json`.
    pub manifest: Descriptor,
    /// The names it was loaded under (none: docker prints `Loaded image ID:`).
    pub names: Vec<Reference>,
}

/// What a load did, for docker's output lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// The images, in archive order.
    pub images: Vec<LoadedImage>,
    /// Names that moved away from an image already in the store.
    pub replaced: Vec<Replaced>,
}

/// One entry of a docker-archive `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

// ANCHOR: load
/// Loads a docker-archive or OCI-layout archive (plain or compressed as a
/// whole). Nothing is named in the store unless every image of the archive
/// checks out: blobs against their digests and sizes, layers against the
/// config's diff ids.
pub fn load(store: &Store, reader: impl Read, limits: &Limits) -> Result<LoadReport, ArchiveError> {
    // Held until the names are recorded, so garbage collection cannot take the
    // blobs this load writes while they are still unreferenced.
    let _ingest = store.ingest()?;
    let spool = Spool::read(store, reader)?;
    let images = if let Some(index) = spool.document("index.json") {
        oci_images(store, &spool, index, limits)?
    } else if let Some(manifest) = spool.document("manifest.json") {
        docker_images(store, &spool, manifest, limits)?
    } else {
        return Err(ArchiveError::UnknownFormat);
    };
    let entries: Vec<(Descriptor, Vec<Reference>)> = images
        .iter()
        .map(|image| (image.manifest.clone(), image.names.clone()))
        .collect();
    let replaced = store.record(&entries)?;
    Ok(LoadReport { images, replaced })
}
// ANCHOR_END: load

fn bad_json(file: &str) -> impl FnOnce(serde_json::Error) -> ArchiveError + '_ {
    move |e| ArchiveError::BadJson {
        file: file.to_string(),
        reason: e.to_string(),
    }
}

// ANCHOR: docker_archive
/// docker-archive: `manifest.json` gives paths; the store gets an OCI manifest
/// that berth writes for the image, its layers stored as they were in the tar.
fn docker_images(
    store: &Store,
    spool: &Spool,
    manifest_json: &[u8],
    limits: &Limits,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    let entries: Vec<DockerEntry> =
        serde_json::from_slice(manifest_json).map_err(bad_json("manifest.json"))?;
    let mut images = Vec::new();
    for entry in entries {
        let config = spool.blob(&entry.config)?;
        let mut layers = Vec::new();
        for path in &entry.layers {
            layers.push(layer_descriptor(store, spool.blob(path)?)?);
        }
        check_diff_ids(store, &config.digest, &layers, limits)?;
        let manifest = super::store_manifest(store, &config, &layers)?;
        let names = entry
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|name| parse_name(name))
            .collect::<Result<_, _>>()?;
        images.push(LoadedImage {
            id: config.digest,
            manifest,
            names,
        });
    }
    Ok(images)
}
// ANCHOR_END: docker_archive

/// The descriptor of a layer as docker-archive holds it: plain tar, gzip or
/// zstd keep their bytes; bzip2 and xz, which OCI has no media type for, are
/// stored decompressed.
fn layer_descriptor(store: &Store, blob: Blob) -> Result<Descriptor, ArchiveError> {
    let mut head = [0u8; 6];
    let n = read_head(store.open_blob(&blob.digest)?, &mut head)?;
    let (media_type, blob) = match Compression::detect(&head[..n]) {
        Compression::None => (MediaType::ImageLayer, blob),
        Compression::Gzip => (MediaType::ImageLayerGzip, blob),
        Compression::Zstd => (MediaType::ImageLayerZstd, blob),
        Compression::Bzip2 | Compression::Xz => {
            let (_, plain) = layer::decompress(store.open_blob(&blob.digest)?)?;
            (MediaType::ImageLayer, store.put_blob(plain, None)?)
        }
    };
    Ok(Descriptor::new(media_type, blob.size, blob.digest))
}

fn read_head(mut file: impl Read, head: &mut [u8]) -> Result<usize, ArchiveError> {
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(source) => return Err(ArchiveError::Read { source }),
        }
    }
    Ok(filled)
}

// ANCHOR: check_diff_ids
/// The config lists, for each layer, the digest of its *uncompressed* tar (the
/// diff id); the layers' content must produce exactly that list.
fn check_diff_ids(
    store: &Store,
    config: &Digest,
    layers: &[Descriptor],
    limits: &Limits,
) -> Result<(), ArchiveError> {
    let bytes = store.read_json_blob(config, "image config")?;
    let parsed: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(bad_json("image config"))?;
    let expected: Vec<&str> = parsed["rootfs"]["diff_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|id| id.as_str()).collect())
        .unwrap_or_default();
    for index in 0..expected.len().max(layers.len()) {
        let actual = match layers.get(index) {
            Some(layer) => layer::diff_id(store.open_blob(layer.digest())?, limits)?.diff_id,
            None => "none".to_string(),
        };
        let wanted = expected.get(index).copied().unwrap_or("none");
        if actual != wanted {
            return Err(ArchiveError::DiffIdMismatch {
                image: config.to_string(),
                index,
                expected: wanted.to_string(),
                actual,
            });
        }
    }
    Ok(())
}
// ANCHOR_END: check_diff_ids

/// OCI layout: `index.json` names manifests by digest; they are kept as they
/// are, so the image keeps its manifest digest.
fn oci_images(
    store: &Store,
    spool: &Spool,
    index_json: &[u8],
    limits: &Limits,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    let index: ImageIndex = serde_json::from_slice(index_json).map_err(bad_json("index.json"))?;
    let mut images: Vec<LoadedImage> = Vec::new();
    for descriptor in index.manifests() {
        let manifest = platform_manifest(store, spool, descriptor)?;
        let parsed: ImageManifest =
            serde_json::from_slice(&store.read_json_blob(manifest.digest(), "image manifest")?)
                .map_err(bad_json("an image manifest"))?;
        for blob in std::iter::once(parsed.config()).chain(parsed.layers()) {
            check_present(store, spool, blob)?;
        }
        check_diff_ids(store, parsed.config().digest(), parsed.layers(), limits)?;
        let names: Vec<Reference> = oci_name(descriptor)?.into_iter().collect();
        let id = parsed.config().digest().clone();
        // index.json repeats a manifest once per name: one image, several names.
        match images
            .iter_mut()
            .find(|i| i.manifest.digest() == manifest.digest())
        {
            Some(image) => image.names.extend(names),
            None => images.push(LoadedImage {
                id,
                manifest: Descriptor::new(
                    manifest.media_type().clone(),
                    manifest.size(),
                    manifest.digest().clone(),
                ),
                names,
            }),
        }
    }
    Ok(images)
}

/// A descriptor of an image index (a multi-platform image) stands for the one
/// platform whose blobs the archive carries.
fn platform_manifest(
    store: &Store,
    spool: &Spool,
    descriptor: &Descriptor,
) -> Result<Descriptor, ArchiveError> {
    check_present(store, spool, descriptor)?;
    let is_index = matches!(descriptor.media_type(), MediaType::ImageIndex)
        || descriptor.media_type().to_string()
            == "application/vnd.docker.distribution.manifest.list.v2+json";
    if !is_index {
        return Ok(descriptor.clone());
    }
    let nested: ImageIndex =
        serde_json::from_slice(&store.read_json_blob(descriptor.digest(), "image index")?)
            .map_err(bad_json("an image index"))?;
    nested
        .manifests()
        .iter()
        .find(|m| spool.holds(m.digest()))
        .cloned()
        .ok_or_else(|| ArchiveError::MissingMember {
            path: format!("a manifest of index {}", descriptor.digest()),
        })
}

/// A blob named by digest must be in the archive (or already in the store) and
/// have the size its descriptor says.
fn check_present(
    store: &Store,
    spool: &Spool,
    descriptor: &Descriptor,
) -> Result<(), ArchiveError> {
    let digest = descriptor.digest();
    if !spool.holds(digest) && !store.has_blob(digest) {
        return Err(ArchiveError::MissingMember {
            path: format!("blobs/sha256/{}", digest.digest()),
        });
    }
    let actual = store
        .open_blob(digest)?
        .metadata()
        .map_err(|source| ArchiveError::Read { source })?
        .len();
    if actual != descriptor.size() {
        return Err(ArchiveError::SizeMismatch {
            digest: digest.to_string(),
            declared: descriptor.size(),
            actual,
        });
    }
    Ok(())
}

/// The name an OCI index gives a manifest: containerd's full name, else the
/// OCI ref name when it is a full reference (a bare tag such as `latest`
/// names no repository, so the image loads untagged).
fn oci_name(descriptor: &Descriptor) -> Result<Option<Reference>, ArchiveError> {
    let Some(annotations) = descriptor.annotations() else {
        return Ok(None);
    };
    if let Some(name) = annotations.get(CONTAINERD_NAME) {
        return parse_name(name).map(Some);
    }
    match annotations.get(REF_NAME) {
        Some(name) if name.contains([':', '/']) => parse_name(name).map(Some),
        _ => Ok(None),
    }
}
