//! A container's runtime state: `BERTH_RUN/runtime/<id>/` holds `state.json`, a
//! copy of the spec (so `delete` can find the cgroup after the bundle is gone),
//! the exec fifo of a created container, and the lock.

use std::fmt;
use std::path::{Path, PathBuf};

use berth_engine::Engine;
use berth_engine::state::{Durability, Lock, lock, replace};
use serde::{Deserialize, Serialize};

use super::error::RuntimeError;

/// The OCI version the state file reports.
pub const OCI_VERSION: &str = "1.0.2";

// ANCHOR: container_status
/// Where a container is in its life, as the OCI runtime spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Set up, waiting before exec for `start`.
    Created,
    /// Its process runs.
    Running,
    /// Its process is gone.
    Stopped,
}

impl Status {
    /// `start` needs a created container.
    pub fn can_start(self) -> bool {
        self == Status::Created
    }
    /// `kill` needs a process.
    pub fn can_kill(self) -> bool {
        self != Status::Stopped
    }
    /// `delete` without `--force` refuses a running container (a created one has
    /// run nothing of the user's yet, so it is killed, as runc does).
    pub fn can_delete(self) -> bool {
        self != Status::Running
    }
}
// ANCHOR_END: container_status

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
        })
    }
}

/// What `state.json` holds: the OCI state plus the pid's start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The OCI runtime spec version.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// The status when it was last written; see [`Record::status`].
    pub status: Status,
    /// The init process, as the host sees it.
    pub pid: i32,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The root filesystem.
    pub rootfs: PathBuf,
    /// When the container was created (seconds since the epoch).
    pub created: u64,
    /// Field 22 of `/proc/PID/stat` when the pid was recorded: a later process
    /// that reuses the pid has another start time, so it never looks like ours.
    pub pid_start_time: u64,
}

impl Record {
    /// The status now: a recorded process that is gone (or a zombie, or a
    /// different process under the same pid) means stopped.
    pub fn status(&self) -> Status {
        match self.status {
            Status::Stopped => Status::Stopped,
            recorded if is_alive(self.pid, self.pid_start_time) => recorded,
            _ => Status::Stopped,
        }
    }

    /// The OCI state JSON that `state` prints.
    pub fn oci_state(&self) -> serde_json::Value {
        let status = self.status();
        serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status,
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
        })
    }
}

// ANCHOR: pid_start_time
/// The state letter and start time (fields 3 and 22) of a `/proc/PID/stat` line.
/// The command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(line: &str) -> Option<(char, u64)> {
    let after_name = &line[line.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(18)?.parse().ok()?;
    Some((state, start_time))
}

/// The start time of `pid`, if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    let line = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&line).map(|(_, t)| t)
}

/// Whether `pid` still is the process that started at `start_time` and has not exited.
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|line| parse_stat(&line))
        .is_some_and(|(state, t)| t == start_time && state != 'Z' && state != 'X')
}
// ANCHOR_END: pid_start_time

/// The state directory of one container.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    id: String,
}

