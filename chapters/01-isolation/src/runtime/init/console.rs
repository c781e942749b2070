//! The container's terminal: a pty made from the container's own devpts, so its
//! slave is `/dev/pts/0` *inside* (as under docker), bound over `/dev/console`
//! and made the controlling terminal of the init's session. The master goes to
//! the runtime, which proxies it to the user's terminal.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use berth_engine::oci_spec::runtime::Process;
use nix::fcntl::OFlag;
use nix::mount::{MsFlags, mount};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};

use super::{InitFailure, Step};

/// Opens the pty, wires the slave to 0/1/2 (and, for the init, over
/// /dev/console), returns the master. An exec'd process gets a pty of its own
/// but leaves /dev/console to the container's init.
pub fn attach(process: &Process, bind_console: bool) -> Result<OwnedFd, InitFailure> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .step(|| "opening /dev/ptmx".into())?;
    grantpt(&master).step(|| "grantpt".into())?;
    unlockpt(&master).step(|| "unlockpt".into())?;
    let slave_name = ptsname_r(&master).step(|| "ptsname".into())?;
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&slave_name)
        .step(|| format!("opening {slave_name}"))?;
    if let Some(size) = process.console_size() {
        let ws = libc::winsize {
            ws_row: size.height() as u16,
            ws_col: size.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads the winsize we own.
        let rc = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        nix::errno::Errno::result(rc).step(|| "setting the console size".into())?;
    }
    if bind_console && Path::new("/dev/console").exists() {
        mount(
            Some(slave_name.as_str()),
            "/dev/console",
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .step(|| "binding the pty over /dev/console".into())?;
    }
    // SAFETY: TIOCSCTTY on a descriptor we own; we are a session leader (setsid).
    let rc = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    nix::errno::Errno::result(rc).step(|| "making the pty the controlling terminal".into())?;
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which we mean to replace.
        let rc = unsafe { libc::dup2(slave.as_raw_fd(), target) };
        nix::errno::Errno::result(rc).step(|| format!("dup2 onto {target}"))?;
    }
    Ok(master.into())
}
