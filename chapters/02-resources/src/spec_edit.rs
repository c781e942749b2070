//! Chapter 02's edit of the container's OCI runtime spec.
//!
//! It runs after chapter 01's and adds: the limits (`linux.resources`), where
//! the container's cgroup lives (`linux.cgroupsPath`), the devices allow-list
//! and the `--device` nodes, CAP_MKNOD back, and a read-only `/sys/fs/cgroup`.

use std::path::{Component, Path, PathBuf};

use berth_engine::oci_spec::runtime::{
    Linux, LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType, LinuxResources, Mount, Spec,
};
use berth_engine::{ContainerPlan, Error};
use thiserror::Error;

use crate::caps;
use crate::cpuset::CpuList;
use crate::devices::{self, DeviceFlag, DeviceKind, DeviceRule, HostDevice};
use crate::flags;
use crate::limits::Limits;

/// The environment variable naming the parent of every container's cgroup.
pub const CGROUP_PARENT_ENV: &str = "BERTH_CGROUP_PARENT";
/// The parent used when the variable is not set, as docker uses `docker`.
pub const DEFAULT_CGROUP_PARENT: &str = "berth";
/// Where the kernel lists the online CPUs.
pub const ONLINE_CPUS: &str = "/sys/devices/system/cpu/online";

/// What went wrong reading the host for the spec edit.
#[derive(Debug, Error)]
pub enum HostError {
    /// The online CPU list could not be read.
    #[error("cannot read the host's online CPUs from {path}: {reason}")]
    OnlineCpus {
        /// The file read.
        path: String,
        /// Why.
        reason: String,
    },
    /// `BERTH_CGROUP_PARENT` is not a plain relative path.
    #[error("{CGROUP_PARENT_ENV}={parent} is not a cgroup path")]
    BadParent {
        /// The value.
        parent: String,
    },
}

impl From<HostError> for Error {
    fn from(e: HostError) -> Self {
        let hint = match e {
            HostError::OnlineCpus { .. } => "is /sys mounted?",
            HostError::BadParent { .. } => {
                "use names separated by '/', such as berth or ci/berth, without '..'"
            }
        };
        Error::usage(e.to_string()).hint(hint)
    }
}

/// What the spec edit reads from the host; tests make their own.
#[derive(Debug, Clone)]
pub struct HostFacts {
    /// The CPUs online now.
    pub online_cpus: CpuList,
    /// The parent cgroup of containers, relative to each hierarchy's root.
    pub cgroup_parent: String,
    /// The host's /dev, walked for `--privileged`.
    pub dev: PathBuf,
}

impl HostFacts {
    /// Reads the facts of this machine.
    pub fn probe() -> Result<Self, HostError> {
        let online = std::fs::read_to_string(ONLINE_CPUS).map_err(|e| HostError::OnlineCpus {
            path: ONLINE_CPUS.into(),
            reason: e.to_string(),
        })?;
        let online_cpus = CpuList::parse(&online).map_err(|e| HostError::OnlineCpus {
            path: ONLINE_CPUS.into(),
            reason: e.to_string(),
        })?;
        let parent =
            std::env::var(CGROUP_PARENT_ENV).unwrap_or_else(|_| DEFAULT_CGROUP_PARENT.into());
        Ok(Self {
            online_cpus,
            cgroup_parent: check_parent(&parent)?,
            dev: PathBuf::from("/dev"),
        })
    }
}

/// A cgroup parent made only of normal names: `/berth/` becomes `berth`.
pub fn check_parent(parent: &str) -> Result<String, HostError> {
    let trimmed = parent.trim_matches('/');
    let plain = !trimmed.is_empty()
        && Path::new(trimmed)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if plain && !trimmed.contains("//") {
        Ok(trimmed.to_string())
    } else {
        Err(HostError::BadParent {
            parent: parent.to_string(),
        })
    }
}

// ANCHOR: edit_spec
/// Chapter 02's edit: limits, cgroup path, devices, CAP_MKNOD, /sys/fs/cgroup.
pub fn edit(plan: &ContainerPlan, spec: &mut Spec, host: &HostFacts) -> Result<(), Error> {
    let args = plan.args;
    let limits = Limits::from_args(args, &host.online_cpus)?;
    let (rules, nodes) = if args.privileged {
        let nodes = devices::all_host_devices(&host.dev)
            .map_err(|e| Error::usage(format!("cannot list the host's devices: {e}")))?;
        (vec![devices::allow_all()], nodes)
    } else {
        device_flags(&args.device)?
    };

    let linux = spec.linux_mut().get_or_insert_with(Linux::default);
    let resources = linux
        .resources_mut()
        .get_or_insert_with(LinuxResources::default);
    limits.apply(resources);
    resources.set_devices(Some(rules.iter().map(LinuxDeviceCgroup::from).collect()));
    linux.set_cgroups_path(Some(PathBuf::from(format!(
        "/{}/{}",
        host.cgroup_parent, plan.id
    ))));
    add_device_nodes(linux, &nodes);

    if caps::mknod_wanted(args) {
        caps::restore_mknod(spec);
    }
    add_cgroup_mount(spec);
    Ok(())
}
// ANCHOR_END: edit_spec