impl StateDir {
    /// Makes the directory of a new container; fails if the id is taken.
    pub fn create(engine: &Engine, id: &str) -> Result<Self, RuntimeError> {
        let dir = Self::path(engine, id)?;
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(StateDir { dir, id: id.into() }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(RuntimeError::Exists { id: id.into() })
            }
            Err(e) => Err(RuntimeError::io(format!("creating {}", dir.display()))(e)),
        }
    }

    /// The directory of an existing container.
    pub fn open(engine: &Engine, id: &str) -> Result<Self, RuntimeError> {
        let dir = Self::path(engine, id)?;
        match dir.is_dir() {
            true => Ok(StateDir { dir, id: id.into() }),
            false => Err(RuntimeError::NotFound { id: id.into() }),
        }
    }

    fn path(engine: &Engine, id: &str) -> Result<PathBuf, RuntimeError> {
        check_id(id)?;
        let base = engine
            .paths
            .run_dir("runtime")
            .map_err(RuntimeError::io("creating the runtime state directory"))?;
        Ok(base.join(id))
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a created container's init waits for `start`.
    pub fn exec_fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }

    /// The copy of the spec the container was created from.
    pub fn spec_copy(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Keeps the spec the container was made from: `delete` finds its cgroup
    /// and `exec` its process in it, even if the bundle changed meanwhile.
    pub fn save_spec(
        &self,
        spec: &berth_engine::oci_spec::runtime::Spec,
    ) -> Result<(), RuntimeError> {
        let json = serde_json::to_vec_pretty(spec).expect("a spec serialises");
        std::fs::write(self.spec_copy(), json).map_err(RuntimeError::io("saving the spec"))
    }

    /// Serialises commands on this container (released when dropped).
    pub fn lock(&self) -> Result<Lock, RuntimeError> {
        lock(&self.dir.join("lock"))
            .map_err(RuntimeError::io(format!("locking container {}", self.id)))
    }

    /// Writes `state.json` atomically; without fsync, because it lives under
    /// `BERTH_RUN`, which does not outlive a reboot.
    pub fn save(&self, record: &Record) -> Result<(), RuntimeError> {
        let json = serde_json::to_vec_pretty(record).expect("a record always serialises");
        replace(&self.dir.join("state.json"), &json, Durability::UntilReboot).map_err(
            RuntimeError::io(format!("writing the state of {}", self.id)),
        )
    }

    /// Reads `state.json`.
    pub fn load(&self) -> Result<Record, RuntimeError> {
        let path = self.dir.join("state.json");
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            // `create` writes the record last: until then there is no container.
            std::io::ErrorKind::NotFound => RuntimeError::NotFound {
                id: self.id.clone(),
            },
            _ => RuntimeError::CorruptState {
                path: path.clone(),
                reason: e.to_string(),
            },
        })?;
        serde_json::from_str(&text).map_err(|e| RuntimeError::CorruptState {
            path,
            reason: e.to_string(),
        })
    }

    /// Removes the directory and everything in it.
    pub fn remove(self) -> Result<(), RuntimeError> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(RuntimeError::io(format!("removing {}", self.dir.display()))(e))
            }
            _ => Ok(()),
        }
    }
}

/// An id names a directory: letters, digits, `_`, `-`, `.`, and not `.` or `..`.
pub fn check_id(id: &str) -> Result<(), RuntimeError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    match ok {
        true => Ok(()),
        false => Err(RuntimeError::BadId { id: id.into() }),
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::state::Paths;

    fn engine(dir: &Path) -> Engine {
        Engine::new(
            "ch01",
            &[],
            Paths {
                root: dir.join("root"),
                run: dir.join("run"),
            },
        )
    }

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200";
        assert_eq!(parse_stat(line), Some(('S', 98765)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn our_own_process_is_alive_and_a_wrong_start_time_is_not() {
        let me = std::process::id() as i32;
        let t = start_time(me).unwrap();
        assert!(is_alive(me, t));
        assert!(!is_alive(me, t + 1));
    }

    #[test]
    fn state_round_trips_and_a_dead_pid_reads_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let e = engine(tmp.path());
        let dir = StateDir::create(&e, "c1").unwrap();
        assert!(matches!(
            StateDir::create(&e, "c1"),
            Err(RuntimeError::Exists { .. })
        ));
        let me = std::process::id() as i32;
        let mut record = Record {
            oci_version: OCI_VERSION.into(),
            id: "c1".into(),
            status: Status::Running,
            pid: me,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now(),
            pid_start_time: start_time(me).unwrap(),
        };
        dir.save(&record).unwrap();
        let loaded = StateDir::open(&e, "c1").unwrap().load().unwrap();
        assert_eq!(loaded, record);
        assert_eq!(loaded.status(), Status::Running);
        assert_eq!(loaded.oci_state()["status"], "running");
        record.pid_start_time += 1;
        assert_eq!(record.status(), Status::Stopped);
        assert_eq!(record.oci_state()["pid"], 0);
        dir.remove().unwrap();
        assert!(matches!(
            StateDir::open(&e, "c1"),
            Err(RuntimeError::NotFound { .. })
        ));
    }

    #[test]
    fn ids_must_name_a_plain_directory() {
        assert!(check_id("web-1.a_b").is_ok());
        for bad in ["", ".", "..", "a/b", "a b"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn status_rules() {
        assert!(Status::Created.can_start() && !Status::Running.can_start());
        assert!(Status::Created.can_kill() && !Status::Stopped.can_kill());
        assert!(Status::Stopped.can_delete() && !Status::Running.can_delete());
    }
}
