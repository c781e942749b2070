//! The cgroup v1 driver: one hierarchy per controller (or per group of
//! controllers, as `cpu,cpuacct`), each mounted under `/sys/fs/cgroup`.
//!
//! A container gets the directory `<hierarchy>/<parent>/<id>` in every
//! hierarchy berth uses; its limits go into that hierarchy's files, and its
//! first process moves itself in through each `tasks` file. Children of that
//! process are born in the same cgroups.

use std::path::{Path, PathBuf};

use berth_engine::chapter::CgroupStats;
use berth_engine::oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources, Spec};
use berth_engine::{Cgroups, Placement, Result};

use super::{
    CgroupError, device_rules, io_bytes, join_existing, keyed_value, kill_all, levels, make_dir,
    needed_controllers, open_control_file, read, read_number, relative_path, remove_dir, resources,
    wait_until, write,
};

/// v1 writes "no memory limit" as the largest page-aligned i64; anything this
/// large is no limit.
const UNLIMITED_MEMORY: u64 = 1 << 62;

/// The controllers a container joins, each in the hierarchy that carries it.
pub const CONTROLLERS: &[&str] = &[
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids",
];

/// A mounted v1 hierarchy: its directory name under the root and its controllers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// The mount's name under the root (`memory`, `cpu,cpuacct`).
    pub name: String,
    /// The controllers the name lists.
    pub controllers: Vec<String>,
}

