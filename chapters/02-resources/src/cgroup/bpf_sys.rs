//! Loading the device program into the kernel and attaching it to a cgroup:
//! two `bpf(2)` calls, `BPF_PROG_LOAD` and `BPF_PROG_ATTACH`.
//!
//! The kernel calls go through [`DeviceFilter`], so that the v2 driver can be
//! tested against a fake cgroup tree with a filter that only records.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use thiserror::Error;

use super::bpf::{self, Insn};

/// What went wrong loading or attaching a device program.
#[derive(Debug, Error)]
pub enum BpfError {
    /// The verifier (or the kernel) refused the program.
    #[error(
        "the kernel refused the cgroup device program: {errno}{}",
        verifier_note(log)
    )]
    Load {
        /// bpf(2)'s error.
        errno: Errno,
        /// The verifier's log, if it wrote one.
        log: String,
    },
    /// The cgroup directory could not be opened.
    #[error("cannot open cgroup {path}: {source}")]
    Open {
        /// The cgroup.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// BPF_PROG_ATTACH failed.
    #[error("cannot attach the device program to {path}: {errno}")]
    Attach {
        /// The cgroup.
        path: PathBuf,
        /// bpf(2)'s error.
        errno: Errno,
    },
}

/// The verifier's reason: the last line of its log, above the statistics it
/// prints last ("processed N insns ...").
fn verifier_note(log: &str) -> String {
    let reason = log.lines().rev().map(str::trim).find(|l| {
        !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("verification time")
    });
    match reason {
        Some(line) => format!(" (verifier: {line})"),
        None => String::new(),
    }
}

/// Installs a devices allow-list program on a cgroup.
pub trait DeviceFilter: Send + Sync {
    /// Loads `program` and attaches it to the cgroup directory `cgroup`.
    fn install(&self, cgroup: &Path, program: &[Insn]) -> Result<(), BpfError>;
}

/// The real thing: bpf(2).
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelDeviceFilter;

impl DeviceFilter for KernelDeviceFilter {
    fn install(&self, cgroup: &Path, program: &[Insn]) -> Result<(), BpfError> {
        let loaded = load(program)?;
        attach(cgroup, &loaded)
        // `loaded` closes here: the attachment holds its own reference, and the
        // program lives as long as the cgroup does.
    }
}

// Constants of the kernel's uapi `linux/bpf.h`.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Let programs of child cgroups run too (each must allow): the container
/// cannot replace berth's program with a laxer one.
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

/// The `BPF_PROG_LOAD` member of `union bpf_attr`, up to the fields berth sets;
/// the kernel takes a shorter attr and treats what is missing as zero.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf_call<T>(command: libc::c_long, attr: &mut T) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, initialised #[repr(C)] prefix of `union bpf_attr`
    // for `command`, and its size is passed with it; the pointers inside it
    // point at buffers that outlive the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    Errno::result(result)
}

// ANCHOR: bpf_load
/// Loads the program; on refusal, loads it again with a log buffer so the
/// error says what the verifier disliked.
pub fn load(program: &[Insn]) -> Result<OwnedFd, BpfError> {
    let code = bpf::to_bytes(program);
    let license = CString::new(env!("CARGO_PKG_LICENSE")).unwrap_or_default();
    let mut log = vec![0u8; 64 * 1024];
    let mut attempt = |with_log: bool| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: program.len() as u32,
            insns: code.as_ptr() as u64,
            license: license.as_ptr() as u64,
            ..ProgLoadAttr::default()
        };
        let name = b"berth_devices";
        attr.prog_name[..name.len()].copy_from_slice(name);
        if with_log {
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        bpf_call(BPF_PROG_LOAD, &mut attr)
    };
    let fd = match attempt(false) {
        Ok(fd) => fd,
        Err(_) => attempt(true).map_err(|errno| BpfError::Load {
            errno,
            log: String::from_utf8_lossy(&log)
                .trim_end_matches('\0')
                .to_string(),
        })?,
    };
    // SAFETY: a successful BPF_PROG_LOAD returns a new file descriptor that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
// ANCHOR_END: bpf_load

// ANCHOR: bpf_attach
/// Attaches a loaded program to the cgroup directory `cgroup`.
pub fn attach(cgroup: &Path, program: &OwnedFd) -> Result<(), BpfError> {
    let dir = std::fs::File::open(cgroup).map_err(|source| BpfError::Open {
        path: cgroup.to_path_buf(),
        source,
    })?;
    let mut attr = ProgAttachAttr {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttachAttr::default()
    };
    bpf_call(BPF_PROG_ATTACH, &mut attr).map_err(|errno| BpfError::Attach {
        path: cgroup.to_path_buf(),
        errno,
    })?;
    Ok(())
}
// ANCHOR_END: bpf_attach

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernels() {
        // Offsets of union bpf_attr's members in linux/bpf.h.
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, insns), 8);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(std::mem::size_of::<ProgAttachAttr>(), 20);
    }

    #[test]
    fn verifier_note_keeps_the_reason_not_the_statistics() {
        assert_eq!(verifier_note(""), "");
        let log = "unreachable insn 2\nprocessed 0 insns (limit 1000000) max_states_per_insn 0\n";
        assert_eq!(verifier_note(log), " (verifier: unreachable insn 2)");
        assert_eq!(
            verifier_note("0: r2 = 1\nunreachable insn 9\n\n"),
            " (verifier: unreachable insn 9)"
        );
    }
}
