//! Privileged tests of `exec`: a long-running busybox container made with
//! `create` + `start`, then processes exec'd into it, asserting what the kernel
//! shows inside them against what it shows of the container's init.
//!
//! They need root and `busybox-static`; without them they skip with a reason,
//! unless `BERTH_REQUIRE_ROOT=1`. The runtime runs in forked children, since it
//! must own a single-threaded process.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_engine::Engine;
use berth_engine::state::Paths;
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::runtime::testkit::{field, lock, redirect};

use super::process::Overrides;
use super::{ExecRequest, exec};
use crate::runtime::record::StateDir;

const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "readlink", "id", "grep", "touch", "sleep", "tty", "true", "test",
];

const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
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

/// What one exec produced.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A running container `box` on a busybox root, in its own temp dir.
struct Running {
    tmp: tempfile::TempDir,
    init: Pid,
}

fn skip(why: &str) -> Option<Running> {
    if std::env::var("BERTH_REQUIRE_ROOT").as_deref() == Ok("1") {
        panic!("privileged test cannot run: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// docker's shape of a config.json with its default seccomp profile, running
/// `sleep` until killed.
fn config() -> Value {
    let caps: crate::security::Capabilities = CAPS
        .iter()
        .map(|c| crate::security::parse_capability(c).unwrap())
        .collect();
    let seccomp = crate::security::seccomp_profile(&Default::default(), &caps).unwrap();
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "hostname": "exec-test",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["sleep", "1000"],
            "env": ["PATH=/bin", "HOME=/"],
            "cwd": "/",
            "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        ],
        "linux": {
            "namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}, {"type": "ipc"}, {"type": "network"}],
            "seccomp": seccomp,
        }
    })
}

impl Running {
    /// Creates and starts the container, or skips without root or busybox.
    fn start() -> Option<Running> {
        if !nix::unistd::geteuid().is_root() {
            return skip("not root");
        }
        let Some(busybox) = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
        else {
            return skip("busybox-static is not installed");
        };
        // The init outlives `create`, and detached processes outlive `exec`:
        // adopt them, so that they are ours to reap.
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        let tmp = tempfile::Builder::new()
            .prefix("berth-exec-")
            .tempdir()
            .unwrap();
        let rootfs = tmp.path().join("bundle/rootfs");
        for dir in ["bin", "proc", "dev", "etc", "tmp"] {
            fs::create_dir_all(rootfs.join(dir)).unwrap();
        }
        fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
        for applet in APPLETS {
            symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        fs::write(rootfs.join("only-in-the-container"), "yes\n").unwrap();
        let bundle = tmp.path().join("bundle");
        fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&config()).unwrap(),
        )
        .unwrap();
        let mut running = Running {
            tmp,
            init: Pid::from_raw(0),
        };
        let engine = running.engine();
        let created = running
            .in_child(|| crate::runtime::create::create(&engine, &bundle, "box", None, None));
        assert_eq!(created.code, 0, "{created:?}");
        crate::runtime::start::start(&engine, "box").unwrap();
        running.init = Pid::from_raw(running.record().pid);
        Some(running)
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

    fn record(&self) -> crate::runtime::record::Record {
        StateDir::open(&self.engine(), "box")
            .unwrap()
            .load()
            .unwrap()
    }

    /// `runtime exec` of `args` into the container, in a forked child.
    fn exec(&self, args: &[&str], change: impl FnOnce(&mut ExecRequest)) -> Outcome {
        let mut request = ExecRequest {
            id: "box".into(),
            overrides: Overrides {
                args: args.iter().map(|a| a.to_string()).collect(),
                ..Overrides::default()
            },
            ..ExecRequest::default()
        };
        change(&mut request);
        let engine = self.engine();
        self.in_child(move || exec(&engine, &request))
    }

    /// Forks; the child writes stdout/stderr to files and runs `body`.
    fn in_child(&self, body: impl FnOnce() -> berth_engine::Result<i32>) -> Outcome {
        let out = self.tmp.path().join("stdout");
        let err = self.tmp.path().join("stderr");
        // SAFETY: the child only runs the runtime, which expects a fresh
        // single-threaded process, and leaves with _exit.
        let pid = match unsafe { libc::fork() } {
            0 => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    redirect(&out, 1);
                    redirect(&err, 2);
                    redirect(Path::new("/dev/null"), 0);
                    body().unwrap_or_else(|e| {
                        let line = format!("ch01: {e}\n");
                        let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
                        e.exit_code()
                    })
                }))
                .unwrap_or(101);
                // SAFETY: leave without running the harness's destructors.
                unsafe { libc::_exit(code) }
            }
            pid => Pid::from_raw(pid),
        };
        let status = nix::sys::wait::waitpid(pid, None).unwrap();
        Outcome {
            code: crate::runtime::signals::exit_code(status).unwrap(),
            stdout: fs::read_to_string(out).unwrap_or_default(),
            stderr: fs::read_to_string(err).unwrap_or_default(),
        }
    }

    /// A file of the init's `/proc/PID`, read from the host.
    fn init_file(&self, name: &str) -> String {
        fs::read_to_string(format!("/proc/{}/{name}", self.init)).unwrap()
    }

    fn rootfs(&self) -> PathBuf {
        self.tmp.path().join("bundle/rootfs")
    }

    /// Kills and deletes the container, reaps its init and the processes we
    /// adopted from it (`adopted`), and checks that nothing of it is left: no
    /// state, no mount, no process.
    fn delete_and_check(self, adopted: &[i32]) {
        let engine = self.engine();
        let _ = crate::runtime::kill::kill(&engine, "box", "KILL", true);
        // A dying pid namespace's init waits until every process of it is
        // reaped, adopted ones included: reap those first.
        for &pid in adopted {
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        }
        let _ = nix::sys::wait::waitpid(self.init, None);
        crate::runtime::delete::delete(&engine, "box", false).unwrap();
        let left: Vec<_> = fs::read_dir(self.tmp.path().join("run/runtime"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "state left behind: {left:?}");
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let tmp = self.tmp.path().to_str().unwrap();
        assert!(!mounts.contains(tmp), "mounts left behind under {tmp}");
        let rootfs = self.rootfs();
        let alive = fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .any(|e| fs::read_link(e.path().join("root")).is_ok_and(|root| root == rootfs));
        assert!(!alive, "a process of the container is still alive");
    }
}