impl Hierarchy {
    /// Whether this hierarchy carries `controller`.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// The v1 driver, rooted where the hierarchies are mounted (`/sys/fs/cgroup`).
#[derive(Debug, Clone)]
pub struct CgroupV1 {
    root: PathBuf,
}

impl CgroupV1 {
    /// A driver for the hierarchies under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    // ANCHOR: v1_hierarchies
    /// The hierarchies under the root that carry a controller berth uses. A
    /// mount is named after its controllers (`cpu,cpuacct`); the symlinks a
    /// host adds beside it (`cpu -> cpu,cpuacct`) are skipped, so that each
    /// hierarchy is joined once.
    pub fn hierarchies(&self) -> Result<Vec<Hierarchy>, CgroupError> {
        let read_error = |source| CgroupError::Read {
            path: self.root.clone(),
            source,
        };
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            if !entry.file_type().map_err(read_error)?.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let controllers: Vec<String> = name
                .split(',')
                .filter(|c| CONTROLLERS.contains(c))
                .map(String::from)
                .collect();
            if !controllers.is_empty() {
                found.push(Hierarchy { name, controllers });
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }
    // ANCHOR_END: v1_hierarchies

    fn dir(&self, hierarchy: &Hierarchy, relative: &Path) -> PathBuf {
        self.root.join(&hierarchy.name).join(relative)
    }

    /// The container's directory in the hierarchy that carries `controller`.
    fn controller_dir(
        &self,
        spec: &Spec,
        controller: &'static str,
    ) -> Result<PathBuf, CgroupError> {
        let relative = relative_path(spec)?;
        let hierarchy = self
            .hierarchies()?
            .into_iter()
            .find(|h| h.has(controller))
            .ok_or(CgroupError::MissingController {
                controller,
                root: self.root.clone(),
            })?;
        let dir = self.dir(&hierarchy, &relative);
        match dir.is_dir() {
            true => Ok(dir),
            false => Err(CgroupError::NotFound { path: dir }),
        }
    }

    /// The container's directory in every hierarchy; all must exist.
    fn existing_dirs(&self, spec: &Spec) -> Result<Vec<PathBuf>, CgroupError> {
        let relative = relative_path(spec)?;
        let dirs: Vec<PathBuf> = self
            .hierarchies()?
            .iter()
            .map(|h| self.dir(h, &relative))
            .collect();
        match dirs.iter().find(|d| !d.is_dir()) {
            Some(missing) => Err(CgroupError::NotFound {
                path: missing.clone(),
            }),
            None => Ok(dirs),
        }
    }

    // ANCHOR: v1_freezer
    /// Writes `state` to the container's `freezer.state` and waits until the
    /// kernel reports it: `FROZEN` comes only after `FREEZING`, once every
    /// task has stopped.
    fn set_freezer(&self, spec: &Spec, state: &'static str) -> Result<(), CgroupError> {
        let dir = self.controller_dir(spec, "freezer")?;
        write(&dir, "freezer.state", state)?;
        wait_until(&dir, state, || {
            Ok(read(&dir, "freezer.state")?.trim() == state)
        })
    }
    // ANCHOR_END: v1_freezer

    // ANCHOR: v1_stats
    /// One sample: each number from the hierarchy that carries it; a missing
    /// controller counts as zero.
    fn sample(&self, spec: &Spec) -> Result<CgroupStats, CgroupError> {
        let dir = |controller| self.controller_dir(spec, controller).ok();
        let mut stats = CgroupStats::default();
        if let Some(cpuacct) = dir("cpuacct") {
            stats.cpu_ns = read_number(&cpuacct, "cpuacct.usage").unwrap_or(0);
        }
        if let Some(memory) = dir("memory") {
            let usage = read_number(&memory, "memory.usage_in_bytes").unwrap_or(0);
            // docker stats leaves out the page cache the kernel may drop at once.
            let inactive = read(&memory, "memory.stat")
                .ok()
                .and_then(|text| keyed_value(&text, "total_inactive_file"))
                .unwrap_or(0);
            stats.memory_usage = usage.saturating_sub(inactive);
            stats.memory_limit = read_number(&memory, "memory.limit_in_bytes")
                .filter(|&limit| limit < UNLIMITED_MEMORY);
        }
        if let Some(pids) = dir("pids") {
            stats.pids_current = read_number(&pids, "pids.current").unwrap_or(0);
        }
        if let Some(blkio) = dir("blkio") {
            let text = read(&blkio, "blkio.throttle.io_service_bytes_recursive")
                .or_else(|_| read(&blkio, "blkio.throttle.io_service_bytes"))
                .unwrap_or_default();
            (stats.blkio_read, stats.blkio_write) = io_bytes(&text);
        }
        Ok(stats)
    }
    // ANCHOR_END: v1_stats

    /// Refuses a limit whose controller no hierarchy carries, rather than
    /// running the container without it.
    fn check_controllers(
        &self,
        hierarchies: &[Hierarchy],
        resources: &LinuxResources,
    ) -> Result<(), CgroupError> {
        let devices = resources.devices().as_ref().is_some_and(|d| !d.is_empty());
        let mut needed = needed_controllers(resources);
        if devices {
            needed.push("devices");
        }
        for controller in needed {
            if !hierarchies.iter().any(|h| h.has(controller)) {
                return Err(CgroupError::MissingController {
                    controller,
                    root: self.root.clone(),
                });
            }
        }
        Ok(())
    }

    fn create(&self, hierarchy: &Hierarchy, relative: &Path) -> Result<PathBuf, CgroupError> {
        let base = self.root.join(&hierarchy.name);
        for level in levels(&base, relative) {
            make_dir(&level)?;
            if hierarchy.has("cpuset") {
                inherit_cpuset(&level)?;
            }
        }
        Ok(self.dir(hierarchy, relative))
    }

    fn create_all(&self, spec: &Spec) -> Result<(), CgroupError> {
        let relative = relative_path(spec)?;
        let resources = resources(spec);
        let hierarchies = self.hierarchies()?;
        self.check_controllers(&hierarchies, &resources)?;
        // Limits first, then the process (`join`): it never runs a moment unlimited.
        for hierarchy in &hierarchies {
            let dir = self.create(hierarchy, &relative)?;
            apply(hierarchy, &dir, &resources)?;
        }
        Ok(())
    }
}

// ANCHOR: v1_cpuset_inherit
/// A new v1 cpuset starts with empty `cpuset.cpus` and `cpuset.mems`, and no
/// process may join a cpuset with no CPU or memory node: copy the parent's.
fn inherit_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if read(dir, file)?.trim().is_empty() {
            let inherited = read(parent, file)?;
            write(dir, file, inherited.trim())?;
        }
    }
    Ok(())
}
// ANCHOR_END: v1_cpuset_inherit

