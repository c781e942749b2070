//! `ch01 run --rootfs DIR CMD…`: write a bundle and run it.
//!
//! This is the whole of a container engine at its smallest: make a directory,
//! write a `config.json` that every registered chapter has had its say in, and
//! hand it to the runtime. Chapter 03 replaces `--rootfs` with an image; chapter
//! 04 puts a supervisor between the CLI and the runtime.

use std::fs;
use std::path::PathBuf;

use berth_engine::cli::RunArgs;
use berth_engine::error::Context;
use berth_engine::gate::taught_in;
use berth_engine::state::{atomic_write, ensure_private_dir, new_id};
use berth_engine::{ContainerPlan, Engine, Error, Result};

use crate::runtime;

// ANCHOR: run
/// Runs `run --rootfs DIR CMD…` in the foreground and returns the container's
/// exit status.
pub fn run(engine: &Engine, args: &RunArgs) -> Result<i32> {
    let Some(rootfs) = &args.rootfs else {
        return Err(taught_in("run IMAGE", 3)
            .hint("in this chapter, pass --rootfs DIR followed by the command"));
    };
    let rootfs = root_filesystem(rootfs)?;
    run_container(engine, args, &new_id(), rootfs, None, args.args.clone())
}

/// Runs a container in the foreground on a prepared root filesystem: writes its
/// bundle, hands it to the runtime, removes the bundle. Chapter 03 calls this with
/// a root filesystem unpacked from an image.
pub fn run_container(
    engine: &Engine,
    args: &RunArgs,
    id: &str,
    rootfs: PathBuf,
    image: Option<String>,
    process_args: Vec<String>,
) -> Result<i32> {
    runtime::require_root()?;
    let bundle = engine.paths.run_dir("bundles")?.join(id);
    ensure_private_dir(&bundle)?;
    let plan = ContainerPlan {
        id: id.to_string(),
        args,
        bundle: bundle.clone(),
        rootfs,
        image,
        process_args,
    };
    let result = write_bundle(engine, &plan).and_then(|()| {
        if !args.interactive {
            stdin_from_dev_null()?;
        }
        runtime::run(engine, &bundle, id, None)
    });
    // The bundle is this run's alone: it goes whether the container ran or not.
    let _ = fs::remove_dir_all(&bundle);
    result
}
// ANCHOR_END: run

/// Builds the spec with every registered chapter's edit and writes `config.json`.
pub fn write_bundle(engine: &Engine, plan: &ContainerPlan) -> Result<()> {
    let spec = engine.build_spec(plan)?;
    let json = serde_json::to_vec_pretty(&spec).context(|| "serializing config.json".into())?;
    let config = plan.bundle.join("config.json");
    atomic_write(&config, &json).context(|| format!("writing {}", config.display()))
}

/// Checks `--rootfs` names a directory and returns it absolute, symlinks resolved
/// (runc wants `root.path` absolute and not a symlink).
pub fn root_filesystem(dir: &str) -> Result<PathBuf> {
    let path = fs::canonicalize(dir).map_err(|e| {
        Error::usage(format!("rootfs {dir}: {e}"))
            .hint("pass --rootfs DIR, a directory holding a root filesystem")
    })?;
    if !path.is_dir() {
        return Err(Error::usage(format!("rootfs {dir} is not a directory"))
            .hint("pass --rootfs DIR, a directory holding a root filesystem"));
    }
    Ok(path)
}

/// Without `-i` the container's stdin is closed, as in docker: it reads end of file.
fn stdin_from_dev_null() -> Result<()> {
    let null = fs::File::open("/dev/null").context(|| "opening /dev/null".into())?;
    nix::unistd::dup2_stdin(null).context(|| "redirecting stdin".into())
}
