//! One test's world: a root filesystem, its own state root (`BERTH_ROOT`), runtime
//! directory (`BERTH_RUN`) and cgroup parent (`BERTH_CGROUP_PARENT`), so tests run
//! in parallel and each can check that it left nothing behind.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::binaries::Binary;
use crate::privilege::root_or_skip;

/// How long one binary run may take before the test gives up on it.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished run left: its exit code and both output streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code, or 128 + N when the process was killed by signal N (as a shell says).
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Output {
    /// Panics with both streams unless the run exited 0.
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    /// The stdout lines, trimmed of trailing white space.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().map(str::trim_end).collect()
    }
}

/// A test's private world; everything it made is removed when dropped.
pub struct TestEnv {
    /// The container's root filesystem (busybox-static).
    pub rootfs: tempfile::TempDir,
    /// `BERTH_ROOT`.
    pub state: tempfile::TempDir,
    /// `BERTH_RUN`.
    pub run: tempfile::TempDir,
    /// `BERTH_CGROUP_PARENT`, relative to each hierarchy's root: `berth-test-<random>`.
    pub cgroup_parent: String,
}

impl TestEnv {
    /// A fresh world for `test`, or `None` (with a printed reason) when not root.
    pub fn new(test: &str) -> Option<Self> {
        if !root_or_skip(test) {
            return None;
        }
        let temp = |what: &str| {
            tempfile::Builder::new()
                .prefix(&format!("berth-e2e-{what}-"))
                .tempdir()
                .unwrap_or_else(|e| panic!("making a temporary {what} directory: {e}"))
        };
        let rootfs = temp("rootfs");
        crate::rootfs::build(rootfs.path()).expect("building the busybox root filesystem");
        Some(Self {
            rootfs,
            state: temp("state"),
            run: temp("run"),
            cgroup_parent: format!("berth-test-{}", random_hex(12)),
        })
    }

    /// The root filesystem's path.
    pub fn rootfs(&self) -> &Path {
        self.rootfs.path()
    }

    /// The directories this test owns on the host, for leftover checks.
    pub fn own_dirs(&self) -> [&Path; 3] {
        [self.rootfs.path(), self.state.path(), self.run.path()]
    }

    /// `bin` with this world's environment, stdin closed, output piped.
    pub fn command(&self, bin: Binary) -> Command {
        self.command_at(&bin.path())
    }

    /// The binary at `exe` (a chapter's own, `CARGO_BIN_EXE_chNN`) with this
    /// world's environment, stdin closed, output piped.
    pub fn command_at(&self, exe: &Path) -> Command {
        let mut command = Command::new(exe);
        command
            .env("BERTH_ROOT", self.state.path())
            .env("BERTH_RUN", self.run.path())
            .env("BERTH_CGROUP_PARENT", &self.cgroup_parent)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Imports this world's root filesystem as image `name` with the binary at
    /// `exe` (`tar` of the directory, then `import`).
    pub fn import_rootfs(&self, exe: &Path, name: &str) {
        let tar = self.state.path().join("rootfs-import.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(self.rootfs())
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .expect("running tar");
        assert!(status.success(), "tar of the root filesystem failed");
        finish(spawn(self.command_at(exe).args([
            "import",
            tar.to_str().expect("a UTF-8 path"),
            name,
        ])))
        .assert_success();
        std::fs::remove_file(tar).expect("removing the import tar");
    }

    /// `bin args…`, waited for (at most [`RUN_TIMEOUT`]).
    pub fn run(&self, bin: Binary, args: &[&str]) -> Output {
        let mut command = self.command(bin);
        command.args(args);
        finish(spawn(&mut command))
    }

    /// `bin run --rootfs ROOTFS options… cmd…`.
    pub fn container(&self, bin: Binary, options: &[&str], cmd: &[&str]) -> Output {
        let mut command = self.container_command(bin, options, cmd);
        finish(spawn(&mut command))
    }

    /// The command line of [`TestEnv::container`], not yet started.
    pub fn container_command(&self, bin: Binary, options: &[&str], cmd: &[&str]) -> Command {
        let mut command = self.command(bin);
        command
            .arg("run")
            .arg("--rootfs")
            .arg(self.rootfs.path())
            .args(options)
            .args(cmd);
        command
    }

    /// `ch01 run --rootfs ROOTFS sh -c script`.
    pub fn sh(&self, options: &[&str], script: &str) -> Output {
        self.container(Binary::Ch01, options, &["sh", "-c", script])
    }

    /// `ch02 run --rootfs ROOTFS sh -c script`.
    pub fn sh02(&self, options: &[&str], script: &str) -> Output {
        self.container(Binary::Ch02, options, &["sh", "-c", script])
    }

    /// This world's cgroup parent in every mounted hierarchy that has it.
    pub fn cgroup_parent_dirs(&self) -> Vec<PathBuf> {
        crate::leftovers::cgroup_dirs_named(&self.cgroup_parent)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Only the (empty) parents are ours to remove; a container cgroup left inside
        // makes this fail quietly, and the leftover check reports it.
        for dir in self.cgroup_parent_dirs() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Starts `command`, panicking with its path when it cannot start.
pub fn spawn(command: &mut Command) -> Child {
    command
        .spawn()
        .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()))
}

/// Waits for `child` (killing it after [`RUN_TIMEOUT`]) and collects its piped output.
pub fn finish(mut child: Child) -> Output {
    // Both pipes are drained while waiting, so a chatty container cannot block on a full pipe.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = wait_with_timeout(&mut child, RUN_TIMEOUT);
    let collect = |reader: Option<thread::JoinHandle<String>>| {
        reader
            .map(|r| r.join().expect("output reader"))
            .unwrap_or_default()
    };
    let stdout = collect(stdout);
    let stderr = collect(stderr);
    let Some(status) = status else {
        panic!("timed out after {RUN_TIMEOUT:?}; stdout: {stdout} stderr: {stderr}");
    };
    Output {
        code: exit_code(status),
        stdout,
        stderr,
    }
}

/// Waits up to `limit`; on timeout kills the child and returns `None`.
pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A shell's view of an exit status: the code, or 128 + the signal that ended it.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|n| 128 + n))
        .expect("a finished process has a code or a signal")
}

fn drain(mut reader: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// `len` random hex digits from the kernel.
pub fn random_hex(len: usize) -> String {
    let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid").expect("kernel uuid");
    uuid.trim().replace('-', "")[..len].to_string()
}

/// Polls `check` every 20 ms for up to `limit`; true as soon as it holds.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    check()
}
