//! `save`: images out, as one plain tar that docker (20.10 and 25+), podman
//! and skopeo all load.
//!
//! The tar is docker 25's shape: an OCI layout (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) and, beside it, docker-archive's `manifest.json` and
//! `repositories` whose paths point into the same `blobs/`. Older docker reads
//! only `manifest.json` and cannot decompress zstd, so a zstd layer is also
//! written decompressed (its blob is then named by its diff id) for
//! `manifest.json` to point at.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use oci_spec::image::{Descriptor, Digest, MediaType};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::ArchiveError;
use crate::layer::{self, Compression};
use crate::reference::Reference;
use crate::store::{CONTAINERD_NAME, ImageRecord, REF_NAME, Store, StoreError};

/// One image to save, with the names to save it under (none: `<none>` on load).
#[derive(Debug, Clone)]
pub struct SaveItem {
    /// The image.
    pub image: ImageRecord,
    /// The names written into the archive.
    pub names: Vec<Reference>,
}

/// One entry of docker-archive's `manifest.json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.digest())
}

// ANCHOR: save
/// Writes `items` to `out` as a plain (uncompressed) tar.
pub fn save(store: &Store, items: &[SaveItem], out: impl Write) -> Result<(), ArchiveError> {
    // Keeps garbage collection from removing a blob while it is being copied.
    let _ingest = store.ingest()?;
    let mut tar = TarWriter::new(out);
    tar.directory("blobs/")?;
    tar.directory("blobs/sha256/")?;
    let mut written = HashSet::new();
    let mut index_entries = Vec::new();
    let mut docker_entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for item in items {
        let manifest = store.manifest(&item.image)?;
        let diff_ids = diff_ids(store, &item.image)?;
        if diff_ids.len() != manifest.layers().len() {
            return Err(ArchiveError::DiffIdMismatch {
                image: item.image.id.to_string(),
                index: diff_ids.len().min(manifest.layers().len()),
                expected: format!("{} diff ids", diff_ids.len()),
                actual: format!("{} layers", manifest.layers().len()),
            });
        }
        let mut docker_layers = Vec::new();
        for (layer, diff_id) in manifest.layers().iter().zip(&diff_ids) {
            tar.blob(store, layer.digest(), &mut written)?;
            let readable = docker_readable_layer(store, layer, diff_id)?;
            tar.blob(store, &readable, &mut written)?;
            docker_layers.push(blob_path(&readable));
        }
        tar.blob(store, manifest.config().digest(), &mut written)?;
        tar.blob(store, item.image.manifest.digest(), &mut written)?;

        for name in &item.names {
            let name = name.with_default_tag();
            let tag = name.tag.clone().unwrap_or_default();
            index_entries.push(index_entry(&item.image.manifest, Some(&name)));
            if let Some(top) = docker_layers.last() {
                let top = top.rsplit('/').next().unwrap_or_default().to_string();
                repositories
                    .entry(name.familiar_name())
                    .or_default()
                    .insert(tag, top);
            }
        }
        if item.names.is_empty() {
            index_entries.push(index_entry(&item.image.manifest, None));
        }
        docker_entries.push(DockerEntry {
            config: blob_path(manifest.config().digest()),
            repo_tags: item.names.iter().map(|n| n.familiar()).collect(),
            layers: docker_layers,
        });
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": index_entries,
    });
    tar.file("index.json", &to_json(&index))?;
    tar.file("manifest.json", &to_json(&docker_entries))?;
    tar.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    if !repositories.is_empty() {
        tar.file("repositories", &to_json(&repositories))?;
    }
    tar.finish()
}
// ANCHOR_END: save

fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("archive documents serialise")
}

/// An `index.json` entry: docker 25 puts the full name in containerd's
/// annotation and the bare tag in the OCI ref name.
fn index_entry(manifest: &Descriptor, name: Option<&Reference>) -> Descriptor {
    let mut entry = Descriptor::new(
        manifest.media_type().clone(),
        manifest.size(),
        manifest.digest().clone(),
    );
    if let Some(name) = name {
        entry.set_annotations(Some(
            [
                (CONTAINERD_NAME.to_string(), name.normalized()),
                (REF_NAME.to_string(), name.tag.clone().unwrap_or_default()),
            ]
            .into(),
        ));
    }
    entry
}

fn diff_ids(store: &Store, image: &ImageRecord) -> Result<Vec<Digest>, ArchiveError> {
    let config = store.config(image)?;
    config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|id| {
            Digest::try_from(id.as_str()).map_err(|e| ArchiveError::BadJson {
                file: format!("config {}", image.id),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The layer blob `manifest.json` should name: the layer itself when docker
/// 20.10 can read it (plain or gzip), else a decompressed copy, stored as a
/// blob named by (and checked against) the layer's diff id.
fn docker_readable_layer(
    store: &Store,
    layer: &Descriptor,
    diff_id: &Digest,
) -> Result<Digest, ArchiveError> {
    let zstd = matches!(
        layer.media_type(),
        MediaType::ImageLayerZstd | MediaType::ImageLayerNonDistributableZstd
    );
    if !zstd {
        return Ok(layer.digest().clone());
    }
    if store.has_blob(diff_id) {
        return Ok(diff_id.clone());
    }
    let (compression, plain) = layer::decompress(store.open_blob(layer.digest())?)?;
    debug_assert_eq!(compression, Compression::Zstd);
    Ok(store.put_blob(plain, Some(diff_id))?.digest)
}

/// A tar being written: fixed owners and times, so the same images always
/// give the same bytes.
struct TarWriter<W: Write> {
    builder: tar::Builder<W>,
}

impl<W: Write> TarWriter<W> {
    fn new(out: W) -> Self {
        Self {
            builder: tar::Builder::new(out),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header
    }

    fn directory(&mut self, path: &str) -> Result<(), ArchiveError> {
        let mut header = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut header, path, io::empty())
            .map_err(|source| ArchiveError::Write { source })
    }

    fn file(&mut self, path: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        let mut header = Self::header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        self.builder
            .append_data(&mut header, path, bytes)
            .map_err(|source| ArchiveError::Write { source })
    }

    /// Copies a blob once, checking while copying that it still has its digest.
    fn blob(
        &mut self,
        store: &Store,
        digest: &Digest,
        written: &mut HashSet<Digest>,
    ) -> Result<(), ArchiveError> {
        if !written.insert(digest.clone()) {
            return Ok(());
        }
        let file = store.open_blob(digest)?;
        let size = file
            .metadata()
            .map_err(|source| ArchiveError::Read { source })?
            .len();
        let mut reader = HashingReader {
            inner: file,
            hasher: Sha256::new(),
        };
        let mut header = Self::header(tar::EntryType::Regular, 0o644, size);
        self.builder
            .append_data(&mut header, blob_path(digest), &mut reader)
            .map_err(|source| ArchiveError::Write { source })?;
        let actual: String = reader
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if actual != digest.digest() {
            return Err(StoreError::DigestMismatch {
                expected: digest.to_string(),
                actual: format!("sha256:{actual}"),
            }
            .into());
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ArchiveError> {
        let mut out = self
            .builder
            .into_inner()
            .map_err(|source| ArchiveError::Write { source })?;
        out.flush().map_err(|source| ArchiveError::Write { source })
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
