//! Chapters as plug-ins: the [`Chapter`] trait, its slots, and the [`Engine`] that
//! holds the registered chapters and asks them in order.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::cli::{Command, RunArgs};
use crate::error::{Error, Result};
use crate::state::Paths;

// ANCHOR: chapter_trait
/// What one chapter adds to the engine.
///
/// Every method but [`Chapter::number`] has a default that adds nothing, so a
/// chapter implements only what it teaches. Where two chapters offer the same
/// command or slot, the highest registered chapter wins; spec edits all apply,
/// in chapter order.
pub trait Chapter: Sync {
    /// The chapter's number (1 for isolation, 2 for resources, ...).
    fn number(&self) -> u8;

    /// Runs `command` if this chapter handles it; `None` lets a lower chapter try.
    fn run_command(&self, _engine: &Engine, _command: &Command) -> Option<Result<i32>> {
        None
    }

    /// This chapter's edit of a container's OCI runtime spec.
    fn edit_spec(&self, _engine: &Engine, _plan: &ContainerPlan, _spec: &mut Spec) -> Result<()> {
        Ok(())
    }

    /// The cgroup driver slot, used by the runtime (chapter 02 fills it).
    fn cgroups(&self) -> Option<&dyn Cgroups> {
        None
    }

    /// The root-filesystem slot: how a container's root is made from an image
    /// (chapter 03 copies, chapter 05 mounts an overlay).
    fn root_filesystem(&self) -> Option<&dyn RootFilesystem> {
        None
    }

    /// A holder of references to images, asked before an image is removed.
    fn reference_holder(&self) -> Option<&dyn ReferenceHolder> {
        None
    }
}
// ANCHOR_END: chapter_trait

/// What every chapter's spec edit sees of the container being made.
#[derive(Debug, Clone)]
pub struct ContainerPlan<'a> {
    /// The container's 64-hex id.
    pub id: String,
    /// The flags of `run` / `create`.
    pub args: &'a RunArgs,
    /// The bundle directory that will hold `config.json`.
    pub bundle: PathBuf,
    /// The root filesystem directory.
    pub rootfs: PathBuf,
    /// The id of the image the root filesystem was made from (chapter 03 on).
    pub image: Option<String>,
    /// The process to run: command and arguments.
    pub process_args: Vec<String>,
}

// ANCHOR: cgroups_slot
/// The cgroup driver the runtime calls; it works from the spec alone, so that
/// `create` and `delete` (separate processes) agree on the cgroup.
pub trait Cgroups: Sync {
    /// Creates the cgroup the spec names and applies its limits, before any
    /// process is in it; on error nothing of it is left.
    fn create(&self, spec: &Spec) -> Result<()>;
    /// Moves `pid` into the container's existing cgroup (`exec`): no cgroup is
    /// made and no limit written; a missing cgroup is an error.
    fn join(&self, spec: &Spec, pid: i32) -> Result<()>;
    /// Opens what a new process of the container needs to start inside its
    /// existing cgroup with no other process moving it (see [`Placement`]); a
    /// missing cgroup is an error.
    fn placement(&self, spec: &Spec) -> Result<Placement>;
    /// [`Cgroups::create`], then [`Cgroups::join`]; a failed join removes the cgroup.
    fn enter(&self, spec: &Spec, pid: i32) -> Result<()> {
        self.create(spec)?;
        self.join(spec, pid).inspect_err(|_| {
            let _ = self.remove(spec);
        })
    }
    /// Whether the kernel's OOM killer ended a process of this cgroup.
    fn oom_killed(&self, spec: &Spec) -> bool;
    /// Kills what is left in the cgroup and removes it; missing is not an error.
    fn remove(&self, spec: &Spec) -> Result<()>;
    /// The cgroup paths of the container as its processes see them, one per
    /// mounted hierarchy: (mount point under /sys/fs/cgroup, host directory).
    fn mounts(&self, spec: &Spec) -> Result<Vec<(String, PathBuf)>>;
    /// Freezes every process of the container (`pause`); returns once the
    /// kernel reports the cgroup frozen.
    fn freeze(&self, spec: &Spec) -> Result<()>;
    /// Thaws the container's processes (`unpause`).
    fn thaw(&self, spec: &Spec) -> Result<()>;
    /// What the container's processes use now (`stats`).
    fn stats(&self, spec: &Spec) -> Result<CgroupStats>;
    /// Rewrites the limits of the container's existing cgroup from the spec's
    /// `linux.resources` (`update`); device rules are left as they are.
    fn update(&self, spec: &Spec) -> Result<()>;
}
// ANCHOR_END: cgroups_slot

// ANCHOR: placement
/// How a new process of a container gets into its cgroup without waiting.
///
/// Moving another process by writing its pid to `cgroup.procs` takes a
/// kernel-wide lock for writing, and the first writer after a quiet spell waits
/// for an RCU grace period (8–20 ms here). Two ways in skip that lock: a
/// process born in the cgroup, and a single-threaded process moving itself.
#[derive(Debug)]
pub enum Placement {
    /// cgroup v2: the cgroup's directory, which `clone3` takes with
    /// `CLONE_INTO_CGROUP` so that the child is born in it.
    BornInto(OwnedFd),
    /// cgroup v1: the `tasks` file of every hierarchy. The new process, while it
    /// has one thread, writes `0` (itself) to each: a move of the writer's own
    /// single thread needs only the cgroup mutex.
    MovesItself(Vec<std::fs::File>),
}

