//! The oracle: a private dockerd that chapter 03's tests and the image bench compare
//! berth with. It has its own socket, data root, exec root and pid file, no bridge and
//! no iptables rules, so it cannot disturb a docker the machine may already run; it is
//! stopped by its pid and leaves no mount behind.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util;

/// Where the oracle listens; tests find it in `BERTH_ORACLE_DOCKER`.
pub const HOST: &str = "unix:///run/berth-oracle.sock";

const DATA_ROOT: &str = "/var/lib/berth-oracle";
const EXEC_ROOT: &str = "/run/berth-oracle-exec";
const PID_FILE: &str = "/run/berth-oracle.pid";

/// dockerd answers in about half a second here; a slow machine gets sixty times that.
const START_LIMIT: Duration = Duration::from_secs(30);
/// How long a stopping dockerd may take to stop its containers and containerd.
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// A running oracle dockerd, started by [`start`].
pub struct Oracle {
    daemon: Child,
    log: PathBuf,
}

// ANCHOR: oracle_start
/// Starts the oracle on a fresh data root and waits until `docker version` answers.
pub fn start() -> anyhow::Result<Oracle> {
    util::require_root("the oracle dockerd")?;
    let dockerd = util::require_tool("dockerd", "docker.io")?;
    stop_stale()?;
    // On a tmpfs, as /run is on a real host (here /run may be on the root disk);
    // `clean_roots` unmounts it.
    fs::create_dir_all(EXEC_ROOT)?;
    util::run(Command::new("mount").args([
        "-t",
        "tmpfs",
        "-o",
        "mode=0700",
        "berth-oracle",
        EXEC_ROOT,
    ]))?;
    let log = util::target_dir().join("oracle/dockerd.log");
    fs::create_dir_all(log.parent().expect("the log has a directory"))?;
    let log_file = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let daemon = Command::new(dockerd)
        .args([
            "-H",
            HOST,
            "--data-root",
            DATA_ROOT,
            "--exec-root",
            EXEC_ROOT,
        ])
        .args(["--pidfile", PID_FILE, "--storage-driver", "overlay2"])
        .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .context("starting dockerd")?;
    let mut oracle = Oracle { daemon, log };
    let started = Instant::now();
    while !answers() {
        if let Some(status) = oracle.daemon.try_wait()? {
            bail!(
                "dockerd exited ({status}) before answering; see {}",
                oracle.log.display()
            );
        }
        if started.elapsed() > START_LIMIT {
            let log = oracle.log.display().to_string();
            oracle.stop()?;
            bail!("dockerd did not answer within {START_LIMIT:?}; see {log}");
        }
        thread::sleep(Duration::from_millis(100));
    }
    println!(
        "oracle dockerd (pid {}) answers at {HOST} after {:.1}s",
        oracle.daemon.id(),
        started.elapsed().as_secs_f64()
    );
    Ok(oracle)
}
// ANCHOR_END: oracle_start

impl Oracle {
    /// Stops the daemon by its pid, then removes its mounts, data root and exec root.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.daemon.id();
        terminate(pid, || self.daemon.try_wait().ok().flatten().is_some())?;
        let _ = self.daemon.wait();
        clean_roots()
    }
}

/// Whether the oracle answers `docker version` (the server part too).
fn answers() -> bool {
    Command::new(docker_client())
        .args(["-H", HOST, "version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The docker client: the one in /usr/local/bin when present, else docker.io's.
pub fn docker_client() -> PathBuf {
    let local = PathBuf::from("/usr/local/bin/docker");
    if local.is_file() {
        local
    } else {
        PathBuf::from("/usr/bin/docker")
    }
}

/// A dockerd a killed earlier run left behind is stopped, and its roots cleared, so the
/// new oracle starts from nothing.
fn stop_stale() -> anyhow::Result<()> {
    if let Ok(text) = fs::read_to_string(PID_FILE)
        && let Ok(pid) = text.trim().parse::<u32>()
        && is_dockerd(pid)
    {
        println!("stopping the oracle dockerd a previous run left (pid {pid})");
        terminate(pid, || !Path::new(&format!("/proc/{pid}")).exists())?;
    }
    clean_roots()
}

fn is_dockerd(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "dockerd")
}

// ANCHOR: oracle_stop
/// SIGTERM, then SIGKILL if `gone` is still false after [`STOP_LIMIT`].
fn terminate(pid: u32, mut gone: impl FnMut() -> bool) -> anyhow::Result<()> {
    let pid = libc::pid_t::try_from(pid)?;
    // SAFETY: kill has no memory-safety preconditions; the pid is one this program
    // started (or read from the oracle's own pid file and checked to be dockerd).
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + STOP_LIMIT;
    while !gone() {
        if Instant::now() > deadline {
            eprintln!("dockerd (pid {pid}) ignored SIGTERM for {STOP_LIMIT:?}: killing it");
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            thread::sleep(Duration::from_millis(200));
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Unmounts whatever is still mounted under the oracle's roots (deepest first), then
/// removes the roots.
fn clean_roots() -> anyhow::Result<()> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
    let mut leftovers: Vec<&str> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|point| {
            [DATA_ROOT, EXEC_ROOT]
                .iter()
                .any(|root| point.starts_with(root))
        })
        .collect();
    leftovers.sort_by_key(|point| std::cmp::Reverse(point.len()));
    for point in leftovers {
        util::run(Command::new("umount").args(["-l", point]))?;
    }
    for root in [DATA_ROOT, EXEC_ROOT] {
        if Path::new(root).exists() {
            fs::remove_dir_all(root).with_context(|| format!("removing {root}"))?;
        }
    }
    let _ = fs::remove_file(PID_FILE);
    // dockerd makes its plugin directory outside its roots; it goes only when empty and
    // no other dockerd (a system one) is left to use it.
    if !any_dockerd() {
        let _ = fs::remove_dir("/run/docker/plugins");
        let _ = fs::remove_dir("/run/docker");
    }
    Ok(())
}

fn any_dockerd() -> bool {
    fs::read_dir("/proc").is_ok_and(|entries| {
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .any(is_dockerd)
    })
}
// ANCHOR_END: oracle_stop
