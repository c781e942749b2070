//! A container's record: `BERTH_ROOT/containers/<id>/` holds the OCI bundle
//! (`config.json`, `rootfs/`), berth's record (`container.json`), the json-file
//! log and a lock. Every change is a read-modify-write under the lock, written
//! atomically, so 20 commands at once leave 20 consistent records.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use berth_engine::state::{Durability, Lock, atomic_write, lock, replace};
use berth_engine::{Engine, Error};
use berth_isolation::runtime::record::{is_alive, start_time};
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use serde::{Deserialize, Serialize};

use crate::restart::RestartPolicy;
use crate::state::Status;

/// What can go wrong with records.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A file of the record could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// `container.json` does not parse.
    #[error("the record {} is damaged: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The container is gone (removed meanwhile, or never existed).
    #[error("No such container: {id}")]
    Missing {
        /// The id asked for.
        id: String,
    },
}

impl From<RecordError> for Error {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Missing { .. } => Error::failed(format!("Error: {e}")),
            RecordError::Corrupt { .. } => {
                Error::failed(e.to_string()).hint("remove it with rm -f")
            }
            RecordError::Io { .. } => Error::failed(e.to_string()),
        }
    }
}

/// How the container was configured at create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `--stop-signal`, else the image's StopSignal, else SIGTERM.
    pub stop_signal: String,
    /// `--stop-timeout` in seconds (None: 10).
    pub stop_timeout: Option<i64>,
    /// docker's `Config.Entrypoint`: `--entrypoint`, else the image's (None:
    /// none). Records written before it was kept have neither field.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// docker's `Config.Cmd`: the arguments after the image, else the
    /// image's, unless `--entrypoint` was given (None: none).
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
}

// ANCHOR: entrypoint_and_cmd
/// docker's `Config.Entrypoint` and `Config.Cmd` of a new container, from the
/// image's and the command line's. An empty `--entrypoint` clears the
/// image's; any `--entrypoint` also drops the image's command, so the
/// container runs only what the user named. The process is the two joined.
pub fn entrypoint_and_cmd(
    image_entrypoint: Option<&[String]>,
    image_cmd: Option<&[String]>,
    entrypoint: Option<&str>,
    cmd: &[String],
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let some = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
    let shown_entrypoint = match entrypoint {
        Some("") => None,
        Some(given) => Some(vec![given.to_string()]),
        None => image_entrypoint.and_then(some),
    };
    let shown_cmd = match (cmd.is_empty(), entrypoint) {
        (false, _) => Some(cmd.to_vec()),
        (true, Some(_)) => None,
        (true, None) => image_cmd.and_then(some),
    };
    (shown_entrypoint, shown_cmd)
}
// ANCHOR_END: entrypoint_and_cmd

// ANCHOR: container_state
/// Where the container is in its life, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// The status as last recorded; see [`Containers::reconcile`].
    pub status: Status,
    /// The init's pid on the host (0 when none).
    pub pid: i32,
    /// Field 22 of `/proc/PID/stat` of `pid`: a reused pid has another one.
    pub pid_start_time: u64,
    /// The supervisor's pid (0 when none).
    pub supervisor_pid: i32,
    /// The supervisor's start time, for the same reason.
    pub supervisor_start_time: u64,
    /// RFC 3339 time of the last start (empty: never).
    pub started_at: String,
    /// RFC 3339 time of the last exit (empty: never).
    pub finished_at: String,
    /// The last exit code (128+N for signal N).
    pub exit_code: i32,
    /// Whether the kernel's OOM killer ended the last run.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Starts made by the restart policy.
    pub restart_count: u32,
    /// Why the last start failed (empty: it did not).
    pub error: String,
    /// A user stopped or killed it: the restart policy does not apply.
    pub stopped_by_user: bool,
}
// ANCHOR_END: container_state

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Created,
            pid: 0,
            pid_start_time: 0,
            supervisor_pid: 0,
            supervisor_start_time: 0,
            started_at: String::new(),
            finished_at: String::new(),
            exit_code: 0,
            oom_killed: false,
            restart_count: 0,
            error: String::new(),
            stopped_by_user: false,
        }
    }
}

