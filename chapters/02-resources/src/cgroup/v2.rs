//! The cgroup v2 driver: one tree, every controller in it.
//!
//! A container gets the directory `<root>/<parent>/<id>`. In v2 a controller
//! works in a cgroup only if its parent lists it in `cgroup.subtree_control`,
//! so each level above the container enables the controllers it needs. Limits
//! have v2 names and units (`memory.max`, `cpu.max "quota period"`,
//! `cpu.weight` 1..10000), and the devices allow-list is a BPF program.

use std::path::{Path, PathBuf};

use berth_engine::chapter::CgroupStats;
use berth_engine::oci_spec::runtime::{LinuxMemory, LinuxResources, Spec};
use berth_engine::{Cgroups, Placement, Result};

use super::bpf;
use super::bpf_sys::{DeviceFilter, KernelDeviceFilter};
use super::{
    CgroupError, device_rules, io_bytes, join_existing, keyed_value, kill_all, levels, make_dir,
    needed_controllers, read, read_number, relative_path, remove_dir, resources, wait_until, write,
};
use crate::limits::DEFAULT_CPU_PERIOD;

/// The controllers berth enables for containers.
pub const CONTROLLERS: &[&str] = &["cpu", "cpuset", "memory", "pids"];

/// The v2 driver, rooted at a cgroup2 mount.
pub struct CgroupV2 {
    root: PathBuf,
    devices: Box<dyn DeviceFilter>,
}

// ANCHOR: cpu_weight
/// v1 `cpu.shares` as v2 `cpu.weight`.
///
/// Both are relative: a cgroup with twice the number gets twice the CPU when
/// CPUs are contended, and they mean nothing when CPUs are idle. v1 counts
/// from 2 to 262144 (default 1024); v2 from 1 to 10000 (default 100). runc
/// and crun map one range onto the other linearly, 2 → 1 and 262144 → 10000,
/// and berth does the same so that a spec means the same under each runtime.
/// The map is not kind to the defaults: 1024 becomes 39, not 100. Containers
/// without `--cpu-shares` never get a weight written, so they keep 100.
pub fn cpu_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}
// ANCHOR_END: cpu_weight

