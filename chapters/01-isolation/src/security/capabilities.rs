//! Capabilities: root's power cut into 41 pieces, and the 14 docker keeps.
//!
//! The kernel tracks five sets per thread (capabilities(7)): *bounding* (the most a
//! process can ever get back through execve), *permitted*, *effective* (what the
//! kernel checks), *inheritable* and *ambient* (what survives an execve of an
//! ordinary file). docker decides one set of names and spreads it over the five.

use std::collections::HashSet;

use berth_engine::oci_spec::runtime::{Capability, LinuxCapabilities, LinuxCapabilitiesBuilder};

use super::SecurityError;

/// A set of capabilities, as the OCI spec holds it.
pub type Capabilities = HashSet<Capability>;

/// Every capability Linux knows, with its bit number (its index in `CapEff` masks).
/// Sorted by number, so that the table reads like `include/uapi/linux/capability.h`.
const ALL: [(Capability, u8); 41] = [
    (Capability::Chown, 0),
    (Capability::DacOverride, 1),
    (Capability::DacReadSearch, 2),
    (Capability::Fowner, 3),
    (Capability::Fsetid, 4),
    (Capability::Kill, 5),
    (Capability::Setgid, 6),
    (Capability::Setuid, 7),
    (Capability::Setpcap, 8),
    (Capability::LinuxImmutable, 9),
    (Capability::NetBindService, 10),
    (Capability::NetBroadcast, 11),
    (Capability::NetAdmin, 12),
    (Capability::NetRaw, 13),
    (Capability::IpcLock, 14),
    (Capability::IpcOwner, 15),
    (Capability::SysModule, 16),
    (Capability::SysRawio, 17),
    (Capability::SysChroot, 18),
    (Capability::SysPtrace, 19),
    (Capability::SysPacct, 20),
    (Capability::SysAdmin, 21),
    (Capability::SysBoot, 22),
    (Capability::SysNice, 23),
    (Capability::SysResource, 24),
    (Capability::SysTime, 25),
    (Capability::SysTtyConfig, 26),
    (Capability::Mknod, 27),
    (Capability::Lease, 28),
    (Capability::AuditWrite, 29),
    (Capability::AuditControl, 30),
    (Capability::Setfcap, 31),
    (Capability::MacOverride, 32),
    (Capability::MacAdmin, 33),
    (Capability::Syslog, 34),
    (Capability::WakeAlarm, 35),
    (Capability::BlockSuspend, 36),
    (Capability::AuditRead, 37),
    (Capability::Perfmon, 38),
    (Capability::Bpf, 39),
    (Capability::CheckpointRestore, 40),
];

// ANCHOR: docker_default_caps
/// docker's default capabilities: enough to be "root" inside the container's own
/// files (chown, override permissions, setuid to another user, bind a low port,
/// make device nodes the devices cgroup then guards), nothing that reaches the host
/// (no CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE...).
/// As a mask: `00000000a80425fb`.
const DOCKER_DEFAULT: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];
// ANCHOR_END: docker_default_caps

/// The bit number of a capability (`CAP_SYS_ADMIN` is 21).
pub(super) fn number(cap: Capability) -> u8 {
    ALL.iter()
        .find(|(c, _)| *c == cap)
        .map(|(_, n)| *n)
        .expect("the table lists every variant of Capability")
}

/// The canonical name, `CAP_SYS_ADMIN`, as /proc, capsh and the OCI spec spell it.
pub(super) fn name(cap: Capability) -> String {
    // oci-spec's serde names are the canonical ones.
    serde_json::to_value(cap)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{cap:?}"))
}

/// The same capability as the `caps` crate names it, to hand it to the kernel.
pub(super) fn to_kernel(cap: Capability) -> ::caps::Capability {
    let n = number(cap);
    ::caps::all()
        .into_iter()
        .find(|c| c.index() == n)
        .expect("the caps crate knows every capability up to CAP_CHECKPOINT_RESTORE")
}

/// The `CapEff`-style mask of a set: bit N is capability N.
pub fn mask(set: &Capabilities) -> u64 {
    set.iter().fold(0, |m, cap| m | 1 << number(*cap))
}

/// The set a mask stands for (bits above 40 are ignored: no capability has them).
pub(super) fn from_mask(mask: u64) -> Capabilities {
    ALL.iter()
        .filter(|(_, n)| mask & (1 << n) != 0)
        .map(|(c, _)| *c)
        .collect()
}