/// The lines of a `/proc/PID/status` that say what a process may do.
fn privileges(status: &str) -> Vec<&str> {
    status
        .lines()
        .filter(|l| {
            ["Cap", "NoNewPrivs", "Seccomp"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect()
}

const NAMESPACES: [&str; 6] = ["mnt", "pid", "uts", "ipc", "net", "cgroup"];

#[test]
fn an_exec_joins_the_inits_namespaces_root_cgroup_and_restrictions() {
    let _serial = lock();
    let Some(c) = Running::start() else { return };
    let script = r#"
        for ns in mnt pid uts ipc net cgroup; do echo $ns=$(readlink /proc/self/ns/$ns); done
        echo marker=$(cat /only-in-the-container)
        read -r pid rest < /proc/self/stat; echo pid=$pid
        cat /proc/self/status > /tmp/status
        cat /proc/self/cgroup > /tmp/cgroup
    "#;
    let out = c.exec(&["sh", "-c", script], |_| {});
    assert_eq!(out.code, 0, "{out:?}");
    for ns in NAMESPACES {
        let init = fs::read_link(format!("/proc/{}/ns/{ns}", c.init)).unwrap();
        assert_eq!(field(&out.stdout, ns), init.to_str().unwrap(), "{ns}");
    }
    assert_ne!(
        field(&out.stdout, "mnt"),
        fs::read_link("/proc/self/ns/mnt")
            .unwrap()
            .to_str()
            .unwrap()
    );
    assert_eq!(
        field(&out.stdout, "marker"),
        "yes",
        "not the container's root"
    );
    assert_ne!(
        field(&out.stdout, "pid"),
        "1",
        "a pid of the container's namespace"
    );
    let status = fs::read_to_string(c.rootfs().join("tmp/status")).unwrap();
    let init_status = c.init_file("status");
    assert_eq!(privileges(&status), privileges(&init_status));
    assert!(status.contains("Seccomp:\t2"), "{status}");
    assert!(status.contains("CapEff:\t00000000a00425fb"), "{status}");
    let cgroup = fs::read_to_string(c.rootfs().join("tmp/cgroup")).unwrap();
    assert_eq!(cgroup, c.init_file("cgroup"));
    c.delete_and_check(&[]);
}

#[test]
fn exit_codes_users_and_refusals() {
    let _serial = lock();
    let Some(c) = Running::start() else { return };
    let cases: [(&[&str], i32, &str); 4] = [
        (&["true"], 0, ""),
        (&["sh", "-c", "exit 3"], 3, ""),
        (&["nonexistent"], 127, "no such file or directory"),
        (&["/"], 126, "permission denied"),
    ];
    for (args, code, message) in cases {
        let out = c.exec(args, |_| {});
        assert_eq!(out.code, code, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {out:?}");
        assert_eq!(
            out.stderr.lines().count(),
            usize::from(!message.is_empty()),
            "{out:?}"
        );
    }
    let out = c.exec(&["sh", "-c", "kill -TERM $$"], |_| {});
    assert_eq!(out.code, 143, "killed by a signal: 128+N");

    let out = c.exec(&["sh", "-c", "id -u; grep CapEff /proc/self/status"], |r| {
        r.overrides.user = Some("1000".into());
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "1000\nCapEff:\t0000000000000000\n");

    let out = c.exec(&["sh", "-c", "echo $GREETING; pwd"], |r| {
        r.overrides.env = vec!["GREETING=hello".into()];
        r.overrides.cwd = Some("/tmp".into());
    });
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "hello\n/tmp\n"),
        "{out:?}"
    );

    let out = c.exec(&["true"], |r| {
        r.overrides.cwd = Some("/proc/self/fd/3".into())
    });
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("working directory"), "{out:?}");

    let out = c.exec(&[], |_| {});
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("process.args is empty"), "{out:?}");

    let out = c.exec(&["true"], |r| r.id = "nobody".into());
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "ch01: container nobody does not exist\n")
    );

    // A --process file is an OCI process, run as it says.
    let file = c.tmp.path().join("process.json");
    let process = json!({"user": {"uid": 0, "gid": 0}, "args": ["sh", "-c", "echo from-file"], "cwd": "/", "env": ["PATH=/bin"]});
    fs::write(&file, process.to_string()).unwrap();
    let out = c.exec(&[], |r| r.process_file = Some(file.clone()));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "from-file\n"),
        "{out:?}"
    );

    let engine = c.engine();
    crate::runtime::kill::kill(&engine, "box", "KILL", false).unwrap();
    nix::sys::wait::waitpid(c.init, None).unwrap();
    let out = c.exec(&["true"], |_| {});
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "ch01: container box is not running\n")
    );
    c.delete_and_check(&[]);
}

