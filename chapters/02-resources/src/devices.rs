//! The devices allow-list: which device nodes a container may create (`m`),
//! read (`r`) and write (`w`).
//!
//! Without it, a container with CAP_MKNOD could make a node for the host's disk
//! and read it raw. With it, making the node still works, but opening it fails
//! with EPERM: the kernel checks the allow-list on every open and mknod. Cgroup v1
//! keeps the list in `devices.allow`/`devices.deny`; cgroup v2 has no file for it
//! and asks a BPF program instead (see `cgroup::bpf`).

use std::fmt;
use std::path::{Path, PathBuf};

use berth_engine::oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use thiserror::Error;

/// Why a device rule or `--device` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeviceError {
    /// Access letters other than r, w, m (or one twice).
    #[error("bad mode specified: {mode}")]
    BadMode {
        /// The access string.
        mode: String,
    },
    /// Too many colons or an empty host path.
    #[error("bad format for path: {value}")]
    BadFormat {
        /// The whole `--device` value.
        value: String,
    },
    /// A path that does not start with `/`.
    #[error("{path} is not an absolute path")]
    NotAbsolute {
        /// The relative path.
        path: String,
    },
    /// A device type the allow-list cannot express.
    #[error("device type '{kind}' cannot be in a devices allow-list (use a, b or c)")]
    BadType {
        /// The type letter.
        kind: String,
    },
}

/// What a rule allows or denies: any of read, write, mknod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// `r`: open for reading.
    pub read: bool,
    /// `w`: open for writing.
    pub write: bool,
    /// `m`: create the node with mknod.
    pub mknod: bool,
}

impl Access {
    /// All three: `rwm`.
    pub const ALL: Access = Access {
        read: true,
        write: true,
        mknod: true,
    };
    /// Only `m`: the node may be made, never opened.
    pub const MKNOD: Access = Access {
        read: false,
        write: false,
        mknod: true,
    };

    /// Parses `rwm`, `r`, `mw`, ...: each letter at most once, at least one.
    pub fn parse(mode: &str) -> Result<Self, DeviceError> {
        let bad = || DeviceError::BadMode {
            mode: mode.to_string(),
        };
        let mut access = Access::default();
        for letter in mode.chars() {
            let flag = match letter {
                'r' => &mut access.read,
                'w' => &mut access.write,
                'm' => &mut access.mknod,
                _ => return Err(bad()),
            };
            if *flag {
                return Err(bad());
            }
            *flag = true;
        }
        if access == Access::default() {
            return Err(bad());
        }
        Ok(access)
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (set, letter) in [(self.read, "r"), (self.write, "w"), (self.mknod, "m")] {
            if set {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

/// The kind of device a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Every device, character and block.
    All,
    /// Character devices (`/dev/null`, ttys).
    Char,
    /// Block devices (disks).
    Block,
}

/// One line of the allow-list: `c 1:3 rwm` allows /dev/null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow (true) or deny.
    pub allow: bool,
    /// Character, block, or all.
    pub kind: DeviceKind,
    /// The major number; `None` is `*`, any.
    pub major: Option<u32>,
    /// The minor number; `None` is `*`, any.
    pub minor: Option<u32>,
    /// What is allowed or denied.
    pub access: Access,
}

impl DeviceRule {
    /// An allow rule for a character device (`None` is `*`).
    pub const fn allow_char(major: Option<u32>, minor: Option<u32>, access: Access) -> Self {
        Self {
            allow: true,
            kind: DeviceKind::Char,
            major,
            minor,
            access,
        }
    }
}

// ANCHOR: default_device_rules
/// docker's devices allow-list (moby's default spec plus runc's defaults): deny
/// everything, let any node be *made*, and open only the harmless ones.
pub fn default_rules() -> Vec<DeviceRule> {
    let rwm = Access::ALL;
    let char_dev = |major, minor| DeviceRule::allow_char(Some(major), Some(minor), rwm);
    vec![
        DeviceRule {
            allow: false,
            kind: DeviceKind::All,
            major: None,
            minor: None,
            access: rwm,
        },
        // mknod of any node is fine: what matters is whether it can be opened.
        DeviceRule::allow_char(None, None, Access::MKNOD),
        DeviceRule {
            kind: DeviceKind::Block,
            ..DeviceRule::allow_char(None, None, Access::MKNOD)
        },
        char_dev(1, 3),                               // /dev/null
        char_dev(1, 5),                               // /dev/zero
        char_dev(1, 7),                               // /dev/full
        char_dev(1, 8),                               // /dev/random
        char_dev(1, 9),                               // /dev/urandom
        char_dev(5, 0),                               // /dev/tty
        char_dev(5, 1),                               // /dev/console
        char_dev(5, 2),                               // /dev/ptmx
        DeviceRule::allow_char(Some(136), None, rwm), // /dev/pts/*
        char_dev(10, 200),                            // /dev/net/tun
    ]
}
// ANCHOR_END: default_device_rules

/// The rule of a privileged container: every device, every access.
pub fn allow_all() -> DeviceRule {
    DeviceRule {
        allow: true,
        kind: DeviceKind::All,
        major: None,
        minor: None,
        access: Access::ALL,
    }
}

// ANCHOR: v1_device_line
/// Writes the rule as cgroup v1's `devices.allow`/`devices.deny` take it.
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        let kind = match self.kind {
            // "a" stands alone: it resets the whole list.
            DeviceKind::All => return f.write_str("a"),
            DeviceKind::Char => "c",
            DeviceKind::Block => "b",
        };
        write!(
            f,
            "{kind} {}:{} {}",
            number(self.major),
            number(self.minor),
            self.access
        )
    }
}
// ANCHOR_END: v1_device_line

