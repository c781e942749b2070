//! berth's bundles are real OCI bundles: runc runs the `config.json` that `ch02 run`
//! wrote, and `ch01 runtime` drives the same bundle through create, start, state
//! and delete as runc would.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_tests::env::{eventually, finish, random_hex, spawn};
use berth_tests::kernel::{DOCKER_DEFAULT_CAPS, cap_mask, status_field};
use berth_tests::{Binary, TestEnv, assert_nothing_left};
use serde_json::{Value, json};

const RUNC: &str = "/usr/sbin/runc";

/// A copy of the bundle a running `ch01 run` wrote, with its id.
struct CopiedBundle {
    dir: tempfile::TempDir,
    id: String,
}

/// Runs a container with `bin run`, copies its bundle while it runs (the bundle is
/// removed when it exits), then ends it. The copy's mounts point into the copy.
fn copy_berths_bundle(env: &TestEnv, bin: Binary) -> CopiedBundle {
    let script = "trap 'exit 0' TERM; touch /tmp/ready; while :; do sleep 0.1; done";
    let mut command = env.container_command(bin, &[], &["sh", "-c", script]);
    let child = spawn(&mut command);
    let ready = env.rootfs().join("tmp/ready");
    assert!(
        eventually(Duration::from_secs(10), || ready.exists()),
        "container started"
    );
    let bundles = env.run.path().join("bundles");
    let original = fs::read_dir(&bundles)
        .expect("BERTH_RUN/bundles")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("one bundle");
    let id = original.file_name().unwrap().to_string_lossy().into_owned();
    let dir = tempfile::Builder::new()
        .prefix("berth-e2e-bundle-")
        .tempdir()
        .unwrap();
    for entry in fs::read_dir(&original).unwrap().flatten() {
        fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(finish(child).code, 0);
    fs::remove_file(&ready).unwrap();
    let config = dir.path().join("config.json");
    let text = fs::read_to_string(&config).unwrap();
    let text = text.replace(&*original.to_string_lossy(), &dir.path().to_string_lossy());
    fs::write(&config, text).unwrap();
    CopiedBundle { dir, id }
}

impl CopiedBundle {
    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.json")
    }

    fn edit(&self, change: impl FnOnce(&mut Value)) {
        let path = self.config_path();
        let mut config: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        change(&mut config);
        fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    }
}

/// What every container prints for these tests: pid, host name, its status.
const REPORT: &str =
    "read -r pid rest < /proc/self/stat; echo $pid; hostname; cat /proc/self/status";

#[test]
fn runc_runs_the_bundle_berth_wrote() {
    let Some(env) = TestEnv::new("runc_runs_the_bundle_berth_wrote") else {
        return;
    };
    if !Path::new(RUNC).exists() {
        eprintln!("skipped: runc is not installed (apt-get install -y runc)");
        return;
    }
    // chapter 02's bundle: runc applies the devices cgroup, and only chapter 02 writes
    // the allow-list (with none, runc's default denies even /dev/null).
    let bundle = copy_berths_bundle(&env, Binary::Ch02);
    let runc_id = format!("runc-{}", random_hex(12));
    let cgroup = format!("/{}/{runc_id}", env.cgroup_parent);
    bundle.edit(|config| {
        config["process"]["args"] = json!(["sh", "-c", REPORT]);
        // runc makes a cgroup: put it under this test's parent, so the leftover check sees it.
        config["linux"]["cgroupsPath"] = json!(cgroup);
    });
    let runc_state = tempfile::tempdir().unwrap();
    let out = finish(spawn(
        Command::new(RUNC)
            .arg("--root")
            .arg(runc_state.path())
            .args(["run", "-b"])
            .arg(bundle.dir.path())
            .arg(&runc_id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    ));
    assert_eq!(out.code, 0, "{out:#?}");
    let lines = out.lines();
    assert_eq!(lines[0], "1", "PID 1: {out:#?}");
    assert_eq!(lines[1], &bundle.id[..12], "berth's host name");
    let status = lines[2..].join("\n");
    assert_eq!(
        cap_mask(&status, "CapEff"),
        DOCKER_DEFAULT_CAPS,
        "berth's capabilities"
    );
    assert_eq!(cap_mask(&status, "CapBnd"), DOCKER_DEFAULT_CAPS);
    assert_eq!(
        status_field(&status, "Seccomp"),
        "2",
        "berth's seccomp profile"
    );
    drop(bundle);
    assert_nothing_left(&env);
}

/// `ch01 runtime ARGS…` in `env`, output collected.
fn runtime(env: &TestEnv, args: &[&str]) -> berth_tests::Output {
    let mut all = vec!["runtime"];
    all.extend_from_slice(args);
    env.run(Binary::Ch01, &all)
}

fn state_of(env: &TestEnv, id: &str) -> Value {
    let out = runtime(env, &["state", id]);
    assert_eq!(out.code, 0, "{out:#?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("state JSON: {e}: {out:#?}"))
}

#[test]
fn the_runtime_creates_starts_reports_and_deletes_a_bundle() {
    let Some(env) = TestEnv::new("the_runtime_creates_starts_reports_and_deletes_a_bundle") else {
        return;
    };
    let bundle = copy_berths_bundle(&env, Binary::Ch01);
    // The container inherits create's stdio: files, since a pipe would stay open
    // (and `output()` wait) as long as the container lives.
    let output = env.state.path().join("container.out");
    let errors = env.state.path().join("container.err");
    bundle.edit(|config| {
        config["process"]["args"] = json!(["sh", "-c", format!("{REPORT}; read line")]);
    });
    let bundle_dir = bundle.dir.path().to_string_lossy().into_owned();
    let id = format!("e2e-{}", random_hex(12));
    let create = env
        .command(Binary::Ch01)
        .args(["runtime", "create", "-b", &bundle_dir, &id])
        .stdout(fs::File::create(&output).unwrap())
        .stderr(fs::File::create(&errors).unwrap())
        .status()
        .unwrap();
    let create_errors = fs::read_to_string(&errors).unwrap();
    assert!(create.success(), "{create:?}: {create_errors}");
    let created = state_of(&env, &id);
    assert_eq!(created["status"], "created", "{created}");
    assert_eq!(created["id"], id.as_str());
    let pid = created["pid"].as_i64().expect("a pid") as i32;
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        fs::read_to_string(&output).unwrap(),
        "",
        "nothing ran before start"
    );

    let start = runtime(&env, &["start", &id]);
    assert_eq!(start.code, 0, "{start:#?}");
    assert!(eventually(Duration::from_secs(10), || {
        fs::read_to_string(&output).is_ok_and(|o| o.contains("CapEff"))
    }));
    // `read line` from /dev/null returns at once: the process ends by itself.
    assert!(eventually(Duration::from_secs(10), || {
        state_of(&env, &id)["status"] == "stopped"
    }));
    let report = fs::read_to_string(&output).unwrap();
    assert!(report.starts_with("1\n"), "PID 1: {report}");

    let delete = runtime(&env, &["delete", &id]);
    assert_eq!(delete.code, 0, "{delete:#?}");
    let gone = runtime(&env, &["state", &id]);
    assert_ne!(gone.code, 0, "deleted: {gone:#?}");
    drop(bundle);
    assert_nothing_left(&env);
}
