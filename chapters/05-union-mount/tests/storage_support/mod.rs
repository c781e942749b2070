//! What chapter 05's storage tests share: a state root with a busybox image,
//! images of many layers built as docker archives, the `ch05` binary run
//! against them, and what the kernel and the state root show.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_tests::env::{finish, spawn};
use berth_tests::kernel::{MountInfo, parse_mountinfo};
use berth_tests::{Output, TestEnv, assert_nothing_left};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A test's world with the image `busybox` imported.
pub struct World {
    /// The test environment: state, run directory, cgroup parent.
    pub env: TestEnv,
    /// Extra variables for every `ch05` run (`BERTH_STORAGE_DRIVER`).
    pub vars: Vec<(String, String)>,
}

impl World {
    pub fn new(test: &str) -> Option<World> {
        Self::with_vars(test, &[])
    }

    pub fn with_vars(test: &str, vars: &[(&str, &str)]) -> Option<World> {
        let env = TestEnv::new(test)?;
        let world = World {
            env,
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        world
            .env
            .import_rootfs(Path::new(env!("CARGO_BIN_EXE_ch05")), "busybox");
        Some(world)
    }

    /// A directory for the test's own files, inside its state root (removed
    /// with it).
    pub fn scratch(&self) -> PathBuf {
        let dir = self.env.state.path().join("scratch");
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.env.command_at(Path::new(env!("CARGO_BIN_EXE_ch05")));
        command
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .args(args);
        command
    }

    pub fn ch05(&self, args: &[&str]) -> Output {
        finish(spawn(&mut self.command(args)))
    }

    /// `ch05 args…`, which must succeed; its stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.ch05(args);
        out.assert_success();
        out.stdout.trim().to_string()
    }

    /// The full id of the container named `name`.
    pub fn id_of(&self, name: &str) -> String {
        self.ok(&[
            "ps",
            "-a",
            "--no-trunc",
            "-q",
            "--filter",
            &format!("name={name}"),
        ])
    }

    /// `BERTH_ROOT/containers/<id>`.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.env.state.path().join("containers").join(id)
    }

    /// `BERTH_ROOT/layers`.
    pub fn layers(&self) -> PathBuf {
        self.env.state.path().join("layers")
    }

    /// The chain-id directories in `dir` (64 hex digits).
    pub fn chain_dirs(&self, dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    }

    /// The host's mounts whose mount point is under this test's state root.
    pub fn mounts_under_state(&self) -> Vec<MountInfo> {
        let table = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let state = self.env.state.path().to_string_lossy().to_string();
        parse_mountinfo(&table)
            .into_iter()
            .filter(|m| m.mount_point.starts_with(&state))
            .collect()
    }

    /// Loads a docker archive made of `layers` (each a directory to tar) as `name`.
    pub fn load_layers(&self, name: &str, layers: &[PathBuf]) -> Output {
        let archive = self.scratch().join(format!("{name}.tar"));
        docker_archive(&self.scratch(), name, layers, &archive);
        let out = self.ch05(&["load", "-i", archive.to_str().unwrap()]);
        fs::remove_file(&archive).unwrap();
        out
    }

    /// `count` one-file layers on top of the busybox tree, as directories.
    pub fn small_layers(&self, count: usize) -> Vec<PathBuf> {
        let mut layers = vec![self.env.rootfs().to_path_buf()];
        for n in 0..count {
            let dir = self.scratch().join(format!("layer-{n}"));
            fs::create_dir_all(dir.join("layers")).unwrap();
            fs::write(dir.join("layers").join(n.to_string()), format!("{n}\n")).unwrap();
            layers.push(dir);
        }
        layers
    }

    /// Removes every container (`rm -f`); true if that worked.
    fn remove_containers(&self) -> bool {
        let ids = self.ch05(&["ps", "-aq"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if ids.is_empty() {
            return true;
        }
        let mut args = vec!["rm", "-f"];
        args.extend(&ids);
        self.ch05(&args).code == 0
    }

    /// Removes every container, then checks that nothing of them remains.
    pub fn clean_up(self) {
        assert!(self.remove_containers(), "rm -f failed");
        assert!(
            self.mounts_under_state().is_empty(),
            "mounts left under the state root"
        );
        assert_nothing_left(&self.env);
    }
}

impl Drop for World {
    /// A failed test still removes its containers, so their mounts and
    /// processes do not outlive it.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.remove_containers();
        }
    }
}

/// `tar -C dir -cf tar .`
pub fn tar_of(dir: &Path, tar: &Path) {
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .status()
        .expect("running tar");
    assert!(status.success());
}

fn sha256_of_file(path: &Path) -> String {
    use std::io::Read;
    let mut hasher = Sha256::new();
    let mut file = fs::File::open(path).unwrap();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = file.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a docker archive (`docker save`'s format) of one image named
/// `name:latest`, whose layers are the tars of `layers`, bottom first.
pub fn docker_archive(scratch: &Path, name: &str, layers: &[PathBuf], archive: &Path) {
    let dir = scratch.join(format!("{name}-archive"));
    fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    let mut diff_ids = Vec::new();
    for (n, layer) in layers.iter().enumerate() {
        let tar = dir.join(format!("{n}.tar"));
        tar_of(layer, &tar);
        let digest = sha256_of_file(&tar);
        let name = format!("{digest}.tar");
        // Two identical layers share one file, as docker save writes them.
        fs::rename(&tar, dir.join(&name)).unwrap();
        paths.push(name);
        diff_ids.push(format!("sha256:{digest}"));
    }
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["sh"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_name = format!("{}.json", hex(&Sha256::digest(&config_bytes)));
    fs::write(dir.join(&config_name), config_bytes).unwrap();
    let manifest = json!([{
        "Config": config_name,
        "RepoTags": [format!("{name}:latest")],
        "Layers": paths,
    }]);
    fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    tar_of(&dir, archive);
    fs::remove_dir_all(&dir).unwrap();
}
