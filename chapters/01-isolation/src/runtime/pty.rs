//! The host's side of a container's terminal: the user's terminal in raw mode
//! (so Ctrl-C travels to the container as a byte, not as a signal to us), its
//! window size copied to the pty, and `--console-socket` for `create`.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use super::error::RuntimeError;

// ANCHOR: raw_mode
/// The user's terminal in raw mode; the old mode comes back when this is
/// dropped, on every path out of `run`, errors included.
pub struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    /// Puts stdin in raw mode if it is a terminal (else does nothing).
    pub fn enter() -> Result<Self, RuntimeError> {
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(stdin.as_fd()) else {
            return Ok(RawMode { saved: None });
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
            .map_err(RuntimeError::sys("making the terminal raw"))?;
        Ok(RawMode { saved: Some(saved) })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}
// ANCHOR_END: raw_mode

/// Copies the window size of the user's terminal (stdin or stdout) to the pty;
/// the kernel then sends SIGWINCH to the container's foreground process group.
/// The size of the user's terminal (stdin's, else stdout's), as the spec's
/// `process.consoleSize`, so the container's pty has it before its first line.
pub fn host_console_size() -> Option<berth_engine::oci_spec::runtime::Box> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    [libc::STDIN_FILENO, libc::STDOUT_FILENO]
        .into_iter()
        .find_map(|fd| {
            // SAFETY: TIOCGWINSZ writes into the winsize we own.
            let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0;
            (ok && ws.ws_row > 0).then(|| {
                berth_engine::oci_spec::runtime::BoxBuilder::default()
                    .height(u64::from(ws.ws_row))
                    .width(u64::from(ws.ws_col))
                    .build()
                    .expect("both fields are set")
            })
        })
}

/// Copies the user's terminal size onto the pty (after a SIGWINCH).
pub fn copy_window_size(master: BorrowedFd<'_>) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    for fd in [libc::STDIN_FILENO, libc::STDOUT_FILENO] {
        // SAFETY: TIOCGWINSZ writes into the winsize we own.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 {
            // SAFETY: TIOCSWINSZ reads the winsize we own.
            unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
            return;
        }
    }
}

// ANCHOR: console_socket
/// `create --console-socket PATH`: hands the pty master to whoever listens
/// there (a supervisor), by `SCM_RIGHTS`, as runc does.
pub fn send_to_console_socket(path: &Path, master: BorrowedFd<'_>) -> Result<(), RuntimeError> {
    let stream = UnixStream::connect(path).map_err(RuntimeError::io(format!(
        "connecting to the console socket {}",
        path.display()
    )))?;
    let name = b"/dev/ptmx";
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(RuntimeError::sys("sending the pty to the console socket"))?;
    Ok(())
}
// ANCHOR_END: console_socket