impl From<&DeviceRule> for LinuxDeviceCgroup {
    fn from(rule: &DeviceRule) -> Self {
        let mut oci = LinuxDeviceCgroup::default();
        oci.set_allow(rule.allow);
        oci.set_typ(Some(match rule.kind {
            DeviceKind::All => LinuxDeviceType::A,
            DeviceKind::Char => LinuxDeviceType::C,
            DeviceKind::Block => LinuxDeviceType::B,
        }));
        oci.set_major(rule.major.map(i64::from));
        oci.set_minor(rule.minor.map(i64::from));
        oci.set_access(Some(rule.access.to_string()));
        oci
    }
}

impl TryFrom<&LinuxDeviceCgroup> for DeviceRule {
    type Error = DeviceError;

    /// Reads a rule back from the spec; a missing type means all devices, a
    /// missing or negative number means any, a missing access means `rwm`.
    fn try_from(oci: &LinuxDeviceCgroup) -> Result<Self, DeviceError> {
        let kind = match oci.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::P => return Err(DeviceError::BadType { kind: "p".into() }),
        };
        let number = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok());
        let access = match oci.access().as_deref() {
            None | Some("") => Access::ALL,
            Some(mode) => Access::parse(mode)?,
        };
        Ok(Self {
            allow: oci.allow(),
            kind,
            major: number(oci.major()),
            minor: number(oci.minor()),
            access,
        })
    }
}

/// Reads the rules a spec carries, in order.
pub fn rules_of(resources: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, DeviceError> {
    resources.iter().map(DeviceRule::try_from).collect()
}

/// One `--device HOST[:CONTAINER][:MODE]` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFlag {
    /// The node (or directory of nodes) on the host.
    pub host: PathBuf,
    /// Where it appears in the container.
    pub container: PathBuf,
    /// What the container may do with it.
    pub access: Access,
}

// ANCHOR: device_flag
impl DeviceFlag {
    /// Parses docker's forms: `/dev/x`, `/dev/x:rw`, `/dev/x:/dev/y`, `/dev/x:/dev/y:rwm`.
    pub fn parse(value: &str) -> Result<Self, DeviceError> {
        let parts: Vec<&str> = value.split(':').collect();
        if parts.len() > 3 || parts[0].is_empty() {
            return Err(DeviceError::BadFormat {
                value: value.to_string(),
            });
        }
        let host = parts[0];
        let (container, mode) = match parts[..] {
            [_] => (host, "rwm"),
            // The second field is a mode if it reads as one, else a path.
            [_, second] if Access::parse(second).is_ok() => (host, second),
            [_, second] => (second, "rwm"),
            [_, second, mode] => (second, mode),
            _ => unreachable!("split yields one to three parts here"),
        };
        let access = Access::parse(mode)?;
        for path in [host, container] {
            if !path.starts_with('/') {
                return Err(DeviceError::NotAbsolute {
                    path: path.to_string(),
                });
            }
        }
        Ok(Self {
            host: PathBuf::from(host),
            container: PathBuf::from(container),
            access,
        })
    }
}
// ANCHOR_END: device_flag

/// A device node found on the host, to be made in the container and allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDevice {
    /// Where the node goes in the container.
    pub container_path: PathBuf,
    /// Character or block.
    pub kind: DeviceKind,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Permission bits of the host node.
    pub mode: u32,
    /// Owner of the host node.
    pub uid: u32,
    /// Group of the host node.
    pub gid: u32,
}

/// Why a host device could not be read.
#[derive(Debug, Error)]
#[error("error gathering device information while adding custom device \"{path}\": {reason}")]
pub struct HostDeviceError {
    /// The host path.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

// ANCHOR: host_devices
/// The device nodes a `--device` value names: the node itself, or every node
/// under a directory (`--device /dev/snd`), placed under the container path.
pub fn host_devices(flag: &DeviceFlag) -> Result<Vec<HostDevice>, HostDeviceError> {
    let error = |reason: String| HostDeviceError {
        path: flag.host.display().to_string(),
        reason,
    };
    // A symlink such as /dev/disk/by-id/x counts as the node it points to.
    let host = std::fs::canonicalize(&flag.host).map_err(|e| error(io_reason(&e)))?;
    let metadata = std::fs::metadata(&host).map_err(|e| error(io_reason(&e)))?;
    if metadata.is_dir() {
        let mut found = Vec::new();
        collect_devices(&host, &flag.container, &mut found).map_err(|e| error(io_reason(&e)))?;
        return Ok(found);
    }
    device_at(&host, &flag.container)
        .map_err(|e| error(io_reason(&e)))?
        .map(|device| vec![device])
        .ok_or_else(|| error("not a device node".into()))
}
// ANCHOR_END: host_devices

/// Every device node of the host's /dev, for `--privileged`, as docker gives it:
/// without /dev/pts, /dev/shm, /dev/mqueue and /dev/console, which the runtime
/// makes per container.
pub fn all_host_devices(dev: &Path) -> std::io::Result<Vec<HostDevice>> {
    let mut found = Vec::new();
    collect_devices(dev, Path::new("/dev"), &mut found)?;
    found.retain(|d| {
        !["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console"]
            .iter()
            .any(|skip| d.container_path.starts_with(skip))
    });
    Ok(found)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

fn collect_devices(dir: &Path, target: &Path, found: &mut Vec<HostDevice>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let target = target.join(entry.file_name());
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            collect_devices(&path, &target, found)?;
        } else if let Some(device) = device_at(&path, &target)? {
            found.push(device);
        }
    }
    Ok(())
}

