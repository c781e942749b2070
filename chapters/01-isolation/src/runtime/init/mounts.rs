//! The container's mount table: the root made a slave of the host's, the root
//! filesystem bound onto itself (pivot_root needs a mount point), then the spec's
//! mounts in order, each target resolved inside the root.

use std::path::{Path, PathBuf};

use berth_engine::oci_spec::runtime::{Mount, Spec};
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{SFlag, fstat};

use super::paths::{Kind, clean, ensure_in_root, fd_path, open_in_root};
use super::{InitContext, InitFailure, Step};
use crate::runtime::options::{self, MountOptions};

const NONE: Option<&str> = None;

/// What the mount step learnt that later steps need.
#[derive(Debug, Default)]
pub struct Mounted {
    /// The spec mounts a tmpfs (not a bind) on /dev, so the runtime fills it.
    pub dev_tmpfs: bool,
}

// ANCHOR: prepare_root
/// Makes every mount of our new namespace a slave of the host's (or what
/// `linux.rootfsPropagation` says), so nothing mounted here leaks to the host,
/// then binds the root filesystem onto itself: `pivot_root` needs a mount point.
pub fn prepare_root(spec: &Spec, rootfs: &Path) -> Result<(), InitFailure> {
    let asked = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone());
    let propagation = options::root_propagation(asked.as_deref()).ok_or_else(|| {
        InitFailure::setup(
            "linux.rootfsPropagation",
            format!("unknown value {asked:?}"),
        )
    })?;
    mount(NONE, "/", NONE, propagation, NONE).step(|| "making / a slave of the host".into())?;
    mount(
        Some(rootfs),
        rootfs,
        NONE,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        NONE,
    )
    .step(|| format!("binding the root filesystem {}", rootfs.display()))?;
    Ok(())
}
// ANCHOR_END: prepare_root

/// Mounts `spec.mounts` in order under `rootfs`.
pub fn mount_all(ctx: &InitContext, rootfs: &Path) -> Result<Mounted, InitFailure> {
    let root = std::fs::File::open(rootfs).step(|| format!("opening {}", rootfs.display()))?;
    let mut mounted = Mounted::default();
    for m in ctx.bundle.spec.mounts().iter().flatten() {
        let destination = PathBuf::from("/").join(clean(m.destination()));
        let opts = options::parse(m.options().as_deref().unwrap_or_default());
        let typ = mount_type(m, &opts);
        if destination == Path::new("/dev") && typ != "bind" {
            mounted.dev_tmpfs = true;
        }
        mount_one(ctx, &root, m, &destination, typ, &opts).map_err(|e| {
            InitFailure::setup(
                format!("mounting {typ} on {}", destination.display()),
                e.message,
            )
        })?;
    }
    Ok(mounted)
}

/// The file system type; a mount with `bind`/`rbind` and no type is a bind.
fn mount_type<'a>(m: &'a Mount, opts: &MountOptions) -> &'a str {
    match m.typ().as_deref() {
        Some("none") | None if opts.is_bind() => "bind",
        Some(t) => t,
        None => "none",
    }
}

fn mount_one(
    ctx: &InitContext,
    root: &std::fs::File,
    m: &Mount,
    destination: &Path,
    typ: &str,
    opts: &MountOptions,
) -> Result<(), InitFailure> {
    if matches!(typ, "proc" | "sysfs") {
        refuse_symlink(root, destination)?;
    }
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    let kind = match typ == "bind" && !source.is_dir() {
        true => Kind::File,
        false => Kind::Dir,
    };
    // ANCHOR: mount_one
    let target = ensure_in_root(root, destination, kind).step(|| "creating the target".into())?;
    let target_path = fd_path(&target);
    match typ {
        "bind" => {
            let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
            mount(Some(&source), &target_path, NONE, flags, NONE)
                .step(|| format!("binding {}", source.display()))?;
            if let Some(flags) = opts.bind_remount_flags() {
                // The target descriptor names the directory under the new mount;
                // reopen the path to reach the mount itself.
                let top =
                    open_in_root(root, destination, OFlag::empty()).step(|| "reopening".into())?;
                mount(NONE, &fd_path(&top), NONE, flags, NONE)
                    .step(|| "remounting with its options".into())?;
            }
        }
        "cgroup" | "cgroup2" => mount_cgroups(ctx, root, destination, opts)?,
        _ => mount(
            Some(&source),
            &target_path,
            Some(typ),
            opts.flags,
            opts.data().as_deref(),
        )
        .step(|| "mount".to_string())?,
    }
    // ANCHOR_END: mount_one
    for &propagation in &opts.propagation {
        let top = open_in_root(root, destination, OFlag::empty()).step(|| "reopening".into())?;
        mount(NONE, &fd_path(&top), NONE, propagation, NONE)
            .step(|| "setting propagation".into())?;
    }
    Ok(())
}

