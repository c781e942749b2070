//! `rm [-f] CONTAINER…`: remove containers (killing running ones with `-f`).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_engine::cli::RmArgs;
use berth_engine::{Engine, Error, Result};
use nix::unistd::ForkResult;

use super::create::root_filesystem_driver;
use super::stop::signal_and_wait;
use super::{World, for_each};
use crate::events;
use crate::names::Names;
use crate::record::{ContainerRecord, Containers, abandoned_by_create};
use crate::state::{Action, Answer, decide};
use crate::supervisor::runtime::delete_leftovers;

/// The directory, under the state root, of removed containers' directories
/// waiting to be deleted.
pub const TRASH: &str = "trash";

/// `rm`: prints each name given; exit 1 after the rest if one failed.
pub fn rm(engine: &Engine, args: &RmArgs) -> Result<i32> {
    sweep_trash(engine);
    let mut trashed = Vec::new();
    let code = for_each(engine, &args.containers, |world, given| {
        let record = world.find(given)?;
        trashed.extend(remove_container(world, &record, args.force)?);
        Ok(())
    });
    Trashed::delete_in_background(engine, trashed);
    code
}

/// Removes one container from every view, as `rm` (or `rm -f`) does, and
/// returns what is left to delete, if anything.
pub fn remove_container(
    world: &World,
    record: &ContainerRecord,
    force: bool,
) -> Result<Option<Trashed>> {
    let action = if force {
        Action::ForceRemove
    } else {
        Action::Remove
    };
    if let Answer::Refuse(why) = decide(action, record.state.status) {
        return Err(Error::failed(why.message(
            &record.id,
            &record.id,
            record.state.status,
        )));
    }
    if record.state.status.is_active() {
        world
            .containers
            .update(&record.id, |r| r.state.stopped_by_user = true)?;
        signal_and_wait(world, record, libc::SIGKILL, Some(Duration::from_secs(10)))?;
    }
    let current = world
        .containers
        .load(&record.id)
        .unwrap_or_else(|_| record.clone());
    Ok(retire(world.engine, &current))
}

// ANCHOR: remove_record
/// Removes everything of a container that is not running: what the runtime
/// still holds, the directory (bundle, root filesystem, record, log), the name.
pub fn remove_record(engine: &Engine, record: &ContainerRecord) {
    if let Some(trashed) = retire(engine, record) {
        trashed.delete(engine);
    }
}

/// The first, cheap half of a removal: the runtime's leftovers go, then the
/// container is hidden ([`hide`]). What is left is deleting files, which
/// [`Trashed::delete`] does.
pub fn retire(engine: &Engine, record: &ContainerRecord) -> Option<Trashed> {
    delete_leftovers(&record.id);
    hide(engine, record)
}

/// The root's mount goes, the directory moves to `BERTH_ROOT/trash/<id>`, the
/// name is released and `destroy` is written: from then on no command sees
/// the container. The runtime's state is the caller's (a supervisor deletes
/// it in-process after `run --rm`'s client has been told the exit code).
pub fn hide(engine: &Engine, record: &ContainerRecord) -> Option<Trashed> {
    let mut trashed = None;
    if let Ok(containers) = Containers::open(engine) {
        let dir = containers.dir(&record.id);
        if record.external_rootfs.is_none() {
            let _ = root_filesystem_driver(engine).unmount(engine, &dir);
        }
        trashed = Trashed::move_from(engine, &dir, &record.id);
        if trashed.is_none() {
            // No trash to move it to: deleted in place, as a whole.
            if record.external_rootfs.is_none() {
                let _ = root_filesystem_driver(engine).remove(engine, &dir);
            }
            let _ = containers.remove(&record.id);
        }
    }
    if let Ok(names) = Names::open(engine) {
        names.release(&record.name, &record.id);
    }
    events::emit(engine, record, "destroy", &[]);
    trashed
}
// ANCHOR_END: remove_record

