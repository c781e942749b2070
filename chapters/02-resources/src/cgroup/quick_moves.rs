//! Keeping moves into cgroups quick while a container starts: see
//! [`QuickMoves`] for why the kernel makes the first move after a quiet
//! spell wait, and how a harmless move of our own keeps it from waiting.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use berth_engine::QuickMoves;

/// How often the thread moves itself again: well inside a grace period.
const EVERY: Duration = Duration::from_millis(3);

/// The longest the thread runs: a start that takes longer is held up
/// elsewhere, and one slow move more does not matter then.
const AT_MOST: Duration = Duration::from_secs(2);

// ANCHOR: quick_moves
/// Starts a thread that writes this process's pid into `procs`, the
/// `cgroup.procs` of the cgroup it is already in, every few milliseconds until
/// the handle is dropped. Each write moves nothing, but it takes the lock every
/// move takes, and so keeps the kernel in the state where the next move (the
/// container's init) does not wait for a grace period.
pub fn start(procs: PathBuf) -> Option<QuickMoves> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let pid = std::process::id().to_string();
    thread::Builder::new()
        .name("quick-moves".into())
        .spawn(move || {
            let started = Instant::now();
            while !stopped.load(Ordering::Relaxed) && started.elapsed() < AT_MOST {
                if std::fs::write(&procs, &pid).is_err() {
                    break;
                }
                thread::sleep(EVERY);
            }
        })
        .ok()?;
    Some(QuickMoves::new(stop))
}
// ANCHOR_END: quick_moves

/// The `cgroup.procs` of this process's own cgroup in the hierarchy mounted at
/// `mount`, whose line in `/proc/self/cgroup` names `controllers` (v1: `pids`,
/// `cpu,cpuacct`…; v2: the empty list).
pub fn own_procs(mount: &Path, controllers: &str) -> Option<PathBuf> {
    let table = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    own_procs_in(&table, mount, controllers)
}

fn own_procs_in(table: &str, mount: &Path, controllers: &str) -> Option<PathBuf> {
    let path = table.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        (names == controllers).then_some(path)
    })?;
    Some(
        mount
            .join(path.trim_start_matches('/'))
            .join("cgroup.procs"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "12:pids:/user.slice/session-1.scope\n\
                         4:cpu,cpuacct:/user.slice\n\
                         1:name=systemd:/user.slice/session-1.scope\n\
                         0::/user.slice/session-1.scope\n";

    #[test]
    fn finds_the_own_cgroup_of_a_v1_hierarchy_and_of_v2() {
        let pids = own_procs_in(TABLE, Path::new("/sys/fs/cgroup/pids"), "pids").unwrap();
        assert_eq!(
            pids,
            Path::new("/sys/fs/cgroup/pids/user.slice/session-1.scope/cgroup.procs")
        );
        let cpu = own_procs_in(TABLE, Path::new("/c/cpu,cpuacct"), "cpu,cpuacct").unwrap();
        assert_eq!(cpu, Path::new("/c/cpu,cpuacct/user.slice/cgroup.procs"));
        let v2 = own_procs_in(TABLE, Path::new("/sys/fs/cgroup"), "").unwrap();
        assert_eq!(
            v2,
            Path::new("/sys/fs/cgroup/user.slice/session-1.scope/cgroup.procs")
        );
        assert_eq!(own_procs_in(TABLE, Path::new("/x"), "memory"), None);
    }

    #[test]
    fn the_root_cgroup_is_the_mount_itself() {
        let procs = own_procs_in("0::/\n", Path::new("/sys/fs/cgroup"), "").unwrap();
        assert_eq!(procs, Path::new("/sys/fs/cgroup/cgroup.procs"));
    }
}
