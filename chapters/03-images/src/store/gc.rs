//! Removing blobs no image needs, without racing a load that is adding some.
//!
//! A load writes blobs first and names them in `index.json` last, so for a while
//! its blobs look unreferenced. Loads therefore hold `ingest.lock` *shared* from
//! their first blob to their `record`, and the collector takes it *exclusive*:
//! any number of loads run together, and the collector waits for them.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;

use super::{Store, StoreError};

/// Held while blobs are being added; keeps the collector away.
#[derive(Debug)]
pub struct IngestGuard {
    _file: File,
}

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Digests (`sha256:<hex>`) of the blobs removed.
    pub blobs: Vec<String>,
    /// Bytes freed.
    pub bytes: u64,
}

impl Store {
    fn ingest_lock_file(&self) -> Result<File, StoreError> {
        let path = self.root.join("ingest.lock");
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(StoreError::io("opening", &path))
    }

    /// Starts adding blobs: hold the guard until the images are recorded.
    pub fn ingest(&self) -> Result<IngestGuard, StoreError> {
        let file = self.ingest_lock_file()?;
        file.lock_shared()
            .map_err(StoreError::io("locking", &self.root.join("ingest.lock")))?;
        Ok(IngestGuard { _file: file })
    }

    // ANCHOR: garbage_collect
    /// Removes every blob that no manifest in `index.json` reaches, and temp
    /// files left by interrupted writes. Waits for running loads to finish.
    pub fn garbage_collect(&self) -> Result<Collected, StoreError> {
        let exclusive = self.ingest_lock_file()?;
        exclusive
            .lock()
            .map_err(StoreError::io("locking", &self.root.join("ingest.lock")))?;
        let _index = self.lock_index()?;
        let mut reachable = HashSet::new();
        for descriptor in self.read_index()?.manifests() {
            reachable.insert(descriptor.digest().digest().to_string());
            let manifest = self.read_manifest(descriptor.digest())?;
            reachable.insert(manifest.config().digest().digest().to_string());
            for layer in manifest.layers() {
                reachable.insert(layer.digest().digest().to_string());
            }
        }
        let mut collected = Collected::default();
        let dir = self.blob_dir();
        for entry in fs::read_dir(&dir).map_err(StoreError::io("listing", &dir))? {
            let entry = entry.map_err(StoreError::io("listing", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if reachable.contains(&name) {
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            Store::remove_file(&entry.path())?;
            collected.blobs.push(format!("sha256:{name}"));
            collected.bytes += size;
        }
        // No ingest runs now, so every temp file is a leftover of a killed one.
        let tmp = self.tmp_dir();
        for entry in fs::read_dir(&tmp).map_err(StoreError::io("listing", &tmp))? {
            let entry = entry.map_err(StoreError::io("listing", &tmp))?;
            Store::remove_file(&entry.path())?;
        }
        Ok(collected)
    }
    // ANCHOR_END: garbage_collect
}