#[test]
fn a_detached_exec_returns_at_once_and_its_process_runs_on() {
    let _serial = lock();
    let Some(c) = Running::start() else { return };
    let pid_file = c.tmp.path().join("exec.pid");
    let began = Instant::now();
    let out = c.exec(
        &["sh", "-c", "sleep 0.5; touch /tmp/done; sleep 1000"],
        |r| {
            r.detach = true;
            r.pid_file = Some(pid_file.clone());
        },
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert!(began.elapsed() < Duration::from_millis(500), "it waited");
    let done = c.rootfs().join("tmp/done");
    assert!(!done.exists(), "returned only after the process ended");
    let pid: i32 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: u32 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ppid, std::process::id(), "adopted by the nearest subreaper");
    for _ in 0..300 {
        if done.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(done.exists(), "the detached process never ran");
    c.delete_and_check(&[pid]);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "it died with the container"
    );
}

#[test]
fn an_exec_with_a_terminal_gets_a_pty_of_the_containers_own() {
    let _serial = lock();
    let Some(c) = Running::start() else { return };
    let out = c.exec(&["sh", "-c", "tty; test -t 0 && echo stdin=tty"], |r| {
        r.overrides.tty = true;
    });
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<String> = out
        .stdout
        .replace('\r', "")
        .lines()
        .map(String::from)
        .collect();
    assert!(lines[0].starts_with("/dev/pts/"), "{out:?}");
    assert_eq!(lines[1], "stdin=tty");
    let out = c.exec(&["true"], |r| {
        r.overrides.tty = true;
        r.detach = true;
    });
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("--console-socket"), "{out:?}");
    c.delete_and_check(&[]);
}
