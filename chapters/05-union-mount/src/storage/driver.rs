//! Chapter 05's root-filesystem driver: it replaces chapter 03's copy in the
//! engine's slot. New containers get an overlay (or a vfs copy where overlay
//! cannot work); every later step follows the container's `storage.json`, so
//! a container keeps the driver it was made with.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_engine::state::{Durability, replace};
use berth_engine::{Engine, Result, RootFilesystem};
use berth_images::store::Store;
use nix::unistd::{Gid, Uid, chown};

use super::copy::copy_tree;
use super::error::StorageError;
use super::layers::{HeldChain, ImageChain, LayerFormat, LayerSet, SHORT_LINKS, remove_tree};
use super::overlay::{self, is_overlay_mount, mount_from, relative_to_layers};
use super::{
    DriverKind, INIT_DIR, STORAGE_RECORD, StorageRecord, collect, init_dir, init_layer, select,
};

/// The directories a container's storage is made of, under its own directory
/// (and `init`, for an image without layers or a container made before init
/// layers were shared).
const CONTAINER_DIRS: [&str; 3] = ["upper", "work", "rootfs"];

/// The prefix of a shared init layer being written, in its layer's directory.
const INIT_TEMP: &str = ".tmp-init";

/// Overlay over shared layers, or a vfs copy: chapter 05's storage.
pub struct UnionStorage;

impl RootFilesystem for UnionStorage {
    fn name(&self) -> &'static str {
        let paths = berth_engine::state::Paths::from_env();
        match select::selected("berth", &paths.root) {
            Ok(DriverKind::Vfs) => "vfs",
            Ok(DriverKind::Overlay) | Err(_) => "overlay2",
        }
    }

    // ANCHOR: storage_create
    fn create(&self, engine: &Engine, image_id: &str, dir: &Path, ephemeral: bool) -> Result<()> {
        let driver = select::selected(engine.program(), &engine.paths.root)?;
        let store = Store::open(&engine.paths)?;
        let image = store.resolve(image_id)?;
        let chain = ImageChain::of(&store, &image)?;
        let made = match driver {
            DriverKind::Overlay => create_overlay(engine, &store, &chain, dir),
            DriverKind::Vfs => create_vfs(engine, &store, &chain, dir).map(|held| (false, held)),
        }
        // The layers stay locked (`_held`) until the record names them, so
        // that `collect` never takes them from under a container being made.
        .and_then(|(shared_init, _held)| {
            // Last: until the record exists, nothing else uses these files. Its
            // directory entry is made durable with the container's record, written
            // after it in the same directory.
            let record = StorageRecord {
                driver,
                image: image.id.to_string(),
                chain: chain.chain.clone(),
                volatile: ephemeral && driver == DriverKind::Overlay,
                shared_init,
            };
            let bytes = serde_json::to_vec_pretty(&record).expect("a record serialises");
            let path = dir.join(STORAGE_RECORD);
            replace(&path, &bytes, Durability::of_container(ephemeral))
                .map_err(|e| StorageError::io("writing", &path)(e).into())
        });
        if made.is_err() {
            let _ = self.remove(engine, dir);
        }
        made
    }
    // ANCHOR_END: storage_create

    // ANCHOR: storage_mount
    fn mount(&self, engine: &Engine, dir: &Path) -> Result<()> {
        let record = StorageRecord::load(dir)?;
        let rootfs = dir.join("rootfs");
        if record.driver == DriverKind::Vfs || is_overlay_mount(&rootfs)? {
            return Ok(());
        }
        let layers = LayerSet::open(engine, LayerFormat::Overlay)?;
        let base = layers.base();
        let relative = |name: &str| relative_to_layers(base, &dir.join(name));
        let init = init_dir(base, dir, &record);
        let mut lowers = vec![relative_to_layers(base, &init).display().to_string()];
        for chain in record.chain.iter().rev() {
            lowers.push(format!("{SHORT_LINKS}/{}", layers.short_name(chain)?));
        }
        let options = overlay::options(
            &lowers,
            &relative("upper").display().to_string(),
            &relative("work").display().to_string(),
        )?;
        // A `--rm` container's writes go with it: `volatile` skips the sync of
        // the whole upper file system at unmount (podman does the same). Kernels
        // before 5.10 refuse the option; they get the plain mount.
        if record.volatile && mount_from(base, &format!("{options},volatile"), &rootfs).is_ok() {
            return Ok(());
        }
        mount_from(base, &options, &rootfs)?;
        Ok(())
    }
    // ANCHOR_END: storage_mount

    fn unmount(&self, _engine: &Engine, dir: &Path) -> Result<()> {
        Ok(overlay::unmount(&dir.join("rootfs"))?)
    }

    fn remove(&self, _engine: &Engine, dir: &Path) -> Result<()> {
        overlay::unmount(&dir.join("rootfs"))?;
        for name in CONTAINER_DIRS.iter().chain([&INIT_DIR]) {
            remove_tree(&dir.join(name))?;
        }
        // The record goes last: while it exists, its layers are kept.
        let record = dir.join(STORAGE_RECORD);
        match fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StorageError::io("removing", &record)(e).into())
            }
            _ => Ok(()),
        }
    }

    fn collect(&self, engine: &Engine) -> Result<u64> {
        collect::collect(engine)
    }
}

