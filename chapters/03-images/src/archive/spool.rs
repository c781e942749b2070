//! Reading the outer tar once, front to back, into the store.
//!
//! Every regular member becomes a blob (hashed while it is written; a member
//! named `blobs/sha256/<hex>` must hash to `<hex>`), except the few small
//! documents that say what the archive holds, which are kept in memory.
//! Symlinks and hardlinks between members (older `docker save` links repeated
//! layers) are remembered and followed, but never out of the archive.

use std::collections::HashMap;
use std::io::{self, Read};

use oci_spec::image::Digest;

use super::ArchiveError;
use super::member_path::{member_path, parent};
use crate::layer;
use crate::store::{Blob, MAX_JSON_BLOB, Store};

/// The top-level documents read into memory.
const DOCUMENTS: [&str; 4] = ["manifest.json", "index.json", "oci-layout", "repositories"];
/// How many links may be followed from one path before it is called a loop.
const MAX_LINK_DEPTH: usize = 16;

/// What the archive held, by member path.
#[derive(Debug, Default)]
pub(super) struct Spool {
    documents: HashMap<String, Vec<u8>>,
    blobs: HashMap<String, Blob>,
    links: HashMap<String, String>,
}

// ANCHOR: spool_members
impl Spool {
    /// Reads a whole archive (plain or compressed as a whole) into `store`.
    pub(super) fn read(store: &Store, reader: impl Read) -> Result<Spool, ArchiveError> {
        let (_, decompressed) = layer::decompress(reader)?;
        let mut archive = tar::Archive::new(decompressed);
        let mut spool = Spool::default();
        let read_error = |source| ArchiveError::Read { source };
        for entry in archive.entries().map_err(read_error)? {
            let mut entry = entry.map_err(read_error)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            // `tar -C DIR -cf X .` starts with the top directory itself, `./`:
            // it names the archive's top, which holds nothing to read.
            if kind.is_dir() && raw.split('/').all(|part| part.is_empty() || part == ".") {
                continue;
            }
            let path = member_path(&raw)?;
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let target = if kind.is_symlink() {
                    // A symlink is relative to its own directory; an absolute one
                    // is refused by `member_path`, before any joining.
                    if target.starts_with('/') {
                        member_path(&target)?;
                    }
                    member_path(&format!("{}/{target}", parent(&path)))?
                } else {
                    member_path(&target)?
                };
                spool.links.insert(path, target);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let declared = entry.header().size().map_err(read_error)?;
            if DOCUMENTS.contains(&path.as_str()) {
                spool
                    .documents
                    .insert(path, read_document(&mut entry, &raw, declared)?);
            } else if !is_legacy_metadata(&path) {
                let blob = spool_blob(store, &path, &mut entry, declared)?;
                spool.blobs.insert(path, blob);
            }
        }
        Ok(spool)
    }
    // ANCHOR_END: spool_members

    /// A top-level document (`manifest.json`, `index.json`, …), if present.
    pub(super) fn document(&self, name: &str) -> Option<&[u8]> {
        self.documents.get(name).map(Vec::as_slice)
    }

    /// The blob a path inside the archive names (links followed).
    pub(super) fn blob(&self, raw: &str) -> Result<Blob, ArchiveError> {
        let mut path = member_path(raw)?;
        for _ in 0..MAX_LINK_DEPTH {
            if let Some(blob) = self.blobs.get(&path) {
                return Ok(blob.clone());
            }
            match self.links.get(&path) {
                Some(target) => path = target.clone(),
                None => break,
            }
        }
        Err(ArchiveError::MissingMember {
            path: raw.to_string(),
        })
    }

    /// Whether the archive held a member whose content has this digest.
    pub(super) fn holds(&self, digest: &Digest) -> bool {
        self.blobs.values().any(|b| b.digest == *digest)
    }
}

/// `<id>/json` and `<id>/VERSION` describe layers in docker's pre-2016 format;
/// nothing reads them once `manifest.json` exists, so they are not stored.
fn is_legacy_metadata(path: &str) -> bool {
    path.contains('/') && (path.ends_with("/json") || path.ends_with("/VERSION"))
}

fn read_document(entry: &mut impl Read, raw: &str, declared: u64) -> Result<Vec<u8>, ArchiveError> {
    if declared > MAX_JSON_BLOB {
        return Err(ArchiveError::BadJson {
            file: raw.to_string(),
            reason: format!("{declared} bytes is too large"),
        });
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    entry
        .take(declared)
        .read_to_end(&mut bytes)
        .map_err(|source| ArchiveError::Read { source })?;
    if bytes.len() as u64 != declared {
        return Err(cut_short(raw, declared, bytes.len() as u64));
    }
    Ok(bytes)
}

fn spool_blob(
    store: &Store,
    path: &str,
    entry: &mut impl Read,
    declared: u64,
) -> Result<Blob, ArchiveError> {
    // `blobs/sha256/<hex>` announces its digest: hold the content to it.
    let expected = path
        .strip_prefix("blobs/sha256/")
        .and_then(|hex| Digest::try_from(format!("sha256:{hex}")).ok());
    let mut tap = ReadTap {
        inner: entry,
        failure: None,
    };
    let result = store.put_blob(&mut tap, expected.as_ref());
    if let Some(source) = tap.failure {
        return Err(ArchiveError::Read { source });
    }
    let blob = result?;
    if blob.size != declared {
        return Err(cut_short(path, declared, blob.size));
    }
    Ok(blob)
}

fn cut_short(path: &str, declared: u64, found: u64) -> ArchiveError {
    ArchiveError::Read {
        source: io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("member {path:?} is cut short: {found} of {declared} bytes"),
        ),
    }
}

/// Remembers a read error so it is reported as the archive's fault, not as a
/// failure to write the store.
struct ReadTap<R> {
    inner: R,
    failure: Option<io::Error>,
}

impl<R: Read> Read for ReadTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.failure = Some(io::Error::new(e.kind(), e.to_string()));
        })
    }
}
