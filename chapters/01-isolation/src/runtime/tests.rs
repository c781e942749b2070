//! Privileged tests: real containers on a busybox root filesystem, asserting
//! what the kernel shows inside them and that nothing is left behind.
//!
//! They need root and `busybox-static`; without them they skip with a reason,
//! unless `BERTH_REQUIRE_ROOT=1`, which turns a skip into a failure. Each run
//! happens in a forked child, because the runtime must own a single-threaded
//! process (the test harness has many threads).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use berth_engine::Engine;
use berth_engine::state::Paths;
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::runtime::testkit::{field, lock, redirect};
use std::time::Duration;

use super::record::{StateDir, Status};

const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "readlink", "hostname", "id", "stat", "touch", "sleep", "mkdir",
    "grep", "pwd", "tty", "true", "kill", "head", "wc", "cut", "test", "env",
];

/// A root filesystem, a bundle and a private BERTH_RUN in a temp dir.
struct Sandbox {
    tmp: tempfile::TempDir,
}

fn sandbox() -> Option<Sandbox> {
    let skip = |why: &str| {
        if std::env::var("BERTH_REQUIRE_ROOT").as_deref() == Ok("1") {
            panic!("privileged test cannot run: {why}");
        }
        eprintln!("skipped: {why}");
        None
    };
    if !nix::unistd::geteuid().is_root() {
        return skip("not root");
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let Some(busybox) = busybox else {
        return skip("busybox-static is not installed");
    };
    let tmp = tempfile::Builder::new()
        .prefix("berth-rt-")
        .tempdir()
        .unwrap();
    let rootfs = tmp.path().join("bundle/rootfs");
    for dir in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for applet in APPLETS {
        symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    Some(Sandbox { tmp })
}

/// What a container run produced.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// docker's shape of a config.json, with the command `args`.
fn docker_like(args: &[&str]) -> Value {
    let caps = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];
    let devices: Vec<Value> = [(1, 3, "/dev/null"), (1, 5, "/dev/zero"), (1, 7, "/dev/full"), (1, 8, "/dev/random"), (1, 9, "/dev/urandom"), (5, 0, "/dev/tty")]
        .iter()
        .map(|(major, minor, path)| json!({"path": path, "type": "c", "major": major, "minor": minor, "fileMode": 438, "uid": 0, "gid": 0}))
        .collect();
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "hostname": "berth-test",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin", "HOME=/"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
        ],
        "linux": {
            "namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}],
            "devices": devices,
            "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        }
    })
}

impl Sandbox {
    fn bundle(&self) -> PathBuf {
        self.tmp.path().join("bundle")
    }

    fn rootfs(&self) -> PathBuf {
        self.bundle().join("rootfs")
    }

    fn engine(&self) -> Engine {
        Engine::new(
            "ch01",
            &[&crate::ISOLATION],
            Paths {
                root: self.tmp.path().join("root"),
                run: self.tmp.path().join("run"),
            },
        )
    }

