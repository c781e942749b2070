//! A container's root filesystem, made by copying: every layer of the image
//! unpacked, in order, into one fresh directory.
//!
//! This is the simplest thing that works, and its cost grows with the image:
//! chapter 05 replaces it with an overlay mount of layers unpacked once.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use berth_engine::{Engine, Error, Result, RootFilesystem};
use oci_spec::image::ImageConfiguration;
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

    fn create(&self, engine: &Engine, image_id: &str, dir: &Path) -> Result<()> {
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
    fs::create_dir_all(dir)
        .map_err(|e| Error::usage(format!("creating {}: {e}", dir.display())))?;
    let limits = Limits::from_env()?;
    for (descriptor, diff_id) in layers.iter().zip(diff_ids) {
        let mut blob = HashingReader::new(store.open_blob(descriptor.digest())?);
        let stats = layer::unpack_layer(dir, &mut blob, WhiteoutMode::Apply, &limits)
            .map_err(|e| Error::from(e).code(125))?;
        // The tar ends before the compressed stream does; hash the rest too.
        io::copy(&mut blob, &mut io::sink())
            .map_err(|e| Error::usage(format!("reading layer {}: {e}", descriptor.digest())))?;
        let digest = blob.finish();
        if digest != descriptor.digest().to_string() {
            return Err(corrupt(descriptor.digest().to_string(), digest));
        }
        if stats.diff_id != *diff_id {
            return Err(corrupt(diff_id.clone(), stats.diff_id));
        }
    }
    Ok(())
}
// ANCHOR_END: unpack_image

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
