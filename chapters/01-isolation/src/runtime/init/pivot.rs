//! Changing the root: `pivot_root` into the root filesystem and detaching the
//! host's tree; then hiding and freezing the paths of /proc and /sys that
//! describe the host rather than the container.

use std::path::Path;

use berth_engine::oci_spec::runtime::Spec;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{SFlag, fstat};
use nix::sys::statvfs::{FsFlags, statvfs};

use super::paths::{fd_path, open_in_root};
use super::{InitFailure, Step};

const NONE: Option<&str> = None;

// ANCHOR: pivot_root
/// Makes `rootfs` the root of our mount namespace and leaves no way back.
///
/// `pivot_root(".", ".")` is runc's trick: with the new root and the place for
/// the old one being the same directory, the old root is stacked on top of the
/// new one, at `/`. Unmounting `.` (which now names that top mount) detaches the
/// whole host tree, and no `put_old` directory is needed inside the image (a
/// read-only image could not even hold one). Unlike chroot, nothing of the host
/// stays reachable: a process cannot `chroot ..` its way out of a mount that is
/// gone.
pub fn pivot_root(rootfs: &Path) -> Result<(), InitFailure> {
    nix::unistd::chdir(rootfs).step(|| format!("entering {}", rootfs.display()))?;
    nix::unistd::pivot_root(".", ".").step(|| "pivot_root".into())?;
    // The old root must not propagate the unmount to the host's mounts: make it
    // (again, to be safe whatever rootfsPropagation said) a slave first.
    mount(NONE, ".", NONE, MsFlags::MS_SLAVE | MsFlags::MS_REC, NONE)
        .step(|| "making the old root a slave".into())?;
    umount2(".", MntFlags::MNT_DETACH).step(|| "detaching the old root".into())?;
    nix::unistd::chdir("/").step(|| "entering /".into())?;
    Ok(())
}
// ANCHOR_END: pivot_root

/// `linux.readonlyPaths` then `linux.maskedPaths`, inside the new root (the
/// order runc uses, so both runtimes build the same mount table).
pub fn mask_and_protect(spec: &Spec) -> Result<(), InitFailure> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let root = std::fs::File::open("/").step(|| "opening /".into())?;
    for path in linux.readonly_paths().iter().flatten() {
        protect(&root, path)?;
    }
    for path in linux.masked_paths().iter().flatten() {
        mask(&root, path)?;
    }
    Ok(())
}

/// A read-only path is bound onto itself and the bind remounted read-only.
/// Paths this kernel does not have are skipped.
fn protect(root: &std::fs::File, path: &str) -> Result<(), InitFailure> {
    let Some(fd) = existing(root, path)? else {
        return Ok(());
    };
    let p = fd_path(&fd);
    mount(Some(&p), &p, NONE, MsFlags::MS_BIND | MsFlags::MS_REC, NONE)
        .step(|| format!("binding {path}"))?;
    // Reopened: the first descriptor names what lies under the new bind.
    let top = existing(root, path)?.expect("it was just bound");
    remount_read_only(&fd_path(&top)).step(|| format!("making {path} read-only"))
}

// ANCHOR: masking
/// A masked directory becomes an empty read-only tmpfs, a masked file a bind of
/// /dev/null (reads are empty, writes vanish). Paths this kernel does not have
/// (/proc/kcore on some kernels) are skipped, as runc does.
fn mask(root: &std::fs::File, path: &str) -> Result<(), InitFailure> {
    let Some(fd) = existing(root, path)? else {
        return Ok(());
    };
    let mode = fstat(&fd).step(|| format!("stat {path}"))?.st_mode;
    let is_dir = SFlag::from_bits_truncate(mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
    let target = fd_path(&fd);
    let result = match is_dir {
        true => mount(
            Some("tmpfs"),
            &target,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            NONE,
        ),
        false => mount(Some("/dev/null"), &target, NONE, MsFlags::MS_BIND, NONE),
    };
    result.step(|| format!("masking {path}"))
}
// ANCHOR_END: masking

/// Opens a path of the container, or `None` when it does not exist.
fn existing(root: &std::fs::File, path: &str) -> Result<Option<std::os::fd::OwnedFd>, InitFailure> {
    match open_in_root(root, Path::new(path), OFlag::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(nix::Error::ENOENT) => Ok(None),
        Err(e) => Err(InitFailure::setup(format!("opening {path}"), e)),
    }
}

// ANCHOR: remount_read_only
/// Remounts the mount at `path` read-only, keeping its nosuid/nodev/noexec and
/// atime flags: a bind remount replaces them all, and dropping a flag the kernel
/// locked (in a user namespace) would fail.
pub fn remount_read_only(path: &Path) -> nix::Result<()> {
    let kept = statvfs(path)?.flags();
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    for (st, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if kept.contains(st) {
            flags |= ms;
        }
    }
    mount(NONE, path, NONE, flags, NONE)
}
// ANCHOR_END: remount_read_only