    fn write_config(&self, config: &Value) {
        fs::write(
            self.bundle().join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// Runs the container to its end in a forked process.
    fn run(&self, config: &Value, id: &str) -> Outcome {
        self.write_config(config);
        let engine = self.engine();
        let bundle = self.bundle();
        self.in_child(false, move || super::run(&engine, &bundle, id, None))
    }

    /// Forks; the child points stdout/stderr at files, optionally makes its own
    /// mount namespace with a shared `/` (as on a systemd host, where docker
    /// shows `master:N`), and runs `body`. Returns when the child ended.
    fn in_child(
        &self,
        shared_root: bool,
        body: impl FnOnce() -> berth_engine::Result<i32>,
    ) -> Outcome {
        let pid = self.fork_child(shared_root, body);
        self.wait_child(pid)
    }

    /// Forks a child running `body`, see [`Sandbox::in_child`].
    fn fork_child(
        &self,
        shared_root: bool,
        body: impl FnOnce() -> berth_engine::Result<i32>,
    ) -> Pid {
        let out = self.tmp.path().join("stdout");
        let err = self.tmp.path().join("stderr");
        // SAFETY: the child only runs the runtime (which expects a fresh
        // single-threaded process) and leaves with _exit.
        match unsafe { libc::fork() } {
            0 => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    redirect(&out, 1);
                    redirect(&err, 2);
                    redirect(Path::new("/dev/null"), 0);
                    if shared_root {
                        use nix::mount::{MsFlags, mount};
                        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).unwrap();
                        mount(
                            None::<&str>,
                            "/",
                            None::<&str>,
                            MsFlags::MS_SHARED | MsFlags::MS_REC,
                            None::<&str>,
                        )
                        .unwrap();
                    }
                    match body() {
                        Ok(code) => code,
                        Err(e) => {
                            // The test harness captures eprintln!; write to fd 2 itself.
                            let line = format!("ch01: {e}\n");
                            let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
                            e.exit_code()
                        }
                    }
                }))
                .unwrap_or(101);
                // SAFETY: leave without running the harness's destructors.
                unsafe { libc::_exit(code) }
            }
            pid => Pid::from_raw(pid),
        }
    }

    /// Waits for a forked child and collects what it wrote.
    fn wait_child(&self, pid: Pid) -> Outcome {
        let status = nix::sys::wait::waitpid(pid, None).unwrap();
        Outcome {
            code: super::signals::exit_code(status).unwrap(),
            stdout: fs::read_to_string(self.tmp.path().join("stdout")).unwrap_or_default(),
            stderr: fs::read_to_string(self.tmp.path().join("stderr")).unwrap_or_default(),
        }
    }

    /// The record of container `id` once it runs (waits up to 5 s).
    fn running(&self, id: &str) -> super::record::Record {
        for _ in 0..500 {
            if let Ok(record) = StateDir::open(&self.engine(), id).and_then(|d| d.load())
                && record.status() == Status::Running
            {
                return record;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("container {id} never ran");
    }

    /// Asserts that nothing of any container is left: no state, no mount.
    fn assert_nothing_left(&self) {
        let runtime = self.tmp.path().join("run/runtime");
        let left: Vec<_> = fs::read_dir(&runtime)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "state left behind: {left:?}");
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let tmp = self.tmp.path().to_str().unwrap();
        assert!(!mounts.contains(tmp), "mounts left behind under {tmp}");
    }
}

#[test]
fn the_container_sees_its_own_world() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let script = r#"
        read -r pid rest < /proc/self/stat; echo pid=$pid
        for ns in mnt pid uts ipc net; do echo $ns=$(readlink /proc/self/ns/$ns); done
        echo hostname=$(hostname)
        echo lo=$(cat /sys/class/net/lo/flags)
        echo root=$(grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' /proc/self/mountinfo)
        echo devnull=$(stat -c '%t:%T:%a' /dev/null)
        echo ptmx=$(readlink /dev/ptmx)
        echo console=$(test -e /dev/console && echo yes || echo no)
    "#;
    let out = sb.run(&docker_like(&["sh", "-c", script]), "world");
    assert_eq!(out.code, 0, "{out:?}");
    let o = &out.stdout;
    assert_eq!(field(o, "pid"), "1");
    for ns in ["mnt", "pid", "uts", "ipc", "net"] {
        let host = fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        assert_ne!(
            field(o, ns),
            host.to_str().unwrap(),
            "{ns} namespace is the host's"
        );
    }
    assert_eq!(field(o, "hostname"), "berth-test");
    // IFF_UP | IFF_LOOPBACK | IFF_RUNNING...: bit 0 is IFF_UP.
    let flags = u32::from_str_radix(field(o, "lo").trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "lo is down");
    assert_eq!(field(o, "devnull"), "1:3:666");
    assert_eq!(field(o, "ptmx"), "pts/ptmx");
    assert_eq!(field(o, "console"), "no");
    let root = field(o, "root");
    assert!(root.contains(sb.rootfs().to_str().unwrap()), "{root}");
    sb.assert_nothing_left();
}

#[test]
fn only_stdio_descriptors_reach_the_command() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    // A descriptor the runtime's process holds without close-on-exec.
    let leaked = fs::File::open(sb.tmp.path()).unwrap();
    let leaked_fd = nix::fcntl::fcntl(&leaked, nix::fcntl::FcntlArg::F_DUPFD(40)).unwrap();
    // `ls` opens one descriptor of its own to read the directory.
    let out = sb.run(&docker_like(&["ls", "/proc/self/fd"]), "fds");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    nix::unistd::close(leaked_fd).unwrap();
    sb.assert_nothing_left();
}

#[test]
fn the_root_is_a_slave_of_the_hosts() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    sb.write_config(&docker_like(&[
        "grep",
        "-E",
        "^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ",
        "/proc/self/mountinfo",
    ]));
    let (engine, bundle) = (sb.engine(), sb.bundle());
    let out = sb.in_child(true, || super::run(&engine, &bundle, "slave", None));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(" master:"), "{}", out.stdout);
    assert!(!out.stdout.contains(" shared:"), "{}", out.stdout);
    sb.assert_nothing_left();
}