impl State {
    // ANCHOR: reconcile
    /// Whether the state claims a life that is not there: an active status
    /// whose supervisor is gone (killed, or the host rebooted and every pid is
    /// gone or reused by another process). A container never started is never
    /// stale, and costs no look into `/proc`.
    pub fn is_stale(&self) -> bool {
        self.status.is_active() && !is_alive(self.supervisor_pid, self.supervisor_start_time)
    }
    // ANCHOR_END: reconcile
}

/// berth's record of one container (`container.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRecord {
    /// The 64-hex id.
    pub id: String,
    /// The name, without docker's leading `/`.
    pub name: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// The image as the user named it (or the `--rootfs` directory).
    pub image: String,
    /// The image's id (`sha256:…`), when made from an image.
    pub image_id: Option<String>,
    /// A root filesystem the user owns (`--rootfs`): never removed with the container.
    pub external_rootfs: Option<PathBuf>,
    /// The program.
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The configuration.
    pub config: Config,
    /// `--restart`.
    pub restart_policy: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// The state.
    pub state: State,
}

impl ContainerRecord {
    /// The command as one string, as `ps` shows it: docker puts an argument
    /// holding a space in single quotes (`sh -c 'while true; …'`).
    pub fn command_line(&self) -> String {
        command_line(&self.path, &self.args)
    }

    /// The creation time.
    pub fn created_time(&self) -> SystemTime {
        parse_time(&self.created).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Whether the record claims a life that is not there (see [`State::is_stale`]).
    pub fn is_stale(&self) -> bool {
        self.state.is_stale()
    }

    /// Whether the container's init is alive (same pid, same start time).
    pub fn init_alive(&self) -> bool {
        self.state.pid > 0 && is_alive(self.state.pid, self.state.pid_start_time)
    }
}

/// `path` and `args` as one string: docker puts an argument holding a space
/// in single quotes (`sh -c 'while true; …'`).
fn command_line(path: &str, args: &[String]) -> String {
    let quoted = |arg: &String| match arg.contains(' ') {
        true => format!("'{arg}'"),
        false => arg.clone(),
    };
    std::iter::once(path.to_string())
        .chain(args.iter().map(quoted))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a listing found in the containers directory.
pub struct Listing {
    /// Every container with a record, reconciled.
    pub containers: Vec<ContainerSummary>,
    /// The ids of directories without a record: a container being created,
    /// one removed while listing, or one whose `create` died half-way.
    pub unrecorded: Vec<String>,
}

/// The lock of the container directory `dir` if the `create` that made it
/// died before writing the record: `create` holds the directory's lock until
/// then, so a directory whose lock is free and which still has no record has
/// nobody left to finish it. `None` while it is being made, once it has a
/// record, and when it is gone.
pub fn abandoned_by_create(dir: &Path) -> Option<File> {
    let lock = File::open(dir).ok()?;
    lock.try_lock().ok()?;
    (!dir.join("container.json").exists()).then_some(lock)
}

// ANCHOR: container_summary
/// A container as a listing shows it: the part of `container.json` that `ps`
/// prints or filters on. serde skips the rest of the file without keeping it,
/// which makes a thousand records cheaper to read than a thousand whole ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    /// The 64-hex id.
    pub id: String,
    /// The name, without docker's leading `/`.
    pub name: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// The image as the user named it (or the `--rootfs` directory).
    pub image: String,
    /// The image's id (`sha256:…`), when made from an image.
    pub image_id: Option<String>,
    /// The program.
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The labels, the one part of the configuration a listing needs.
    pub config: SummaryConfig,
    /// The state, whole: it is small, and reconciling needs it.
    pub state: State,
}

/// The configuration as a listing reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryConfig {
    /// `--label`.
    pub labels: BTreeMap<String, String>,
}
// ANCHOR_END: container_summary

