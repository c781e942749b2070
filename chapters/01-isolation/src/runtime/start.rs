//! `runtime start`: let a created container's init go on to exec.

use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use berth_engine::Engine;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::error::RuntimeError;
use super::record::{StateDir, Status, is_alive};

/// Opens the exec fifo for reading, which unblocks the init's open for writing,
/// and takes the byte it writes just before going on to exec.
pub fn start(engine: &Engine, id: &str) -> berth_engine::Result<i32> {
    let state = StateDir::open(engine, id)?;
    let _lock = state.lock()?;
    let mut record = state.load()?;
    let status = record.status();
    if !status.can_start() {
        return Err(RuntimeError::WrongStatus {
            id: id.into(),
            status: status.to_string(),
            action: "start",
        }
        .into());
    }
    // ANCHOR: start
    // Non-blocking, so that an init that died meanwhile cannot hang us: we poll,
    // checking between rounds that it still lives.
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(state.exec_fifo())
        .map_err(RuntimeError::io("opening the exec fifo"))?;
    loop {
        let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(Duration::from_millis(100)).expect("100 ms fits");
        match poll(&mut fds, timeout) {
            Ok(0) | Err(nix::Error::EINTR) => {}
            Ok(_) => break,
            Err(e) => return Err(RuntimeError::sys("waiting on the exec fifo")(e).into()),
        }
        if !is_alive(record.pid, record.pid_start_time) {
            return Err(RuntimeError::InitDied {
                status: "it exited while waiting for start".into(),
            }
            .into());
        }
    }
    let mut byte = [0u8; 1];
    match fifo.read(&mut byte) {
        Ok(1) => {}
        _ => {
            return Err(RuntimeError::InitDied {
                status: "it closed the exec fifo".into(),
            }
            .into());
        }
    }
    // ANCHOR_END: start
    let _ = std::fs::remove_file(state.exec_fifo());
    record.status = Status::Running;
    state.save(&record)?;
    Ok(0)
}