#[test]
fn masked_and_read_only_paths_behave_as_under_docker() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let script = r#"
        echo keys=$(cat /proc/keys | wc -c)
        echo x > /proc/keys && echo keys_write=ok
        touch /proc/acpi/x 2>/dev/null || echo acpi=refused
        echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo sys=refused
        touch /sys/x 2>/dev/null || echo sysfs=refused
        touch /sys/fs/cgroup/x 2>/dev/null || echo cgroup=refused
        touch /tmp/x && echo rootfs=writable
    "#;
    let out = sb.run(&docker_like(&["sh", "-c", script]), "masked");
    assert_eq!(out.code, 0, "{out:?}");
    let o = &out.stdout;
    assert_eq!(field(o, "keys"), "0");
    for (key, value) in [
        ("keys_write", "ok"),
        ("acpi", "refused"),
        ("sys", "refused"),
        ("sysfs", "refused"),
        ("cgroup", "refused"),
        ("rootfs", "writable"),
    ] {
        assert_eq!(field(o, key), value, "{o}");
    }
    sb.assert_nothing_left();
}

#[test]
fn exit_codes_follow_docker() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let cases: [(&[&str], i32, &str); 4] = [
        (&["sh", "-c", "exit 3"], 3, ""),
        (&["/nonexistent"], 127, "no such file or directory"),
        (&["nonexistent"], 127, "no such file or directory"),
        (&["/"], 126, "permission denied"),
    ];
    for (args, code, message) in cases {
        let out = sb.run(&docker_like(args), "codes");
        assert_eq!(out.code, code, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {out:?}");
        assert_eq!(
            out.stderr.lines().count(),
            usize::from(!message.is_empty()),
            "{out:?}"
        );
        sb.assert_nothing_left();
    }
    fs::remove_dir_all(sb.rootfs()).unwrap();
    let out = sb.run(&docker_like(&["true"]), "codes");
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("root.path"), "{out:?}");
    sb.assert_nothing_left();
}

#[test]
fn a_symlinked_proc_is_refused() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    fs::remove_dir(sb.rootfs().join("proc")).unwrap();
    fs::create_dir(sb.rootfs().join("fakeproc")).unwrap();
    symlink("/fakeproc", sb.rootfs().join("proc")).unwrap();
    let out = sb.run(&docker_like(&["true"]), "symproc");
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("/proc is a symlink"), "{out:?}");
    sb.assert_nothing_left();
}

#[test]
fn a_working_directory_through_proc_self_fd_is_refused() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let mut config = docker_like(&["pwd"]);
    config["process"]["cwd"] = json!("/proc/self/fd/3");
    let out = sb.run(&config, "cwdfd");
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("working directory"), "{out:?}");
    sb.assert_nothing_left();
}

#[test]
fn a_missing_working_directory_is_made_for_the_user() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let mut config = docker_like(&["sh", "-c", "pwd; stat -c %u:%g .; id -u"]);
    config["process"]["cwd"] = json!("/work/deep/dir");
    config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let out = sb.run(&config, "cwd");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "/work/deep/dir\n1000:1000\n1000\n");
    sb.assert_nothing_left();
}

#[test]
fn a_read_only_root_refuses_writes() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let mut config = docker_like(&[
        "sh",
        "-c",
        "touch /x 2>/dev/null || echo refused; touch /dev/shm/x && echo shm=ok",
    ]);
    config["root"]["readonly"] = json!(true);
    let out = sb.run(&config, "ro");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "refused\nshm=ok\n");
    sb.assert_nothing_left();
}

#[test]
fn a_terminal_is_a_pty_of_the_containers_own() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let mut config = docker_like(&["sh", "-c", "tty; test -c /dev/console && echo console=yes"]);
    config["process"]["terminal"] = json!(true);
    let out = sb.run(&config, "tty");
    assert_eq!(out.code, 0, "{out:?}");
    // The pty translates \n into \r\n.
    assert_eq!(out.stdout.replace('\r', ""), "/dev/pts/0\nconsole=yes\n");
    sb.assert_nothing_left();
}

