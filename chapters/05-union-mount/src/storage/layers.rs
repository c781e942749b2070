//! The layer cache: each layer of each image unpacked once, named by its
//! chain id, and shared by every image and container that has it.
//!
//! A layer is named by its *chain id*, not its diff id: the same tar on top of
//! two different parents makes two different trees (whiteouts delete different
//! things), and the chain id is the digest of the whole stack up to it.
//!
//! Unpacking goes to `.tmp-<chain>` and is renamed into place when complete, so
//! a killed unpack is never used; a lock per chain makes two creates of one
//! image at once unpack it once (the second waits, then finds it done).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use berth_engine::state::new_id;
use berth_engine::{Engine, Result};
use berth_images::commands::rmi::chain_ids;
use berth_images::layer::{Limits, WhiteoutMode};
use berth_images::rootfs::{ImageLayer, image_layers, unpack_verified};
use berth_images::store::{ImageRecord, Store};

use super::copy::copy_tree;
use super::error::StorageError;
use super::layers_root;
use super::lock::LayerLock;

/// The directory, under a set's base, holding the short links.
pub const SHORT_LINKS: &str = "l";
/// The file in a layer's directory holding its short name.
pub const LINK_FILE: &str = "link";
/// The directory, under a set's base, holding one lock file per chain.
const LOCKS: &str = "locks";
/// The prefix of a layer being unpacked.
const TEMP_PREFIX: &str = ".tmp-";

/// How the layers of one driver are kept: overlay keeps each layer's own
/// files, vfs the whole tree up to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerFormat {
    /// One layer's files, whiteouts as overlayfs reads them (`layers/<chain>`).
    Overlay,
    /// The flattened tree up to this layer (`layers/vfs/<chain>`).
    Flattened,
}

impl LayerFormat {
    /// Where layers of this format live.
    pub fn base(self, engine: &Engine) -> Result<PathBuf> {
        let layers = layers_root(engine)?;
        Ok(match self {
            LayerFormat::Overlay => layers,
            LayerFormat::Flattened => layers.join("vfs"),
        })
    }
}

/// An image's layers, with their chain ids (hex), bottom first.
pub struct ImageChain {
    /// The blobs and diff ids, bottom first.
    pub layers: Vec<ImageLayer>,
    /// The chain id (hex, without `sha256:`) of each layer, bottom first.
    pub chain: Vec<String>,
}

impl ImageChain {
    /// Reads `image`'s layers from the store (at most 127, as chapter 03 checks).
    pub fn of(store: &Store, image: &ImageRecord) -> Result<Self> {
        let layers = image_layers(store, image)?;
        let config = store.config(image)?;
        let chain: Vec<String> = chain_ids(&config)
            .iter()
            .map(|digest| digest.digest().to_string())
            .collect();
        Ok(Self { layers, chain })
    }
}

/// The layers of one format under one base directory.
pub struct LayerSet {
    base: PathBuf,
    format: LayerFormat,
}

/// The locks of an image's chain, held from the first unpack until the
/// container's `storage.json` names the layers (the collector skips them).
pub struct HeldChain {
    _locks: Vec<LayerLock>,
}

impl LayerSet {
    /// The set of `format` in `engine`'s state root (created if missing).
    pub fn open(engine: &Engine, format: LayerFormat) -> Result<Self> {
        let base = format.base(engine)?;
        let mut dirs = vec![base.clone(), base.join(LOCKS)];
        if format == LayerFormat::Overlay {
            dirs.push(base.join(SHORT_LINKS));
        }
        for dir in dirs {
            berth_engine::state::ensure_private_dir(&dir)
                .map_err(StorageError::io("creating", &dir))?;
        }
        Ok(Self { base, format })
    }

    /// The base directory (`layers` or `layers/vfs`).
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `<base>/<chain>/diff`: the unpacked layer.
    pub fn diff(&self, chain: &str) -> PathBuf {
        self.base.join(chain).join("diff")
    }

    /// The lock file of `chain`.
    pub fn lock_path(&self, chain: &str) -> PathBuf {
        self.base.join(LOCKS).join(format!("{chain}.lock"))
    }

    /// The short name of an unpacked layer (`l/<name>` links to its diff).
    pub fn short_name(&self, chain: &str) -> Result<String> {
        let path = self.base.join(chain).join(LINK_FILE);
        let name = fs::read_to_string(&path).map_err(StorageError::io("reading", &path))?;
        Ok(name.trim().to_string())
    }