impl CgroupV2 {
    /// A driver for the cgroup2 tree at `root`, installing device programs with bpf(2).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_device_filter(root, Box::new(KernelDeviceFilter))
    }

    /// A driver whose device programs go to `devices` (tests record them).
    pub fn with_device_filter(root: impl Into<PathBuf>, devices: Box<dyn DeviceFilter>) -> Self {
        Self {
            root: root.into(),
            devices,
        }
    }

    // ANCHOR: v2_subtree_control
    /// Makes each level down to the container's cgroup, enabling at every level
    /// above it the controllers berth uses that the level has.
    fn create(&self, relative: &Path) -> Result<PathBuf, CgroupError> {
        let mut parent = self.root.clone();
        for level in levels(&self.root, relative) {
            enable_controllers(&parent)?;
            make_dir(&level)?;
            parent = level;
        }
        Ok(parent)
    }
    // ANCHOR_END: v2_subtree_control

    fn create_cgroup(&self, spec: &Spec) -> Result<(), CgroupError> {
        let relative = relative_path(spec)?;
        let resources = resources(spec);
        let dir = self.create(&relative)?;
        let available = read(&dir, "cgroup.controllers")?;
        for controller in needed_controllers(&resources) {
            if !available.split_whitespace().any(|c| c == controller) {
                return Err(CgroupError::MissingController {
                    controller,
                    root: dir,
                });
            }
        }
        apply(&dir, &resources)?;
        let rules = device_rules(&resources)?;
        if !rules.is_empty() {
            self.devices.install(&dir, &bpf::device_program(&rules))?;
        }
        Ok(())
    }

    /// The container's cgroup, which must exist.
    fn existing(&self, spec: &Spec) -> Result<PathBuf, CgroupError> {
        let dir = self.root.join(relative_path(spec)?);
        match dir.is_dir() {
            true => Ok(dir),
            false => Err(CgroupError::NotFound { path: dir }),
        }
    }

    // ANCHOR: v2_freeze
    /// Writes `cgroup.freeze` and waits for `cgroup.events` to say `frozen`
    /// with the same value: the kernel freezes tasks one by one.
    fn set_frozen(&self, spec: &Spec, frozen: bool) -> Result<(), CgroupError> {
        let dir = self.existing(spec)?;
        let (value, state) = match frozen {
            true => (1, "FROZEN"),
            false => (0, "THAWED"),
        };
        write(&dir, "cgroup.freeze", &value.to_string())?;
        wait_until(&dir, state, || {
            Ok(keyed_value(&read(&dir, "cgroup.events")?, "frozen") == Some(value))
        })
    }
    // ANCHOR_END: v2_freeze

    // ANCHOR: v2_stats
    /// One sample from the container's one cgroup; a missing file counts as zero.
    fn sample(&self, spec: &Spec) -> Result<CgroupStats, CgroupError> {
        let dir = self.existing(spec)?;
        let keyed = |file: &str, key: &str| {
            read(&dir, file)
                .ok()
                .and_then(|text| keyed_value(&text, key))
                .unwrap_or(0)
        };
        let usage = read_number(&dir, "memory.current").unwrap_or(0);
        let (blkio_read, blkio_write) = io_bytes(&read(&dir, "io.stat").unwrap_or_default());
        Ok(CgroupStats {
            cpu_ns: keyed("cpu.stat", "usage_usec") * 1000,
            // docker stats leaves out the page cache the kernel may drop at once.
            memory_usage: usage.saturating_sub(keyed("memory.stat", "inactive_file")),
            memory_limit: read_number(&dir, "memory.max"),
            pids_current: read_number(&dir, "pids.current").unwrap_or(0),
            blkio_read,
            blkio_write,
        })
    }
    // ANCHOR_END: v2_stats
}

/// Enables, in `dir`'s `cgroup.subtree_control`, the controllers of
/// [`CONTROLLERS`] that `dir` has and has not enabled yet.
fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let available = read(dir, "cgroup.controllers")?;
    let enabled = read(dir, "cgroup.subtree_control")?;
    let missing: Vec<String> = CONTROLLERS
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(dir, "cgroup.subtree_control", &missing.join(" "))
}

// ANCHOR: v2_apply
/// Writes the spec's limits in v2's files and units.
fn apply(dir: &Path, resources: &LinuxResources) -> Result<(), CgroupError> {
    if let Some(memory) = resources.memory() {
        apply_memory(dir, *memory)?;
    }
    if let Some(cpu) = resources.cpu() {
        if cpu.quota().is_some() || cpu.period().is_some() {
            // One file for both: "quota period", with "max" for no quota.
            let quota = cpu
                .quota()
                .filter(|&q| q > 0)
                .map_or("max".into(), |q| q.to_string());
            let period = cpu.period().unwrap_or(DEFAULT_CPU_PERIOD);
            write(dir, "cpu.max", &format!("{quota} {period}"))?;
        }
        if let Some(shares) = cpu.shares() {
            write(dir, "cpu.weight", &cpu_weight(shares).to_string())?;
        }
        if let Some(cpus) = cpu.cpus().as_deref() {
            write(dir, "cpuset.cpus", cpus)?;
        }
    }
    if let Some(pids) = resources.pids() {
        let max = if pids.limit() > 0 {
            pids.limit().to_string()
        } else {
            "max".into()
        };
        write(dir, "pids.max", &max)?;
    }
    Ok(())
}
// ANCHOR_END: v2_apply

