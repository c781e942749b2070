//! Privileged tests: each forks a child, applies a [`ProcessSecurity`] there, and
//! checks what the kernel shows in the child's `/proc/self/status`.
//!
//! The child of a fork is single-threaded, which `unshare(CLONE_NEWUSER)` and
//! per-thread state like capabilities and seccomp need; the test harness's
//! threads stay in the parent. The child reports a failure as text on a pipe.

use std::io::Read;

use berth_engine::oci_spec::runtime::{
    Linux, LinuxBuilder, LinuxSeccomp, Process, ProcessBuilder, UserBuilder,
};
use nix::unistd::{ForkResult, Gid, Uid};

use super::*;
use crate::security::{SeccompChoice, capability_set, linux_capabilities, mask, seccomp_profile};

/// docker's default capability mask.
const DEFAULT_MASK: u64 = 0xa80425fb;

/// Whether the test may run: root is needed. With BERTH_REQUIRE_ROOT=1 a missing
/// privilege is a failure, otherwise the test is skipped with a printed reason.
fn privileged() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("BERTH_REQUIRE_ROOT").as_deref() != Ok("1"),
        "this test needs root (BERTH_REQUIRE_ROOT=1)"
    );
    eprintln!("skipped: needs root");
    false
}

/// Runs `check` in a forked child; returns its error text, if any.
fn in_child(check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let (read, write) = nix::unistd::pipe().map_err(|e| e.to_string())?;
    // SAFETY: the child only runs `check` (allocation is safe after fork with
    // glibc, which resets its allocator locks) and then `_exit`s.
    match unsafe { nix::unistd::fork() }.map_err(|e| e.to_string())? {
        ForkResult::Child => {
            drop(read);
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
                Ok(Ok(())) => 0,
                Ok(Err(message)) => {
                    let _ = nix::unistd::write(&write, message.as_bytes());
                    1
                }
                Err(_) => {
                    let _ = nix::unistd::write(&write, b"the check panicked");
                    2
                }
            };
            // SAFETY: _exit skips the parent's atexit handlers and buffers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write);
            let mut message = String::new();
            std::fs::File::from(read)
                .read_to_string(&mut message)
                .map_err(|e| e.to_string())?;
            let status = nix::sys::wait::waitpid(child, None).map_err(|e| e.to_string())?;
            match status {
                nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
                other => Err(format!("child {other:?}: {message}")),
            }
        }
    }
}

/// One `Name:\tvalue` line of the child's own status.
fn status(field: &str) -> Result<String, String> {
    let text = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

fn status_mask(field: &str) -> Result<u64, String> {
    let value = status(field)?;
    u64::from_str_radix(&value, 16).map_err(|e| format!("{field} {value}: {e}"))
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    match got == want {
        true => Ok(()),
        false => Err(format!("{what}: got {got:?}, want {want:?}")),
    }
}

/// A process of `uid` with docker's default capabilities spread as docker does.
fn process(uid: u32, no_new_privileges: bool) -> Process {
    let set = capability_set(&[], &[], false).unwrap();
    ProcessBuilder::default()
        .user(UserBuilder::default().uid(uid).gid(uid).build().unwrap())
        .capabilities(linux_capabilities(&set, uid == 0))
        .no_new_privileges(no_new_privileges)
        .args(vec!["/bin/true".to_string()])
        .build()
        .unwrap()
}

fn linux_with(seccomp: Option<LinuxSeccomp>) -> Linux {
    let builder = LinuxBuilder::default();
    match seccomp {
        Some(profile) => builder.seccomp(profile),
        None => builder,
    }
    .build()
    .unwrap()
}

fn default_seccomp() -> Option<LinuxSeccomp> {
    seccomp_profile(
        &SeccompChoice::Default,
        &capability_set(&[], &[], false).unwrap(),
    )
    .unwrap()
}

/// The runtime's sequence, as the module docs prescribe it.
fn apply(security: &ProcessSecurity, uid: u32) -> Result<(), String> {
    security.before_user_switch().map_err(|e| e.to_string())?;
    if uid != 0 {
        nix::unistd::setgroups(&[]).map_err(|e| format!("setgroups: {e}"))?;
        nix::unistd::setgid(Gid::from_raw(uid)).map_err(|e| format!("setgid: {e}"))?;
        nix::unistd::setuid(Uid::from_raw(uid)).map_err(|e| format!("setuid: {e}"))?;
    }
    security.after_user_switch().map_err(|e| e.to_string())?;
    security.install_seccomp().map_err(|e| e.to_string())
}

/// `unshare(CLONE_NEWUSER)`: Ok or the errno.
fn unshare_user() -> Result<(), nix::errno::Errno> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
}

