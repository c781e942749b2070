//! # Exercise 02 — the exit status a shell reports
//!
//! When the container's first process ends, `waitpid` hands its parent one `int`,
//! the *wait status*. Its low 7 bits hold the number of the signal that killed the
//! process (0 if none); bit 7 says whether it dumped core; when no signal killed it,
//! bits 8–15 hold the exit code it passed to `exit`. A low byte of `0x7f` means the
//! process only stopped, and `0xffff` means it was continued: it is still alive.
//!
//! A shell, and docker after it, folds all of that into one number: the exit code,
//! or 128 + the signal's number (`docker stop` that ends in SIGKILL gives 137).
//! And when the command could not even start, `execve` failed: a missing file
//! (ENOENT) gives 127, a file that is there but cannot run (EACCES, ENOEXEC, or a
//! directory: EISDIR) gives 126. Any other failure is the engine's own: 125.
//!
//! Edit the three functions marked `TODO`. Run `cargo xtask exercise 02`.

/// `execve`'s "no such file or directory".
pub const ENOENT: i32 = 2;
/// `execve`'s "exec format error": not a binary the kernel can load, nor a script.
pub const ENOEXEC: i32 = 8;
/// `execve`'s "permission denied": no execute permission, or not a regular file.
pub const EACCES: i32 = 13;
/// "is a directory".
pub const EISDIR: i32 = 21;

/// How a process ended, decoded from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It called `exit` with this code (0–255).
    Exited(i32),
    /// A signal killed it.
    Killed {
        /// The signal's number (9 for SIGKILL).
        signal: i32,
        /// Whether the kernel wrote a core dump.
        core_dumped: bool,
    },
}

/// Decodes a raw wait status; `None` when the process only stopped or continued.
pub fn decode_wait_status(status: i32) -> Option<Ending> {
    // TODO: read the low 7 bits. 0 means the process exited: its code is in
    // bits 8–15. 0x7f means it stopped, and 0xffff as a whole means it continued:
    // neither ended it. Any other value is the killing signal; bit 7 (0x80) is the
    // core-dump flag.
    todo!()
}

/// The number a shell (and `docker run`) reports for an ending.
pub fn reported_code(ending: Ending) -> i32 {
    // TODO: the exit code itself, or 128 + the signal's number.
    todo!()
}

/// The code `run` exits with when `execve` of the command failed with `errno`.
pub fn exec_failure_code(errno: i32) -> i32 {
    // TODO: 127 for ENOENT; 126 for EACCES, ENOEXEC and EISDIR; 125 otherwise.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
