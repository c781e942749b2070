//! OCI mount options (fstab words such as `nosuid`, `ro`, `mode=755`) turned into
//! what mount(2) takes: flags, propagation changes, and the file system's data.

use nix::mount::MsFlags;

/// The parsed options of one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount call itself (`MS_RDONLY`, `MS_NOSUID`, `MS_BIND`...).
    pub flags: MsFlags,
    /// Propagation changes, applied one by one after the mount (`MS_SLAVE|MS_REC`...).
    pub propagation: Vec<MsFlags>,
    /// Options the file system interprets (`mode=755,size=65536k`).
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    /// Whether the options ask for a bind mount (`bind` or `rbind`).
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// The data as mount(2) takes it: comma-separated, or nothing.
    pub fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }

    /// The flags a bind mount must be remounted with to take effect: a bind mount
    /// ignores everything but `MS_BIND`/`MS_REC` on its first call.
    pub fn bind_remount_flags(&self) -> Option<MsFlags> {
        let extra = self.flags - (MsFlags::MS_BIND | MsFlags::MS_REC);
        (!extra.is_empty()).then_some(extra | MsFlags::MS_BIND | MsFlags::MS_REMOUNT)
    }
}

// ANCHOR: mount_options
/// Parses OCI mount options; a later word wins over an earlier one (`ro,rw` is rw).
pub fn parse(options: &[String]) -> MountOptions {
    let mut parsed = MountOptions::default();
    for option in options {
        if let Some(flag) = propagation(option) {
            parsed.propagation.push(flag);
        } else if let Some((set, flag)) = flag(option) {
            parsed.flags.set(flag, set);
        } else if option != "defaults" {
            parsed.data.push(option.clone());
        }
    }
    parsed
}

// ANCHOR_END: mount_options
/// A flag word: whether it sets or clears, and which flag.
fn flag(option: &str) -> Option<(bool, MsFlags)> {
    use MsFlags as F;
    Some(match option {
        "ro" => (true, F::MS_RDONLY),
        "rw" => (false, F::MS_RDONLY),
        "nosuid" => (true, F::MS_NOSUID),
        "suid" => (false, F::MS_NOSUID),
        "nodev" => (true, F::MS_NODEV),
        "dev" => (false, F::MS_NODEV),
        "noexec" => (true, F::MS_NOEXEC),
        "exec" => (false, F::MS_NOEXEC),
        "sync" => (true, F::MS_SYNCHRONOUS),
        "async" => (false, F::MS_SYNCHRONOUS),
        "dirsync" => (true, F::MS_DIRSYNC),
        "mand" => (true, F::MS_MANDLOCK),
        "nomand" => (false, F::MS_MANDLOCK),
        "noatime" => (true, F::MS_NOATIME),
        "atime" => (false, F::MS_NOATIME),
        "nodiratime" => (true, F::MS_NODIRATIME),
        "diratime" => (false, F::MS_NODIRATIME),
        "relatime" => (true, F::MS_RELATIME),
        "norelatime" => (false, F::MS_RELATIME),
        "strictatime" => (true, F::MS_STRICTATIME),
        "nostrictatime" => (false, F::MS_STRICTATIME),
        "lazytime" => (true, F::MS_LAZYTIME),
        "nolazytime" => (false, F::MS_LAZYTIME),
        "remount" => (true, F::MS_REMOUNT),
        "bind" => (true, F::MS_BIND),
        "rbind" => (true, F::MS_BIND | F::MS_REC),
        _ => return None,
    })
}

/// A propagation word (`rslave`...), applied by a separate mount(2) call.
fn propagation(option: &str) -> Option<MsFlags> {
    use MsFlags as F;
    Some(match option {
        "private" => F::MS_PRIVATE,
        "rprivate" => F::MS_PRIVATE | F::MS_REC,
        "shared" => F::MS_SHARED,
        "rshared" => F::MS_SHARED | F::MS_REC,
        "slave" => F::MS_SLAVE,
        "rslave" => F::MS_SLAVE | F::MS_REC,
        "unbindable" => F::MS_UNBINDABLE,
        "runbindable" => F::MS_UNBINDABLE | F::MS_REC,
        _ => return None,
    })
}

/// `linux.rootfsPropagation` as flags for `/`; docker's default is `rslave`, so
/// mounts made on the host later still reach the container, never the reverse.
pub fn root_propagation(value: Option<&str>) -> Option<MsFlags> {
    match value {
        None | Some("") => Some(MsFlags::MS_SLAVE | MsFlags::MS_REC),
        Some(word) => propagation(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_propagation_and_data_are_split() {
        let o = parse(&words(&[
            "nosuid",
            "noexec",
            "rslave",
            "mode=755",
            "size=65536k",
            "ro",
        ]));
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY
        );
        assert_eq!(o.propagation, vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]);
        assert_eq!(o.data().as_deref(), Some("mode=755,size=65536k"));
    }

    #[test]
    fn a_later_word_wins() {
        assert!(
            !parse(&words(&["ro", "rw"]))
                .flags
                .contains(MsFlags::MS_RDONLY)
        );
        assert!(
            parse(&words(&["rw", "ro"]))
                .flags
                .contains(MsFlags::MS_RDONLY)
        );
        assert_eq!(parse(&words(&["defaults"])), MountOptions::default());
    }

    #[test]
    fn binds_need_a_remount_only_for_extra_flags() {
        let plain = parse(&words(&["rbind", "rprivate"]));
        assert!(plain.is_bind() && plain.flags.contains(MsFlags::MS_REC));
        assert_eq!(plain.bind_remount_flags(), None);
        let ro = parse(&words(&["bind", "ro", "nosuid"]));
        assert_eq!(
            ro.bind_remount_flags(),
            Some(MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID)
        );
    }

    #[test]
    fn devpts_options_stay_data() {
        let o = parse(&words(&[
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]));
        assert_eq!(
            o.data().as_deref(),
            Some("newinstance,ptmxmode=0666,mode=0620,gid=5")
        );
        assert!(o.flags.is_empty());
    }

    #[test]
    fn root_propagation_defaults_to_rslave() {
        assert_eq!(
            root_propagation(None),
            Some(MsFlags::MS_SLAVE | MsFlags::MS_REC)
        );
        assert_eq!(root_propagation(Some("private")), Some(MsFlags::MS_PRIVATE));
        assert_eq!(root_propagation(Some("sideways")), None);
    }
}
