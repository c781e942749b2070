//! The container's init: the cloned child, from clone to execve.
//!
//! It runs in the new namespaces and sets up the world its command will see, in
//! an order where each step relies on the one before: mounts need the new mount
//! namespace, `pivot_root` needs every mount in place, masking needs the new
//! `/proc`, and the security steps come last because each one takes away a power
//! the earlier steps used. Any failure is sent to the runtime as one line, and
//! the init exits; the runtime turns it into docker's exit code.

pub mod console;
mod dev;
mod mounts;
pub mod paths;
mod pivot;
pub mod process;
pub mod system;

use std::convert::Infallible;
use std::fmt::Display;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use berth_engine::Placement;
use berth_engine::oci_spec::runtime::LinuxNamespaceType;
use nix::sched::CloneFlags;
use nix::sys::signal::SigSet;

use super::bundle::Bundle;
use super::channel::{Channel, Message};
use super::error::FailureKind;
use crate::security::ProcessSecurity;

/// Everything the init needs, prepared by the runtime before clone.
pub struct InitContext<'a> {
    /// The binary's name, for messages written to stderr.
    pub program: &'static str,
    /// The validated bundle.
    pub bundle: &'a Bundle,
    /// Capabilities and seccomp, compiled before clone.
    pub security: &'a ProcessSecurity,
    /// The init's end of the channel; `None` once a created container reported ready.
    pub channel: Option<Channel>,
    /// `create`: an `O_PATH` descriptor of the exec fifo to block on before exec.
    pub exec_fifo: Option<OwnedFd>,
    /// The signal mask to restore before exec (the runtime blocks signals it forwards).
    pub sigmask: SigSet,
    /// The way into the container's cgroup (chapter 02 on).
    pub placement: Option<&'a Placement>,
    /// The cgroup directories to bind under /sys/fs/cgroup (cgroup v1).
    pub cgroup_mounts: Vec<(String, PathBuf)>,
    /// Whether the host runs cgroup v2 alone.
    pub cgroup_v2: bool,
}

/// A step of the init that failed: one line for the user, and the exit code kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFailure {
    /// Which exit code it maps to.
    pub kind: FailureKind,
    /// What failed.
    pub message: String,
}

impl InitFailure {
    /// A setup failure: `what` was being done when `error` happened.
    pub fn setup(what: impl Display, error: impl Display) -> Self {
        InitFailure {
            kind: FailureKind::Setup,
            message: format!("{what}: {error}"),
        }
    }
}

/// Adds "what was being done" to a failed step of the init.
pub trait Step<T> {
    /// Turns the error into a setup failure whose message starts with `what()`.
    fn step(self, what: impl FnOnce() -> String) -> Result<T, InitFailure>;
}

impl<T, E: Display> Step<T> for Result<T, E> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, InitFailure> {
        self.map_err(|e| InitFailure::setup(what(), e))
    }
}

/// Runs the init and never returns: it execs the container's command or exits.
pub fn container_init(mut ctx: InitContext) -> ! {
    let failure = match set_up_and_exec(&mut ctx) {
        Ok(never) => match never {},
        Err(failure) => failure,
    };
    report(&ctx, &failure);
    // SAFETY: _exit ends this process at once, without running the runtime's
    // atexit handlers or flushing its buffers, which belong to the parent.
    unsafe { libc::_exit(failure.kind.exit_code()) }
}

/// Sends a failure to the runtime, or writes it to stderr when nobody listens
/// any more (a created container fails after `create` has returned).
fn report(ctx: &InitContext, failure: &InitFailure) {
    let message = Message::Failed {
        kind: failure.kind,
        message: failure.message.clone(),
    };
    let sent = ctx
        .channel
        .as_ref()
        .is_some_and(|c| c.send(&message, None).is_ok());
    if !sent {
        eprintln!("{}: {}", ctx.program, failure.message);
    }
}

// ANCHOR: init_steps
fn set_up_and_exec(ctx: &mut InitContext) -> Result<Infallible, InitFailure> {
    // Until exec, this process holds the runtime's memory and descriptors: keep
    // other processes (the container's own, later) from ptracing or reading it.
    set_dumpable(false)?;
    // First into the container's cgroup (with cgroup v2 it was born there), so
    // that everything below counts against its limits, and so that a cgroup
    // namespace, rooted where the process is when it is made, is rooted there.
    if let Some(placement) = ctx.placement {
        placement
            .move_self()
            .step(|| "putting the init in the container's cgroup".into())?;
    }
    join_namespaces(ctx.bundle)?;
    if ctx.bundle.creates_namespace(LinuxNamespaceType::Cgroup) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .step(|| "creating the cgroup namespace".into())?;
    }
    // A session of its own: the host's terminal signals reach the runtime, which
    // forwards them, and a pty can become the controlling terminal.
    nix::unistd::setsid().step(|| "setsid".into())?;
    build_the_world(ctx)?;
    // The runtime has written the pid file by "go": whoever reads it finds
    // the command's pid before the command runs.
    wait_for_go(
        ctx.channel
            .as_ref()
            .expect("the channel is open until ready"),
    )?;
    become_the_command(ctx)
}
// ANCHOR_END: init_steps

