//! The peers chapter 03 is compared with: a private dockerd (the "oracle"), skopeo
//! and umoci, plus the tools to build images offline and to read a root filesystem
//! as a set of facts that two trees can be compared by.
//!
//! `cargo xtask test` starts the oracle and sets [`ORACLE_ENV`] to its socket and
//! [`REQUIRE_ORACLE_ENV`] to `1`. Elsewhere a test that needs a peer skips with a
//! printed reason, unless [`REQUIRE_ORACLE_ENV`] is `1`: then it fails.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::binaries::Binary;
use crate::env::{Output, TestEnv, finish, random_hex, spawn};

/// The variable holding the oracle dockerd's address (`unix:///run/berth-oracle.sock`).
pub const ORACLE_ENV: &str = "BERTH_ORACLE_DOCKER";

/// The variable that turns "no oracle, skipped" into a failure (CI sets it).
pub const REQUIRE_ORACLE_ENV: &str = "BERTH_REQUIRE_ORACLE";

/// The entries docker's init layer adds to every container (DOCKER-FACTS.md, "The init
/// layer"); `docker export` shows them, an image's layers do not hold them.
pub const INIT_LAYER: &[&str] = &[
    ".dockerenv",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/mtab",
    "dev",
    "proc",
    "sys",
];

/// Prints why `test` is skipped for want of `what`, or panics when
/// [`REQUIRE_ORACLE_ENV`] is `1`.
pub fn peer_missing(test: &str, what: &str) {
    assert!(
        std::env::var(REQUIRE_ORACLE_ENV).as_deref() != Ok("1"),
        "{test} needs {what}, and {REQUIRE_ORACLE_ENV}=1 forbids skipping it"
    );
    eprintln!("skipped {test}: it needs {what}");
}

/// The path of an installed tool (`skopeo`, `umoci`), or `None` after [`peer_missing`].
pub fn tool(test: &str, name: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        peer_missing(test, &format!("{name} (apt-get install -y {name})"));
    }
    found
}

