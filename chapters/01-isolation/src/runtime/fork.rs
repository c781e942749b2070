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
        // SAFETY: the caller's promise.
        None => unsafe { clone_like_fork(flags) },
        Some(dir) => {
            let args = CloneArgs {
                flags: flags.bits() as u64 | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                cgroup: dir.as_raw_fd() as u64,
                ..CloneArgs::default()
            };
            // SAFETY: the caller's promise; `args` outlives the call, and its
            // size tells the kernel which version of the block it is.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            };
            match rc == -1 && Errno::last() == Errno::ENOSYS {
                // SAFETY: the caller's promise.
                true => unsafe { fork_then_join(flags, dir)? },
                false => rc,
            }
        }
    };
    Errno::result(rc).map(|pid| match pid {
        0 => Forked::Child,
        pid => Forked::Parent(Pid::from_raw(pid as libc::pid_t)),
    })
}

/// clone(2) with no stack: a fork into the namespaces `flags` names.
///
/// # Safety
/// As for [`fork_into`].
unsafe fn clone_like_fork(flags: CloneFlags) -> libc::c_long {
    // SAFETY: the caller's promise; clone with no stack behaves as fork.
    unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong,
            0,
            0,
            0,
            0,
        )
    }
}

/// Where clone3 is missing (a seccomp profile older than it answers ENOSYS,
/// as docker's did before 20.10, so that the C library falls back to clone):
/// a plain fork whose child moves itself into the cgroup `dir` as its first
/// step, by writing `0` to `cgroup.procs`. That is the slow way in (chapter
/// 02), but it is in. A child that cannot move ends at once with status 125,
/// before it runs anything.
///
/// # Safety
/// As for [`fork_into`].
unsafe fn fork_then_join(flags: CloneFlags, dir: BorrowedFd) -> nix::Result<libc::c_long> {
    let procs = nix::fcntl::openat(
        dir,
        "cgroup.procs",
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    // SAFETY: the caller's promise.
    let rc = unsafe { clone_like_fork(flags) };
    if rc == 0 {
        // SAFETY: write and _exit are async-signal-safe; the buffer is static.
        unsafe {
            if libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) != 1 {
                libc::_exit(125);
            }
        }
    }
    Ok(rc)
}
// ANCHOR_END: fork_into

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use berth_tests::kernel::cgroup2_root;
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

    use super::*;

    /// A filter that answers ENOSYS to clone3 and lets everything else through.
    fn without_clone3() -> BpfProgram {
        let rules = [(libc::SYS_clone3, vec![])].into_iter().collect();
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::ENOSYS as u32),
            TargetArch::x86_64,
        )
        .unwrap();
        filter.try_into().unwrap()
    }

    /// Whether `/proc/self/cgroup` names `cgroup` as the v2 cgroup, read with
    /// async-signal-safe calls only (this runs in a forked child).
    fn in_cgroup(cgroup: &[u8]) -> bool {
        let mut buffer = [0u8; 4096];
        // SAFETY: open, read and close on a static path and a stack buffer.
        let read = unsafe {
            let fd = libc::open(c"/proc/self/cgroup".as_ptr(), libc::O_RDONLY);
            let read = libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len());
            libc::close(fd);
            read
        };
        let text = &buffer[..read.max(0) as usize];
        text.split(|b| *b == b'\n')
            .any(|line| line.starts_with(b"0::") && &line[3..] == cgroup)
    }

    /// In a forked child (with clone3 refused when `refuse_clone3`), forks
    /// into the cgroup `dir` and says whether the grandchild was born there.
    fn born_in(dir: &std::fs::File, path: &[u8], refuse_clone3: bool) -> bool {
        let filter = without_clone3();
        // SAFETY: the child runs only async-signal-safe code, and what
        // seccompiler's apply does (prctl and seccomp calls) before it.
        match unsafe { libc::fork() } {
            0 => unsafe {
                // A copy of every descriptor the other tests hold open (their
                // locks, their containers' pipes) would keep them alive here:
                // only the cgroup's directory stays.
                let keep = dir.as_raw_fd() as libc::c_uint;
                libc::syscall(libc::SYS_close_range, 3, keep - 1, 0);
                libc::syscall(libc::SYS_close_range, keep + 1, libc::c_uint::MAX, 0);
                if refuse_clone3 && seccompiler::apply_filter(&filter).is_err() {
                    libc::_exit(2);
                }
                match fork_into(CloneFlags::empty(), Some(dir.as_fd())) {
                    Ok(Forked::Child) => libc::_exit(if in_cgroup(path) { 0 } else { 1 }),
                    Ok(Forked::Parent(pid)) => {
                        let mut status = 0;
                        libc::waitpid(pid.as_raw(), &mut status, 0);
                        libc::_exit(libc::WEXITSTATUS(status));
                    }
                    Err(_) => libc::_exit(3),
                }
            },
            child => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(child, &mut status, 0) };
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
            }
        }
    }

    #[test]
    fn a_child_is_born_in_its_cgroup_with_clone3_and_without_it() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: needs root");
            return;
        }
        let Some(root) = cgroup2_root() else {
            eprintln!("skipping: no cgroup2 tree on this host");
            return;
        };
        let name = format!("berth-fork-test-{}", std::process::id());
        let cgroup = root.join(&name);
        std::fs::create_dir(&cgroup).unwrap();
        let dir = std::fs::File::open(&cgroup).unwrap();
        let path = format!("/{name}").into_bytes();
        let with_clone3 = born_in(&dir, &path, false);
        let with_fallback = born_in(&dir, &path, true);
        std::fs::remove_dir(&cgroup).unwrap();
        assert!(with_clone3, "clone3 with CLONE_INTO_CGROUP");
        assert!(with_fallback, "clone3 refused: fork, then a move");
    }
}
