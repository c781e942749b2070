//! The cgroup drivers: v1 (one hierarchy per controller) and v2 (one unified
//! tree), chosen at run time by the filesystem mounted at `/sys/fs/cgroup`.
//!
//! Both drivers work from the spec alone (`linux.cgroupsPath` and
//! `linux.resources`), so the `create` and `delete` processes of the runtime
//! agree on the cgroup without sharing memory. Both take the root of the cgroup
//! filesystem as a value, so tests run them against a directory laid out like
//! `/sys/fs/cgroup`.

pub mod bpf;
pub mod bpf_sys;
pub mod v1;
pub mod v2;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use berth_engine::chapter::CgroupStats;
use berth_engine::oci_spec::runtime::{LinuxResources, Spec};
use berth_engine::{Cgroups, Error, Placement, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use thiserror::Error;

use crate::devices::{self, DeviceError, DeviceRule};
pub use v1::CgroupV1;
pub use v2::CgroupV2;

/// Where the host mounts its cgroup filesystem(s).
pub const SYSTEM_ROOT: &str = "/sys/fs/cgroup";

/// How long `remove` keeps killing before it gives up on a cgroup.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong with a container's cgroup.
#[derive(Debug, Error)]
pub enum CgroupError {
    /// The spec names no cgroup.
    #[error("the container's spec has no linux.cgroupsPath")]
    NoPath,
    /// The spec's cgroup path would leave the cgroup root.
    #[error("cgroupsPath {path} is not a path below the cgroup root")]
    BadPath {
        /// The path in the spec.
        path: PathBuf,
    },
    /// mkdir of a cgroup failed.
    #[error("cannot create cgroup {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing a control file failed.
    #[error("cannot write {value:?} to {path}: {source}")]
    Write {
        /// The control file.
        path: PathBuf,
        /// The value.
        value: String,
        /// Why.
        source: std::io::Error,
    },
    /// Reading a control file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The control file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// rmdir of a cgroup failed.
    #[error("cannot remove cgroup {path}: {source}")]
    Remove {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Processes survived SIGKILL for too long.
    #[error("processes of cgroup {path} are still alive after {seconds} s of SIGKILL")]
    StillPopulated {
        /// The cgroup.
        path: PathBuf,
        /// How long we tried.
        seconds: u64,
    },
    /// A limit asks for a controller the host does not offer.
    #[error("the {controller} controller is not available under {root}")]
    MissingController {
        /// The controller (`memory`, `pids`, ...).
        controller: &'static str,
        /// The cgroup root (or the cgroup) where it is missing.
        root: PathBuf,
    },
    /// `exec` into a container whose cgroup is not there (deleted, or never made).
    #[error("the container's cgroup {path} does not exist: is the container running?")]
    NotFound {
        /// The directory that should hold the container's processes.
        path: PathBuf,
    },
    /// The freezer did not reach the state asked for in time.
    #[error("cgroup {path} did not become {state} within {seconds} s")]
    FreezeTimeout {
        /// The cgroup.
        path: PathBuf,
        /// The state asked for (`FROZEN`, `THAWED`).
        state: &'static str,
        /// How long we waited.
        seconds: u64,
    },
    /// A device rule in the spec is malformed.
    #[error(transparent)]
    Devices(#[from] DeviceError),
    /// The v2 device program could not be loaded or attached.
    #[error(transparent)]
    Bpf(#[from] bpf_sys::BpfError),
}

impl From<CgroupError> for Error {
    fn from(e: CgroupError) -> Self {
        let hint = match &e {
            CgroupError::MissingController { .. } => {
                "enable the controller on the host, or run without that limit"
            }
            CgroupError::Create { .. } | CgroupError::Write { .. } => {
                "berth needs root and a writable cgroup filesystem at /sys/fs/cgroup"
            }
            CgroupError::NotFound { .. } => {
                "exec needs a running container: check it with `runtime state`"
            }
            CgroupError::FreezeTimeout { .. } => {
                "a process stuck in the kernel keeps the cgroup from freezing; try again"
            }
            CgroupError::Bpf(_) => {
                "cgroup v2 device control needs root and a kernel with BPF_PROG_TYPE_CGROUP_DEVICE"
            }
            _ => "see `cargo xtask doctor` for the kernel features berth needs",
        };
        Error::usage(e.to_string()).hint(hint)
    }
}

// ANCHOR: detect
/// The driver for the cgroup filesystem at `root`: v2 when it is a cgroup2
/// mount, v1 (a directory of per-controller mounts) otherwise.
pub fn detect(root: &Path) -> Driver {
    use nix::sys::statfs::{CGROUP2_SUPER_MAGIC, statfs};
    match statfs(root) {
        Ok(fs) if fs.filesystem_type() == CGROUP2_SUPER_MAGIC => Driver::V2(CgroupV2::new(root)),
        _ => Driver::V1(CgroupV1::new(root)),
    }
}

/// This host's driver, detected on first use.
pub fn system() -> &'static Driver {
    static DRIVER: OnceLock<Driver> = OnceLock::new();
    DRIVER.get_or_init(|| detect(Path::new(SYSTEM_ROOT)))
}
// ANCHOR_END: detect

/// A cgroup driver of either version.
pub enum Driver {
    /// One hierarchy per controller.
    V1(CgroupV1),
    /// One unified hierarchy.
    V2(CgroupV2),
}

impl Driver {
    fn inner(&self) -> &dyn Cgroups {
        match self {
            Driver::V1(v1) => v1,
            Driver::V2(v2) => v2,
        }
    }
}

impl Cgroups for Driver {
    fn create(&self, spec: &Spec) -> Result<()> {
        self.inner().create(spec)
    }
    fn join(&self, spec: &Spec, pid: i32) -> Result<()> {
        self.inner().join(spec, pid)
    }
    fn placement(&self, spec: &Spec) -> Result<Placement> {
        self.inner().placement(spec)
    }
    fn oom_killed(&self, spec: &Spec) -> bool {
        self.inner().oom_killed(spec)
    }
    fn remove(&self, spec: &Spec) -> Result<()> {
        self.inner().remove(spec)
    }
    fn mounts(&self, spec: &Spec) -> Result<Vec<(String, PathBuf)>> {
        self.inner().mounts(spec)
    }
    fn freeze(&self, spec: &Spec) -> Result<()> {
        self.inner().freeze(spec)
    }
    fn thaw(&self, spec: &Spec) -> Result<()> {
        self.inner().thaw(spec)
    }
    fn stats(&self, spec: &Spec) -> Result<CgroupStats> {
        self.inner().stats(spec)
    }
    fn update(&self, spec: &Spec) -> Result<()> {
        self.inner().update(spec)
    }
}

/// The spec's cgroup path relative to a hierarchy's root (`/berth/ID` → `berth/ID`).
pub fn relative_path(spec: &Spec) -> Result<PathBuf, CgroupError> {
    let path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().clone())
        .ok_or(CgroupError::NoPath)?;
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => relative.push(name),
            _ => return Err(CgroupError::BadPath { path }),
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(CgroupError::BadPath { path });
    }
    Ok(relative)
}

/// The resources of the spec, or none.
pub fn resources(spec: &Spec) -> LinuxResources {
    spec.linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default()
}

// ANCHOR: needed_controllers
/// The controllers the spec's limits need (devices aside: v1 has a controller
/// for them, v2 a BPF program). A host without one of them cannot hold the
/// container to its limits, so the drivers refuse to start it.
pub fn needed_controllers(resources: &LinuxResources) -> Vec<&'static str> {
    let cpu = resources.cpu().as_ref();
    let cfs =
        cpu.is_some_and(|c| c.quota().is_some() || c.period().is_some() || c.shares().is_some());
    [
        ("memory", resources.memory().is_some()),
        ("cpu", cfs),
        ("cpuset", cpu.is_some_and(|c| c.cpus().is_some())),
        ("pids", resources.pids().is_some()),
    ]
    .into_iter()
    .filter_map(|(controller, needed)| needed.then_some(controller))
    .collect()
}
// ANCHOR_END: needed_controllers