// ANCHOR: v2_memory
/// Memory in v2: `memory.max` (the limit), `memory.swap.max`, `memory.low`.
fn apply_memory(dir: &Path, memory: LinuxMemory) -> Result<(), CgroupError> {
    let max_or = |value: i64| {
        if value < 0 {
            "max".to_string()
        } else {
            value.to_string()
        }
    };
    if let Some(limit) = memory.limit() {
        write(dir, "memory.max", &max_or(limit))?;
    }
    // The spec's swap is memory+swap (v1's meaning); v2 limits swap alone.
    if let Some(swap) = memory.swap()
        && dir.join("memory.swap.max").exists()
    {
        let swap_only = match memory.limit() {
            _ if swap < 0 => "max".to_string(),
            Some(limit) if limit > 0 => (swap - limit).max(0).to_string(),
            _ => swap.to_string(),
        };
        write(dir, "memory.swap.max", &swap_only)?;
    }
    // v1's soft limit is closest to v2's "low": memory reclaimed from others first.
    if let Some(reservation) = memory.reservation() {
        write(dir, "memory.low", &max_or(reservation))?;
    }
    Ok(())
}
// ANCHOR_END: v2_memory

impl Cgroups for CgroupV2 {
    fn create(&self, spec: &Spec) -> Result<()> {
        self.create_cgroup(spec).map_err(|e| {
            // Leave nothing half made behind; the error that matters is the first.
            let _ = self.remove(spec);
            e.into()
        })
    }

    fn join(&self, spec: &Spec, pid: i32) -> Result<()> {
        let dir = self.root.join(relative_path(spec)?);
        Ok(join_existing(&dir, pid)?)
    }

    fn placement(&self, spec: &Spec) -> Result<Placement> {
        let dir = self.existing(spec)?;
        let opened = std::fs::File::open(&dir).map_err(|source| CgroupError::Read {
            path: dir.clone(),
            source,
        })?;
        Ok(Placement::BornInto(opened.into()))
    }

    fn oom_killed(&self, spec: &Spec) -> bool {
        let Ok(relative) = relative_path(spec) else {
            return false;
        };
        read(&self.root.join(relative), "memory.events")
            .ok()
            .and_then(|events| keyed_value(&events, "oom_kill"))
            .is_some_and(|kills| kills > 0)
    }

    // ANCHOR: v2_remove
    fn remove(&self, spec: &Spec) -> Result<()> {
        let dir = self.root.join(relative_path(spec)?);
        if !dir.is_dir() {
            return Ok(());
        }
        // cgroup.kill (Linux 5.14) SIGKILLs every process of the cgroup at once,
        // forks in flight included; older kernels freeze, kill each, thaw.
        let has_kill = dir.join("cgroup.kill").exists();
        let has_freeze = dir.join("cgroup.freeze").exists();
        let pause = || {
            if has_kill {
                write(&dir, "cgroup.kill", "1")
            } else if has_freeze {
                write(&dir, "cgroup.freeze", "1")
            } else {
                Ok(())
            }
        };
        let resume = || {
            if !has_kill && has_freeze {
                write(&dir, "cgroup.freeze", "0")
            } else {
                Ok(())
            }
        };
        kill_all(std::slice::from_ref(&dir), &pause, &resume)?;
        remove_dir(&dir)?;
        Ok(())
    }
    // ANCHOR_END: v2_remove

    /// None: on v2 the runtime mounts a fresh cgroup2 in the container's own
    /// cgroup namespace, where the container's cgroup is the root.
    fn mounts(&self, _spec: &Spec) -> Result<Vec<(String, PathBuf)>> {
        Ok(Vec::new())
    }

    fn freeze(&self, spec: &Spec) -> Result<()> {
        Ok(self.set_frozen(spec, true)?)
    }

    fn thaw(&self, spec: &Spec) -> Result<()> {
        Ok(self.set_frozen(spec, false)?)
    }

    fn stats(&self, spec: &Spec) -> Result<CgroupStats> {
        Ok(self.sample(spec)?)
    }

    /// The limits written again into the existing cgroup; the device program
    /// stays attached as it was.
    fn update(&self, spec: &Spec) -> Result<()> {
        let dir = self.existing(spec)?;
        Ok(apply(&dir, &resources(spec))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_weight_as_runc_and_crun() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(512), 20);
        assert_eq!(cpu_weight(262_144), 10_000);
        assert_eq!(cpu_weight(1), 1, "clamped like the v1 kernel");
    }
}
