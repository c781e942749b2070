//! The exec'd process from fork to execve: it joins the container's namespaces
//! and cgroup, then becomes the command with the container's user,
//! capabilities and seccomp filter, in the order the container's init uses.

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use berth_engine::oci_spec::runtime::Process;
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::signal::SigSet;

use super::target::Namespace;
use crate::runtime::channel::{Channel, Message};
use crate::runtime::init::{InitFailure, Step};
use crate::runtime::init::{process, system};
use crate::security::ProcessSecurity;

/// Everything the child needs, prepared by the runtime before fork.
pub struct ExecContext<'a> {
    /// The binary's name, for a message written to stderr.
    pub program: &'static str,
    /// The process to become.
    pub process: &'a Process,
    /// Capabilities and seccomp, compiled before fork.
    pub security: &'a ProcessSecurity,
    /// The container's namespaces, opened by the runtime (pid aside).
    pub namespaces: Vec<Namespace>,
    /// The child's end of the channel.
    pub channel: Channel,
    /// The signal mask the command starts with.
    pub sigmask: SigSet,
    /// Whether the runtime leaves once the command runs (`--detach`).
    pub detached: bool,
}

/// Runs the child and never returns: it execs the command or exits with the
/// failure's exit code, after telling the runtime why.
pub fn exec_child(ctx: ExecContext) -> ! {
    let failure = match become_the_command(&ctx) {
        Ok(never) => match never {},
        Err(failure) => failure,
    };
    let message = Message::Failed {
        kind: failure.kind,
        message: failure.message.clone(),
    };
    if ctx.channel.send(&message, None).is_err() {
        eprintln!("{}: {}", ctx.program, failure.message);
    }
    // SAFETY: _exit leaves at once, without the runtime's atexit handlers and
    // buffers, which belong to the parent.
    unsafe { libc::_exit(failure.kind.exit_code()) }
}

// ANCHOR: exec_steps
fn become_the_command(ctx: &ExecContext) -> Result<Infallible, InitFailure> {
    // Until exec this process holds the runtime's memory: the container's own
    // processes, which share its pid namespace now, must not ptrace or read it.
    set_dumpable(false)?;
    // The runtime writes our pid into the container's cgroup, then says go: the
    // command never runs a moment outside the container's limits.
    wait_for_go(&ctx.channel)?;
    for ns in &ctx.namespaces {
        nix::sched::setns(ns.file.as_fd(), ns.flag)
            .step(|| format!("joining the container's {} namespace", ns.name))?;
    }
    // The mount namespace put us at its root, which is the container's root
    // since its init called pivot_root: nothing to chroot. A session of our
    // own keeps the host's terminal signals away; the runtime forwards them.
    nix::unistd::setsid().step(|| "setsid".into())?;
    if ctx.process.terminal() == Some(true) {
        let master = open_terminal(ctx.process)?;
        ctx.channel
            .send(&Message::Console, Some(master.as_fd()))
            .step(|| "sending the pty to the runtime".into())?;
    }
    // The process's own rlimits and OOM score, as the init's: set while still root.
    system::set_oom_score_adj(ctx.process)?;
    system::set_rlimits(ctx.process)?;
    process::switch_user(ctx.process, ctx.security)?;
    // Resolved inside the root with magic links refused (CVE-2024-21626).
    process::enter_cwd(ctx.process)?;
    let program = process::find_program(ctx.process)?;
    process::close_inherited_fds()?;
    if !ctx.detached {
        die_with_the_runtime(&ctx.channel)?;
    }
    // Last: the filter may forbid what the steps above needed.
    ctx.security
        .install_seccomp()
        .step(|| "loading the seccomp filter".into())?;
    process::exec(&program, ctx.process, &ctx.sigmask)
}
// ANCHOR_END: exec_steps

fn set_dumpable(on: bool) -> Result<(), InitFailure> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) };
    nix::errno::Errno::result(rc)
        .map(drop)
        .step(|| "PR_SET_DUMPABLE".into())
}

/// Blocks until the runtime has put us in the cgroup; end-of-file means the
/// runtime died, and nobody is left to report to.
fn wait_for_go(channel: &Channel) -> Result<(), InitFailure> {
    match channel.recv() {
        Ok(Some((Message::Go, _))) => Ok(()),
        // SAFETY: see exec_child.
        Ok(None) => unsafe { libc::_exit(1) },
        other => Err(InitFailure::setup(
            "waiting for the runtime",
            format!("{other:?}"),
        )),
    }
}

// ANCHOR: exec_terminal
/// A new pty of the container's own devpts (`/dev/ptmx` is `pts/ptmx` inside),
/// made our controlling terminal and our stdio. Unlike the init's, it is not
/// bound over `/dev/console`: that stays the container's console.
fn open_terminal(process: &Process) -> Result<OwnedFd, InitFailure> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .step(|| "opening /dev/ptmx".into())?;
    grantpt(&master).step(|| "grantpt".into())?;
    unlockpt(&master).step(|| "unlockpt".into())?;
    let name = ptsname_r(&master).step(|| "ptsname".into())?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .step(|| format!("opening {name}"))?;
    if let Some(size) = process.console_size() {
        let ws = libc::winsize {
            ws_row: size.height() as u16,
            ws_col: size.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the winsize we own.
        let rc = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        nix::errno::Errno::result(rc).step(|| "setting the terminal size".into())?;
    }
    // SAFETY: TIOCSCTTY on a descriptor we own; we lead a new session (setsid).
    let rc = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    nix::errno::Errno::result(rc).step(|| "making the pty the controlling terminal".into())?;
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which we mean to replace.
        let rc = unsafe { libc::dup2(slave.as_raw_fd(), target) };
        nix::errno::Errno::result(rc).step(|| format!("dup2 onto {target}"))?;
    }
    Ok(master.into())
}
// ANCHOR_END: exec_terminal

/// A foreground exec dies with its runtime, as a `run`'s init does: killed
/// with SIGKILL (which cannot be forwarded), the runtime would otherwise leave
/// it running with nobody waiting. Set after the user switch, which clears it.
fn die_with_the_runtime(channel: &Channel) -> Result<(), InitFailure> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .step(|| "asking to die with the runtime".into())?;
    if channel.peer_gone() {
        // SAFETY: _exit ends this process at once; nothing of it needs cleaning.
        unsafe { libc::_exit(137) };
    }
    Ok(())
}