/// docker's allow-list followed by one rule per `--device` node, and the nodes.
fn device_flags(values: &[String]) -> Result<(Vec<DeviceRule>, Vec<HostDevice>), Error> {
    let mut rules = devices::default_rules();
    let mut nodes = Vec::new();
    for value in values {
        let flag = DeviceFlag::parse(value).map_err(|e| flags::FlagError {
            flag: flags::DEVICE,
            value: value.clone(),
            reason: e.to_string(),
            hint: "write --device /dev/HOST[:/dev/CONTAINER][:rwm]",
        })?;
        let found = devices::host_devices(&flag).map_err(|e| {
            Error::usage(e.to_string())
                .hint("name a device node (or a directory of them) that exists on the host")
        })?;
        for node in found {
            rules.push(DeviceRule {
                allow: true,
                kind: node.kind,
                major: Some(node.major),
                minor: Some(node.minor),
                access: flag.access,
            });
            nodes.push(node);
        }
    }
    Ok((rules, nodes))
}

/// Lists the nodes in `linux.devices`, so the runtime makes them; a node at a
/// path chapter 01 already listed replaces it.
fn add_device_nodes(linux: &mut Linux, nodes: &[HostDevice]) {
    let list = linux.devices_mut().get_or_insert_with(Vec::new);
    for node in nodes {
        list.retain(|d| d.path() != &node.container_path);
        let mut device = LinuxDevice::default();
        device.set_path(node.container_path.clone());
        device.set_typ(match node.kind {
            DeviceKind::Block => LinuxDeviceType::B,
            DeviceKind::Char | DeviceKind::All => LinuxDeviceType::C,
        });
        device.set_major(i64::from(node.major));
        device.set_minor(i64::from(node.minor));
        device.set_file_mode(Some(node.mode));
        device.set_uid(Some(node.uid));
        device.set_gid(Some(node.gid));
        list.push(device);
    }
}

