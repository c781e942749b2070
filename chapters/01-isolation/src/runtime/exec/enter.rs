//! The exec'd process from fork to execve: it joins the container's namespaces
//! and cgroup, then becomes the command with the container's user,
//! capabilities and seccomp filter, in the order the container's init uses.

use std::convert::Infallible;
use std::os::fd::AsFd;

use berth_engine::Placement;
use berth_engine::oci_spec::runtime::Process;
use nix::sys::signal::SigSet;

use super::target::Namespace;
use crate::runtime::channel::{Channel, Message};
use crate::runtime::init::{InitFailure, Step};
use crate::runtime::init::{
    console, die_with_the_runtime, process, set_dumpable, system, wait_for_go,
};
use crate::security::ProcessSecurity;

/// Everything the child needs, prepared by the runtime before fork.
pub struct ExecContext<'a> {
    /// The binary's name, for a message written to stderr.
    pub program: &'static str,
    /// The process to become.
    pub process: &'a Process,
    /// Capabilities and seccomp, compiled before fork.
    pub security: &'a ProcessSecurity,
    /// The way into the container's cgroup (chapter 02 on).
    pub placement: Option<&'a Placement>,
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
    // Into the container's cgroup before anything else (with cgroup v2 we
    // were born there): the command never runs a moment outside its limits.
    if let Some(placement) = ctx.placement {
        placement
            .move_self()
            .step(|| "putting the process in the container's cgroup".into())?;
    }
    // The runtime has written the pid file by "go".
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
        let master = console::attach(ctx.process, false)?;
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
        die_with_the_runtime(Some(&ctx.channel))?;
    }
    // Last: the filter may forbid what the steps above needed.
    ctx.security
        .install_seccomp()
        .step(|| "loading the seccomp filter".into())?;
    process::exec(&program, ctx.process, &ctx.sigmask)
}
// ANCHOR_END: exec_steps