// ANCHOR: create_overlay
/// The overlay's directories: the image's layers unpacked and its init layer
/// (both shared), and the container's own upper and work directories and its
/// mount point. Says whether the init layer is the shared one.
fn create_overlay(
    engine: &Engine,
    store: &Store,
    chain: &ImageChain,
    dir: &Path,
) -> Result<(bool, HeldChain)> {
    let layers = LayerSet::open(engine, LayerFormat::Overlay)?;
    // The layers stay locked until the record names them (see create).
    let held = layers.ensure(store, chain)?;
    for name in CONTAINER_DIRS {
        let path = dir.join(name);
        fs::create_dir(&path).map_err(StorageError::io("creating", &path))?;
    }
    let Some(top) = chain.chain.last() else {
        // No layer to keep a shared init layer in: the container has its own.
        let init = dir.join(INIT_DIR);
        fs::create_dir(&init).map_err(StorageError::io("creating", &init))?;
        init_layer::write(&init, &[])?;
        return Ok((false, held));
    };
    let lowers: Vec<PathBuf> = chain.chain.iter().rev().map(|c| layers.diff(c)).collect();
    let lowers: Vec<&Path> = lowers.iter().map(PathBuf::as_path).collect();
    // The merged root takes its owner and mode from the topmost layer that
    // has it, here the upper directory: give it the image's.
    let meta = fs::symlink_metadata(lowers[0]).map_err(StorageError::io("reading", lowers[0]))?;
    like(&dir.join("upper"), &meta)?;
    ensure_shared_init(&layers, top, &lowers, &meta)?;
    Ok((true, held))
}
// ANCHOR_END: create_overlay

// ANCHOR: shared_init
/// Makes the init layer of the images whose top layer is `top`, once: its
/// content depends only on the layers below it, so every container of those
/// images shares it (read-only, as a lower directory). Written aside, then
/// renamed into place like a layer; the caller holds `top`'s lock, so a
/// leftover temp dir is a dead create's.
fn ensure_shared_init(
    layers: &LayerSet,
    top: &str,
    lowers: &[&Path],
    root: &fs::Metadata,
) -> Result<()> {
    let init = layers.base().join(top).join(INIT_DIR);
    if init.is_dir() {
        return Ok(());
    }
    let temp = layers.base().join(top).join(INIT_TEMP);
    remove_tree(&temp)?;
    fs::create_dir(&temp).map_err(StorageError::io("creating", &temp))?;
    let made = like(&temp, root)
        .and_then(|()| init_layer::write(&temp, lowers))
        .and_then(|()| fs::rename(&temp, &init).map_err(StorageError::io("renaming into", &init)));
    if made.is_err() {
        let _ = remove_tree(&temp);
    }
    Ok(made?)
}
// ANCHOR_END: shared_init

/// A container's copy of the image's flattened tree, with the init entries
/// it lacks added.
fn create_vfs(engine: &Engine, store: &Store, chain: &ImageChain, dir: &Path) -> Result<HeldChain> {
    let layers = LayerSet::open(engine, LayerFormat::Flattened)?;
    let held = layers.ensure(store, chain)?;
    let rootfs = dir.join("rootfs");
    match chain.chain.last() {
        Some(top) => copy_tree(&layers.diff(top), &rootfs)?,
        None => {
            // `container_layers` names this empty tree as the image to compare with.
            let empty = layers.base().join("empty");
            berth_engine::state::ensure_private_dir(&empty)
                .map_err(StorageError::io("creating", &empty))?;
            fs::create_dir(&rootfs).map_err(StorageError::io("creating", &rootfs))?
        }
    }
    init_layer::write(&rootfs, &[rootfs.as_path()])?;
    Ok(held)
}

/// Gives `path` the owner and mode of `meta`.
fn like(path: &Path, meta: &fs::Metadata) -> Result<(), StorageError> {
    chown(
        path,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
    )
    .map_err(|e| StorageError::io("setting the owner of", path)(e.into()))?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(StorageError::io("setting the mode of", path))
}
