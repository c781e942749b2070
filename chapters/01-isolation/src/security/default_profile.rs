//! docker's default seccomp profile, as data.
//!
//! The profile is an allow-list: about 330 syscalls that ordinary programs use are
//! allowed, everything else fails with EPERM. Some syscalls are allowed only when
//! the container holds the capability that makes them meaningful, so that
//! `--cap-add SYS_ADMIN` also opens `mount` and `unshare`: the profile is resolved
//! against the container's capabilities when the spec is written.
//!
//! The facts are those of moby's `profiles/seccomp/default.json`; the structure is
//! berth's: a list of [`Rule`]s, each with the reason it exists.

use berth_engine::oci_spec::runtime::{
    Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

use super::Capabilities;
use super::docker_profile::{kernel_at_least, native_architectures};

/// What happens when a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// The syscall runs.
    Allow,
    /// The syscall fails at once with this errno.
    Errno(u32),
}

/// When a rule is part of the container's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// Always.
    Always,
    /// Only when the container holds this capability.
    HasCap(Capability),
    /// Only when the container does not hold this capability.
    LacksCap(Capability),
    /// Only on these CPU architectures (Rust's names: `x86_64`, `aarch64`, `riscv64`).
    Arch(&'static [&'static str]),
    /// Only on a kernel at least this recent (major, minor).
    Kernel(u32, u32),
}

/// A condition on one syscall argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Arg {
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
}

/// The argument equals `value`.
const fn eq(index: usize, value: u64) -> Arg {
    Arg {
        index,
        op: LinuxSeccompOperator::ScmpCmpEq,
        value,
        value_two: None,
    }
}

/// The argument differs from `value`.
const fn ne(index: usize, value: u64) -> Arg {
    Arg {
        index,
        op: LinuxSeccompOperator::ScmpCmpNe,
        value,
        value_two: None,
    }
}

/// `argument & mask == value`.
const fn masked_eq(index: usize, mask: u64, value: u64) -> Arg {
    Arg {
        index,
        op: LinuxSeccompOperator::ScmpCmpMaskedEq,
        value: mask,
        value_two: Some(value),
    }
}

/// One rule of the profile: these syscalls get `action` when `when` holds and
/// every argument condition matches.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rule {
    pub(super) names: &'static [&'static str],
    pub(super) action: Action,
    pub(super) args: &'static [Arg],
    pub(super) when: When,
}

const fn allow(names: &'static [&'static str], when: When) -> Rule {
    Rule {
        names,
        action: Action::Allow,
        args: &[],
        when,
    }
}

const fn allow_if(names: &'static [&'static str], args: &'static [Arg], when: When) -> Rule {
    Rule {
        names,
        action: Action::Allow,
        args,
        when,
    }
}

/// EPERM: what a syscall outside the allow-list returns.
const EPERM: u32 = 1;
/// ENOSYS: "this kernel has no such syscall".
const ENOSYS: u32 = 38;
/// AF_VSOCK: sockets to the hypervisor, which no network namespace encloses.
const AF_VSOCK: u64 = 40;
/// Every CLONE_NEW* flag that clone(2) takes: NEWNS, NEWCGROUP, NEWUTS, NEWIPC,
/// NEWUSER, NEWPID, NEWNET.
const CLONE_NAMESPACE_FLAGS: u64 = 0x7E02_0000;

/// What ordinary programs use: files, memory, processes, signals, time, sockets,
/// System V and POSIX IPC, user ids. The `*32`/`*64`/`*_time64` names are the
/// 32-bit variants; on x86_64 they do not exist and are skipped when compiling.
#[rustfmt::skip]
const EVERYDAY: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs",
    "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv",
    "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
    "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid",
    "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
    "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
    "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
    "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
];

