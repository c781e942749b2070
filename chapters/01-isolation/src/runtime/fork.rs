//! Forking the container's processes: into new namespaces, and with cgroup v2
//! straight into the container's cgroup.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

/// `CLONE_INTO_CGROUP` (Linux 5.7): clone3 starts the child in the cgroup whose
/// directory the `cgroup` field names.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// What the child of [`fork_into`] sees as its result.
pub enum Forked {
    /// This is the new process.
    Child,
    /// This is the caller; the new process has this pid.
    Parent(Pid),
}

/// clone3's argument block, as the kernel's `struct clone_args` (its second
/// size, the one with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

// ANCHOR: fork_into
/// Forks this process into the new namespaces `flags` names and, given
/// `cgroup` (a cgroup v2 directory), born inside that cgroup. Fork-style: no
/// new stack, the child goes on from here with a copy of the memory.
///
/// # Safety
/// As for fork(2): the caller must be single-threaded, or the child may run only
/// async-signal-safe code. No `atfork` handler runs.
pub unsafe fn fork_into(flags: CloneFlags, cgroup: Option<BorrowedFd>) -> nix::Result<Forked> {
    let rc = match cgroup {
        // SAFETY: the caller's promise; clone with no stack behaves as fork.
        None => unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong,
                0,
                0,
                0,
                0,
            )
        },
        Some(dir) => {
            let args = CloneArgs {
                flags: flags.bits() as u64 | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                cgroup: dir.as_raw_fd() as u64,
                ..CloneArgs::default()
            };
            // SAFETY: the caller's promise; `args` outlives the call, and its
            // size tells the kernel which version of the block it is.
            unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            }
        }
    };
    Errno::result(rc).map(|pid| match pid {
        0 => Forked::Child,
        pid => Forked::Parent(Pid::from_raw(pid as libc::pid_t)),
    })
}
// ANCHOR_END: fork_into
