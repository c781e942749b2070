//! A container's root filesystem, made by copying: every layer of the image
//! unpacked, in order, into one fresh directory.
//!
//! This is the simplest thing that works, and its cost grows with the image:
//! chapter 05 replaces it with an overlay mount of layers unpacked once.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use berth_engine::{Engine, Error, Result, RootFilesystem};
use oci_spec::image::{Descriptor, ImageConfiguration};
use sha2::{Digest as _, Sha256};

use crate::layer::{self, Limits, WhiteoutMode};
use crate::store::{ImageRecord, Store};

// ANCHOR: copy_driver
/// Chapter 03's root-filesystem driver: a full copy of the image per container.
pub struct CopyRootfs;

impl RootFilesystem for CopyRootfs {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn create(&self, engine: &Engine, image_id: &str, dir: &Path, _ephemeral: bool) -> Result<()> {
        let store = Store::open(&engine.paths)?;
        let image = store.resolve(image_id)?;
        let rootfs = dir.join("rootfs");
        unpack_image(&store, &image, &rootfs).inspect_err(|_| {
            let _ = fs::remove_dir_all(&rootfs);
        })
    }

    // A copy is ready as soon as it is made.
    fn mount(&self, _engine: &Engine, _dir: &Path) -> Result<()> {
        Ok(())
    }

    fn unmount(&self, _engine: &Engine, _dir: &Path) -> Result<()> {
        Ok(())
    }

    fn remove(&self, _engine: &Engine, dir: &Path) -> Result<()> {
        match fs::remove_dir_all(dir.join("rootfs")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::failed(format!(
                "removing {}: {e}",
                dir.join("rootfs").display()
            ))),
            _ => Ok(()),
        }
    }
}
// ANCHOR_END: copy_driver

/// The most layers an image may have: overlayfs's limit, which docker enforces
/// for every storage driver.
pub const MAX_LAYERS: usize = 127;

// ANCHOR: unpack_image
/// Unpacks every layer of `image` into `dir`, checking each blob against its
/// digest and each uncompressed stream against the config's `diff_ids`. On error
/// `dir` is half-made: the caller removes it.
pub fn unpack_image(store: &Store, image: &ImageRecord, dir: &Path) -> Result<()> {
    let layers = image_layers(store, image)?;
    fs::create_dir_all(dir)
        .map_err(|e| Error::usage(format!("creating {}: {e}", dir.display())))?;
    let limits = Limits::from_env()?;
    for layer in &layers {
        unpack_verified(store, layer, dir, WhiteoutMode::Apply, &limits)?;
    }
    Ok(())
}
// ANCHOR_END: unpack_image

/// One layer of an image: its blob in the store and the digest of its
/// uncompressed stream.
#[derive(Debug, Clone)]
pub struct ImageLayer {
    /// The (possibly compressed) blob, as the manifest lists it.
    pub descriptor: Descriptor,
    /// `sha256:…` of the uncompressed tar, from the config's `diff_ids`.
    pub diff_id: String,
}

/// The layers of `image`, bottom first, after checking that there are at most
/// [`MAX_LAYERS`] and that the manifest and the config agree on their number.
pub fn image_layers(store: &Store, image: &ImageRecord) -> Result<Vec<ImageLayer>> {
    let manifest = store.manifest(image)?;
    let config: ImageConfiguration = store.config(image)?;
    let layers = manifest.layers();
    if layers.len() > MAX_LAYERS {
        return Err(Error::usage("max depth exceeded").hint(format!(
            "an image may have at most {MAX_LAYERS} layers; this one has {}",
            layers.len()
        )));
    }
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != layers.len() {
        return Err(Error::usage(format!(
            "image {} is inconsistent: {} layers but {} diff ids in its config",
            image.id,
            layers.len(),
            diff_ids.len()
        ))
        .hint("remove the image and load it again"));
    }
    Ok(layers
        .iter()
        .zip(diff_ids)
        .map(|(descriptor, diff_id)| ImageLayer {
            descriptor: descriptor.clone(),
            diff_id: diff_id.clone(),
        })
        .collect())
}

/// Unpacks one layer onto `dir`, verifying its blob digest and its diff id.
/// On error `dir` is half-made: the caller throws it away.
pub fn unpack_verified(
    store: &Store,
    layer: &ImageLayer,
    dir: &Path,
    mode: WhiteoutMode,
    limits: &Limits,
) -> Result<()> {
    let descriptor = &layer.descriptor;
    let mut blob = HashingReader::new(store.open_blob(descriptor.digest())?);
    let stats =
        layer::unpack_layer(dir, &mut blob, mode, limits).map_err(|e| Error::from(e).code(125))?;
    // The tar ends before the compressed stream does; hash the rest too.
    io::copy(&mut blob, &mut io::sink())
        .map_err(|e| Error::usage(format!("reading layer {}: {e}", descriptor.digest())))?;
    let digest = blob.finish();
    if digest != descriptor.digest().to_string() {
        return Err(corrupt(descriptor.digest().to_string(), digest));
    }
    if stats.diff_id != layer.diff_id {
        return Err(corrupt(layer.diff_id.clone(), stats.diff_id));
    }
    Ok(())
}

fn corrupt(expected: String, actual: String) -> Error {
    Error::usage(format!(
        "layer content does not match its digest: expected {expected}, got {actual}"
    ))
    .hint("the image store is corrupt; remove the image and load it again")
}

/// Passes bytes through while hashing them with SHA-256.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    fn finish(self) -> String {
        let hex: String = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
