//! `ch01 run --rootfs DIR CMD…`: write a bundle and run it.
//!
//! This is the whole of a container engine at its smallest: make a directory,
//! write a `config.json` that every registered chapter has had its say in, and
//! hand it to the runtime. Chapter 03 replaces `--rootfs` with an image; chapter
//! 04 puts a supervisor between the CLI and the runtime.

use std::fs;
use std::path::{Path, PathBuf};

use berth_engine::cli::{RunArgs, RuntimeCommand};
use berth_engine::error::Context;
use berth_engine::gate::taught_in;
use berth_engine::state::{Durability, ensure_private_dir, lock, new_id, replace};
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
    runtime::require_root()?;
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
    let bundles = engine.paths.run_dir("bundles")?;
    sweep_abandoned(engine, &bundles);
    // Held for the whole run: a bundle whose lock is free belongs to a run that
    // was killed, and the next run cleans it up.
    let in_use = lock(&bundles.join(format!("{id}.lock")))?;
    let bundle = bundles.join(id);
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
    let _ = fs::remove_file(bundles.join(format!("{id}.lock")));
    drop(in_use);
    result
}

// ANCHOR: sweep_abandoned
/// Cleans up after runs that were killed (`kill -9` of `ch01`): their container
/// died with them (the init asked for SIGKILL when its parent dies), but their
/// bundle, runtime state and cgroup are still there: `runtime delete` releases
/// the last two (the state keeps a copy of the spec, which names the cgroup). A
/// run's lock file is free only when the run is gone.
fn sweep_abandoned(engine: &Engine, bundles: &Path) {
    let Ok(entries) = fs::read_dir(bundles) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".lock"))
        else {
            continue;
        };
        let Ok(file) = fs::File::open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        let delete = RuntimeCommand::Delete {
            force: true,
            id: id.to_string(),
        };
        let _ = runtime::command(engine, &delete);
        let _ = fs::remove_dir_all(bundles.join(id));
        let _ = fs::remove_file(&path);
    }
}
// ANCHOR_END: sweep_abandoned
// ANCHOR_END: run

/// Builds the spec with every registered chapter's edit and writes `config.json`.
/// Its data is on disk before the record that names the container is (unless
/// the container is removed as it ends, see [`Durability::of_container`]); a
/// foreground run's bundle lives under `BERTH_RUN`, which a reboot clears.
pub fn write_bundle(engine: &Engine, plan: &ContainerPlan) -> Result<()> {
    let spec = engine.build_spec(plan)?;
    let json = serde_json::to_vec_pretty(&spec).context(|| "serializing config.json".into())?;
    let config = plan.bundle.join("config.json");
    replace(&config, &json, Durability::of_container(plan.args.rm))
        .context(|| format!("writing {}", config.display()))
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