/// CVE-2019-16884: a root filesystem whose `proc` is a symlink (to a directory
/// the image controls) would get the real /proc mounted somewhere unexpected,
/// and the masking of /proc paths would miss it. Such a target is refused.
fn refuse_symlink(root: &std::fs::File, destination: &Path) -> Result<(), InitFailure> {
    match open_in_root(root, destination, OFlag::O_NOFOLLOW) {
        Ok(fd) => {
            let stat = fstat(&fd).step(|| "stat".into())?;
            if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
                return Err(InitFailure::setup(
                    format!(
                        "{} is a symlink in the root filesystem",
                        destination.display()
                    ),
                    "refused (it would let the image redirect the mount); make it a directory",
                ));
            }
            Ok(())
        }
        Err(nix::Error::ENOENT) => Ok(()),
        Err(e) => Err(InitFailure::setup("checking the target", e)),
    }
}

/// `/sys/fs/cgroup`. On cgroup v2 a fresh `cgroup2` mount, which shows the
/// container's own cgroup when it has a cgroup namespace. On v1 a tmpfs holding
/// one read-only bind per hierarchy of the container's cgroup, so it sees its
/// own limits and nothing above them; without a cgroup driver, the tmpfs alone.
fn mount_cgroups(
    ctx: &InitContext,
    root: &std::fs::File,
    destination: &Path,
    opts: &MountOptions,
) -> Result<(), InitFailure> {
    let target =
        open_in_root(root, destination, OFlag::empty()).step(|| "opening the target".into())?;
    if ctx.cgroup_v2 {
        return mount(
            Some("cgroup"),
            &fd_path(&target),
            Some("cgroup2"),
            opts.flags,
            NONE,
        )
        .step(|| "mounting cgroup2".into());
    }
    // ANCHOR: cgroup_v1_binds
    let tmpfs_flags = opts.flags - MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        &fd_path(&target),
        Some("tmpfs"),
        tmpfs_flags,
        Some("mode=755"),
    )
    .step(|| "mounting the tmpfs".into())?;
    let hierarchy_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    for (name, host_dir) in &ctx.cgroup_mounts {
        let point = ensure_in_root(root, &destination.join(name), Kind::Dir)
            .step(|| format!("creating {name}"))?;
        mount(
            Some(host_dir),
            &fd_path(&point),
            NONE,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            NONE,
        )
        .step(|| format!("binding {}", host_dir.display()))?;
        let top = open_in_root(root, &destination.join(name), OFlag::empty())
            .step(|| "reopening".into())?;
        let remount = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | hierarchy_flags;
        mount(NONE, &fd_path(&top), NONE, remount, NONE)
            .step(|| format!("making {name} read-only"))?;
    }
    // ANCHOR_END: cgroup_v1_binds
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        let top = open_in_root(root, destination, OFlag::empty()).step(|| "reopening".into())?;
        let remount = MsFlags::MS_REMOUNT | tmpfs_flags | MsFlags::MS_RDONLY;
        mount(
            Some("tmpfs"),
            &fd_path(&top),
            Some("tmpfs"),
            remount,
            Some("mode=755"),
        )
        .step(|| "making the tmpfs read-only".into())?;
    }
    Ok(())
}
