//! Removing the layers nobody uses any more, after `rmi` and `image prune`.
//!
//! A layer is in use while an image in the store has it, or a container's
//! `storage.json` names it. The collector must never take a layer from a
//! create in progress: a create holds the lock of each of its layers from
//! before the unpack until its record is written, and the collector only
//! removes layers whose lock it holds, taken *before* it looks for users.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use berth_engine::{Engine, Result};
use berth_images::store::Store;

use super::layers::{
    ImageChain, LINK_FILE, LayerFormat, LayerSet, SHORT_LINKS, is_chain_id, remove_tree,
};
use super::lock::LayerLock;
use super::{STORAGE_RECORD, StorageRecord};

/// The directories under the state root that hold containers' storage:
/// chapter 04's containers and chapter 03's throw-away `run` roots.
const CONTAINER_HOMES: [&str; 2] = ["containers", "rootfs"];

// ANCHOR: collect_layers
/// Removes every unused layer of both formats; returns the bytes freed.
pub fn collect(engine: &Engine) -> Result<u64> {
    let mut freed = 0;
    for format in [LayerFormat::Overlay, LayerFormat::Flattened] {
        let layers = LayerSet::open(engine, format)?;
        // Locks first: a create that holds one is skipped; one that starts
        // later waits, and by then the layer is either kept or gone.
        let mut candidates = Vec::new();
        for chain in layers.chains()? {
            if let Some(lock) = try_lock(&layers, &chain)? {
                candidates.push((chain, lock));
            }
        }
        let used = chains_in_use(engine)?;
        for (chain, lock) in candidates {
            if used.contains(&chain) {
                continue;
            }
            freed += remove_layer(&layers, &chain)?;
            let _ = lock.remove_file();
        }
        remove_dead_unpacks(&layers)?;
        remove_dangling_links(&layers)?;
    }
    Ok(freed)
}
// ANCHOR_END: collect_layers

fn try_lock(layers: &LayerSet, chain: &str) -> Result<Option<LayerLock>> {
    let path = layers.lock_path(chain);
    Ok(LayerLock::try_acquire(&path).map_err(super::error::StorageError::io("locking", &path))?)
}

/// The chain ids every image in the store and every container's record names.
fn chains_in_use(engine: &Engine) -> Result<HashSet<String>> {
    let mut used = HashSet::new();
    let store = Store::open(&engine.paths)?;
    for image in store.images()? {
        // An image that cannot be read keeps nothing: a create of it fails anyway.
        if let Ok(chain) = ImageChain::of(&store, &image) {
            used.extend(chain.chain);
        }
    }
    for home in CONTAINER_HOMES {
        let Ok(entries) = fs::read_dir(engine.paths.root.join(home)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join(STORAGE_RECORD).exists() {
                used.extend(StorageRecord::load(&entry.path())?.chain);
            }
        }
    }
    Ok(used)
}

/// Removes one layer and its short link; returns its size in bytes.
fn remove_layer(layers: &LayerSet, chain: &str) -> Result<u64> {
    let dir = layers.base().join(chain);
    if let Ok(short) = fs::read_to_string(dir.join(LINK_FILE)) {
        let _ = fs::remove_file(layers.base().join(SHORT_LINKS).join(short.trim()));
    }
    let size = disk_usage(&dir);
    remove_tree(&dir)?;
    Ok(size)
}

/// `.tmp-<chain>` left by an unpack that was killed: its lock is free.
fn remove_dead_unpacks(layers: &LayerSet) -> Result<()> {
    for (temp, chain) in layers.temps()? {
        if let Some(lock) = try_lock(layers, &chain)? {
            remove_tree(&temp)?;
            if !layers.base().join(&chain).exists() {
                let _ = lock.remove_file();
            }
        }
    }
    Ok(())
}

/// Short links whose layer is gone. A link dangles for a while during an
/// unpack too (it is made before the rename), so it is removed only under its
/// layer's lock.
fn remove_dangling_links(layers: &LayerSet) -> Result<()> {
    let links = layers.base().join(SHORT_LINKS);
    let Ok(entries) = fs::read_dir(&links) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        // metadata() follows the link: an error means it points nowhere.
        if fs::metadata(entry.path()).is_ok() {
            continue;
        }
        let target = fs::read_link(entry.path()).unwrap_or_default();
        // `../<chain>/diff`
        let chain = target
            .parent()
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_string();
        if !is_chain_id(&chain) {
            let _ = fs::remove_file(entry.path());
            continue;
        }
        if let Some(lock) = try_lock(layers, &chain)?
            && fs::metadata(entry.path()).is_err()
        {
            let _ = fs::remove_file(entry.path());
            let _ = lock.remove_file();
        }
    }
    Ok(())
}

/// Bytes of the blocks a tree uses (what `du` counts), hard links once.
fn disk_usage(path: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if seen.insert((meta.dev(), meta.ino())) {
            total += meta.blocks() * 512;
        }
        if meta.is_dir()
            && let Ok(entries) = fs::read_dir(&path)
        {
            stack.extend(entries.flatten().map(|e| e.path()));
        }
    }
    total
}