impl ContainerSummary {
    /// The command as one string, as `ps` shows it (see [`ContainerRecord::command_line`]).
    pub fn command_line(&self) -> String {
        command_line(&self.path, &self.args)
    }

    /// The creation time.
    pub fn created_time(&self) -> SystemTime {
        parse_time(&self.created).unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

impl From<&ContainerRecord> for ContainerSummary {
    fn from(record: &ContainerRecord) -> Self {
        ContainerSummary {
            id: record.id.clone(),
            name: record.name.clone(),
            created: record.created.clone(),
            image: record.image.clone(),
            image_id: record.image_id.clone(),
            path: record.path.clone(),
            args: record.args.clone(),
            config: SummaryConfig {
                labels: record.config.labels.clone(),
            },
            state: record.state.clone(),
        }
    }
}

/// The most threads a listing reads records with: reading is mostly the
/// kernel's work of opening files, which spreads over the cores.
const LISTING_THREADS: usize = 4;

/// Room for a record in one read (they are under 1 KiB; a bigger one grows it).
const RECORD_BUFFER: usize = 4096;

/// The pid and start time of the calling process.
pub fn own_pid_and_start_time() -> (i32, u64) {
    let pid = std::process::id() as i32;
    (pid, start_time(pid).unwrap_or(0))
}

/// Now, as docker writes times: RFC 3339, UTC, nanoseconds without trailing zeros.
pub fn now_rfc3339() -> String {
    rfc3339_nano(SystemTime::now())
}

// ANCHOR: rfc3339_nano
/// `time` as Go's `RFC3339Nano` prints it: trailing zeros of the fraction dropped.
pub fn rfc3339_nano(time: SystemTime) -> String {
    let full = humantime::format_rfc3339_nanos(time).to_string();
    let Some((seconds, fraction)) = full.trim_end_matches('Z').split_once('.') else {
        return full;
    };
    let fraction = fraction.trim_end_matches('0');
    match fraction.is_empty() {
        true => format!("{seconds}Z"),
        false => format!("{seconds}.{fraction}Z"),
    }
}
// ANCHOR_END: rfc3339_nano

/// Parses an RFC 3339 time written by [`rfc3339_nano`] (or any offset).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text)
        .ok()
        .or_else(|| berth_engine::output::parse_rfc3339(text))
}

/// The containers directory and the operations on it.
#[derive(Debug, Clone)]
pub struct Containers {
    dir: PathBuf,
}

impl Containers {
    /// The containers of `engine`'s state root (created if missing).
    pub fn open(engine: &Engine) -> Result<Self, RecordError> {
        let dir = engine
            .paths
            .root_dir("containers")
            .map_err(|source| RecordError::Io {
                what: "creating",
                path: engine.paths.root.join("containers"),
                source,
            })?;
        Ok(Containers { dir })
    }

    /// A containers directory at `dir` (tests).
    pub fn at(dir: PathBuf) -> Self {
        Containers { dir }
    }

    /// The directory of every container.
    pub fn root(&self) -> &Path {
        &self.dir
    }

    /// The directory of container `id` (the bundle).
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The json-file log of container `id`.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join(format!("{id}-json.log"))
    }

    /// Makes the directory of a new container and writes its first record.
    pub fn create(&self, record: &ContainerRecord) -> Result<(), RecordError> {
        let dir = self.dir(&record.id);
        fs::create_dir(&dir).map_err(|source| RecordError::Io {
            what: "creating",
            path: dir.clone(),
            source,
        })?;
        self.save(record)
    }

