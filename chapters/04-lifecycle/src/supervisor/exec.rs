//! `exec -d` on the supervisor's side: it runs `runtime exec --detach` itself,
//! so that when the runtime leaves, its orphaned process is reparented to the
//! supervisor (the subreaper), which reaps it with the container's others.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};

/// Runs `runtime exec --detach ARGS…` and waits for the runtime (not for the
/// process it started). The error is the runtime's last line and exit code.
pub fn run_detached(args: &[String]) -> Result<(), (i32, String)> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    // The runtime's messages go to a nameless file, not a pipe: the process
    // inherits the runtime's stderr and would hold a pipe open for its whole
    // life, so reading it to the end would wait for the process.
    let mut errors = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(std::env::temp_dir())
        .map_err(|e| (126, format!("a file for the runtime's messages: {e}")))?;
    let stderr = errors
        .try_clone()
        .map_err(|e| (126, format!("a file for the runtime's messages: {e}")))?;
    let mut command = Command::new(exe);
    command
        .args(["runtime", "exec", "--detach"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SAFETY: sigprocmask is async-signal-safe. The supervisor's blocked
    // signals (for its signalfd) must not stay blocked in the new process.
    unsafe {
        command.pre_exec(|| {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
                .map_err(std::io::Error::from)
        });
    }
    let status = command.status().map_err(|e| (126, e.to_string()))?;
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = errors.seek(SeekFrom::Start(0));
    let _ = errors.read_to_string(&mut text);
    let last = text.lines().last().unwrap_or("runtime exec failed");
    Err((status.code().unwrap_or(1), last.to_string()))
}