#[test]
fn root_gets_dockers_fourteen_capabilities_and_nothing_inheritable() {
    if !privileged() {
        return;
    }
    let security = ProcessSecurity::from_spec(&process(0, false), None).unwrap();
    in_child(|| {
        apply(&security, 0)?;
        expect_eq("CapBnd", status_mask("CapBnd")?, DEFAULT_MASK)?;
        expect_eq("CapPrm", status_mask("CapPrm")?, DEFAULT_MASK)?;
        expect_eq("CapEff", status_mask("CapEff")?, DEFAULT_MASK)?;
        expect_eq("CapInh", status_mask("CapInh")?, 0)?;
        expect_eq("CapAmb", status_mask("CapAmb")?, 0)?;
        expect_eq("NoNewPrivs", status("NoNewPrivs")?, "0".into())?;
        expect_eq("Seccomp", status("Seccomp")?, "0".into())
    })
    .unwrap();
}

#[test]
fn another_user_holds_nothing_but_keeps_the_bounding_set() {
    if !privileged() {
        return;
    }
    let security = ProcessSecurity::from_spec(&process(1000, false), None).unwrap();
    in_child(|| {
        apply(&security, 1000)?;
        expect_eq("uid", nix::unistd::getuid().as_raw(), 1000)?;
        expect_eq("CapBnd", status_mask("CapBnd")?, DEFAULT_MASK)?;
        expect_eq("CapPrm", status_mask("CapPrm")?, 0)?;
        expect_eq("CapEff", status_mask("CapEff")?, 0)?;
        expect_eq("CapInh", status_mask("CapInh")?, 0)?;
        expect_eq("CapAmb", status_mask("CapAmb")?, 0)
    })
    .unwrap();
}

#[test]
fn no_new_privileges_is_set_when_asked() {
    if !privileged() {
        return;
    }
    let security = ProcessSecurity::from_spec(&process(0, true), None).unwrap();
    in_child(|| {
        apply(&security, 0)?;
        expect_eq("NoNewPrivs", status("NoNewPrivs")?, "1".into())
    })
    .unwrap();
}

#[test]
fn default_profile_denies_unshare_but_not_getpid_and_returns_the_borrowed_cap() {
    if !privileged() {
        return;
    }
    let linux = linux_with(default_seccomp());
    let security = ProcessSecurity::from_spec(&process(0, false), Some(&linux)).unwrap();
    assert_eq!(security.filter_count(), 2);
    in_child(|| {
        apply(&security, 0)?;
        expect_eq("Seccomp", status("Seccomp")?, "2".into())?;
        expect_eq("Seccomp_filters", status("Seccomp_filters")?, "2".into())?;
        expect_eq(
            "unshare(CLONE_NEWUSER)",
            unshare_user(),
            Err(nix::errno::Errno::EPERM),
        )?;
        // clone3 is refused with ENOSYS so that libc falls back to clone.
        // SAFETY: clone3 with a null argument only returns an error.
        let rc = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0) };
        expect_eq(
            "clone3",
            (rc, nix::errno::Errno::last()),
            (-1, nix::errno::Errno::ENOSYS),
        )?;
        expect_eq("getpid", nix::unistd::getpid().as_raw() > 0, true)?;
        // CAP_SYS_ADMIN was only borrowed to load the filter.
        expect_eq("CapEff", status_mask("CapEff")?, DEFAULT_MASK)?;
        expect_eq("CapPrm", status_mask("CapPrm")?, DEFAULT_MASK)
    })
    .unwrap();
}

