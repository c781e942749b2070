//! Where berth keeps things: the state root (`BERTH_ROOT`), the runtime directory
//! (`BERTH_RUN`), atomic writes, locks and ids.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Default persistent state root.
pub const DEFAULT_ROOT: &str = "/var/lib/berth";
/// Default runtime directory (sockets, runtime state; cleared at boot).
pub const DEFAULT_RUN: &str = "/run/berth";

/// The two directories berth owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Persistent state: images, layers, containers, volumes (mode 0700).
    pub root: PathBuf,
    /// Runtime state: sockets, pid files, the runtime's container state (mode 0700).
    pub run: PathBuf,
}

impl Paths {
    /// Reads `BERTH_ROOT` and `BERTH_RUN`, falling back to the defaults.
    pub fn from_env() -> Self {
        let var = |name: &str, default: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        Self {
            root: var("BERTH_ROOT", DEFAULT_ROOT),
            run: var("BERTH_RUN", DEFAULT_RUN),
        }
    }

    /// `root/sub`, created (mode 0700, parents too) if missing.
    pub fn root_dir(&self, sub: &str) -> io::Result<PathBuf> {
        ensure_private_dir(&self.root)?;
        let dir = self.root.join(sub);
        ensure_private_dir(&dir)?;
        Ok(dir)
    }

    /// `run/sub`, created (mode 0700, parents too) if missing.
    pub fn run_dir(&self, sub: &str) -> io::Result<PathBuf> {
        ensure_private_dir(&self.run)?;
        let dir = self.run.join(sub);
        ensure_private_dir(&dir)?;
        Ok(dir)
    }
}

/// Creates `dir` (and its parents) with mode 0700 when it does not exist.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    // Almost always there: one stat, where a mkdir that fails takes two calls.
    if dir.is_dir() {
        return Ok(());
    }
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

// ANCHOR: atomic_write
/// Replaces `path` with `data` so that a reader sees the old or the new file, never
/// a mix: write a temp file beside it, fsync it, rename it over, fsync the directory.
/// Files this process wrote with [`Durability::BeforeNextRecord`] are fsynced with it.
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    replace(path, data, Durability::Synced)?;
    File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}
// ANCHOR_END: atomic_write

/// How much of a crash a file written by [`replace`] survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The data is on disk before the rename; the caller makes the rename
    /// durable (an [`atomic_write`] in the same directory later fsyncs it).
    Synced,
    /// The data is on disk before the next [`Durability::Synced`] write of
    /// this process (the record that names the file) renames its own file;
    /// until then a crash may leave the file empty. The kernel starts writing
    /// it at once. Several such files and the record then share the disk's
    /// journal commits instead of paying one each.
    BeforeNextRecord,
    /// No fsync at all: for files under `BERTH_RUN`, which a reboot clears, so
    /// that a crash cannot leave them behind anyway.
    UntilReboot,
}

impl Durability {
    /// For a container's own files: [`Durability::UntilReboot`] when it is
    /// removed as it ends (`--rm`), since its files are garbage after a crash
    /// and `rm` removes them however a crash left them; else
    /// [`Durability::BeforeNextRecord`]: its record comes next.
    pub fn of_container(removed_at_exit: bool) -> Self {
        match removed_at_exit {
            true => Durability::UntilReboot,
            false => Durability::BeforeNextRecord,
        }
    }
}

// ANCHOR: owed_syncs
/// Files written with [`Durability::BeforeNextRecord`], not yet fsynced.
static OWED: std::sync::Mutex<Vec<File>> = std::sync::Mutex::new(Vec::new());

/// fsyncs every file this process owes the disk. Their writeback began when
/// they were written, so the first fsync's journal commit usually carries
/// them all, and the others find little left to do.
pub fn sync_owed() -> io::Result<()> {
    let owed = std::mem::take(&mut *OWED.lock().unwrap_or_else(|e| e.into_inner()));
    owed.iter().try_for_each(File::sync_all)
}
// ANCHOR_END: owed_syncs

/// Writes `data` beside `path` and renames it over `path`: readers see the
/// whole old file or the whole new one. See [`Durability`] for what a crash keeps.
pub fn replace(path: &Path, data: &[u8], durability: Durability) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(data)?;
        match durability {
            // What is owed goes first, in the same journal commit as this
            // file's data where the kernel can (see `sync_owed`).
            Durability::Synced => {
                start_writeback(&file);
                sync_owed()?;
                file.sync_all()?;
            }
            Durability::BeforeNextRecord => start_writeback(&file),
            Durability::UntilReboot => {}
        }
        fs::rename(&tmp, path)?;
        if durability == Durability::BeforeNextRecord {
            OWED.lock().unwrap_or_else(|e| e.into_inner()).push(file);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Asks the kernel to start writing `file`'s data to disk now, without waiting:
/// a later fsync then finds it written or on its way.
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range on an open descriptor, with integer arguments.
    unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

/// An exclusive lock on a file, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes an exclusive lock on `path` (created if missing), waiting for other holders.
pub fn lock(path: &Path) -> io::Result<Lock> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    file.lock()?;
    Ok(Lock { _file: file })
}

/// A new random 64-hex id (256 bits from the kernel's random source).
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("reading /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 12-character form of an id that `ps` and friends print.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held by the tests that write synced files: a synced write anywhere in
    /// the process settles every owed file, the other test's too.
    static SYNCED_WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn a_file_written_before_its_record_is_owed_until_the_record_is_synced() {
        let _alone = SYNCED_WRITES.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        replace(&config, b"spec", Durability::BeforeNextRecord).unwrap();
        // Readers see it at once; the disk is owed its fsync.
        assert_eq!(fs::read(&config).unwrap(), b"spec");
        assert!(owes(&config), "not owed");
        atomic_write(&dir.path().join("record.json"), b"record").unwrap();
        assert!(!owes(&config), "still owed after the record was synced");
        assert_eq!(fs::read(dir.path().join("record.json")).unwrap(), b"record");
    }

    /// Whether the file at `path` is among the owed ones (by inode).
    fn owes(path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let inode = fs::metadata(path).unwrap().ino();
        OWED.lock()
            .unwrap()
            .iter()
            .any(|f| f.metadata().is_ok_and(|m| m.ino() == inode))
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let _alone = SYNCED_WRITES.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(short_id(&a).len(), 12);
    }

    #[test]
    fn private_dirs_are_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            root: dir.path().join("root"),
            run: dir.path().join("run"),
        };
        let c = paths.root_dir("containers").unwrap();
        assert_eq!(
            fs::metadata(&c).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(&paths.root).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let held = lock(&p).unwrap();
        let other = File::open(&p).unwrap();
        assert!(other.try_lock().is_err());
        drop(held);
        assert!(other.try_lock().is_ok());
    }
}
