//! `/dev`: on the spec's tmpfs, the device nodes every container gets (docker's
//! six, plus `linux.devices`), and the usual symlinks into /proc.

use std::path::{Path, PathBuf};

use berth_engine::oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Spec};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::mount::{MsFlags, mount};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, fchmodat, makedev, mknodat};
use nix::unistd::{Gid, Uid, fchownat, symlinkat};

use super::paths::{Kind, clean, ensure_in_root, fd_path, open_in_root};
use super::{InitFailure, Step};

/// A character device of docker's default set, mode 0666, owned by root.
struct DefaultNode(&'static str, u64, u64);

/// The nodes every container gets, as runc and docker create them.
const DEFAULT_NODES: [DefaultNode; 6] = [
    DefaultNode("/dev/null", 1, 3),
    DefaultNode("/dev/zero", 1, 5),
    DefaultNode("/dev/full", 1, 7),
    DefaultNode("/dev/random", 1, 8),
    DefaultNode("/dev/urandom", 1, 9),
    DefaultNode("/dev/tty", 5, 0),
];

/// A device node to create: path, kind, numbers, mode, owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    path: PathBuf,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// The nodes to create: docker's defaults, then `linux.devices` (which wins for
/// a path it names).
pub fn nodes(spec: &Spec) -> Vec<Node> {
    let mut nodes: Vec<Node> = DEFAULT_NODES
        .iter()
        .map(|DefaultNode(path, major, minor)| Node {
            path: path.into(),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    let listed = spec.linux().as_ref().and_then(|l| l.devices().as_ref());
    for device in listed.into_iter().flatten() {
        let node = from_spec(device);
        nodes.retain(|n| n.path != node.path);
        nodes.push(node);
    }
    nodes
}

fn from_spec(d: &LinuxDevice) -> Node {
    let kind = match d.typ() {
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    Node {
        path: d.path().clone(),
        kind,
        major: d.major() as u64,
        minor: d.minor() as u64,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    }
}

/// The symlinks of /dev; `core` only where the host kernel has /proc/kcore.
fn symlinks() -> Vec<(&'static str, &'static str)> {
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    links
}

/// Fills `/dev` when the spec mounted a tmpfs there; with a terminal, also the
/// empty file that the pty will be bound over as `/dev/console`.
pub fn populate(
    spec: &Spec,
    rootfs: &Path,
    dev_tmpfs: bool,
    terminal: bool,
) -> Result<(), InitFailure> {
    let root = std::fs::File::open(rootfs).step(|| format!("opening {}", rootfs.display()))?;
    let listed = spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref())
        .is_some_and(|d| !d.is_empty());
    if !dev_tmpfs && !listed {
        return Ok(());
    }
    // Without a /dev tmpfs, only the devices the spec lists explicitly are made:
    // the defaults would otherwise land in the image's own directory.
    let wanted = match dev_tmpfs {
        true => nodes(spec),
        false => spec
            .linux()
            .as_ref()
            .and_then(|l| l.devices().clone())
            .unwrap_or_default()
            .iter()
            .map(from_spec)
            .collect(),
    };
    for node in &wanted {
        create_node(&root, node).step(|| format!("creating the device {}", node.path.display()))?;
    }
    if dev_tmpfs {
        let dev = open_in_root(&root, Path::new("/dev"), OFlag::O_DIRECTORY)
            .step(|| "opening /dev".into())?;
        for (name, target) in symlinks() {
            match symlinkat(target, &dev, name) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(InitFailure::setup(format!("linking /dev/{name}"), e)),
            }
        }
        if terminal {
            ensure_in_root(&root, Path::new("/dev/console"), Kind::File)
                .step(|| "creating /dev/console".into())?;
        }
    }
    Ok(())
}

/// mknod, then the exact mode (mknod applies the umask) and owner. Where mknod
/// is not allowed, the host's node is bound in its place, as runc does.
// ANCHOR: dev_nodes
fn create_node(root: &std::fs::File, node: &Node) -> nix::Result<()> {
    let path = clean(&node.path);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Errno::EINVAL);
    };
    let dir = ensure_in_root(root, parent, Kind::Dir)?;
    let dir = nix::fcntl::openat(
        &dir,
        ".",
        OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mode = Mode::from_bits_truncate(node.mode);
    match mknodat(&dir, name, node.kind, mode, makedev(node.major, node.minor)) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::EPERM) => {
            let target = ensure_in_root(root, &node.path, Kind::File)?;
            let host = Path::new("/").join(&path);
            return mount(
                Some(&host),
                &fd_path(&target),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            );
        }
        Err(e) => return Err(e),
    }
    // mknod just made this name, so it is the node, not a symlink to follow.
    fchmodat(&dir, name, mode, FchmodatFlags::FollowSymlink)?;
    fchownat(
        &dir,
        name,
        Some(Uid::from_raw(node.uid)),
        Some(Gid::from_raw(node.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}
// ANCHOR_END: dev_nodes

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_devices_replace_defaults_with_the_same_path() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","linux":{"devices":[
                {"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":384},
                {"path":"/dev/fuse","type":"c","major":10,"minor":229}]}}"#,
        )
        .unwrap();
        let nodes = nodes(&spec);
        assert_eq!(nodes.len(), 7);
        let null = nodes
            .iter()
            .find(|n| n.path == Path::new("/dev/null"))
            .unwrap();
        assert_eq!(null.mode, 0o600);
        let tty = nodes
            .iter()
            .find(|n| n.path == Path::new("/dev/tty"))
            .unwrap();
        assert_eq!((tty.major, tty.minor, tty.mode), (5, 0, 0o666));
    }
}
