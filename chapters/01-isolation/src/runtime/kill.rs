//! `runtime kill`: a signal to the container's init, or with `--all` to every
//! process of the container.

use berth_engine::Engine;
use nix::sys::signal::{Signal, kill as send};
use nix::unistd::Pid;

use super::error::RuntimeError;
use super::record::StateDir;
use super::signals;

/// Sends `signal` to container `id`'s init (or all its processes).
pub fn kill(engine: &Engine, id: &str, signal: &str, all: bool) -> berth_engine::Result<i32> {
    let signal = signals::parse(signal)?;
    let state = StateDir::open(engine, id)?;
    let record = state.load()?;
    let status = record.status();
    if !status.can_kill() {
        return Err(RuntimeError::WrongStatus {
            id: id.into(),
            status: status.to_string(),
            action: "kill",
        }
        .into());
    }
    let targets = match all {
        true => processes_in_pid_namespace_of(record.pid),
        false => vec![record.pid],
    };
    for pid in targets {
        match send(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(e) => return Err(RuntimeError::sys(format!("sending {signal} to {pid}"))(e).into()),
        }
    }
    Ok(0)
}

// ANCHOR: kill_all
/// Every process that shares `init`'s pid namespace, the init included. This
/// needs no cgroup: the container's pid namespace holds exactly its processes.
pub fn processes_in_pid_namespace_of(init: i32) -> Vec<i32> {
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let Some(theirs) = ns(&init.to_string()) else {
        return vec![];
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![init];
    };
    let mut pids: Vec<i32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| ns(&pid.to_string()).as_ref() == Some(&theirs))
        .collect();
    // The init last: when it dies the kernel kills the rest anyway.
    pids.sort_by_key(|&p| p == init);
    pids
}
// ANCHOR_END: kill_all

/// Sends SIGKILL to every process of the container and waits until they are gone.
pub fn kill_everything(init: i32, start_time: u64) {
    for pid in processes_in_pid_namespace_of(init) {
        let _ = send(Pid::from_raw(pid), Signal::SIGKILL);
    }
    for _ in 0..500 {
        if !super::record::is_alive(init, start_time) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
