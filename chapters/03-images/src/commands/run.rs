//! `run IMAGE [CMD…]`: chapter 01's run, on a root filesystem unpacked from an image.

use std::fs;

use berth_engine::cli::RunArgs;
use berth_engine::state::new_id;
use berth_engine::{Engine, Error, Result};
use berth_isolation::run::run_container;

use crate::image_config::{image_run_config, process_args};
use crate::reference::Reference;
use crate::store::Store;

// ANCHOR: run_image
/// Runs `run IMAGE [CMD…]` in the foreground. With `--rootfs` it is chapter 01's
/// run unchanged.
pub fn run(engine: &Engine, args: &RunArgs) -> Result<i32> {
    if args.rootfs.is_some() {
        return berth_isolation::run::run(engine, args);
    }
    let (wanted, cmd) = args.args.split_first().expect("clap requires IMAGE");
    let store = Store::open(&engine.paths)?;
    let image = match store.resolve(wanted) {
        Ok(image) => image,
        Err(_) => return Err(missing_image(wanted)),
    };
    let config = image_run_config(engine, image.id.as_ref())?;
    let process = process_args(&config, args.entrypoint.as_deref(), cmd)?;
    let id = new_id();
    // A root per container, thrown away when it ends: this chapter's driver
    // copies the image, chapter 05's mounts an overlay.
    let driver = engine
        .root_filesystem()
        .expect("chapter 03 offers a root-filesystem driver");
    let dir = engine.paths.root_dir("rootfs")?.join(&id);
    fs::create_dir_all(&dir)
        .map_err(|e| Error::usage(format!("creating {}: {e}", dir.display())))?;
    let result = driver
        .create(engine, image.id.as_ref(), &dir)
        .and_then(|()| driver.mount(engine, &dir))
        .and_then(|()| {
            run_container(
                engine,
                args,
                &id,
                dir.join("rootfs"),
                Some(image.id.to_string()),
                process,
            )
        });
    let _ = driver.remove(engine, &dir);
    let _ = fs::remove_dir_all(&dir);
    result
}
// ANCHOR_END: run_image

/// docker's answer for an image that is not in the store, and what to do here.
fn missing_image(wanted: &str) -> Error {
    let shown = Reference::parse(wanted)
        .map(|r| r.with_default_tag().familiar())
        .unwrap_or_else(|_| wanted.to_string());
    eprintln!("Unable to find image '{shown}' locally");
    Error::usage("pulling images is taught in chapter 08 (registry)")
        .hint("load the image first: load -i IMAGE.tar, or import a root filesystem tarball")
}
