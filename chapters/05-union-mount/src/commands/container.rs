//! A container as chapter 05's commands see it: its record, its directory and
//! where its files are, whichever driver made its root.

use std::fs;
use std::path::{Path, PathBuf};

use berth_engine::{Engine, Error, Result};
use berth_images::rootfs::unpack_image;
use berth_images::store::Store;
use berth_lifecycle::commands::World;
use berth_lifecycle::record::ContainerRecord;

use crate::storage::{ContainerLayers, STORAGE_RECORD, container_layers};

/// What can keep a command from reaching a container's files.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// A container run with `--rootfs`: its files are the user's directory, with
    /// no image below to compare them with or to commit onto.
    #[error("container {id} runs on a directory of its own (--rootfs), not on an image")]
    ExternalRootfs {
        /// The container's id.
        id: String,
    },
    /// The image of a container made by chapter 03's copy could not be unpacked
    /// to compare the container with.
    #[error("unpacking the image of container {id} to compare with: {reason}")]
    Unpack {
        /// The container's id.
        id: String,
        /// What went wrong.
        reason: String,
    },
}

impl From<ContainerError> for Error {
    fn from(e: ContainerError) -> Self {
        match e {
            ContainerError::ExternalRootfs { .. } => Error::failed(e.to_string())
                .hint("run the container from an image to use diff, commit and export"),
            ContainerError::Unpack { .. } => {
                Error::failed(e.to_string()).hint("check that its image is still in `images`")
            }
        }
    }
}

/// A container found by name, id or id prefix.
pub struct Target<'a> {
    /// The records and names it was found in.
    pub world: World<'a>,
    /// Its record, reconciled with the kernel.
    pub record: ContainerRecord,
    /// Its directory (the bundle).
    pub dir: PathBuf,
}

impl<'a> Target<'a> {
    /// Finds the container `given` names.
    pub fn find(engine: &'a Engine, given: &str) -> Result<Self> {
        let world = World::open(engine)?;
        let record = world.find(given)?;
        let dir = world.containers.dir(&record.id);
        Ok(Target { world, record, dir })
    }

    /// Refuses a container run on a directory of its own (`--rootfs`): it has
    /// no image to compare with or to commit onto.
    pub fn require_image(&self) -> Result<()> {
        match self.record.external_rootfs {
            Some(_) => Err(ContainerError::ExternalRootfs {
                id: self.record.id.clone(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &'a Engine {
        self.world.engine
    }

    /// Where its files are. A container made before chapter 05 (chapter 03's
    /// copy, no `storage.json`) is a copy of its image, and its image is
    /// unpacked once more into a scratch directory to compare it with.
    pub fn layers(&self) -> Result<Layers> {
        self.require_image()?;
        if self.dir.join(STORAGE_RECORD).exists() {
            return Ok(Layers {
                layers: container_layers(self.engine(), &self.dir)?,
                _scratch: None,
            });
        }
        let scratch = Scratch::new(self.engine(), &self.record.id)?;
        let unpacked = (|| -> Result<()> {
            let store = Store::open(&self.engine().paths)?;
            let image_id = self.record.image_id.as_deref().unwrap_or_default();
            let image = store.resolve(image_id)?;
            unpack_image(&store, &image, &scratch.0)
        })();
        unpacked.map_err(|e| ContainerError::Unpack {
            id: self.record.id.clone(),
            reason: e.message().to_string(),
        })?;
        Ok(Layers {
            layers: ContainerLayers::Copy {
                rootfs: self.dir.join("rootfs"),
                image: scratch.0.clone(),
            },
            _scratch: Some(scratch),
        })
    }
}

/// A container's layers, with the scratch directory (if any) they borrow.
pub struct Layers {
    /// Where the files are.
    pub layers: ContainerLayers,
    _scratch: Option<Scratch>,
}

/// A directory under `BERTH_ROOT/tmp`, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A new, empty scratch directory named after `what`.
    pub fn new(engine: &Engine, what: &str) -> Result<Self> {
        let tmp = engine
            .paths
            .root_dir("tmp")
            .map_err(|e| Error::failed(format!("creating the scratch directory: {e}")))?;
        let dir = tmp.join(format!(
            "{}-{}",
            berth_engine::state::short_id(what),
            berth_engine::state::new_id()
        ));
        fs::create_dir(&dir)
            .map_err(|e| Error::failed(format!("creating {}: {e}", dir.display())))?;
        Ok(Scratch(dir))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