#[test]
fn signals_reach_pid_1_and_a_kill_ends_it_with_137() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let trap = r#"trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.05; done"#;
    sb.write_config(&docker_like(&["sh", "-c", trap]));
    let (engine, bundle) = (sb.engine(), sb.bundle());
    let runtime = sb.fork_child(false, || super::run(&engine, &bundle, "trap", None));
    sb.running("trap");
    // The shell installs its trap after it starts: wait for its first line.
    while !fs::read_to_string(sb.tmp.path().join("stdout"))
        .unwrap_or_default()
        .contains("ready")
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(runtime, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = sb.wait_child(runtime);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (7, "ready\ngot TERM\n"),
        "{out:?}"
    );
    sb.assert_nothing_left();

    sb.write_config(&docker_like(&["sleep", "100"]));
    let runtime = sb.fork_child(false, || super::run(&engine, &bundle, "sleeper", None));
    let record = sb.running("sleeper");
    // PID 1 ignores a signal it has no handler for, as under docker.
    super::kill::kill(&engine, "sleeper", "TERM", false).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(super::record::is_alive(record.pid, record.pid_start_time));
    super::kill::kill(&engine, "sleeper", "KILL", false).unwrap();
    let out = sb.wait_child(runtime);
    assert_eq!(out.code, 137, "{out:?}");
    sb.assert_nothing_left();
}

#[test]
fn create_start_kill_delete() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    // The created init outlives `create`: adopt it, so we reap it.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let engine = sb.engine();
    sb.write_config(&docker_like(&["sh", "-c", "echo started; exec sleep 100"]));
    let bundle = sb.bundle();
    let pid_file = sb.tmp.path().join("pid");
    let out = sb.in_child(false, || {
        super::create::create(&engine, &bundle, "life", Some(&pid_file), None)
    });
    assert_eq!(out.code, 0, "{out:?}");
    let dir = StateDir::open(&engine, "life").unwrap();
    let record = dir.load().unwrap();
    assert_eq!(record.status(), Status::Created);
    assert_eq!(
        fs::read_to_string(&pid_file).unwrap(),
        record.pid.to_string()
    );
    assert_eq!(
        fs::read_to_string(sb.tmp.path().join("stdout")).unwrap(),
        "",
        "ran before start"
    );
    // A created container ran nothing of the user's yet: delete kills its init.
    super::delete::delete(&engine, "life", false).unwrap();
    assert!(
        StateDir::open(&engine, "life").is_err(),
        "created container was not deleted"
    );
    let _ = nix::sys::wait::waitpid(Pid::from_raw(record.pid), None);

    let out = sb.in_child(false, || {
        super::create::create(&engine, &bundle, "life", None, None)
    });
    assert_eq!(out.code, 0, "{out:?}");
    let record = StateDir::open(&engine, "life").unwrap().load().unwrap();
    super::start::start(&engine, "life").unwrap();
    assert_eq!(
        super::start::start(&engine, "life")
            .unwrap_err()
            .exit_code(),
        1
    );
    assert_eq!(sb.running("life").pid, record.pid);
    for _ in 0..200 {
        if fs::read_to_string(sb.tmp.path().join("stdout")).unwrap_or_default() == "started\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        fs::read_to_string(sb.tmp.path().join("stdout")).unwrap(),
        "started\n"
    );
    let refused = super::delete::delete(&engine, "life", false).unwrap_err();
    assert_eq!(refused.exit_code(), 1);
    assert!(refused.to_string().contains("running"), "{refused}");
    super::kill::kill(&engine, "life", "KILL", true).unwrap();
    let status = nix::sys::wait::waitpid(Pid::from_raw(record.pid), None).unwrap();
    assert_eq!(super::signals::exit_code(status), Some(137));
    assert_eq!(
        StateDir::open(&engine, "life")
            .unwrap()
            .load()
            .unwrap()
            .status(),
        Status::Stopped
    );
    assert_eq!(
        super::kill::kill(&engine, "life", "KILL", false)
            .unwrap_err()
            .exit_code(),
        1
    );
    super::delete::delete(&engine, "life", false).unwrap();
    assert_eq!(
        super::delete::delete(&engine, "life", false)
            .unwrap_err()
            .exit_code(),
        1
    );
    sb.assert_nothing_left();
}