/// The node at `path` if it is a character or block device (symlinks not followed).
fn device_at(path: &Path, target: &Path) -> std::io::Result<Option<HostDevice>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let metadata = std::fs::symlink_metadata(path)?;
    let file_type = metadata.file_type();
    let kind = if file_type.is_char_device() {
        DeviceKind::Char
    } else if file_type.is_block_device() {
        DeviceKind::Block
    } else {
        return Ok(None);
    };
    let rdev = metadata.rdev();
    Ok(Some(HostDevice {
        container_path: target.to_path_buf(),
        kind,
        major: nix::sys::stat::major(rdev) as u32,
        minor: nix::sys::stat::minor(rdev) as u32,
        mode: metadata.mode() & 0o7777,
        uid: metadata.uid(),
        gid: metadata.gid(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_letters_each_once() {
        assert_eq!(Access::parse("rwm"), Ok(Access::ALL));
        assert_eq!(Access::parse("m"), Ok(Access::MKNOD));
        assert_eq!(Access::parse("mr").unwrap().to_string(), "rm");
        for bad in ["", "x", "rr", "rwmx"] {
            assert!(Access::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn v1_lines_match_the_kernels_format() {
        let lines: Vec<String> = default_rules().iter().map(|r| r.to_string()).collect();
        assert_eq!(lines[..4], ["a", "c *:* m", "b *:* m", "c 1:3 rwm"]);
        assert!(lines.contains(&"c 136:* rwm".to_string()));
        assert!(lines.contains(&"c 10:200 rwm".to_string()));
    }

    #[test]
    fn rules_survive_a_trip_through_the_spec() {
        for rule in default_rules() {
            let oci = LinuxDeviceCgroup::from(&rule);
            assert_eq!(DeviceRule::try_from(&oci), Ok(rule));
        }
    }

    #[test]
    fn device_flag_forms() {
        let flag = DeviceFlag::parse("/dev/sda").unwrap();
        assert_eq!(flag.container, PathBuf::from("/dev/sda"));
        assert_eq!(flag.access, Access::ALL);
        let flag = DeviceFlag::parse("/dev/sda:r").unwrap();
        assert_eq!(
            (flag.container.to_str(), flag.access.to_string().as_str()),
            (Some("/dev/sda"), "r")
        );
        let flag = DeviceFlag::parse("/dev/sda:/dev/xvda").unwrap();
        assert_eq!(flag.container, PathBuf::from("/dev/xvda"));
        let flag = DeviceFlag::parse("/dev/sda:/dev/xvda:rw").unwrap();
        assert_eq!(flag.access.to_string(), "rw");
    }

    #[test]
    fn device_flag_errors_use_dockers_words() {
        let message = |v| DeviceFlag::parse(v).unwrap_err().to_string();
        assert_eq!(message("/a:/b:/c:d"), "bad format for path: /a:/b:/c:d");
        assert_eq!(message(":/b"), "bad format for path: :/b");
        assert_eq!(message("/dev/x:/dev/y:rwz"), "bad mode specified: rwz");
        assert_eq!(message("dev/x"), "dev/x is not an absolute path");
        assert_eq!(message("/dev/x:y"), "y is not an absolute path");
    }

    #[test]
    fn host_device_of_dev_null() {
        let flag = DeviceFlag::parse("/dev/null:/dev/mynull:r").unwrap();
        let devices = host_devices(&flag).unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].container_path, PathBuf::from("/dev/mynull"));
        assert_eq!(
            (devices[0].kind, devices[0].major, devices[0].minor),
            (DeviceKind::Char, 1, 3)
        );
    }

    #[test]
    fn host_device_errors_name_the_path() {
        let missing = DeviceFlag::parse("/dev/berth-missing").unwrap();
        assert_eq!(
            host_devices(&missing).unwrap_err().to_string(),
            "error gathering device information while adding custom device \"/dev/berth-missing\": no such file or directory"
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        let regular = DeviceFlag::parse(file.path().to_str().unwrap()).unwrap();
        assert!(
            host_devices(&regular)
                .unwrap_err()
                .to_string()
                .ends_with("not a device node")
        );
    }
}