// ANCHOR: build_the_world
/// What the command will see: its mounts, /dev, host name, loopback, its own
/// root, a terminal, and /proc with the host's secrets hidden.
fn build_the_world(ctx: &InitContext) -> Result<(), InitFailure> {
    let (bundle, spec) = (ctx.bundle, &ctx.bundle.spec);
    let terminal = bundle.process().terminal() == Some(true);
    mounts::prepare_root(spec, &bundle.rootfs)?;
    let mounted = mounts::mount_all(ctx, &bundle.rootfs)?;
    dev::populate(spec, &bundle.rootfs, mounted.dev_tmpfs, terminal)?;
    system::set_hostname(spec)?;
    if bundle.creates_namespace(LinuxNamespaceType::Network) {
        system::loopback_up()?;
    }
    pivot::pivot_root(&bundle.rootfs)?;
    if terminal {
        let master = console::attach(bundle.process(), true)?;
        let channel = ctx
            .channel
            .as_ref()
            .expect("the channel is open until ready");
        channel
            .send(&Message::Console, Some(master.as_fd()))
            .step(|| "sending the pty to the runtime".into())?;
    }
    // sysctls are written through /proc/sys, so before it becomes read-only.
    system::write_sysctls(spec)?;
    pivot::mask_and_protect(spec)?;
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        pivot::remount_read_only(std::path::Path::new("/")).step(|| "making / read-only".into())?;
    }
    Ok(())
}
// ANCHOR_END: build_the_world

// ANCHOR: become_the_command
/// Who the command runs as and with what: limits, user, directory, no inherited
/// descriptors, then (after `start`, for a created container) seccomp and exec.
fn become_the_command(ctx: &mut InitContext) -> Result<Infallible, InitFailure> {
    let process = ctx.bundle.process();
    system::set_oom_score_adj(process)?;
    system::set_rlimits(process)?;
    process::create_cwd(process)?;
    process::switch_user(process, ctx.security)?;
    process::enter_cwd(process)?;
    let program = process::find_program(process)?;
    process::close_inherited_fds()?;
    match ctx.exec_fifo.take() {
        Some(fifo) => announce_ready_and_wait(ctx, fifo)?,
        None => die_with_the_runtime(ctx.channel.as_ref())?,
    }
    // Last, because the filter may forbid what the steps above needed.
    ctx.security
        .install_seccomp()
        .step(|| "loading the seccomp filter".into())?;
    process::exec(&program, process, &ctx.sigmask)
}
// ANCHOR_END: become_the_command

/// Keeps the process's memory and descriptors from other processes (ptrace,
/// /proc/PID/mem) until exec, which resets it.
pub fn set_dumpable(on: bool) -> Result<(), InitFailure> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) };
    nix::errno::Errno::result(rc)
        .map(drop)
        .step(|| "PR_SET_DUMPABLE".into())
}

/// Blocks until the runtime says go on; end-of-file means the runtime died,
/// and there is nobody to report to.
pub fn wait_for_go(channel: &Channel) -> Result<(), InitFailure> {
    match channel.recv() {
        Ok(Some((Message::Go, _))) => Ok(()),
        // SAFETY: _exit ends this forked child at once; it holds nothing to clean.
        Ok(None) => unsafe { libc::_exit(1) },
        other => Err(InitFailure::setup(
            "waiting for the runtime",
            format!("{other:?}"),
        )),
    }
}

/// Enters the namespaces the spec names by path (a network namespace prepared on
/// the host, say). The pid namespace is the exception: setns into it changes only
/// the children, so the runtime joins it before clone.
fn join_namespaces(bundle: &Bundle) -> Result<(), InitFailure> {
    for (typ, path) in bundle.namespaces_to_join() {
        if typ == LinuxNamespaceType::Pid {
            continue;
        }
        let file = std::fs::File::open(&path)
            .step(|| format!("opening the {typ} namespace {}", path.display()))?;
        nix::sched::setns(file, CloneFlags::from_bits_truncate(typ as libc::c_int))
            .step(|| format!("joining the {typ} namespace {}", path.display()))?;
    }
    Ok(())
}

/// `create`: tells the runtime the container is set up, then blocks until
/// `start` opens the fifo for reading and takes the byte we write.
fn announce_ready_and_wait(ctx: &mut InitContext, fifo: OwnedFd) -> Result<(), InitFailure> {
    // Reopened through /proc because the fifo lives in the host's state
    // directory, out of reach since pivot_root; the O_PATH descriptor is our way back.
    let path = paths::fd_path(&fifo);
    if let Some(channel) = ctx.channel.take() {
        channel
            .send(&Message::Ready, None)
            .step(|| "reporting ready".into())?;
    }
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .step(|| "opening the exec fifo (it needs /proc in the container)".into())?;
    std::io::Write::write_all(&mut writer, b"0").step(|| "writing the exec fifo".into())?;
    Ok(())
}

// ANCHOR: die_with_the_runtime
/// `run` (and a foreground `exec`): the runtime that waits for us is our only
/// link to the user. If it is killed (SIGKILL cannot be forwarded), the process
/// must end too, or it would run on with nobody to stop it. The kernel sends us
/// SIGKILL when our parent dies; set after the user switch, which would clear
/// it, and checked once by hand in case the runtime died before it was set.
pub fn die_with_the_runtime(channel: Option<&Channel>) -> Result<(), InitFailure> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .step(|| "asking to die with the runtime".into())?;
    if channel.is_some_and(Channel::peer_gone) {
        // SAFETY: _exit ends this process at once; nothing of it needs cleaning.
        unsafe { libc::_exit(137) };
    }
    Ok(())
}
// ANCHOR_END: die_with_the_runtime
