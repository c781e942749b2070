//! What the runtime's privileged tests share: one container at a time, and the
//! small helpers a forked test child uses to report what it saw.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

/// One container at a time across every runtime test: they fork, reap adopted
/// processes, and their "nothing left" checks read global state.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the one-container-at-a-time lock (a failed test does not poison it).
pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Points standard descriptor `fd` of this (forked) process at `path`.
pub fn redirect(path: &Path, fd: i32) {
    use std::os::fd::AsRawFd;
    let file = fs::OpenOptions::new()
        .read(fd == 0)
        .write(fd != 0)
        .create(fd != 0)
        .truncate(fd != 0)
        .open(path)
        .unwrap();
    // SAFETY: dup2 onto a standard descriptor of this (forked) process.
    unsafe { libc::dup2(file.as_raw_fd(), fd) };
}

/// The value after `key=` on a line of `out`.
pub fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {out}"))
}
