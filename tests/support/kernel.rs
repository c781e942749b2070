//! Reading what the kernel shows: `/proc/<pid>/status` fields, capability masks,
//! mount tables and namespace links. The same parsers read the host's files and
//! what a container printed of its own.

/// A cgroup2 tree on this host: `/sys/fs/cgroup` on a v2 host, or the
/// controller-less `/sys/fs/cgroup/unified` of a hybrid one.
pub fn cgroup2_root() -> Option<std::path::PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|candidate| {
            nix::sys::statfs::statfs(*candidate)
                .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        })
        .map(std::path::PathBuf::from)
}

/// docker's default capability set as a mask (14 capabilities).
pub const DOCKER_DEFAULT_CAPS: u64 = 0x00000000a80425fb;
/// `CAP_NET_ADMIN`'s bit number.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_MKNOD`'s bit number.
pub const CAP_MKNOD: u32 = 27;

/// The mask with only capability `cap` set.
pub fn cap_bit(cap: u32) -> u64 {
    1 << cap
}

/// The value of `Key:` in a `/proc/<pid>/status` text, trimmed; panics when absent.
pub fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key}: line in\n{status}"))
}

/// A capability field (`CapEff`, …) of a status text as a number.
pub fn cap_mask(status: &str, key: &str) -> u64 {
    let hex = status_field(status, key);
    u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("{key}: {hex:?} is not hex: {e}"))
}

/// The four ids of a `Uid:` or `Gid:` line (real, effective, saved, filesystem).
pub fn ids(status: &str, key: &str) -> Vec<u32> {
    status_field(status, key)
        .split_whitespace()
        .map(|id| id.parse().unwrap_or_else(|e| panic!("{key}: {id:?}: {e}")))
        .collect()
}

/// The host's (this test process's) `/proc/self/status`.
pub fn host_status() -> String {
    std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status")
}

/// The target of `/proc/self/ns/<kind>` for this test process, e.g. `net:[4026531833]`.
pub fn host_namespace(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap_or_else(|e| panic!("reading /proc/self/ns/{kind}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// One line of `/proc/<pid>/mountinfo` (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// A unique id of the mount.
    pub id: u32,
    /// The id of the mount it is mounted on.
    pub parent: u32,
    /// `major:minor` of the file system.
    pub device: String,
    /// The directory of the file system that forms this mount's root.
    pub root: String,
    /// Where it is mounted, as the reading process sees it.
    pub mount_point: String,
    /// Per-mount options (`ro`, `nosuid`, …).
    pub options: Vec<String>,
    /// Propagation tags: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
    pub propagation: Vec<String>,
    /// The file system type.
    pub fs_type: String,
    /// The mount source.
    pub source: String,
    /// Per-superblock options.
    pub super_options: Vec<String>,
}

impl MountInfo {
    /// Whether the mount is read-only for this mount point.
    pub fn read_only(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// The peer group this mount receives propagation from (`master:N`), if any.
    pub fn master(&self) -> Option<u32> {
        self.tagged("master:")
    }

    /// The peer group this mount belongs to (`shared:N`), if any.
    pub fn shared(&self) -> Option<u32> {
        self.tagged("shared:")
    }

    fn tagged(&self, tag: &str) -> Option<u32> {
        self.propagation
            .iter()
            .find_map(|field| field.strip_prefix(tag)?.parse().ok())
    }
}

/// Parses a mountinfo text; panics on a malformed line (the kernel writes no such line).
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| parse_mount_line(line).unwrap_or_else(|| panic!("bad mountinfo line {line:?}")))
        .collect()
}

fn parse_mount_line(line: &str) -> Option<MountInfo> {
    let (before, after) = line.split_once(" - ")?;
    let mut fields = before.split(' ');
    let id = fields.next()?.parse().ok()?;
    let parent = fields.next()?.parse().ok()?;
    let device = fields.next()?.to_string();
    let root = unescape(fields.next()?);
    let mount_point = unescape(fields.next()?);
    let options = split_options(fields.next()?);
    let propagation = fields.map(String::from).collect();
    let mut tail = after.split(' ');
    let fs_type = tail.next()?.to_string();
    let source = unescape(tail.next()?);
    let super_options = split_options(tail.next().unwrap_or(""));
    Some(MountInfo {
        id,
        parent,
        device,
        root,
        mount_point,
        options,
        propagation,
        fs_type,
        source,
        super_options,
    })
}

fn split_options(field: &str) -> Vec<String> {
    field
        .split(',')
        .filter(|o| !o.is_empty())
        .map(String::from)
        .collect()
}

/// The kernel writes space, tab, newline and backslash in paths as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let octal = bytes.get(at + 1..at + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[at], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                at += 4;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount at `mount_point` that a path lookup would see (the last one mounted there).
pub fn mount_at<'a>(mounts: &'a [MountInfo], mount_point: &str) -> Option<&'a MountInfo> {
    mounts.iter().rev().find(|m| m.mount_point == mount_point)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nCapEff:\t00000000a80425fb\n";

    #[test]
    fn status_fields_are_found_by_key_not_prefix() {
        let status = "CapEffX:\t1\nCapEff:\t00000000a80425fb\n";
        assert_eq!(status_field(status, "CapEff"), "00000000a80425fb");
    }

    #[test]
    fn capability_masks_and_ids_parse() {
        assert_eq!(cap_mask(STATUS, "CapEff"), DOCKER_DEFAULT_CAPS);
        assert_eq!(ids(STATUS, "Uid"), [1000, 1000, 1000, 1000]);
        assert_eq!(DOCKER_DEFAULT_CAPS & cap_bit(CAP_MKNOD), cap_bit(CAP_MKNOD));
    }

    #[test]
    fn mountinfo_lines_split_into_fields_and_propagation() {
        let text = "66 43 254:0 /tmp/r\\040x / rw,relatime master:1 - ext4 /dev/vda rw,discard\n\
                    70 66 0:43 / /sys ro,nosuid - sysfs sysfs ro\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts[0].root, "/tmp/r x");
        assert_eq!(mounts[0].master(), Some(1));
        assert_eq!(mounts[0].shared(), None);
        assert_eq!(mounts[0].super_options, ["rw", "discard"]);
        assert!(mounts[1].read_only());
        assert!(mounts[1].propagation.is_empty());
        assert_eq!(mount_at(&mounts, "/sys").unwrap().fs_type, "sysfs");
    }
}
