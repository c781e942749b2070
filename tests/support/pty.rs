//! Driving a binary from a terminal, as a user typing `ch01 run -t …` would.
//!
//! The binary gets the slave side of a new pseudo-terminal as stdin, stdout, stderr
//! and controlling terminal; the test reads everything it writes from the master.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;

use nix::pty::{Winsize, openpty};

use crate::env::{Output, RUN_TIMEOUT, exit_code, wait_with_timeout};

/// Runs `command` on a new terminal of `rows` × `cols`; the transcript is `stdout`.
pub fn run_on_terminal(mut command: Command, rows: u16, cols: u16) -> Output {
    let size = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).expect("openpty");
    let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup of the pty slave"));
    command
        .stdin(stdio(&pty.slave))
        .stdout(stdio(&pty.slave))
        .stderr(stdio(&pty.slave));
    // SAFETY: setsid and ioctl are async-signal-safe; nothing here allocates.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("starting the command on a terminal");
    // The master reads end (EIO) only once every copy of the slave is closed.
    drop(command);
    drop(pty.slave);
    let mut master = File::from(pty.master);
    let reader = thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    });
    let status = wait_with_timeout(&mut child, RUN_TIMEOUT);
    let transcript = reader.join().expect("terminal reader");
    let Some(status) = status else {
        panic!("timed out on a terminal after {RUN_TIMEOUT:?}: {transcript}");
    };
    Output {
        code: exit_code(status),
        stdout: transcript.replace("\r\n", "\n"),
        stderr: String::new(),
    }
}
