//! The runtime's side of starting a container: clone the init into its new
//! namespaces and its cgroup, let it go on, and wait for its verdict.

use std::os::fd::OwnedFd;

use berth_engine::oci_spec::runtime::{LinuxNamespaceType, Spec};
use berth_engine::state::{Durability, replace};
use berth_engine::{Cgroups, Engine, Placement};
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::bundle::Bundle;
use super::channel::{self, Channel, Message};
use super::error::RuntimeError;
use super::fork::{Forked, fork_into};
use super::init::{self, InitContext};
use crate::security::ProcessSecurity;

/// How the init should wait before exec.
pub enum StartMode {
    /// `run`: exec as soon as it is set up.
    Immediately,
    /// `create`: report ready, then block on this exec fifo (an `O_PATH` descriptor).
    OnExecFifo(OwnedFd),
}

/// A cloned init, set up and (for `run`) exec'd.
#[derive(Debug)]
pub struct Launched {
    /// The init's pid on the host.
    pub pid: Pid,
    /// The pty master, when the spec asked for a terminal.
    pub console: Option<OwnedFd>,
}

/// Whether the spec sets limits that need a cgroup driver.
pub fn has_limits(spec: &Spec) -> bool {
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    resources.is_some_and(|r| {
        r.memory()
            .as_ref()
            .is_some_and(|m| m.limit().is_some() || m.swap().is_some() || m.reservation().is_some())
            || r.cpu()
                .as_ref()
                .is_some_and(|c| c.quota().is_some() || c.shares().is_some() || c.cpus().is_some())
            || r.pids().as_ref().is_some_and(|p| p.limit() > 0)
    })
}

/// The namespaces clone creates: every one listed without a path, except the
/// cgroup namespace, which the init makes once it is inside its cgroup.
pub fn clone_flags(bundle: &Bundle) -> CloneFlags {
    use LinuxNamespaceType as T;
    [
        (T::Mount, CloneFlags::CLONE_NEWNS),
        (T::Pid, CloneFlags::CLONE_NEWPID),
        (T::Uts, CloneFlags::CLONE_NEWUTS),
        (T::Ipc, CloneFlags::CLONE_NEWIPC),
        (T::Network, CloneFlags::CLONE_NEWNET),
    ]
    .into_iter()
    .filter(|(typ, _)| bundle.creates_namespace(*typ))
    .fold(CloneFlags::empty(), |all, (_, flag)| all | flag)
}

/// Clones the init and brings it to exec (or to the exec fifo). On any failure
/// the init is killed and reaped, and the cgroup removed, before the error
/// returns: nothing of a failed start is left.
pub fn launch(
    engine: &Engine,
    bundle: &Bundle,
    security: &ProcessSecurity,
    mode: StartMode,
    sigmask: SigSet,
    pid_file: Option<&std::path::Path>,
) -> Result<Launched, RuntimeError> {
    let cgroups = engine.cgroups();
    if cgroups.is_none() && has_limits(&bundle.spec) {
        return Err(RuntimeError::LimitsNeedCgroups);
    }
    let cgroup_mounts = match cgroups {
        Some(c) => c
            .mounts(&bundle.spec)
            .map_err(RuntimeError::cgroup("finding the container's cgroup"))?,
        None => vec![],
    };
    join_pid_namespace(bundle)?;
    let placement = match cgroups {
        Some(c) => Some(prepare_cgroup(c, &bundle.spec)?),
        None => None,
    };
    let (ours, theirs) = channel::pair()
        .map_err(RuntimeError::sys("creating the init channel"))
        .inspect_err(|_| remove_cgroup(engine, bundle))?;
    let (exec_fifo, waits_on_fifo) = match mode {
        StartMode::Immediately => (None, false),
        StartMode::OnExecFifo(fd) => (Some(fd), true),
    };
    // ANCHOR: clone_init
    let flags = clone_flags(bundle);
    let born_into = placement.as_ref().and_then(|p| p.born_into());
    // SAFETY: this runtime process is single-threaded, so the child may run any
    // code; it never returns from container_init.
    let forked = unsafe { fork_into(flags, born_into) }
        .map_err(RuntimeError::sys("cloning the container's init"))
        .inspect_err(|_| remove_cgroup(engine, bundle))?;
    let pid = match forked {
        Forked::Child => {
            drop(ours);
            init::container_init(InitContext {
                program: engine.program(),
                bundle,
                security,
                channel: Some(theirs),
                exec_fifo,
                sigmask,
                placement: placement.as_ref(),
                cgroup_mounts,
                cgroup_v2: crate::spec::cgroup_v2_host(),
            });
        }
        Forked::Parent(pid) => pid,
    };
    drop(theirs);
    drop(exec_fifo);
    drop(placement);
    let result = drive(&ours, pid, waits_on_fifo, pid_file);
    if result.is_err() {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        remove_cgroup(engine, bundle);
    }
    // ANCHOR_END: clone_init
    result.map(|console| Launched { pid, console })
}