// ANCHOR: parse_capability
/// Parses one capability as docker accepts it: `net_admin`, `NET_ADMIN`,
/// `CAP_NET_ADMIN`, in any case.
pub fn parse_capability(name: &str) -> Result<Capability, SecurityError> {
    let upper = name.trim().to_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    ALL.iter()
        .map(|(cap, _)| *cap)
        .find(|cap| self::name(*cap)[4..] == *bare)
        .ok_or_else(|| SecurityError::UnknownCapability {
            name: name.to_owned(),
        })
}
// ANCHOR_END: parse_capability

/// One `--cap-add`/`--cap-drop` value: `ALL` or a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapArg {
    All,
    One(Capability),
}

fn parse_args(args: &[String]) -> Result<Vec<CapArg>, SecurityError> {
    args.iter()
        .map(|a| match a.trim().eq_ignore_ascii_case("all") {
            true => Ok(CapArg::All),
            false => parse_capability(a).map(CapArg::One),
        })
        .collect()
}

// ANCHOR: capability_set
/// The capabilities a container gets, decided as docker does:
/// `--privileged` gets everything the engine holds (add/drop are ignored);
/// `--cap-add ALL` gets everything minus `--cap-drop`; `--cap-drop ALL` gets only
/// `--cap-add`; otherwise docker's 14 defaults, minus `--cap-drop`, plus `--cap-add`.
///
/// "Everything" is the engine's own bounding set rather than every capability
/// Linux knows: a container cannot be given what its runtime does not hold.
pub fn capability_set(
    add: &[String],
    drop: &[String],
    privileged: bool,
) -> Result<Capabilities, SecurityError> {
    if privileged {
        return engine_bounding_set();
    }
    let (add, drop) = (parse_args(add)?, parse_args(drop)?);
    let named = |args: &[CapArg]| -> Capabilities {
        args.iter()
            .filter_map(|a| match a {
                CapArg::One(cap) => Some(*cap),
                CapArg::All => None,
            })
            .collect()
    };
    let set = if add.contains(&CapArg::All) {
        &engine_bounding_set()? - &named(&drop)
    } else if drop.contains(&CapArg::All) {
        named(&add)
    } else {
        let defaults: Capabilities = DOCKER_DEFAULT.into_iter().collect();
        &(&defaults - &named(&drop)) | &named(&add)
    };
    Ok(set)
}
// ANCHOR_END: capability_set

/// The engine's own bounding set: the most any container of this engine can hold.
pub fn engine_bounding_set() -> Result<Capabilities, SecurityError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| {
        SecurityError::ReadOwnCapabilities {
            reason: e.to_string(),
        }
    })?;
    bounding_from_status(&status).map(from_mask)
}

/// The `CapBnd:` mask of a `/proc/PID/status` text.
pub(super) fn bounding_from_status(status: &str) -> Result<u64, SecurityError> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .ok_or_else(|| SecurityError::ReadOwnCapabilities {
            reason: "no CapBnd line".into(),
        })?;
    u64::from_str_radix(line.trim(), 16).map_err(|e| SecurityError::ReadOwnCapabilities {
        reason: format!("CapBnd {:?}: {e}", line.trim()),
    })
}