/// The devices allow-list of the spec, in order.
pub fn device_rules(resources: &LinuxResources) -> Result<Vec<DeviceRule>, CgroupError> {
    Ok(devices::rules_of(
        resources.devices().as_deref().unwrap_or_default(),
    )?)
}

/// Each directory from `root/first` down to `root/relative`, parents first.
pub fn levels(root: &Path, relative: &Path) -> Vec<PathBuf> {
    let mut dir = root.to_path_buf();
    relative
        .components()
        .map(|c| {
            dir.push(c);
            dir.clone()
        })
        .collect()
}

/// mkdir, where an existing directory is fine (a cgroup left by a crash is reused).
pub fn make_dir(dir: &Path) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(CgroupError::Create {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Opens the control file `dir/name` to write `value` to it later (an error
/// names the value, as [`write()`]'s does).
pub fn open_control_file(
    dir: &Path,
    name: &str,
    value: &str,
) -> Result<std::fs::File, CgroupError> {
    let path = dir.join(name);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|source| CgroupError::Write {
            path,
            value: value.to_string(),
            source,
        })
}

// ANCHOR: write_control_file
/// Writes `value` to the control file `dir/name`. The file must exist: the
/// kernel makes every control file with the cgroup, so a missing one means a
/// missing controller, never something to create.
pub fn write(dir: &Path, name: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(name);
    let error = |source| CgroupError::Write {
        path: path.clone(),
        value: value.to_string(),
        source,
    };
    // Truncating is a no-op on cgroupfs and keeps a fake tree's files exact.
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(error)?;
    // One write(2) per value: the kernel parses each write on its own.
    file.write_all(value.as_bytes()).map_err(error)
}
// ANCHOR_END: write_control_file

/// Reads the control file `dir/name`.
pub fn read(dir: &Path, name: &str) -> Result<String, CgroupError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|source| CgroupError::Read { path, source })
}