#[test]
fn default_profile_loads_for_another_user_without_no_new_privs() {
    if !privileged() {
        return;
    }
    let linux = linux_with(default_seccomp());
    let security = ProcessSecurity::from_spec(&process(1000, false), Some(&linux)).unwrap();
    in_child(|| {
        apply(&security, 1000)?;
        expect_eq("Seccomp", status("Seccomp")?, "2".into())?;
        expect_eq("NoNewPrivs", status("NoNewPrivs")?, "0".into())?;
        expect_eq("CapEff", status_mask("CapEff")?, 0)?;
        expect_eq("CapPrm", status_mask("CapPrm")?, 0)?;
        expect_eq(
            "unshare(CLONE_NEWUSER)",
            unshare_user(),
            Err(nix::errno::Errno::EPERM),
        )
    })
    .unwrap();
}

#[test]
fn with_no_new_privs_nothing_is_borrowed() {
    if !privileged() {
        return;
    }
    let linux = linux_with(default_seccomp());
    let security = ProcessSecurity::from_spec(&process(1000, true), Some(&linux)).unwrap();
    assert!(!security.borrow_sys_admin);
    in_child(|| {
        apply(&security, 1000)?;
        expect_eq("Seccomp", status("Seccomp")?, "2".into())?;
        expect_eq("NoNewPrivs", status("NoNewPrivs")?, "1".into())?;
        expect_eq("CapEff", status_mask("CapEff")?, 0)
    })
    .unwrap();
}

#[test]
fn unconfined_lets_unshare_work() {
    if !privileged() {
        return;
    }
    let linux = linux_with(None);
    let security = ProcessSecurity::from_spec(&process(0, false), Some(&linux)).unwrap();
    assert_eq!(security.filter_count(), 0);
    in_child(|| {
        apply(&security, 0)?;
        expect_eq("Seccomp", status("Seccomp")?, "0".into())?;
        expect_eq("unshare(CLONE_NEWUSER)", unshare_user(), Ok(()))
    })
    .unwrap();
}

#[test]
fn a_profile_file_with_several_errnos_returns_each() {
    if !privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profile.json");
    std::fs::write(
        &path,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
              {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
              {"names": ["getpgrp"], "action": "SCMP_ACT_ERRNO"},
              {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
               "args": [{"index": 1, "value": 12345, "op": "SCMP_CMP_EQ"}]}
            ]}"#,
    )
    .unwrap();
    let caps = capability_set(&[], &[], false).unwrap();
    let profile = seccomp_profile(&SeccompChoice::File(path), &caps).unwrap();
    let security =
        ProcessSecurity::from_spec(&process(0, false), Some(&linux_with(profile))).unwrap();
    assert_eq!(security.filter_count(), 3);
    in_child(|| {
        apply(&security, 0)?;
        let errno = |rc: libc::c_long| (rc, nix::errno::Errno::last());
        // SAFETY: these syscalls take no pointers, or a pointer that is not read.
        let getppid = errno(unsafe { libc::syscall(libc::SYS_getppid) });
        expect_eq("getppid", getppid, (-1, nix::errno::Errno::EACCES))?;
        let getpgrp = errno(unsafe { libc::syscall(libc::SYS_getpgrp) });
        expect_eq("getpgrp", getpgrp, (-1, nix::errno::Errno::EPERM))?;
        // Only the call whose argument 1 is 12345 gets EOPNOTSUPP; the other one
        // reaches the kernel.
        let matched = errno(unsafe { libc::syscall(libc::SYS_getpriority, 0, 12345) });
        expect_eq(
            "getpriority(_, 12345)",
            matched,
            (-1, nix::errno::Errno::EOPNOTSUPP),
        )?;
        let other = unsafe { libc::syscall(libc::SYS_getpriority, 0, 0) };
        expect_eq("getpriority(_, 0) succeeds", other >= 0, true)?;
        expect_eq("getpid", nix::unistd::getpid().as_raw() > 0, true)
    })
    .unwrap();
}

