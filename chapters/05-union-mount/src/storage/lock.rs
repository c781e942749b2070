//! One lock per layer, in a file that the collector may delete.
//!
//! A lock file that can be deleted needs care: a process may open it, then
//! wait, while the holder deletes it; the waiter then "holds" a lock on a file
//! nobody else can open. So after taking the lock, the holder checks that the
//! path still names the file it locked, and starts again if not.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An exclusive lock on one layer, released when dropped.
#[derive(Debug)]
pub struct LayerLock {
    _file: File,
    path: PathBuf,
}

impl LayerLock {
    /// Waits for the lock at `path` (created if missing).
    pub fn acquire(path: &Path) -> io::Result<Self> {
        loop {
            let file = open(path)?;
            file.lock()?;
            if still_named(&file, path)? {
                return Ok(Self {
                    _file: file,
                    path: path.to_path_buf(),
                });
            }
        }
    }

    /// Takes the lock at `path` if nobody holds it; `None` if someone does.
    pub fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        if !still_named(&file, path)? {
            return Ok(None);
        }
        Ok(Some(Self {
            _file: file,
            path: path.to_path_buf(),
        }))
    }

    /// Deletes the lock file while still holding it, so that the layer's last
    /// trace goes with it; waiters notice and start again.
    pub fn remove_file(self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Whether `path` still names the open `file` (it was not deleted meanwhile).
fn still_named(file: &File, path: &Path) -> io::Result<bool> {
    let held = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) => Ok(now.ino() == held.ino() && now.dev() == held.dev()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = LayerLock::acquire(&path).unwrap();
        assert!(LayerLock::try_acquire(&path).unwrap().is_none());
        drop(held);
        assert!(LayerLock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn a_waiter_on_a_deleted_lock_file_takes_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = LayerLock::acquire(&path).unwrap();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || LayerLock::acquire(&path).unwrap())
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        held.remove_file().unwrap();
        let taken = waiter.join().unwrap();
        // The waiter holds the file the path names now, so nobody else can.
        assert!(path.exists());
        assert!(LayerLock::try_acquire(&path).unwrap().is_none());
        drop(taken);
    }
}