// ANCHOR: v1_apply
/// Writes the limits and device rules of the controllers `hierarchy` carries into `dir`.
fn apply(hierarchy: &Hierarchy, dir: &Path, resources: &LinuxResources) -> Result<(), CgroupError> {
    apply_limits(hierarchy, dir, resources)?;
    if hierarchy.has("devices") {
        // In order: the first rule ("deny a") empties the list, the rest open it up.
        for rule in device_rules(resources)? {
            let file = if rule.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            write(dir, file, &rule.to_string())?;
        }
    }
    Ok(())
}

/// Writes the memory, cpu, cpuset and pids limits `hierarchy` carries into `dir`.
fn apply_limits(
    hierarchy: &Hierarchy,
    dir: &Path,
    resources: &LinuxResources,
) -> Result<(), CgroupError> {
    if let Some(memory) = resources.memory().filter(|_| hierarchy.has("memory")) {
        apply_memory(dir, memory)?;
    }
    if let Some(cpu) = resources.cpu().as_ref() {
        if hierarchy.has("cpu") {
            apply_cpu(dir, cpu)?;
        }
        if let Some(cpus) = cpu.cpus().as_deref().filter(|_| hierarchy.has("cpuset")) {
            write(dir, "cpuset.cpus", cpus)?;
        }
    }
    if let Some(pids) = resources.pids().as_ref().filter(|_| hierarchy.has("pids")) {
        let max = if pids.limit() > 0 {
            pids.limit().to_string()
        } else {
            "max".into()
        };
        write(dir, "pids.max", &max)?;
    }
    Ok(())
}
// ANCHOR_END: v1_apply

// ANCHOR: v1_memory_cpu
/// Memory in v1: the limit, memory+swap, and the soft limit.
fn apply_memory(dir: &Path, memory: LinuxMemory) -> Result<(), CgroupError> {
    // memory+swap exists only when the kernel accounts swap (swapaccount=1).
    let swap = memory
        .swap()
        .filter(|_| dir.join("memory.memsw.limit_in_bytes").exists());
    // The kernel keeps memory+swap at or above memory at every moment: a limit
    // raised above the current memory+swap (an `update`) needs that one first.
    let current_swap = read_number(dir, "memory.memsw.limit_in_bytes");
    let swap_first =
        matches!((memory.limit(), current_swap), (Some(l), Some(c)) if l > 0 && l as u64 > c);
    if let (true, Some(swap)) = (swap_first, swap) {
        write(dir, "memory.memsw.limit_in_bytes", &swap.to_string())?;
    }
    if let Some(limit) = memory.limit() {
        write(dir, "memory.limit_in_bytes", &limit.to_string())?;
    }
    if let (false, Some(swap)) = (swap_first, swap) {
        write(dir, "memory.memsw.limit_in_bytes", &swap.to_string())?;
    }
    if let Some(reservation) = memory.reservation() {
        write(dir, "memory.soft_limit_in_bytes", &reservation.to_string())?;
    }
    Ok(())
}

/// CPU time in v1: the CFS period and quota (microseconds), and the shares.
fn apply_cpu(dir: &Path, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(period) = cpu.period() {
        write(dir, "cpu.cfs_period_us", &period.to_string())?;
    }
    if let Some(quota) = cpu.quota() {
        write(dir, "cpu.cfs_quota_us", &quota.to_string())?;
    }
    if let Some(shares) = cpu.shares() {
        write(dir, "cpu.shares", &shares.to_string())?;
    }
    Ok(())
}
// ANCHOR_END: v1_memory_cpu

impl Cgroups for CgroupV1 {
    fn create(&self, spec: &Spec) -> Result<()> {
        self.create_all(spec).map_err(|e| {
            // Leave nothing half made behind; the error that matters is the first.
            let _ = self.remove(spec);
            e.into()
        })
    }

    // ANCHOR: v1_join
    /// Every hierarchy is checked before the first write, so a process is never
    /// left half in the container's cgroups and half in the runtime's.
    fn join(&self, spec: &Spec, pid: i32) -> Result<()> {
        for dir in &self.existing_dirs(spec)? {
            join_existing(dir, pid)?;
        }
        Ok(())
    }