#[test]
fn create_hands_the_pty_to_the_console_socket() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let engine = sb.engine();
    let mut config = docker_like(&["sh", "-c", "tty"]);
    config["process"]["terminal"] = json!(true);
    sb.write_config(&config);
    let socket = sb.tmp.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let bundle = sb.bundle();
    let out = sb.in_child(false, || {
        super::create::create(&engine, &bundle, "pty", None, Some(&socket))
    });
    assert_eq!(out.code, 0, "{out:?}");
    let (stream, _) = listener.accept().unwrap();
    let mut buf = [0u8; 64];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    use std::os::fd::AsRawFd;
    let msg = nix::sys::socket::recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let fd = msg
        .cmsgs()
        .unwrap()
        .find_map(|c| match c {
            nix::sys::socket::ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("a pty master");
    // SAFETY: the descriptor just arrived by SCM_RIGHTS and is ours.
    let mut master = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let record = StateDir::open(&engine, "pty").unwrap().load().unwrap();
    super::start::start(&engine, "pty").unwrap();
    let status = nix::sys::wait::waitpid(Pid::from_raw(record.pid), None).unwrap();
    assert_eq!(super::signals::exit_code(status), Some(0));
    let mut text = String::new();
    let _ = master.read_to_string(&mut text); // ends with EIO once the slave is gone
    assert_eq!(text.replace('\r', ""), "/dev/pts/0\n");
    super::delete::delete(&engine, "pty", false).unwrap();
    sb.assert_nothing_left();
}

#[test]
fn runc_runs_the_same_bundle_and_shows_the_same_world() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    if !Path::new("/usr/sbin/runc").exists() {
        eprintln!("skipped: runc is not installed (apt install runc)");
        return;
    }
    // What the process sees, minus /sys/fs/cgroup/<hierarchy> (runc binds its
    // own cgroups; chapter 01 has no cgroup driver) and the mount ids.
    let script = r#"
        read -r pid rest < /proc/self/stat; echo pid $pid
        hostname
        while read -r id parent dev root point opts rest; do
            case $point in /sys/fs/cgroup/*) ;; *) echo "mount $point $opts" ;; esac
        done < /proc/self/mountinfo
        ls -l /dev | while read -r mode links user group size rest; do echo "dev $mode $rest" | cut -d' ' -f1-2,6-; done
        cat /proc/keys | wc -c
        touch /proc/acpi/x 2>/dev/null || echo acpi refused
    "#;
    let mut config = docker_like(&["sh", "-c", script]);
    // runc applies the devices cgroup: allow the nodes the container gets.
    let mut allowed = vec![json!({"allow": false, "access": "rwm"})];
    for (major, minor) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 2),
        (136, -1),
    ] {
        let minor = if minor < 0 { Value::Null } else { json!(minor) };
        allowed.push(
            json!({"allow": true, "type": "c", "major": major, "minor": minor, "access": "rwm"}),
        );
    }
    config["linux"]["resources"] = json!({ "devices": allowed });
    let ours = sb.run(&config, "same");
    assert_eq!(ours.code, 0, "{ours:?}");
    let runc_root = sb.tmp.path().join("runc");
    let theirs = std::process::Command::new("/usr/sbin/runc")
        .arg("--root")
        .arg(&runc_root)
        .args(["run", "-b"])
        .arg(sb.bundle())
        .arg("berth-same-bundle")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "runc: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let theirs = String::from_utf8(theirs.stdout).unwrap();
    // Time stamps in `ls -l` differ: compare without the date columns.
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| match l.starts_with("dev ") {
                true => {
                    l.split_whitespace()
                        .filter(|w| !w.contains(':') || w.len() > 5)
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ")
                        + " "
                        + l.split_whitespace().last().unwrap_or("")
                }
                false => l.to_string(),
            })
            .collect()
    };
    // One difference on purpose: runc 1.1 leaves the /sys/fs/cgroup tmpfs
    // writable; docker shows it read-only, and so does berth.
    let theirs = theirs.replace("mount /sys/fs/cgroup rw,", "mount /sys/fs/cgroup ro,");
    assert_eq!(strip(&ours.stdout), strip(&theirs));
    sb.assert_nothing_left();
}

#[test]
fn a_namespace_with_a_path_is_joined_not_created() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let mut config = docker_like(&[
        "sh",
        "-c",
        "readlink /proc/self/ns/net; readlink /proc/self/ns/uts",
    ]);
    config["linux"]["namespaces"] = json!([
        {"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"},
        {"type": "network", "path": format!("/proc/{}/ns/net", std::process::id())},
    ]);
    let out = sb.run(&config, "joined");
    assert_eq!(out.code, 0, "{out:?}");
    let host = |ns: &str| {
        fs::read_link(format!("/proc/self/ns/{ns}"))
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], host("net"));
    assert_ne!(lines[1], host("uts"));
    sb.assert_nothing_left();
}

#[test]
fn limits_without_a_cgroup_driver_are_refused() {
    let _serial = lock();
    let Some(sb) = sandbox() else { return };
    let mut config = docker_like(&["true"]);
    config["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    let out = sb.run(&config, "limits");
    assert_eq!(out.code, 125, "{out:?}");
    assert_eq!(
        out.stderr,
        "ch01: cgroup limits are taught in chapter 02 (resources)\n"
    );
    sb.assert_nothing_left();
}