// ANCHOR: trash
/// A removed container's directory in `BERTH_ROOT/trash`, locked (flock on
/// the directory itself) by the process that deletes it, so that a sweep
/// leaves it alone while that process lives and takes it over if it died.
pub struct Trashed {
    dir: PathBuf,
    _lock: File,
}

impl Trashed {
    /// Locks `dir` and renames it to `trash/<id>`; `None` if either fails.
    fn move_from(engine: &Engine, dir: &Path, id: &str) -> Option<Self> {
        let lock = File::open(dir).ok()?;
        lock.lock().ok()?;
        Self::move_locked(engine, dir, id, lock)
    }

    /// Renames `dir`, whose lock `lock` holds, to `trash/<id>`.
    fn move_locked(engine: &Engine, dir: &Path, id: &str, lock: File) -> Option<Self> {
        let trash = engine.paths.root_dir(TRASH).ok()?;
        let target = trash.join(id);
        fs::rename(dir, &target).ok()?;
        Some(Trashed {
            dir: target,
            _lock: lock,
        })
    }

    /// Deletes the directory: the root-filesystem driver's part first (it
    /// knows its own layout and mounts), then the rest.
    pub fn delete(self, engine: &Engine) {
        let _ = root_filesystem_driver(engine).remove(engine, &self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }

    // ANCHOR: delete_in_background
    /// Deletes `trashed` in a child process, so that the command returns as
    /// soon as the containers are gone from every view; unlinking a
    /// container's dozen files and directories is most of an `rm`'s time.
    /// The child shares each lock (one open file, two descriptors), so a
    /// sweep leaves the directories to it while it lives, and takes them
    /// over if it is killed.
    pub fn delete_in_background(engine: &Engine, trashed: Vec<Trashed>) {
        if trashed.is_empty() {
            return;
        }
        // SAFETY: `rm` runs on one thread, so the child may run any code.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => {
                // Off the command's stdio: whoever reads its output sees the
                // end now, not when the files are gone.
                if let Ok(null) = fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")
                {
                    for fd in 0..=2 {
                        // SAFETY: dup2 onto the standard descriptors, which
                        // nothing else in this process uses any more.
                        unsafe { libc::dup2(null.as_raw_fd(), fd) };
                    }
                }
                let _ = nix::unistd::setsid();
                for one in trashed {
                    one.delete(engine);
                }
                // SAFETY: _exit leaves without the parent's atexit handlers.
                unsafe { libc::_exit(0) }
            }
            Ok(ForkResult::Parent { .. }) => {}
            Err(_) => trashed.into_iter().for_each(|one| one.delete(engine)),
        }
    }
    // ANCHOR_END: delete_in_background
}

// ANCHOR: sweep_unrecorded
/// Deletes the directory of container `id`, found without a record, if its
/// `create` died before writing one (see [`abandoned_by_create`]). What the
/// dead command (or its supervisor) made goes the way a removal's does; its
/// name, which pointed at a missing container, is free already.
pub fn sweep_unrecorded(engine: &Engine, id: &str) {
    let Ok(containers) = Containers::open(engine) else {
        return;
    };
    let dir = containers.dir(id);
    // Being created, created meanwhile or removed meanwhile: left alone.
    let Some(lock) = abandoned_by_create(&dir) else {
        return;
    };
    delete_leftovers(id);
    let _ = root_filesystem_driver(engine).unmount(engine, &dir);
    if let Some(trashed) = Trashed::move_locked(engine, &dir, id, lock) {
        trashed.delete(engine);
    }
}
// ANCHOR_END: sweep_unrecorded

/// Deletes what a removal left in `trash/` when its process was killed
/// before it finished; directories still locked are being deleted now.
pub fn sweep_trash(engine: &Engine) {
    let Ok(entries) = fs::read_dir(engine.paths.root.join(TRASH)) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(lock) = File::open(entry.path()) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            let trashed = Trashed {
                dir: entry.path(),
                _lock: lock,
            };
            trashed.delete(engine);
        }
    }
}
// ANCHOR_END: trash
