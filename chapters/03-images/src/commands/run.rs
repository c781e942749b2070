//! `run IMAGE [CMD…]`: chapter 01's run, on a root filesystem unpacked from an image.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use berth_engine::cli::RunArgs;
use berth_engine::state::{lock, new_id};
use berth_engine::{Engine, Error, Result, RootFilesystem};
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
    let runs = engine.paths.root_dir("rootfs")?;
    sweep_abandoned(engine, driver, &runs);
    let dir = runs.join(&id);
    let _claim = claim(&runs, &dir)?;
    let result = driver
        .create(engine, image.id.as_ref(), &dir, true)
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

/// Held while a run's directory is made and locked, and while the sweep looks
/// for abandoned ones: so the sweep never takes a directory not yet locked.
const RUNS_LOCK: &str = ".lock";

/// Makes the run's directory and locks it for as long as the run lasts; a
/// directory whose lock is free belongs to a run that was killed.
fn claim(runs: &Path, dir: &Path) -> Result<File> {
    let failed = |e: std::io::Error| Error::usage(format!("creating {}: {e}", dir.display()));
    let _guard = lock(&runs.join(RUNS_LOCK)).map_err(failed)?;
    fs::create_dir(dir).map_err(failed)?;
    let held = File::open(dir).map_err(failed)?;
    held.lock().map_err(failed)?;
    Ok(held)
}

/// Removes, through the root-filesystem driver (an overlay is unmounted), the
/// directories of runs that were killed before they could clean up.
fn sweep_abandoned(engine: &Engine, driver: &dyn RootFilesystem, runs: &Path) {
    let abandoned: Vec<(PathBuf, File)> = {
        let Ok(_guard) = lock(&runs.join(RUNS_LOCK)) else {
            return;
        };
        let Ok(entries) = fs::read_dir(runs) else {
            return;
        };
        entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|entry| {
                let held = File::open(entry.path()).ok()?;
                held.try_lock().ok()?;
                Some((entry.path(), held))
            })
            .collect()
    };
    for (dir, _held) in abandoned {
        let _ = driver.remove(engine, &dir);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// docker's answer for an image that is not in the store, and what to do here.
fn missing_image(wanted: &str) -> Error {
    let shown = Reference::parse(wanted)
        .map(|r| r.with_default_tag().familiar())
        .unwrap_or_else(|_| wanted.to_string());
    eprintln!("Unable to find image '{shown}' locally");
    Error::usage("pulling images is taught in chapter 08 (registry)")
        .hint("load the image first: load -i IMAGE.tar, or import a root filesystem tarball")
}