    // ANCHOR: ensure_layers
    /// Makes sure every layer of `image` is unpacked, and keeps them locked
    /// until the returned value is dropped. Locks are taken bottom first, so
    /// two creates never wait for each other in a circle.
    pub fn ensure(&self, store: &Store, image: &ImageChain) -> Result<HeldChain> {
        let limits = Limits::from_env()?;
        let mut locks = Vec::with_capacity(image.chain.len());
        for (index, (layer, chain)) in image.layers.iter().zip(&image.chain).enumerate() {
            let path = self.lock_path(chain);
            locks.push(LayerLock::acquire(&path).map_err(StorageError::io("locking", &path))?);
            if self.diff(chain).is_dir() {
                continue;
            }
            let parent = index
                .checked_sub(1)
                .map(|below| image.chain[below].as_str());
            self.unpack(store, layer, chain, parent, &limits)?;
        }
        Ok(HeldChain { _locks: locks })
    }
    // ANCHOR_END: ensure_layers

    // ANCHOR: unpack_once
    /// Unpacks one layer into `.tmp-<chain>`, then renames it into place; the
    /// caller holds the chain's lock, so a leftover temp dir is a dead unpack's.
    fn unpack(
        &self,
        store: &Store,
        layer: &ImageLayer,
        chain: &str,
        parent: Option<&str>,
        limits: &Limits,
    ) -> Result<()> {
        let temp = self.base.join(format!("{TEMP_PREFIX}{chain}"));
        remove_tree(&temp)?;
        fs::create_dir(&temp).map_err(StorageError::io("creating", &temp))?;
        let diff = temp.join("diff");
        let made = (|| -> Result<()> {
            let mode = match (self.format, parent) {
                (LayerFormat::Overlay, _) => WhiteoutMode::Overlay,
                // A flattened layer starts as a copy of the tree below it.
                (LayerFormat::Flattened, Some(parent)) => {
                    copy_tree(&self.diff(parent), &diff)?;
                    WhiteoutMode::Apply
                }
                (LayerFormat::Flattened, None) => WhiteoutMode::Apply,
            };
            if !diff.exists() {
                fs::create_dir(&diff).map_err(StorageError::io("creating", &diff))?;
            }
            unpack_verified(store, layer, &diff, mode, limits)?;
            if self.format == LayerFormat::Overlay {
                self.give_short_name(&temp, chain)?;
            }
            let target = self.base.join(chain);
            fs::rename(&temp, &target).map_err(StorageError::io("renaming into", &target))?;
            Ok(())
        })();
        if made.is_err() {
            let _ = remove_tree(&temp);
        }
        made
    }
    // ANCHOR_END: unpack_once

    /// Writes `link` and the `l/<short>` symlink of a layer still in `temp`;
    /// the link dangles until the rename, and the collector removes dangling ones.
    fn give_short_name(&self, temp: &Path, chain: &str) -> Result<()> {
        // 26 characters, as docker's overlay2: 127 of them fit the mount options.
        let short = new_id()[..26].to_uppercase();
        let link = self.base.join(SHORT_LINKS).join(&short);
        std::os::unix::fs::symlink(format!("../{chain}/diff"), &link)
            .map_err(StorageError::io("linking", &link))?;
        let file = temp.join(LINK_FILE);
        fs::write(&file, &short).map_err(StorageError::io("writing", &file))?;
        Ok(())
    }

    /// The chain ids this set holds (directories named by 64 hex digits).
    pub fn chains(&self) -> Result<Vec<String>> {
        Ok(self
            .names()?
            .into_iter()
            .filter(|name| is_chain_id(name))
            .collect())
    }

    /// Unfinished unpacks: `.tmp-<chain>` directories, with their chain.
    pub fn temps(&self) -> Result<Vec<(PathBuf, String)>> {
        Ok(self
            .names()?
            .into_iter()
            .filter_map(|name| {
                let chain = name.strip_prefix(TEMP_PREFIX)?.to_string();
                Some((self.base.join(&name), chain))
            })
            .collect())
    }

    fn names(&self) -> Result<Vec<String>> {
        let entries = fs::read_dir(&self.base).map_err(StorageError::io("listing", &self.base))?;
        Ok(entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
            .collect())
    }
}

/// Whether `name` looks like a chain id in hex.
pub fn is_chain_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes `path` and everything below it; missing is not an error.
pub fn remove_tree(path: &Path) -> Result<(), StorageError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StorageError::io("removing", path)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_are_64_hex_digits() {
        assert!(is_chain_id(&"a1".repeat(32)));
        assert!(!is_chain_id("l"));
        assert!(!is_chain_id("locks"));
        assert!(!is_chain_id(&format!(".tmp-{}", "a".repeat(64))));
        assert!(!is_chain_id(&"g".repeat(64)));
    }
}