/// `ch03 args…` in `env`'s world (its state root and runtime directory), not yet started.
pub fn ch03_command(env: &TestEnv, args: &[&str]) -> Command {
    let mut command = Command::new(Binary::Ch03.path());
    command
        .args(args)
        .env("BERTH_ROOT", env.state.path())
        .env("BERTH_RUN", env.run.path())
        .env("BERTH_CGROUP_PARENT", &env.cgroup_parent)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// `ch03 args…` in `env`'s world, waited for.
pub fn ch03(env: &TestEnv, args: &[&str]) -> Output {
    finish(spawn(&mut ch03_command(env, args)))
}

/// `BERTH_ROOT/images`: berth's image store, an OCI image layout.
pub fn image_store(env: &TestEnv) -> PathBuf {
    env.state.path().join("images")
}

/// A connection to the oracle dockerd; the images and containers it made for a test
/// are removed when it is dropped.
pub struct Docker {
    host: String,
    prefix: String,
    images: RefCell<Vec<String>>,
}

impl Docker {
    /// The oracle named by [`ORACLE_ENV`], or `None` (with a printed reason) without it.
    pub fn connect(test: &str) -> Option<Docker> {
        let Ok(host) = std::env::var(ORACLE_ENV) else {
            peer_missing(
                test,
                &format!("a docker daemon named by {ORACLE_ENV} (`cargo xtask test` starts one)"),
            );
            return None;
        };
        let docker = Docker {
            host,
            prefix: format!("berth-oracle-{}", random_hex(8)),
            images: RefCell::new(Vec::new()),
        };
        let version = docker.run(&["version", "--format", "{{.Server.Version}}"]);
        assert_eq!(
            version.code, 0,
            "the oracle at {} does not answer: {version:#?}",
            docker.host
        );
        Some(docker)
    }

    /// A `docker -H HOST` command; the client is the one on the machine.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(docker_client());
        command
            .arg("-H")
            .arg(&self.host)
            .args(args)
            // A build must not look for BuildKit's network-bound front end.
            .env("DOCKER_BUILDKIT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `docker args…`, waited for.
    pub fn run(&self, args: &[&str]) -> Output {
        finish(spawn(&mut self.command(args)))
    }

    /// `docker args…`, which must succeed; its trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(output.code, 0, "docker {args:?} failed: {output:#?}");
        output.stdout.trim().to_string()
    }

    /// A repository name unique to this test, `berth-oracle-<hex>-what`; removed on drop.
    pub fn name(&self, what: &str) -> String {
        let name = format!("{}-{what}", self.prefix);
        self.images.borrow_mut().push(name.clone());
        name
    }

    /// Imports `rootfs` as the single-layer image `name` (the `tar` made here is offline).
    pub fn import(&self, rootfs: &Path, name: &str) {
        let tarball = tempfile::Builder::new()
            .prefix("berth-oracle-rootfs-")
            .suffix(".tar")
            .tempfile()
            .expect("a temporary tarball");
        let status = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .arg("-cf")
            .arg(tarball.path())
            .arg(".")
            .status()
            .expect("running tar");
        assert!(status.success(), "tar of {} failed", rootfs.display());
        self.ok(&["import", &tarball.path().to_string_lossy(), name]);
    }

    /// Runs `script` in a container of `from` and commits the result as `to`: one layer
    /// holding exactly what the script changed.
    pub fn commit(&self, from: &str, to: &str, script: &str) {
        let container = self.ok(&["create", "--network", "none", from, "sh", "-c", script]);
        let started = self.run(&["start", "-a", &container]);
        let committed = started.code == 0 && self.run(&["commit", &container, to]).code == 0;
        self.ok(&["rm", "-f", &container]);
        assert!(committed, "the layer script failed in {from}: {started:#?}");
    }

    /// `docker export` of a container of `image`, unpacked into `dir` by GNU tar (as root it
    /// keeps owners, modes, hardlinks and fifos).
    pub fn export_into(&self, image: &str, dir: &Path) {
        let container = self.ok(&["create", "--network", "none", image, "true"]);
        let tarball = dir.with_extension("tar");
        let exported = self.run(&["export", "-o", &tarball.to_string_lossy(), &container]);
        self.ok(&["rm", "-f", &container]);
        assert_eq!(exported.code, 0, "docker export failed: {exported:#?}");
        fs::create_dir_all(dir).expect("the export directory");
        let status = Command::new("tar")
            .args(["--numeric-owner", "--same-owner", "-p", "-x", "-f"])
            .arg(&tarball)
            .arg("-C")
            .arg(dir)
            .status()
            .expect("running tar");
        assert!(status.success(), "unpacking docker's export failed");
        fs::remove_file(&tarball).expect("removing the export tarball");
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        // Every tag made here goes; dangling parents go with their last tag.
        let listed = self.run(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        let ours: Vec<&str> = listed
            .stdout
            .lines()
            .filter(|line| line.starts_with(&self.prefix))
            .collect();
        if !ours.is_empty() {
            let mut args = vec!["rmi", "-f"];
            args.extend(ours);
            let _ = self.run(&args);
        }
    }
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

// ANCHOR: tree_facts
/// What a comparison of two root filesystems looks at, for one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node {
    /// Relative to the root, without a leading `/`.
    pub path: String,
    /// `dir`, `file`, `symlink`, `fifo`, `char`, `block` or `socket`.
    pub kind: &'static str,
    /// Permission bits with setuid, setgid and sticky.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// The size of a regular file (directories and the rest: 0, as in a tar).
    pub size: u64,
    /// Where a symlink points.
    pub link: Option<String>,
}

/// Every path under `root` (not `root` itself) as a [`Node`], skipping `skipped` paths
/// and everything below them.
pub fn tree(root: &Path, skipped: &[&str]) -> BTreeSet<Node> {
    let mut nodes = BTreeSet::new();
    walk(root, root, skipped, &mut |path, meta| {
        let kind = kind_of(meta.file_type());
        let link = (kind == "symlink").then(|| {
            fs::read_link(path)
                .expect("reading a symlink")
                .to_string_lossy()
                .into_owned()
        });
        nodes.insert(Node {
            path: relative(root, path),
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            size: if kind == "file" { meta.size() } else { 0 },
            link,
        });
    });
    nodes
}

/// The paths under `root` that share an inode, one sorted group per inode.
pub fn hardlink_groups(root: &Path, skipped: &[&str]) -> BTreeSet<Vec<String>> {
    let mut by_inode: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    walk(root, root, skipped, &mut |path, meta| {
        if !meta.is_dir() && meta.nlink() > 1 {
            by_inode
                .entry((meta.dev(), meta.ino()))
                .or_default()
                .push(relative(root, path));
        }
    });
    by_inode
        .into_values()
        .filter(|group| group.len() > 1)
        .map(|mut group| {
            group.sort();
            group
        })
        .collect()
}
// ANCHOR_END: tree_facts

fn walk(root: &Path, dir: &Path, skipped: &[&str], visit: &mut dyn FnMut(&Path, &fs::Metadata)) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if skipped.contains(&relative(root, &path).as_str()) {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("lstat of a listed entry");
        visit(&path, &meta);
        if meta.is_dir() {
            walk(root, &path, skipped, visit);
        }
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("walked paths are under the root")
        .to_string_lossy()
        .into_owned()
}

fn kind_of(kind: fs::FileType) -> &'static str {
    if kind.is_dir() {
        "dir"
    } else if kind.is_symlink() {
        "symlink"
    } else if kind.is_fifo() {
        "fifo"
    } else if kind.is_char_device() {
        "char"
    } else if kind.is_block_device() {
        "block"
    } else if kind.is_socket() {
        "socket"
    } else {
        "file"
    }
}

// ANCHOR: docker_archive_by_hand
/// Writes a docker-archive (`docker save`'s format) to `out`: one plain-tar layer per
/// directory of `layers`, a config listing their diff ids, tagged `name`. Built with
/// `tar` and `sha256sum`, so a test can make images no docker could (128 layers).
pub fn write_docker_archive(layers: &[PathBuf], name: &str, out: &Path) {
    let work = tempfile::Builder::new()
        .prefix("berth-archive-")
        .tempdir()
        .expect("a temporary directory");
    let mut diff_ids = Vec::new();
    let mut layer_paths = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let member = format!("layer{index}.tar");
        tar_dir(layer, &work.path().join(&member));
        diff_ids.push(format!("sha256:{}", sha256(&work.path().join(&member))));
        layer_paths.push(member);
    }
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [],
    });
    let config_path = work.path().join("config.json");
    fs::write(&config_path, config.to_string()).expect("writing the config");
    let config_member = format!("{}.json", sha256(&config_path));
    fs::rename(&config_path, work.path().join(&config_member)).expect("naming the config");
    let manifest = serde_json::json!([{
        "Config": config_member,
        "RepoTags": [name],
        "Layers": layer_paths,
    }]);
    fs::write(work.path().join("manifest.json"), manifest.to_string()).expect("manifest.json");
    // Members are named as `docker save` names them, without a leading `./`.
    let mut members = vec!["manifest.json".to_string(), config_member];
    members.extend(layer_paths);
    let status = Command::new("tar")
        .arg("-C")
        .arg(work.path())
        .arg("-cf")
        .arg(out)
        .args(&members)
        .status()
        .expect("running tar");
    assert!(status.success(), "writing {} failed", out.display());
}
// ANCHOR_END: docker_archive_by_hand

/// `tar -C dir -cf out .`, owners numeric so the archive means the same everywhere.
pub fn tar_dir(dir: &Path, out: &Path) {
    let status = Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(dir)
        .arg("-cf")
        .arg(out)
        .arg(".")
        .status()
        .expect("running tar");
    assert!(status.success(), "tar of {} failed", dir.display());
}

/// The SHA-256 of a file as 64 hex digits (`sha256sum`).
pub fn sha256(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("running sha256sum");
    assert!(
        output.status.success(),
        "sha256sum {} failed",
        path.display()
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum prints the digest first")
        .to_string()
}