// ANCHOR: linux_capabilities
/// Spreads one set over the five OCI sets as docker 20.10+ does: the bounding set
/// is always the set; root gets it as permitted and effective, any other user gets
/// nothing there (it must earn capabilities through file capabilities or setuid
/// binaries, bounded by the set); inheritable and ambient stay empty, so an
/// execve never hands capabilities down by accident.
pub fn linux_capabilities(set: &Capabilities, root: bool) -> LinuxCapabilities {
    let held = if root {
        set.clone()
    } else {
        Capabilities::new()
    };
    LinuxCapabilitiesBuilder::default()
        .bounding(set.clone())
        .effective(held.clone())
        .permitted(held)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()
        .expect("every field of LinuxCapabilities is set")
}
// ANCHOR_END: linux_capabilities

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_every_spelling_docker_accepts() {
        for spelling in [
            "net_admin",
            "NET_ADMIN",
            "CAP_NET_ADMIN",
            "cap_net_admin",
            "Net_Admin",
        ] {
            assert_eq!(parse_capability(spelling).unwrap(), Capability::NetAdmin);
        }
        assert_eq!(
            parse_capability("checkpoint_restore").unwrap(),
            Capability::CheckpointRestore
        );
    }

    #[test]
    fn unknown_capability_names_itself_and_says_how_to_spell_one() {
        let e = parse_capability("NET_ADMINN").unwrap_err();
        assert!(e.to_string().contains("NET_ADMINN"), "{e}");
        let e: berth_engine::Error = e.into();
        assert_eq!(e.exit_code(), 125);
        assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
        assert!(parse_capability("").is_err());
        assert!(parse_capability("CAP_").is_err());
    }

    #[test]
    fn table_is_complete_and_numbered_in_order() {
        for (i, (cap, n)) in ALL.iter().enumerate() {
            assert_eq!(i, *n as usize);
            assert_eq!(to_kernel(*cap).index(), *n);
            assert_eq!(name(*cap), to_kernel(*cap).to_string());
        }
    }

    #[test]
    fn default_set_is_dockers_mask() {
        let set = capability_set(&[], &[], false).unwrap();
        assert_eq!(set.len(), 14);
        assert_eq!(mask(&set), 0x0000_0000_a804_25fb);
        assert_eq!(from_mask(0xa80425fb), set);
    }

    #[test]
    fn drop_then_add() {
        let set = capability_set(
            &strings(&["sys_admin"]),
            &strings(&["MKNOD", "cap_kill"]),
            false,
        )
        .unwrap();
        assert!(set.contains(&Capability::SysAdmin));
        assert!(!set.contains(&Capability::Mknod));
        assert!(!set.contains(&Capability::Kill));
        assert_eq!(set.len(), 13);
        // A capability both dropped and added ends up added, as docker orders them.
        let set = capability_set(&strings(&["chown"]), &strings(&["chown"]), false).unwrap();
        assert!(set.contains(&Capability::Chown));
    }

    #[test]
    fn drop_all_keeps_only_the_added() {
        let set = capability_set(&strings(&["NET_RAW"]), &strings(&["all"]), false).unwrap();
        assert_eq!(set, [Capability::NetRaw].into_iter().collect());
        let none = capability_set(&[], &strings(&["ALL"]), false).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn add_all_is_the_engines_set_minus_drops() {
        let engine = engine_bounding_set().unwrap();
        let set = capability_set(&strings(&["ALL"]), &strings(&["sys_admin"]), false).unwrap();
        assert_eq!(set, &engine - &[Capability::SysAdmin].into_iter().collect());
    }

    #[test]
    fn privileged_is_the_engines_bounding_set_and_ignores_drops() {
        let engine = engine_bounding_set().unwrap();
        let set = capability_set(&[], &strings(&["ALL"]), true).unwrap();
        assert_eq!(set, engine);
    }

    #[test]
    fn unknown_name_in_add_or_drop_is_an_error() {
        assert!(capability_set(&strings(&["foo"]), &[], false).is_err());
        assert!(capability_set(&[], &strings(&["bar"]), false).is_err());
    }

    #[test]
    fn reads_capbnd_from_status_text() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n";
        assert_eq!(bounding_from_status(status).unwrap(), 0x1fffeffffff);
        assert!(bounding_from_status("Name: x\n").is_err());
        let set = from_mask(0x1fffeffffff);
        assert_eq!(set.len(), 40);
        assert!(!set.contains(&Capability::SysResource));
    }

    #[test]
    fn root_holds_the_set_and_others_hold_nothing() {
        let set = capability_set(&[], &[], false).unwrap();
        let root = linux_capabilities(&set, true);
        assert_eq!(root.bounding().as_ref(), Some(&set));
        assert_eq!(root.effective().as_ref(), Some(&set));
        assert_eq!(root.permitted().as_ref(), Some(&set));
        assert_eq!(root.inheritable().as_ref(), Some(&Capabilities::new()));
        assert_eq!(root.ambient().as_ref(), Some(&Capabilities::new()));
        let user = linux_capabilities(&set, false);
        assert_eq!(user.bounding().as_ref(), Some(&set));
        assert_eq!(user.effective().as_ref(), Some(&Capabilities::new()));
        assert_eq!(user.permitted().as_ref(), Some(&Capabilities::new()));
    }
}