    /// Takes the lock of container `id`; fails if the container was removed.
    pub fn lock(&self, id: &str) -> Result<Lock, RecordError> {
        let dir = self.dir(id);
        if !dir.is_dir() {
            return Err(RecordError::Missing { id: id.into() });
        }
        let held = lock(&dir.join("lock")).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => RecordError::Missing { id: id.into() },
            _ => RecordError::Io {
                what: "locking",
                path: dir.join("lock"),
                source,
            },
        })?;
        // Removed while we waited for the lock: the lock file is an orphan.
        match dir.join("container.json").exists() {
            true => Ok(held),
            false => Err(RecordError::Missing { id: id.into() }),
        }
    }

    /// Reads the record of `id` as written (no reconciling).
    pub fn load(&self, id: &str) -> Result<ContainerRecord, RecordError> {
        let path = self.dir(id).join("container.json");
        let text = fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => RecordError::Missing { id: id.into() },
            _ => RecordError::Io {
                what: "reading",
                path: path.clone(),
                source,
            },
        })?;
        serde_json::from_slice(&text).map_err(|e| RecordError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// Writes the record atomically and durably (the caller holds the lock).
    pub fn save(&self, record: &ContainerRecord) -> Result<(), RecordError> {
        self.write(record, Durability::Synced)
    }

    fn write(&self, record: &ContainerRecord, durability: Durability) -> Result<(), RecordError> {
        let path = self.dir(&record.id).join("container.json");
        let json = serde_json::to_vec_pretty(record).expect("a record serialises");
        match durability {
            Durability::UntilReboot => replace(&path, &json, durability),
            // The record is what makes a container's other files count: it
            // is always synced itself.
            Durability::Synced | Durability::BeforeNextRecord => atomic_write(&path, &json),
        }
        .map_err(|source| RecordError::Io {
            what: "writing",
            path,
            source,
        })
    }

    /// Reads, changes and writes the record of `id` under its lock. The record
    /// of a container removed as it ends (`--rm`) is not synced: a crash
    /// leaves the record made by `create`, or this one.
    pub fn update<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerRecord) -> T,
    ) -> Result<(ContainerRecord, T), RecordError> {
        let _lock = self.lock(id)?;
        let mut record = self.load(id)?;
        let out = change(&mut record);
        self.write(&record, Durability::of_container(record.auto_remove))?;
        Ok((record, out))
    }

    /// Every container id (directory names of 64 hex digits).
    pub fn ids(&self) -> Result<Vec<String>, RecordError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| RecordError::Io {
            what: "listing",
            path: self.dir.clone(),
            source,
        })?;
        Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .collect())
    }

    /// Every record, reconciled; a container removed while listing is skipped.
    pub fn list(&self) -> Result<Vec<ContainerRecord>, RecordError> {
        let mut records = Vec::new();
        for id in self.ids()? {
            match self.load(&id) {
                Ok(record) if record.is_stale() => match self.reconcile(&id) {
                    Ok(record) => records.push(record),
                    Err(RecordError::Missing { .. }) => {}
                    Err(e) => return Err(e),
                },
                Ok(record) => records.push(record),
                Err(RecordError::Missing { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(records)
    }

    // ANCHOR: list_summaries
    /// Every container as `ps` lists it, reconciled; a container removed while
    /// listing is skipped. Records are read without their locks: each is
    /// replaced whole by a rename, so a reader sees the old one or the new one.
    /// Only a stale record takes its lock, to be reconciled.
    pub fn summaries(&self) -> Result<Vec<ContainerSummary>, RecordError> {
        Ok(self.listing()?.containers)
    }

    /// [`Containers::summaries`], and the directories found without a record.
    pub fn listing(&self) -> Result<Listing, RecordError> {
        let ids = self.ids()?;
        let dir = File::open(&self.dir).map_err(|source| RecordError::Io {
            what: "opening",
            path: self.dir.clone(),
            source,
        })?;
        // Each reader takes the next record no reader has taken yet, so a
        // reader the scheduler holds back does not hold back the listing.
        let next = AtomicUsize::new(0);
        let readers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(LISTING_THREADS)
            .min(ids.len());
        let parts = std::thread::scope(|scope| {
            let running: Vec<_> = (0..readers)
                .map(|_| scope.spawn(|| self.read_summaries(&dir, &ids, &next)))
                .collect();
            running
                .into_iter()
                .map(|reader| reader.join().expect("a record reader does not panic"))
                .collect::<Vec<_>>()
        });
        let mut summaries = Vec::with_capacity(ids.len());
        let mut unrecorded = Vec::new();
        for part in parts {
            let (part, missing) = part?;
            unrecorded.extend(missing);
            for summary in part {
                if !summary.state.is_stale() {
                    summaries.push(summary);
                    continue;
                }
                match self.reconcile(&summary.id) {
                    Ok(record) => summaries.push(ContainerSummary::from(&record)),
                    Err(RecordError::Missing { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Listing {
            containers: summaries,
            unrecorded,
        })
    }
    // ANCHOR_END: list_summaries

    /// The summaries of the `ids` this reader takes (`next` is the first one
    /// not taken), each read into the same buffer.
    fn read_summaries(
        &self,
        dir: &File,
        ids: &[String],
        next: &AtomicUsize,
    ) -> Result<(Vec<ContainerSummary>, Vec<String>), RecordError> {
        let mut buffer = vec![0; RECORD_BUFFER];
        let (mut summaries, mut missing) = (Vec::new(), Vec::new());
        while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
            match self.read_summary(dir, id, &mut buffer) {
                Ok(summary) => summaries.push(summary),
                Err(RecordError::Missing { .. }) => missing.push(id.clone()),
                Err(e) => return Err(e),
            }
        }
        Ok((summaries, missing))
    }

    /// The summary of container `id`, read through `dir` (the containers
    /// directory) into `buffer`, which grows if the record needs it: a path
    /// relative to an open directory spares the kernel walking the whole path
    /// again, and reading by hand spares the two system calls `read_to_end`
    /// makes first to learn the file's size and position.
    fn read_summary(
        &self,
        dir: &File,
        id: &str,
        buffer: &mut Vec<u8>,
    ) -> Result<ContainerSummary, RecordError> {
        let relative = format!("{id}/container.json");
        let failed = |source: io::Error| match source.kind() {
            io::ErrorKind::NotFound => RecordError::Missing { id: id.into() },
            _ => RecordError::Io {
                what: "reading",
                path: self.dir.join(&relative),
                source,
            },
        };
        // ANCHOR: read_summary
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        let fd =
            openat(dir, relative.as_str(), flags, Mode::empty()).map_err(|e| failed(e.into()))?;
        let mut file = File::from(fd);
        let mut length = 0;
        loop {
            if length == buffer.len() {
                buffer.resize(buffer.len() * 2, 0);
            }
            match file.read(&mut buffer[length..]) {
                Ok(0) => break,
                Ok(read) => length += read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed(e)),
            }
        }
        serde_json::from_slice(&buffer[..length]).map_err(|e| RecordError::Corrupt {
            path: self.dir.join(&relative),
            reason: e.to_string(),
        })
        // ANCHOR_END: read_summary
    }

    /// The record of `id`, reconciled with what the kernel shows.
    pub fn get(&self, id: &str) -> Result<ContainerRecord, RecordError> {
        let record = self.load(id)?;
        match record.is_stale() {
            true => self.reconcile(id),
            false => Ok(record),
        }
    }

    // ANCHOR: reconcile_under_lock
    /// Records as exited a container whose supervisor died, under the lock (two
    /// readers may both notice; the second sees it done). What is left of the
    /// container (its init, cgroup, runtime state) is removed by the runtime.
    pub fn reconcile(&self, id: &str) -> Result<ContainerRecord, RecordError> {
        let _lock = self.lock(id)?;
        let mut record = self.load(id)?;
        if !record.is_stale() {
            return Ok(record);
        }
        let was_alive = record.init_alive();
        crate::supervisor::runtime::delete_leftovers(id);
        // The dead supervisor could not unmount the root either. The root is
        // always `rootfs` in the container's directory (the root-filesystem
        // slot's rule); a copy or a missing one is simply not a mount point.
        let _ = nix::mount::umount2(
            &self.dir(id).join("rootfs"),
            nix::mount::MntFlags::MNT_DETACH,
        );
        // The dead supervisor could not remove its socket.
        let paths = berth_engine::state::Paths::from_env();
        let socket = paths
            .run
            .join("sv")
            .join(format!("{}.sock", berth_engine::state::short_id(id)));
        let _ = fs::remove_file(socket);
        let state = &mut record.state;
        state.status = Status::Exited;
        state.exit_code = if was_alive { 137 } else { 255 };
        state.finished_at = now_rfc3339();
        state.error = "the container's supervisor ended unexpectedly".into();
        state.pid = 0;
        state.supervisor_pid = 0;
        self.save(&record)?;
        Ok(record)
    }
    // ANCHOR_END: reconcile_under_lock

    /// Removes container `id`'s directory (bundle, root filesystem, record, log).
    pub fn remove(&self, id: &str) -> Result<(), RecordError> {
        let dir = self.dir(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(RecordError::Io {
                what: "removing",
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

/// Records for the tests of this crate.
#[cfg(test)]
pub mod tests_support {
    use super::*;

    /// A created container's record.
    pub fn sample(id: &str, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            name: name.into(),
            created: now_rfc3339(),
            image: "busybox".into(),
            image_id: Some("sha256:00".into()),
            external_rootfs: None,
            path: "sh".into(),
            args: vec!["-c".into(), "echo hi".into()],
            config: Config {
                stop_signal: "SIGTERM".into(),
                ..Config::default()
            },
            restart_policy: RestartPolicy::No,
            auto_remove: false,
            state: State::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::sample;
    use super::*;

    fn hex(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_are_split_as_docker_shows_them() {
        // What docker 20.10 showed for an image with ENTRYPOINT ["/bin/echo","pre"]
        // and CMD ["a b","c"].
        let (ep, cmd) = (strings(&["/bin/echo", "pre"]), strings(&["a b", "c"]));
        let split = |flag: Option<&str>, given: &[&str]| {
            entrypoint_and_cmd(Some(&ep), Some(&cmd), flag, &strings(given))
        };
        assert_eq!(split(None, &[]), (Some(ep.clone()), Some(cmd.clone())));
        assert_eq!(
            split(None, &["x", "y"]),
            (Some(ep.clone()), Some(strings(&["x", "y"])))
        );
        assert_eq!(
            split(Some("/bin/true"), &[]),
            (Some(strings(&["/bin/true"])), None)
        );
        assert_eq!(
            split(Some("/bin/true"), &["z"]),
            (Some(strings(&["/bin/true"])), Some(strings(&["z"])))
        );
        assert_eq!(
            split(Some(""), &["echo", "hi"]),
            (None, Some(strings(&["echo", "hi"])))
        );
        assert_eq!(
            entrypoint_and_cmd(None, Some(&[]), None, &strings(&["sh"])),
            (None, Some(strings(&["sh"])))
        );
    }

    #[test]
    fn a_record_without_entrypoint_and_cmd_still_reads() {
        let mut json = serde_json::to_value(sample(&hex('b'), "old")).unwrap();
        let config = json["Config"].as_object_mut().unwrap();
        config.remove("Entrypoint");
        config.remove("Cmd");
        let record: ContainerRecord = serde_json::from_value(json).unwrap();
        assert_eq!((record.config.entrypoint, record.config.cmd), (None, None));
    }

    #[test]
    fn records_round_trip_through_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let containers = Containers::at(tmp.path().to_path_buf());
        let record = sample(&hex('a'), "one");
        containers.create(&record).unwrap();
        assert_eq!(containers.load(&record.id).unwrap(), record);
        let (updated, ()) = containers
            .update(&record.id, |r| r.state.restart_count = 3)
            .unwrap();
        assert_eq!(containers.load(&record.id).unwrap(), updated);
        assert_eq!(containers.ids().unwrap(), vec![record.id.clone()]);
        containers.remove(&record.id).unwrap();
        assert!(matches!(
            containers.lock(&record.id),
            Err(RecordError::Missing { .. })
        ));
    }

    #[test]
    fn a_reused_or_dead_supervisor_pid_makes_the_record_stale() {
        let mut record = sample(&hex('b'), "two");
        record.state.status = Status::Running;
        let (me, started) = own_pid_and_start_time();
        record.state.supervisor_pid = me;
        record.state.supervisor_start_time = started;
        assert!(!record.is_stale());
        // Same pid, another start time: a different process now has the pid.
        record.state.supervisor_start_time = started + 1;
        assert!(record.is_stale());
        record.state.status = Status::Exited;
        assert!(!record.is_stale());
    }

    #[test]
    fn stale_records_read_exited_and_are_saved_so() {
        let tmp = tempfile::tempdir().unwrap();
        let containers = Containers::at(tmp.path().to_path_buf());
        let mut record = sample(&hex('c'), "three");
        record.state.status = Status::Running;
        record.state.supervisor_pid = i32::MAX - 1;
        containers.create(&record).unwrap();
        let listed = containers.list().unwrap();
        assert_eq!(listed[0].state.status, Status::Exited);
        assert_eq!(listed[0].state.exit_code, 255);
        assert_eq!(
            containers.load(&record.id).unwrap().state.status,
            Status::Exited
        );
    }

    #[test]
    fn summaries_read_what_the_records_hold_and_reconcile_the_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let containers = Containers::at(tmp.path().to_path_buf());
        let created = sample(&hex('1'), "created");
        let mut running = sample(&hex('2'), "running");
        running.state.status = Status::Running;
        (
            running.state.supervisor_pid,
            running.state.supervisor_start_time,
        ) = own_pid_and_start_time();
        running.config.labels.insert("tier".into(), "front".into());
        let mut orphan = sample(&hex('3'), "orphan");
        orphan.state.status = Status::Running;
        orphan.state.supervisor_pid = i32::MAX - 1;
        for record in [&created, &running, &orphan] {
            containers.create(record).unwrap();
        }
        // A container being created: its directory is there, its record not yet.
        fs::create_dir(containers.dir(&hex('4'))).unwrap();

        let mut listed = containers.summaries().unwrap();
        listed.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0], ContainerSummary::from(&created));
        assert_eq!(listed[1], ContainerSummary::from(&running));
        assert_eq!(listed[1].command_line(), running.command_line());
        assert_eq!(listed[2].state.status, Status::Exited);
        assert_eq!(listed[2].state.exit_code, 255);
        assert_eq!(
            containers.load(&orphan.id).unwrap().state.status,
            Status::Exited
        );
    }

    #[test]
    fn a_damaged_record_fails_the_listing_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let containers = Containers::at(tmp.path().to_path_buf());
        containers.create(&sample(&hex('5'), "fine")).unwrap();
        fs::create_dir(containers.dir(&hex('6'))).unwrap();
        fs::write(containers.dir(&hex('6')).join("container.json"), "{").unwrap();
        match containers.summaries() {
            Err(RecordError::Corrupt { path, .. }) => {
                assert!(path.starts_with(containers.dir(&hex('6'))))
            }
            other => panic!("a damaged record listed as {other:?}"),
        }
    }

    #[test]
    fn a_record_bigger_than_the_buffer_is_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let containers = Containers::at(tmp.path().to_path_buf());
        let mut big = sample(&hex('7'), "big");
        big.args = vec!["x".repeat(3 * RECORD_BUFFER)];
        containers.create(&big).unwrap();
        assert_eq!(
            containers.summaries().unwrap(),
            vec![ContainerSummary::from(&big)]
        );
    }

    #[test]
    fn times_print_as_go_s_rfc3339_nano() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(rfc3339_nano(t), "2023-11-14T22:13:20.12Z");
        assert_eq!(
            rfc3339_nano(UNIX_EPOCH + Duration::from_secs(1)),
            "1970-01-01T00:00:01Z"
        );
        assert_eq!(parse_time("2023-11-14T22:13:20.12Z"), Some(t));
    }
}
