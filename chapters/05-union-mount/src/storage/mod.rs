//! Where chapter 05 keeps its files, and what a container's storage record says.
//!
//! ```text
//! BERTH_ROOT/layers/<chain-id hex>/diff   one layer, unpacked once, whiteouts as overlayfs reads them
//! BERTH_ROOT/layers/<chain-id hex>/link   its short name
//! BERTH_ROOT/layers/<chain-id hex>/init   the init layer of images whose top layer this is
//! BERTH_ROOT/layers/l/<short>             -> ../<chain-id hex>/diff
//! BERTH_ROOT/layers/locks/<chain>.lock    held while the layer is unpacked or collected
//! BERTH_ROOT/layers/vfs/<chain-id hex>/diff  vfs: the whole tree up to that layer
//! BERTH_ROOT/containers/<id>/storage.json which driver made the root, from which layers
//! BERTH_ROOT/containers/<id>/init         the init layer of older containers (overlay)
//! BERTH_ROOT/containers/<id>/upper, work  the container's own layer (overlay)
//! BERTH_ROOT/containers/<id>/rootfs       the overlay's mount point, or the vfs copy
//! ```

pub mod collect;
pub mod copy;
pub mod driver;
pub mod error;
pub mod init_layer;
pub mod layers;
pub mod lock;
pub mod overlay;
pub mod select;

use std::fs;
use std::path::{Path, PathBuf};

use berth_engine::{Engine, Error, Result};
use serde::{Deserialize, Serialize};

/// The file in a container's directory that says how its root was made.
pub const STORAGE_RECORD: &str = "storage.json";

/// Which driver made a container's root filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriverKind {
    /// An overlay mount over shared layers.
    #[serde(rename = "overlay2")]
    Overlay,
    /// A plain copy of the image's flattened tree.
    #[serde(rename = "vfs")]
    Vfs,
}

/// `storage.json`: written by `create`, read by every later command, so that a
/// container keeps the driver it was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageRecord {
    /// The driver that made the root.
    pub driver: DriverKind,
    /// The image the root was made from.
    pub image: String,
    /// The chain ids (hex, no `sha256:`) of the image's layers, bottom first.
    pub chain: Vec<String>,
    /// Mounted with overlay's `volatile` (no syncs): the container is removed
    /// when it ends, so its writes need not survive a crash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub volatile: bool,
    /// The init layer is the image's, shared (`layers/<top chain>/init`);
    /// containers made before it was shared have their own (`<dir>/init`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_init: bool,
}

impl StorageRecord {
    /// Reads the record in the container directory `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(STORAGE_RECORD);
        let bytes = fs::read(&path)
            .map_err(|e| Error::failed(format!("reading {}: {e}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::failed(format!("reading {}: {e}", path.display())))
    }
}

/// The directory holding the layer cache.
pub fn layers_root(engine: &Engine) -> Result<PathBuf> {
    Ok(engine.paths.root_dir("layers")?)
}

/// Where a container's files are, as its driver laid them out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerLayers {
    /// An overlay: the container's own changes in `upper`, over the init layer
    /// and the image's layers (read-only).
    Overlay {
        /// What the container wrote, in overlayfs's format (whiteouts are 0:0
        /// character devices, opaque directories carry `trusted.overlay.opaque`).
        upper: PathBuf,
        /// The init layer: what berth adds for every container.
        init: PathBuf,
        /// The image's layers, top first.
        lowers: Vec<PathBuf>,
    },
    /// A plain copy: the whole tree in `rootfs`, made from the flattened `image` tree.
    Copy {
        /// The container's tree.
        rootfs: PathBuf,
        /// The image's flattened tree it was copied from (compare to find changes).
        image: PathBuf,
    },
}

// ANCHOR: container_layers
/// The layers of the container whose directory is `dir`.
pub fn container_layers(engine: &Engine, dir: &Path) -> Result<ContainerLayers> {
    let record = StorageRecord::load(dir)?;
    let layers = layers_root(engine)?;
    Ok(match record.driver {
        DriverKind::Overlay => ContainerLayers::Overlay {
            upper: dir.join("upper"),
            init: init_dir(&layers, dir, &record),
            lowers: record
                .chain
                .iter()
                .rev()
                .map(|chain| layers.join(chain).join("diff"))
                .collect(),
        },
        DriverKind::Vfs => ContainerLayers::Copy {
            rootfs: dir.join("rootfs"),
            image: match record.chain.last() {
                Some(top) => layers.join("vfs").join(top).join("diff"),
                None => layers.join("vfs").join("empty"),
            },
        },
    })
}
// ANCHOR_END: container_layers

/// The directory name of an init layer, in a layer's or a container's directory.
pub const INIT_DIR: &str = "init";

/// Where the init layer of an overlay container is: its image's shared one
/// under `layers`, or, for a container made before they were shared, its own.
pub fn init_dir(layers: &Path, dir: &Path, record: &StorageRecord) -> PathBuf {
    match record.chain.last() {
        Some(top) if record.shared_init => layers.join(top).join(INIT_DIR),
        _ => dir.join(INIT_DIR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_record_keeps_its_own_init_layer_and_a_new_one_shares_the_image_s() {
        let top = "b".repeat(64);
        let old = format!(r#"{{"driver":"overlay2","image":"x","chain":["{top}"]}}"#);
        let old: StorageRecord = serde_json::from_str(&old).unwrap();
        let (layers, dir) = (Path::new("/s/layers"), Path::new("/s/containers/c"));
        assert_eq!(init_dir(layers, dir, &old), dir.join("init"));
        let new = StorageRecord {
            shared_init: true,
            ..old
        };
        assert_eq!(init_dir(layers, dir, &new), layers.join(&top).join("init"));
        let written = serde_json::to_string(&new).unwrap();
        assert!(written.contains(r#""shared_init":true"#), "{written}");
    }
}