/// The value of `key` in a flat keyed file such as `memory.events` (`oom_kill 3`).
pub fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

/// How long `pause` and `unpause` wait for the kernel to report the new state.
pub const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// Polls `reached` until it is true or [`FREEZE_TIMEOUT`] has passed.
pub fn wait_until(
    dir: &Path,
    state: &'static str,
    reached: impl Fn() -> Result<bool, CgroupError>,
) -> Result<(), CgroupError> {
    let started = Instant::now();
    while !reached()? {
        if started.elapsed() > FREEZE_TIMEOUT {
            return Err(CgroupError::FreezeTimeout {
                path: dir.to_path_buf(),
                state,
                seconds: FREEZE_TIMEOUT.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// The number in the control file `dir/name`; `None` when the file is
/// missing (no such controller) or holds `max`.
pub fn read_number(dir: &Path, name: &str) -> Option<u64> {
    read(dir, name).ok()?.trim().parse().ok()
}

// ANCHOR: io_bytes
/// Bytes read and written, summed over devices, from either blkio's
/// `MAJ:MIN Read N` lines (v1) or io.stat's `MAJ:MIN rbytes=N wbytes=N` (v2).
pub fn io_bytes(text: &str) -> (u64, u64) {
    let (mut read, mut written) = (0, 0);
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [_, "Read", n] = fields.as_slice() {
            read += n.parse().unwrap_or(0);
        } else if let [_, "Write", n] = fields.as_slice() {
            written += n.parse().unwrap_or(0);
        }
        for field in &fields {
            if let Some(n) = field.strip_prefix("rbytes=") {
                read += n.parse().unwrap_or(0);
            } else if let Some(n) = field.strip_prefix("wbytes=") {
                written += n.parse().unwrap_or(0);
            }
        }
    }
    (read, written)
}
// ANCHOR_END: io_bytes

/// The processes in the cgroup `dir`; none when it does not exist.
pub fn pids(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    match read(dir, "cgroup.procs") {
        Ok(text) => Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect()),
        Err(CgroupError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

// ANCHOR: join_cgroup
/// Moves `pid` into the existing cgroup `dir`. Writing a pid to `cgroup.procs`
/// moves that process alone (its threads with it); its children, born later,
/// start in the same cgroup. `dir` must be there already: joining never makes a
/// cgroup, since one without the container's limits would let the process
/// escape them.
pub fn join_existing(dir: &Path, pid: i32) -> Result<(), CgroupError> {
    if !dir.is_dir() {
        return Err(CgroupError::NotFound {
            path: dir.to_path_buf(),
        });
    }
    write(dir, "cgroup.procs", &pid.to_string())
}
// ANCHOR_END: join_cgroup

// ANCHOR: kill_all
/// SIGKILLs every process of the cgroups `dirs` until none is left. `pause`
/// runs before each round and `resume` after it: with a freezer, the processes
/// stand still while they are listed and killed, so a fork bomb cannot add
/// new ones faster than we kill them. Cgroups already empty (the usual case,
/// once a container's init has exited) are left as they are: nothing can
/// enter an empty cgroup but by a move.
pub fn kill_all(
    dirs: &[PathBuf],
    pause: &dyn Fn() -> Result<(), CgroupError>,
    resume: &dyn Fn() -> Result<(), CgroupError>,
) -> Result<(), CgroupError> {
    let mut empty = true;
    for dir in dirs {
        empty &= pids(dir)?.is_empty();
    }
    if empty {
        return Ok(());
    }
    let started = Instant::now();
    loop {
        pause()?;
        let mut alive = Vec::new();
        for dir in dirs {
            alive.extend(pids(dir)?);
        }
        for &pid in &alive {
            // ESRCH (it died meanwhile) is what we want; any other failure
            // shows up again as a survivor in the next round.
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        resume()?;
        if alive.is_empty() {
            return Ok(());
        }
        if started.elapsed() > KILL_TIMEOUT {
            return Err(CgroupError::StillPopulated {
                path: dirs[0].clone(),
                seconds: KILL_TIMEOUT.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
// ANCHOR_END: kill_all

/// rmdir of a cgroup, retried while the kernel still counts exiting processes
/// (EBUSY for a moment after the last one died); already gone is fine.
pub fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    let started = Instant::now();
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && started.elapsed() < KILL_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::oci_spec::runtime::Linux;

    fn spec_with_path(path: &str) -> Spec {
        let mut linux = Linux::default();
        linux.set_cgroups_path(Some(PathBuf::from(path)));
        let mut spec = Spec::default();
        spec.set_linux(Some(linux));
        spec
    }

    #[test]
    fn cgroup_path_is_made_relative() {
        assert_eq!(
            relative_path(&spec_with_path("/berth/abc")).unwrap(),
            PathBuf::from("berth/abc")
        );
        assert_eq!(
            relative_path(&spec_with_path("berth/abc")).unwrap(),
            PathBuf::from("berth/abc")
        );
    }

    #[test]
    fn cgroup_path_cannot_escape() {
        for bad in ["/", "/berth/../../etc", ".."] {
            assert!(
                matches!(
                    relative_path(&spec_with_path(bad)),
                    Err(CgroupError::BadPath { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            relative_path(&Spec::default()),
            Err(CgroupError::NoPath)
        ));
    }

    #[test]
    fn levels_run_parents_first() {
        assert_eq!(
            levels(Path::new("/r"), Path::new("a/b")),
            [PathBuf::from("/r/a"), PathBuf::from("/r/a/b")]
        );
    }

    #[test]
    fn keyed_values() {
        let events = "low 0\nhigh 0\nmax 4\noom 1\noom_kill 2\n";
        assert_eq!(keyed_value(events, "oom_kill"), Some(2));
        assert_eq!(keyed_value(events, "oom"), Some(1));
        assert_eq!(keyed_value(events, "missing"), None);
    }

    #[test]
    fn io_bytes_of_both_versions() {
        let v1 = "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 4\nTotal 4612\n";
        assert_eq!(io_bytes(v1), (4100, 512));
        let v2 = "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n8:16 rbytes=1 wbytes=2\n";
        assert_eq!(io_bytes(v2), (101, 22));
        assert_eq!(io_bytes(""), (0, 0));
    }

    #[test]
    fn write_refuses_missing_control_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            write(dir.path(), "memory.max", "1"),
            Err(CgroupError::Write { .. })
        ));
        std::fs::write(dir.path().join("memory.max"), "max\n").unwrap();
        write(dir.path(), "memory.max", "1024").unwrap();
        assert_eq!(read(dir.path(), "memory.max").unwrap(), "1024");
    }

    #[test]
    fn pids_of_missing_cgroup_are_none() {
        assert_eq!(
            pids(Path::new("/nonexistent/berth")).unwrap(),
            Vec::<i32>::new()
        );
    }
}