/// docker's `/sys/fs/cgroup` mount: read-only, unless chapter 01 already has one.
fn add_cgroup_mount(spec: &mut Spec) {
    let mounts = spec.mounts_mut().get_or_insert_with(Vec::new);
    let target = Path::new("/sys/fs/cgroup");
    if mounts.iter().any(|m| m.destination() == target) {
        return;
    }
    let mut mount = Mount::default();
    mount.set_destination(target.to_path_buf());
    mount.set_typ(Some("cgroup".into()));
    mount.set_source(Some(PathBuf::from("cgroup")));
    mount.set_options(Some(
        ["ro", "nosuid", "noexec", "nodev"]
            .map(String::from)
            .to_vec(),
    ));
    mounts.push(mount);
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::cli::RunArgs;
    use berth_engine::oci_spec::runtime::{Capability, LinuxCapabilities, Process};

    fn host() -> HostFacts {
        HostFacts {
            online_cpus: CpuList::parse("0-1").unwrap(),
            cgroup_parent: "berth".into(),
            dev: PathBuf::from("/dev"),
        }
    }

    /// A spec as chapter 01 leaves it: root's caps without MKNOD.
    fn chapter_01_spec() -> Spec {
        let set: std::collections::HashSet<Capability> =
            [Capability::Chown, Capability::Kill].into();
        let mut caps = LinuxCapabilities::default();
        caps.set_bounding(Some(set.clone()));
        caps.set_effective(Some(set.clone()));
        caps.set_permitted(Some(set));
        let mut process = Process::default();
        process.set_capabilities(Some(caps));
        let mut spec = Spec::default();
        spec.set_process(Some(process));
        spec
    }

    fn edited(args: &RunArgs) -> Result<Spec, Error> {
        let plan = ContainerPlan {
            image: None,
            id: "c0ffee".into(),
            args,
            bundle: PathBuf::from("/tmp/b"),
            rootfs: PathBuf::from("/tmp/b/rootfs"),
            process_args: vec!["true".into()],
        };
        let mut spec = chapter_01_spec();
        edit(&plan, &mut spec, &host())?;
        Ok(spec)
    }

    fn rules(spec: &Spec) -> Vec<String> {
        let list = spec
            .linux()
            .as_ref()
            .unwrap()
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .as_ref()
            .unwrap();
        devices::rules_of(list)
            .unwrap()
            .iter()
            .map(|r| format!("{}{r}", if r.allow { "+" } else { "-" }))
            .collect()
    }

    fn has_mknod(spec: &Spec) -> bool {
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        caps.bounding()
            .as_ref()
            .unwrap()
            .contains(&Capability::Mknod)
            && caps
                .effective()
                .as_ref()
                .unwrap()
                .contains(&Capability::Mknod)
    }

    #[test]
    fn defaults_give_path_allow_list_mknod_and_cgroup_mount() {
        let spec = edited(&RunArgs::default()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(
            linux.cgroups_path().as_deref(),
            Some(Path::new("/berth/c0ffee"))
        );
        let rules = rules(&spec);
        assert_eq!(rules[..4], ["-a", "+c *:* m", "+b *:* m", "+c 1:3 rwm"]);
        assert!(has_mknod(&spec));
        let mount = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.destination() == Path::new("/sys/fs/cgroup"))
            .unwrap();
        assert!(
            mount
                .options()
                .as_ref()
                .unwrap()
                .contains(&"ro".to_string())
        );
        assert!(linux.resources().as_ref().unwrap().memory().is_none());
    }

    #[test]
    fn limits_reach_the_spec() {
        let args = RunArgs {
            memory: Some("512m".into()),
            pids_limit: Some("10".into()),
            ..RunArgs::default()
        };
        let spec = edited(&args).unwrap();
        let resources = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(resources.memory().unwrap().limit(), Some(536_870_912));
        assert_eq!(resources.pids().as_ref().unwrap().limit(), 10);
    }

    #[test]
    fn device_flag_adds_rule_and_node() {
        let args = RunArgs {
            device: vec!["/dev/null:/dev/extra:rw".into()],
            ..RunArgs::default()
        };
        let spec = edited(&args).unwrap();
        assert_eq!(rules(&spec).last().unwrap(), "+c 1:3 rw");
        let nodes = spec.linux().as_ref().unwrap().devices().as_ref().unwrap();
        let node = nodes
            .iter()
            .find(|d| d.path() == Path::new("/dev/extra"))
            .unwrap();
        assert_eq!(
            (node.typ(), node.major(), node.minor()),
            (LinuxDeviceType::C, 1, 3)
        );
    }

    #[test]
    fn bad_device_reads_like_docker() {
        let args = RunArgs {
            device: vec!["/dev/null:/dev/x:rwz".into()],
            ..RunArgs::default()
        };
        let e = edited(&args).unwrap_err();
        assert_eq!(
            e.message(),
            "invalid argument \"/dev/null:/dev/x:rwz\" for \"--device\" flag: bad mode specified: rwz"
        );
        assert_eq!(e.exit_code(), 125);
        let args = RunArgs {
            device: vec!["/dev/berth-nope".into()],
            ..RunArgs::default()
        };
        assert!(
            edited(&args)
                .unwrap_err()
                .message()
                .contains("no such file or directory")
        );
    }

    #[test]
    fn cap_drop_mknod_is_respected() {
        let args = RunArgs {
            cap_drop: vec!["cap_mknod".into()],
            ..RunArgs::default()
        };
        assert!(!has_mknod(&edited(&args).unwrap()));
    }

    #[test]
    fn privileged_allows_every_device() {
        let args = RunArgs {
            privileged: true,
            ..RunArgs::default()
        };
        let spec = edited(&args).unwrap();
        assert_eq!(rules(&spec), ["+a"]);
        let nodes = spec.linux().as_ref().unwrap().devices().as_ref().unwrap();
        assert!(nodes.iter().any(|d| d.path() == Path::new("/dev/null")));
        assert!(!nodes.iter().any(|d| d.path().starts_with("/dev/pts")));
    }

    #[test]
    fn bad_limits_stop_the_edit() {
        let args = RunArgs {
            memory: Some("12zz".into()),
            ..RunArgs::default()
        };
        assert_eq!(edited(&args).unwrap_err().exit_code(), 125);
    }

    #[test]
    fn parent_must_be_plain_names() {
        assert_eq!(check_parent("/berth/").unwrap(), "berth");
        assert_eq!(check_parent("ci/berth-test-1").unwrap(), "ci/berth-test-1");
        for bad in ["", "/", "../x", "a/../b", "a//b", "./a"] {
            assert!(check_parent(bad).is_err(), "{bad:?}");
        }
    }
}
