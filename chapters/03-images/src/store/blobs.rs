//! Content-addressed blobs: written once under the SHA-256 of their bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use berth_engine::state;
use oci_spec::image::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256};

use super::{MAX_JSON_BLOB, Store, StoreError};

/// A blob that is in the store: its digest and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256:<hex>` of the content.
    pub digest: Digest,
    /// Length of the content.
    pub size: u64,
}

/// Copy buffer size: large enough that hashing, not system calls, dominates.
const CHUNK: usize = 1 << 20;

/// Hashes everything read from `reader`, returning the digest and the byte count.
pub fn digest_of(mut reader: impl Read) -> io::Result<Blob> {
    copy_hashing(&mut reader, &mut io::sink())
}

fn copy_hashing(reader: &mut impl Read, writer: &mut impl Write) -> io::Result<Blob> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        writer.write_all(&buf[..n])?;
        size += n as u64;
    }
    Ok(finish(hasher, size))
}

/// The blob of `size` bytes that `hasher` has hashed.
fn finish(hasher: Sha256, size: u64) -> Blob {
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest = Digest::try_from(format!("sha256:{hex}")).expect("sha256 hex is a valid digest");
    Blob { digest, size }
}

impl Store {
    // ANCHOR: put_blob
    /// Writes a blob: streamed to a temp file, hashed on the way, fsynced, then
    /// renamed to its digest. With `expected`, content that hashes to anything else
    /// is refused and its temp file removed, so a blob's name is always its hash.
    pub fn put_blob(
        &self,
        mut reader: impl Read,
        expected: Option<&Digest>,
    ) -> Result<Blob, StoreError> {
        if let Some(expected) = expected {
            self.blob_path(expected)?;
        }
        // Holding the ingest lock shared keeps `garbage_collect` from taking the
        // temp file (or the new, still unreferenced blob) away under us.
        let _ingest = self.ingest()?;
        let tmp = self.tmp_dir().join(format!("blob-{}", state::new_id()));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&tmp)
                .map_err(StoreError::io("creating", &tmp))?;
            let blob =
                copy_hashing(&mut reader, &mut file).map_err(StoreError::io("writing", &tmp))?;
            if let Some(expected) = expected
                && *expected != blob.digest
            {
                return Err(StoreError::DigestMismatch {
                    expected: expected.to_string(),
                    actual: blob.digest.to_string(),
                });
            }
            file.sync_all().map_err(StoreError::io("syncing", &tmp))?;
            Ok(blob)
        })();
        let blob = match written {
            Ok(blob) => blob,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let path = self.blob_path(&blob.digest)?;
        // Renaming over an existing blob is harmless: same name, same bytes.
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(StoreError::io("renaming into", &path)(e));
        }
        let dir = self.blob_dir();
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io("syncing", &dir))?;
        Ok(blob)
    }
    // ANCHOR_END: put_blob

    /// Opens a blob for reading; its content is not checked here (see
    /// [`Store::verify_blob`]), only that it exists.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.blob_path(digest)?;
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::MissingBlob {
                digest: digest.to_string(),
            },
            _ => StoreError::io("opening", &path)(e),
        })
    }

    /// Whether a blob is present.
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_ok_and(|p| p.is_file())
    }

    /// Re-hashes a blob and fails unless its content matches its name.
    pub fn verify_blob(&self, digest: &Digest) -> Result<Blob, StoreError> {
        let file = self.open_blob(digest)?;
        let path = self.blob_path(digest)?;
        let blob = digest_of(file).map_err(StoreError::io("reading", &path))?;
        if blob.digest != *digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.to_string(),
                actual: blob.digest.to_string(),
            });
        }
        Ok(blob)
    }

    /// Reads a small JSON blob (manifest, config) whole, after checking its hash.
    pub fn read_json_blob(
        &self,
        digest: &Digest,
        kind: &'static str,
    ) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest)?;
        let file = self.open_blob(digest)?;
        let size = file
            .metadata()
            .map_err(StoreError::io("reading", &path))?
            .len();
        if size > MAX_JSON_BLOB {
            return Err(StoreError::TooLarge {
                digest: digest.to_string(),
                size,
                kind,
            });
        }
        // Read whole, then hashed: a copy buffer (a megabyte, zeroed) would
        // cost more than these few hundred bytes, at every container start.
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(MAX_JSON_BLOB)
            .read_to_end(&mut bytes)
            .map_err(StoreError::io("reading", &path))?;
        let blob = finish(Sha256::new_with_prefix(&bytes), bytes.len() as u64);
        if blob.digest != *digest {
            return Err(StoreError::DigestMismatch {
                expected: digest.to_string(),
                actual: blob.digest.to_string(),
            });
        }
        Ok(bytes)
    }

    /// `blobs/sha256/<hex>`; other algorithms are refused.
    pub fn blob_path(&self, digest: &Digest) -> Result<PathBuf, StoreError> {
        match digest.algorithm() {
            DigestAlgorithm::Sha256 => Ok(self.blob_dir().join(digest.digest())),
            _ => Err(StoreError::UnsupportedDigest {
                digest: digest.to_string(),
            }),
        }
    }
}