// ANCHOR: default_profile_rules
/// docker's default profile. Read it top to bottom: each rule says why it exists.
#[rustfmt::skip]
pub(super) const RULES: &[Rule] = &[
    allow(EVERYDAY, When::Always),
    // Before 4.8 a ptraced process could bypass seccomp, so ptrace was unsafe there.
    allow(&["process_vm_readv", "process_vm_writev", "ptrace"], When::Kernel(4, 8)),
    // Any socket family but AF_VSOCK, which talks to the hypervisor past the netns.
    allow_if(&["socket"], &[ne(0, AF_VSOCK)], When::Always),
    // personality(2) only with the harmless values: PER_LINUX, UNAME26,
    // ADDR_NO_RANDOMIZE (and both), and 0xffffffff, which only queries. Others,
    // like READ_IMPLIES_EXEC, weaken the kernel's protections of memory.
    allow_if(&["personality"], &[eq(0, 0x0)], When::Always),
    allow_if(&["personality"], &[eq(0, 0x0008)], When::Always),
    allow_if(&["personality"], &[eq(0, 0x20000)], When::Always),
    allow_if(&["personality"], &[eq(0, 0x20008)], When::Always),
    allow_if(&["personality"], &[eq(0, 0xffff_ffff)], When::Always),
    // ANCHOR_END: default_profile_rules
    // ANCHOR: namespace_rules
    // Syscalls that exist only on some CPUs (the ppc64le and s390 ones are left
    // out: berth compiles filters for x86_64, aarch64 and riscv64 only).
    allow(&["arch_prctl", "modify_ldt"], When::Arch(&["x86_64"])),
    allow(
        &["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
          "cacheflush", "set_tls"],
        When::Arch(&["aarch64"]),
    ),
    allow(&["riscv_flush_icache"], When::Arch(&["riscv64"])),
    // open_by_handle_at opens any file of a filesystem by its handle, past the
    // container's root: the "shocker" escape. Only with CAP_DAC_READ_SEARCH.
    allow(&["open_by_handle_at"], When::HasCap(Capability::DacReadSearch)),
    // Namespaces and mounts need CAP_SYS_ADMIN: mount, unshare, setns, clone with
    // any flags, the new mount API, and a few host-wide knobs of the same power.
    allow(
        &["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
          "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
          "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
          "setns", "syslog", "umount", "umount2", "unshare"],
        When::HasCap(Capability::SysAdmin),
    ),
    // ANCHOR_END: namespace_rules
    // ANCHOR: capability_rules
    // Without CAP_SYS_ADMIN, clone is still how threads and processes are made:
    // allowed when no CLONE_NEW* flag is set (flags are argument 0 on x86_64).
    allow_if(
        &["clone"],
        &[masked_eq(0, CLONE_NAMESPACE_FLAGS, 0)],
        When::LacksCap(Capability::SysAdmin),
    ),
    // clone3 passes its flags in a struct that a seccomp filter cannot read, so it
    // cannot be checked like clone. ENOSYS (not EPERM) makes libc fall back to clone.
    Rule {
        names: &["clone3"],
        action: Action::Errno(ENOSYS),
        args: &[],
        when: When::LacksCap(Capability::SysAdmin),
    },
    // Each remaining group comes with the capability that grants its power anyway.
    allow(&["reboot"], When::HasCap(Capability::SysBoot)),
    allow(&["chroot"], When::HasCap(Capability::SysChroot)),
    allow(&["delete_module", "init_module", "finit_module"], When::HasCap(Capability::SysModule)),
    allow(&["acct"], When::HasCap(Capability::SysPacct)),
    allow(
        &["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
          "ptrace"],
        When::HasCap(Capability::SysPtrace),
    ),
    allow(&["iopl", "ioperm"], When::HasCap(Capability::SysRawio)),
    allow(
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
        When::HasCap(Capability::SysTime),
    ),
    allow(&["vhangup"], When::HasCap(Capability::SysTtyConfig)),
    allow(
        &["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
        When::HasCap(Capability::SysNice),
    ),
    allow(&["syslog"], When::HasCap(Capability::Syslog)),
    allow(&["bpf"], When::HasCap(Capability::Bpf)),
    allow(&["perf_event_open"], When::HasCap(Capability::Perfmon)),
    // ANCHOR_END: capability_rules
];

impl When {
    /// Whether the rule applies to a container with these capabilities, here.
    fn holds(self, caps: &Capabilities) -> bool {
        match self {
            When::Always => true,
            When::HasCap(cap) => caps.contains(&cap),
            When::LacksCap(cap) => !caps.contains(&cap),
            When::Arch(arches) => arches.contains(&std::env::consts::ARCH),
            When::Kernel(major, minor) => kernel_at_least(major, minor),
        }
    }
}

impl Arg {
    fn to_oci(self) -> LinuxSeccompArg {
        let builder = LinuxSeccompArgBuilder::default()
            .index(self.index)
            .op(self.op)
            .value(self.value);
        match self.value_two {
            Some(two) => builder.value_two(two),
            None => builder,
        }
        .build()
        .expect("every field of LinuxSeccompArg is set")
    }
}

// ANCHOR: resolve_default_profile
/// docker's default profile for a container holding `caps`, as the OCI spec's
/// `linux.seccomp`: default action ERRNO(EPERM), the rules that apply.
pub(super) fn profile(caps: &Capabilities) -> LinuxSeccomp {
    let syscalls = RULES
        .iter()
        .filter(|rule| rule.when.holds(caps))
        .map(|rule| {
            let mut syscall = LinuxSyscall::default();
            syscall.set_names(rule.names.iter().map(|n| n.to_string()).collect());
            match rule.action {
                Action::Allow => syscall.set_action(LinuxSeccompAction::ScmpActAllow),
                Action::Errno(errno) => {
                    syscall.set_action(LinuxSeccompAction::ScmpActErrno);
                    syscall.set_errno_ret(Some(errno))
                }
            };
            if !rule.args.is_empty() {
                syscall.set_args(Some(rule.args.iter().map(|a| a.to_oci()).collect()));
            }
            syscall
        })
        .collect();
    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(LinuxSeccompAction::ScmpActErrno);
    seccomp.set_default_errno_ret(Some(EPERM));
    seccomp.set_architectures(Some(native_architectures()));
    seccomp.set_syscalls(Some(syscalls));
    seccomp
}
// ANCHOR_END: resolve_default_profile

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the resolved profile allows `name` with no argument condition.
    fn allows(profile: &LinuxSeccomp, name: &str) -> bool {
        profile.syscalls().iter().flatten().any(|s| {
            s.action() == LinuxSeccompAction::ScmpActAllow
                && s.args().as_ref().is_none_or(|a| a.is_empty())
                && s.names().iter().any(|n| n == name)
        })
    }

    fn caps(list: &[Capability]) -> Capabilities {
        list.iter().copied().collect()
    }

    #[test]
    fn default_action_is_eperm() {
        let p = profile(&caps(&[]));
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
    }

    #[test]
    fn unshare_mount_setns_only_with_sys_admin() {
        let without = profile(&super::super::capability_set(&[], &[], false).unwrap());
        let with = profile(&caps(&[Capability::SysAdmin]));
        for name in ["unshare", "mount", "setns", "umount2", "clone3"] {
            assert!(
                !allows(&without, name),
                "{name} allowed without CAP_SYS_ADMIN"
            );
            assert!(allows(&with, name), "{name} denied with CAP_SYS_ADMIN");
        }
    }

    #[test]
    fn clone_without_namespace_flags_and_clone3_enosys_without_sys_admin() {
        let p = profile(&caps(&[]));
        let clone: Vec<_> = p
            .syscalls()
            .iter()
            .flatten()
            .filter(|s| s.names() == &["clone"])
            .collect();
        assert_eq!(clone.len(), 1);
        let arg = clone[0].args().as_ref().unwrap()[0];
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(
            (arg.index(), arg.value(), arg.value_two()),
            (0, 0x7E020000, Some(0))
        );
        let clone3 = p
            .syscalls()
            .iter()
            .flatten()
            .find(|s| s.names() == &["clone3"])
            .unwrap();
        assert_eq!(clone3.action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3.errno_ret(), Some(38));
        // With CAP_SYS_ADMIN neither the masked rule nor the ENOSYS rule is there.
        let admin = profile(&caps(&[Capability::SysAdmin]));
        assert!(
            !admin
                .syscalls()
                .iter()
                .flatten()
                .any(|s| s.args().is_some() && s.names() == &["clone"])
        );
        assert!(
            !admin
                .syscalls()
                .iter()
                .flatten()
                .any(|s| s.errno_ret() == Some(38))
        );
    }

    #[test]
    fn reboot_and_module_loading_are_denied_by_default() {
        let p = profile(&super::super::capability_set(&[], &[], false).unwrap());
        for name in [
            "reboot",
            "init_module",
            "finit_module",
            "kexec_load",
            "open_by_handle_at",
            "settimeofday",
            "bpf",
            "kcmp",
            "acct",
            "swapon",
        ] {
            assert!(!allows(&p, name), "{name}");
        }
        // ptrace is safe under seccomp since 4.8; chroot comes with CAP_SYS_CHROOT.
        assert!(allows(&p, "ptrace"));
        assert!(allows(&p, "chroot"));
        assert!(allows(&p, "getpid") && allows(&p, "execve") && allows(&p, "capset"));
        assert!(allows(&profile(&caps(&[Capability::SysBoot])), "reboot"));
    }

    #[test]
    fn personality_only_with_safe_values() {
        let p = profile(&caps(&[]));
        let values: Vec<u64> = p
            .syscalls()
            .iter()
            .flatten()
            .filter(|s| s.names() == &["personality"])
            .map(|s| s.args().as_ref().unwrap()[0].value())
            .collect();
        assert_eq!(values, [0, 8, 0x20000, 0x20008, 0xffffffff]);
    }

    #[test]
    fn x86_64_lists_dockers_three_architectures() {
        if std::env::consts::ARCH == "x86_64" {
            let p = profile(&caps(&[]));
            assert_eq!(p.architectures().as_ref().unwrap().len(), 3);
            assert!(allows(&p, "arch_prctl"));
            assert!(!allows(&p, "riscv_flush_icache"));
        }
    }
}