    /// Each `tasks` file is opened here, in the runtime, so that the new
    /// process needs no path (it may have entered a mount namespace) and the
    /// kernel checks the opener's rights, as it does for every cgroup write.
    fn placement(&self, spec: &Spec) -> Result<Placement> {
        let tasks = self
            .existing_dirs(spec)?
            .iter()
            .map(|dir| open_control_file(dir, "tasks", "0"))
            .collect::<Result<_, _>>()?;
        Ok(Placement::MovesItself(tasks))
    }
    // ANCHOR_END: v1_join

    // ANCHOR: v1_oom
    fn oom_killed(&self, spec: &Spec) -> bool {
        let (Ok(relative), Ok(hierarchies)) = (relative_path(spec), self.hierarchies()) else {
            return false;
        };
        let Some(memory) = hierarchies.iter().find(|h| h.has("memory")) else {
            return false;
        };
        let dir = self.dir(memory, &relative);
        // Newer kernels count kills in memory.events, older ones in memory.oom_control.
        ["memory.events", "memory.oom_control"].iter().any(|file| {
            read(&dir, file)
                .ok()
                .and_then(|text| super::keyed_value(&text, "oom_kill"))
                .is_some_and(|kills| kills > 0)
        })
    }
    // ANCHOR_END: v1_oom

    // ANCHOR: v1_remove
    fn remove(&self, spec: &Spec) -> Result<()> {
        let relative = relative_path(spec)?;
        let hierarchies = self.hierarchies()?;
        let dirs: Vec<PathBuf> = hierarchies
            .iter()
            .map(|h| self.dir(h, &relative))
            .filter(|d| d.is_dir())
            .collect();
        if dirs.is_empty() {
            return Ok(());
        }
        let freezer = hierarchies
            .iter()
            .find(|h| h.has("freezer"))
            .map(|h| self.dir(h, &relative))
            .filter(|d| d.is_dir());
        let set_state = |state: &str| match &freezer {
            Some(dir) => freeze(dir, state),
            None => Ok(()),
        };
        kill_all(&dirs, &|| set_state("FROZEN"), &|| set_state("THAWED"))?;
        for dir in &dirs {
            remove_dir(dir)?;
        }
        Ok(())
    }
    // ANCHOR_END: v1_remove

    fn mounts(&self, spec: &Spec) -> Result<Vec<(String, PathBuf)>> {
        let relative = relative_path(spec)?;
        Ok(self
            .hierarchies()?
            .iter()
            .map(|h| (h.name.clone(), self.dir(h, &relative)))
            .collect())
    }

    fn freeze(&self, spec: &Spec) -> Result<()> {
        Ok(self.set_freezer(spec, "FROZEN")?)
    }

    fn thaw(&self, spec: &Spec) -> Result<()> {
        Ok(self.set_freezer(spec, "THAWED")?)
    }

    fn stats(&self, spec: &Spec) -> Result<CgroupStats> {
        Ok(self.sample(spec)?)
    }

    // ANCHOR: v1_update
    /// The same writes as at the start, into the cgroups that exist; the
    /// device rules stay as they were.
    fn update(&self, spec: &Spec) -> Result<()> {
        let relative = relative_path(spec)?;
        let resources = resources(spec);
        let hierarchies = self.hierarchies()?;
        self.check_controllers(&hierarchies, &resources)?;
        for hierarchy in &hierarchies {
            let dir = self.dir(hierarchy, &relative);
            if !dir.is_dir() {
                return Err(CgroupError::NotFound { path: dir }.into());
            }
            apply_limits(hierarchy, &dir, &resources)?;
        }
        Ok(())
    }
    // ANCHOR_END: v1_update
}

/// Sets the v1 freezer's state and waits until the kernel reports it
/// (`FREEZING` turns into `FROZEN` once every task has stopped).
fn freeze(dir: &Path, state: &str) -> Result<(), CgroupError> {
    write(dir, "freezer.state", state)?;
    for _ in 0..100 {
        if read(dir, "freezer.state")?.trim() == state {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // A task stuck in the kernel may keep a cgroup FREEZING; killing still proceeds.
    Ok(())
}