#[test]
fn a_profile_that_denies_capset_fails_instead_of_keeping_sys_admin() {
    if !privileged() {
        return;
    }
    let profile: LinuxSeccomp = serde_json::from_str(
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["capset"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let security =
        ProcessSecurity::from_spec(&process(0, false), Some(&linux_with(Some(profile)))).unwrap();
    in_child(|| {
        security.before_user_switch().map_err(|e| e.to_string())?;
        security.after_user_switch().map_err(|e| e.to_string())?;
        match security.install_seccomp() {
            Err(e) if e.to_string().contains("capset") => Ok(()),
            other => Err(format!("install_seccomp: {other:?}")),
        }
    })
    .unwrap();
}

#[test]
fn a_capability_the_engine_lacks_is_refused_before_clone() {
    let held = engine_bounding_set().unwrap();
    let Some(missing) = super::super::capabilities::from_mask(!mask(&held) & ((1 << 41) - 1))
        .into_iter()
        .next()
    else {
        eprintln!("skipped: this engine holds every capability");
        return;
    };
    let set: Capabilities = [missing].into_iter().collect();
    let process = ProcessBuilder::default()
        .capabilities(linux_capabilities(&set, true))
        .build()
        .unwrap();
    let e = ProcessSecurity::from_spec(&process, None).unwrap_err();
    assert!(matches!(e, SecurityError::CapabilityNotHeld { .. }), "{e}");
}

#[test]
fn default_profile_argument_rules_hold_in_the_kernel() {
    if !privileged() {
        return;
    }
    let linux = linux_with(default_seccomp());
    let security = ProcessSecurity::from_spec(&process(0, false), Some(&linux)).unwrap();
    in_child(|| {
        apply(&security, 0)?;
        let errno = |rc: libc::c_long| (rc, nix::errno::Errno::last());
        let eperm = (-1, nix::errno::Errno::EPERM);
        // SAFETY: socket and personality take integers only.
        let vsock = errno(unsafe { libc::syscall(libc::SYS_socket, libc::AF_VSOCK, 1, 0) });
        expect_eq("socket(AF_VSOCK)", vsock, eperm)?;
        let unix = unsafe { libc::syscall(libc::SYS_socket, libc::AF_UNIX, libc::SOCK_STREAM, 0) };
        expect_eq("socket(AF_UNIX)", unix >= 0, true)?;
        // SAFETY: closing the descriptor just opened.
        unsafe { libc::close(unix as libc::c_int) };
        let query = unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) };
        expect_eq("personality(query)", query >= 0, true)?;
        let read_implies_exec =
            errno(unsafe { libc::syscall(libc::SYS_personality, 0x0040_0000u64) });
        expect_eq("personality(READ_IMPLIES_EXEC)", read_implies_exec, eperm)?;
        // clone with a namespace flag is refused; were it not, the new child exits.
        let flags = (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong;
        // SAFETY: a fork-like clone; a child, if any, only calls _exit.
        let rc = unsafe { libc::syscall(libc::SYS_clone, flags, 0, 0, 0, 0) };
        if rc == 0 {
            unsafe { libc::_exit(0) };
        }
        expect_eq("clone(CLONE_NEWUSER)", errno(rc), eperm)?;
        // A plain fork (clone without CLONE_NEW*) still works.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => unsafe { libc::_exit(0) },
            Ok(ForkResult::Parent { child }) => {
                let status = nix::sys::wait::waitpid(child, None).map_err(|e| e.to_string())?;
                expect_eq("fork", status, nix::sys::wait::WaitStatus::Exited(child, 0))
            }
            Err(e) => Err(format!("fork under the default profile: {e}")),
        }
    })
    .unwrap();
}