impl Placement {
    /// The directory to hand to `clone3`, if the child is to be born in it.
    pub fn born_into(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Placement::BornInto(dir) => Some(dir.as_fd()),
            Placement::MovesItself(_) => None,
        }
    }

    /// Run by the new process itself, before it starts a thread or a child:
    /// moves it in when it was not born there.
    pub fn move_self(&self) -> std::io::Result<()> {
        if let Placement::MovesItself(tasks) = self {
            for mut file in tasks {
                std::io::Write::write_all(&mut file, b"0")?;
            }
        }
        Ok(())
    }
}
// ANCHOR_END: placement

// ANCHOR: rootfs_slot
/// How a container's root filesystem is made from an image and made ready.
///
/// Every method takes the container's own directory (the bundle), so that the
/// separate commands (`create`, the supervisor, `rm`) agree with no more state.
/// The root the spec names is always `dir/rootfs`.
pub trait RootFilesystem: Sync {
    /// The driver's name, as `info` and `inspect` show it (`copy`, `overlay2`, `vfs`).
    fn name(&self) -> &'static str;
    /// Makes the container's root from `image_id` under `dir`. `ephemeral`:
    /// the container is removed when it ends (`--rm`), so its writes need not
    /// survive a crash. On error nothing it made is left.
    fn create(&self, engine: &Engine, image_id: &str, dir: &Path, ephemeral: bool) -> Result<()>;
    /// Makes `dir/rootfs` ready before the container's processes start (an
    /// overlay is mounted there); does nothing if it already is.
    fn mount(&self, engine: &Engine, dir: &Path) -> Result<()>;
    /// Undoes [`RootFilesystem::mount`] once the container's processes are
    /// gone; not mounted is not an error.
    fn unmount(&self, engine: &Engine, dir: &Path) -> Result<()>;
    /// Removes what [`RootFilesystem::create`] made, unmounting first; missing
    /// is not an error.
    fn remove(&self, engine: &Engine, dir: &Path) -> Result<()>;
    /// Removes what the driver keeps for images that are gone and that no
    /// container uses (asked after `rmi` and `image prune`); returns the bytes freed.
    fn collect(&self, _engine: &Engine) -> Result<u64> {
        Ok(0)
    }
}
// ANCHOR_END: rootfs_slot

/// One sample of a container's use of resources, read from its cgroup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used by all its processes since the cgroup was made, in nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, without the inactive page cache (as `docker stats` shows).
    pub memory_usage: u64,
    /// The memory limit in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// Processes and threads in the cgroup.
    pub pids_current: u64,
    /// Bytes read from block devices.
    pub blkio_read: u64,
    /// Bytes written to block devices.
    pub blkio_write: u64,
}

/// Something that may use an image and must be asked before the image goes.
pub trait ReferenceHolder: Sync {
    /// Describes each user of `image_id` (e.g. `container 3f2a…`).
    fn image_users(&self, engine: &Engine, image_id: &str) -> Result<Vec<String>>;
}

/// The registered chapters and the state paths: what every command runs against.
pub struct Engine {
    program: &'static str,
    chapters: Vec<&'static dyn Chapter>,
    /// Where state lives.
    pub paths: Paths,
}

impl Engine {
    /// An engine for the binary `program` with these chapters (any order).
    pub fn new(program: &'static str, chapters: &[&'static dyn Chapter], paths: Paths) -> Self {
        let mut chapters = chapters.to_vec();
        chapters.sort_by_key(|c| c.number());
        Self {
            program,
            chapters,
            paths,
        }
    }

    /// The binary's name (`ch01`, `berth`), used to prefix messages.
    pub fn program(&self) -> &'static str {
        self.program
    }

    /// The highest registered chapter.
    pub fn highest_chapter(&self) -> u8 {
        self.chapters.last().map_or(0, |c| c.number())
    }

    /// Whether chapter `n` is registered in this binary.
    pub fn teaches(&self, n: u8) -> bool {
        self.chapters.iter().any(|c| c.number() == n)
    }

    /// Runs `command` with the highest chapter that handles it.
    pub fn dispatch(&self, command: &Command) -> Result<i32> {
        for chapter in self.chapters.iter().rev() {
            if let Some(result) = chapter.run_command(self, command) {
                return result;
            }
        }
        Err(Error::usage(format!(
            "{}: this command is not implemented in any registered chapter",
            self.program
        )))
    }

    // ANCHOR: build_spec
    /// Builds a container's spec: every chapter's edit, in chapter order.
    pub fn build_spec(&self, plan: &ContainerPlan) -> Result<Spec> {
        let mut spec = Spec::default();
        for chapter in &self.chapters {
            chapter.edit_spec(self, plan, &mut spec)?;
        }
        Ok(spec)
    }
    // ANCHOR_END: build_spec

    /// The cgroup driver of the highest chapter that offers one.
    pub fn cgroups(&self) -> Option<&dyn Cgroups> {
        self.chapters.iter().rev().find_map(|c| c.cgroups())
    }

    /// The root-filesystem driver of the highest chapter that offers one
    /// (chapter 03 on).
    pub fn root_filesystem(&self) -> Option<&dyn RootFilesystem> {
        self.chapters.iter().rev().find_map(|c| c.root_filesystem())
    }

    /// Every registered user of `image_id`, asked across chapters.
    pub fn image_users(&self, image_id: &str) -> Result<Vec<String>> {
        let mut users = Vec::new();
        for holder in self.chapters.iter().filter_map(|c| c.reference_holder()) {
            users.extend(holder.image_users(self, image_id)?);
        }
        Ok(users)
    }
}