/// Makes the container's cgroup with its limits, and opens the way in for its
/// init; on error nothing of it is left.
fn prepare_cgroup(cgroups: &dyn Cgroups, spec: &Spec) -> Result<Placement, RuntimeError> {
    cgroups
        .create(spec)
        .map_err(RuntimeError::cgroup("creating the container's cgroup"))?;
    cgroups.placement(spec).map_err(|e| {
        let _ = cgroups.remove(spec);
        RuntimeError::cgroup("opening the container's cgroup")(e)
    })
}

/// Removes the container's cgroup after a failed start; the error that matters
/// is the one that made the start fail.
fn remove_cgroup(engine: &Engine, bundle: &Bundle) {
    if let Some(c) = engine.cgroups() {
        let _ = c.remove(&bundle.spec);
    }
}

/// The runtime's half of the handshake: pid file, "go", then the init's
/// reports until end-of-file (it exec'd) or `Ready` (create).
fn drive(
    channel: &Channel,
    pid: Pid,
    waits_on_fifo: bool,
    pid_file: Option<&std::path::Path>,
) -> Result<Option<OwnedFd>, RuntimeError> {
    if let Some(path) = pid_file {
        write_pid_file(path, pid).map_err(RuntimeError::io(format!(
            "writing the pid file {}",
            path.display()
        )))?;
    }
    // The init builds its world meanwhile, and waits for "go" only before it
    // becomes the command: the pid file names it before the command runs. An
    // init that failed has closed its end: its report is still in the
    // channel, and the loop below reads it.
    let _ = channel.send(&Message::Go, None);
    let mut console = None;
    loop {
        match channel
            .recv()
            .map_err(RuntimeError::sys("reading the init's report"))?
        {
            None if waits_on_fifo => {
                let status =
                    waitpid(pid, None).map_or_else(|e| e.to_string(), |s| format!("{s:?}"));
                return Err(RuntimeError::InitDied { status });
            }
            None => break,
            Some((Message::Console, fd)) => console = fd,
            Some((Message::Ready, _)) if waits_on_fifo => break,
            Some((Message::Failed { kind, message }, _)) => {
                return Err(RuntimeError::Init { message, kind });
            }
            Some((other, _)) => {
                return Err(RuntimeError::Init {
                    message: format!("unexpected message from the init: {other:?}"),
                    kind: super::error::FailureKind::Setup,
                });
            }
        }
    }
    Ok(console)
}

// ANCHOR: pid_file
/// Writes the pid file beside its place, then renames it there, so a reader
/// sees the whole number or no file. There is no fsync: a pid means nothing
/// after a crash (the process is gone), and the file's reader comes right after
/// us, when the page cache answers for the disk.
fn write_pid_file(path: &std::path::Path, pid: Pid) -> std::io::Result<()> {
    replace(path, pid.to_string().as_bytes(), Durability::UntilReboot)
}
// ANCHOR_END: pid_file

/// setns into a pid namespace changes where our *children* go, so it is done
/// here, before clone, in this short-lived runtime process.
fn join_pid_namespace(bundle: &Bundle) -> Result<(), RuntimeError> {
    for (typ, path) in bundle.namespaces_to_join() {
        if typ == LinuxNamespaceType::Pid {
            let file = std::fs::File::open(&path)
                .map_err(RuntimeError::io(format!("opening {}", path.display())))?;
            nix::sched::setns(file, CloneFlags::CLONE_NEWPID).map_err(RuntimeError::sys(
                format!("joining the pid namespace {}", path.display()),
            ))?;
        }
    }
    Ok(())
}
