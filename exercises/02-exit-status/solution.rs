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
//! This is the reference solution; the comments in each function say why.

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
    // 0xffff is checked first: its low 7 bits (0x7f) would also read as
    // "stopped", which gives the right answer here only by luck.
    if status == 0xffff {
        return None;
    }
    let signal = status & 0x7f;
    match signal {
        // No signal: the process called exit, and only 8 bits of its code survive.
        0 => Some(Ending::Exited((status >> 8) & 0xff)),
        // Stopped (by SIGSTOP, or under a tracer): it will run again.
        0x7f => None,
        _ => Some(Ending::Killed {
            signal,
            core_dumped: status & 0x80 != 0,
        }),
    }
}

/// The number a shell (and `docker run`) reports for an ending.
pub fn reported_code(ending: Ending) -> i32 {
    match ending {
        Ending::Exited(code) => code,
        // The shell's convention: exit codes above 128 are rare, so `$?` still
        // tells a signal apart. The core-dump flag is not part of the number.
        Ending::Killed { signal, .. } => 128 + signal,
    }
}

/// The code `run` exits with when `execve` of the command failed with `errno`.
pub fn exec_failure_code(errno: i32) -> i32 {
    match errno {
        // The command is not there at all.
        ENOENT => 127,
        // The command is there but is not something the kernel can run.
        EACCES | ENOEXEC | EISDIR => 126,
        // Out of memory, too many arguments…: not the command's fault, the engine's.
        _ => 125,
    }
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
