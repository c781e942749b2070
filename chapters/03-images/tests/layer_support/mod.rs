//! Shared by the layer tests: a builder for crafted (also hostile) layer
//! tars, a sandbox with a canary directory beside the root, and the root
//! check.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_images::layer::{LayerError, LayerStats, Limits, WhiteoutMode, unpack_layer};

/// Whether the test may run: it needs root for chown and mknod. Without
/// root it is skipped with a message, unless `BERTH_REQUIRE_ROOT=1`.
pub fn have_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("BERTH_REQUIRE_ROOT").as_deref() != Ok("1"),
        "{test} needs root and BERTH_REQUIRE_ROOT=1 is set"
    );
    eprintln!("skipping {test}: it needs root");
    false
}

/// A layer tar written header by header. Names are written raw into the
/// header, so `..` and absolute paths (which `tar::Builder` refuses) can be
/// crafted.
pub struct Layer {
    bytes: Vec<u8>,
}

/// Metadata of a crafted entry.
#[derive(Clone, Copy)]
pub struct Meta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
        }
    }
}

impl Layer {
    pub fn new() -> Self {
        Self { bytes: Vec::new() }
    }

    fn header(path: &str, kind: tar::EntryType, size: u64, meta: Meta) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(meta.mode);
        header.set_uid(meta.uid);
        header.set_gid(meta.gid);
        header.set_mtime(meta.mtime);
        let name = &mut header.as_old_mut().name;
        assert!(path.len() < name.len(), "use long_file for long names");
        name[..path.len()].copy_from_slice(path.as_bytes());
        header
    }

    fn push(&mut self, header: &mut tar::Header, data: &[u8]) {
        header.set_cksum();
        self.bytes.extend_from_slice(header.as_bytes());
        self.bytes.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
    }

    pub fn file_with(mut self, path: &str, data: &[u8], meta: Meta) -> Self {
        let mut h = Self::header(path, tar::EntryType::Regular, data.len() as u64, meta);
        self.push(&mut h, data);
        self
    }

    pub fn file(self, path: &str, data: &[u8]) -> Self {
        self.file_with(path, data, Meta::default())
    }

    pub fn dir_with(mut self, path: &str, meta: Meta) -> Self {
        let mut h = Self::header(path, tar::EntryType::Directory, 0, meta);
        self.push(&mut h, &[]);
        self
    }

    pub fn dir(self, path: &str) -> Self {
        self.dir_with(
            path,
            Meta {
                mode: 0o755,
                ..Meta::default()
            },
        )
    }

    fn link(mut self, kind: tar::EntryType, path: &str, target: &str) -> Self {
        let mut h = Self::header(
            path,
            kind,
            0,
            Meta {
                mode: 0o777,
                ..Meta::default()
            },
        );
        let field = &mut h.as_old_mut().linkname;
        field[..target.len()].copy_from_slice(target.as_bytes());
        self.push(&mut h, &[]);
        self
    }

    pub fn symlink(self, path: &str, target: &str) -> Self {
        self.link(tar::EntryType::Symlink, path, target)
    }

    pub fn hardlink(self, path: &str, target: &str) -> Self {
        self.link(tar::EntryType::Link, path, target)
    }

    pub fn char_device(mut self, path: &str, major: u32, minor: u32) -> Self {
        let mut h = Self::header(
            path,
            tar::EntryType::Char,
            0,
            Meta {
                mode: 0o666,
                ..Meta::default()
            },
        );
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(&mut h, &[]);
        self
    }

    pub fn fifo(mut self, path: &str) -> Self {
        let mut h = Self::header(
            path,
            tar::EntryType::Fifo,
            0,
            Meta {
                mode: 0o640,
                ..Meta::default()
            },
        );
        self.push(&mut h, &[]);
        self
    }

    /// A file whose PAX records carry extended attributes.
    pub fn file_with_xattrs(mut self, path: &str, data: &[u8], xattrs: &[(&str, &[u8])]) -> Self {
        let mut records = Vec::new();
        for (name, value) in xattrs {
            let key = format!("SCHILY.xattr.{name}");
            // A PAX record is "LEN KEY=VALUE\n", LEN counting itself.
            let body_len = 1 + key.len() + 1 + value.len() + 1;
            let mut len = body_len + 1;
            while len.to_string().len() + body_len != len {
                len = len.to_string().len() + body_len;
            }
            records.extend_from_slice(format!("{len} {key}=").as_bytes());
            records.extend_from_slice(value);
            records.push(b'\n');
        }
        let mut pax = Self::header(
            "PaxHeader",
            tar::EntryType::XHeader,
            records.len() as u64,
            Meta::default(),
        );
        self.push(&mut pax, &records);
        self.file(path, data)
    }

    /// A file with a name too long for the header, written as tar::Builder
    /// writes it (a GNU long-name entry first).
    pub fn long_file(mut self, path: &str, data: &[u8]) -> Self {
        let mut builder = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(Meta::default().mtime);
        builder.append_data(&mut h, path, data).unwrap();
        let mut bytes = builder.into_inner().unwrap();
        bytes.truncate(bytes.len() - 1024); // drop the end-of-archive blocks
        self.bytes.extend_from_slice(&bytes);
        self
    }

    /// A file whose header claims `declared` bytes, followed by only `data`
    /// and the end of the stream.
    pub fn truncated_file(mut self, path: &str, declared: u64, data: &[u8]) -> Self {
        let mut h = Self::header(path, tar::EntryType::Regular, declared, Meta::default());
        h.set_cksum();
        self.bytes.extend_from_slice(h.as_bytes());
        self.bytes.extend_from_slice(data);
        self
    }

    /// The raw bytes so far, without the end-of-archive blocks.
    pub fn unterminated(self) -> Vec<u8> {
        self.bytes
    }

    /// The tar stream, with the end-of-archive blocks.
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0u8; 1024]);
        self.bytes
    }
}

/// Runs `test` jailed, in a thread of its own: a private mount namespace
/// (per thread, since `unshare` also unshares the thread's file system
/// context) whose `/` is a fresh tmpfs. The tests try to escape the root;
/// should a regression let them, they damage that tmpfs, never the machine
/// running the tests. The tmpfs goes with the thread's namespace.
pub fn in_jail(test: impl FnOnce(&Sandbox) + Send + 'static) {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    let mount_point = tempfile::Builder::new()
        .prefix("berth-layer-jail-")
        .tempdir()
        .unwrap();
    let jail = mount_point.path().to_path_buf();
    let outcome = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS).unwrap();
        let none = None::<&str>;
        mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).unwrap();
        mount(
            Some("tmpfs"),
            &jail,
            Some("tmpfs"),
            MsFlags::empty(),
            Some("mode=0755"),
        )
        .unwrap();
        nix::unistd::chroot(&jail).unwrap();
        std::env::set_current_dir("/").unwrap();
        test(&Sandbox::new());
    })
    .join();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The jail's layout: the root to unpack into, nested so that `..` tricks
/// have somewhere to climb to, and around it files that no layer may
/// change: a canary directory and a fake `/etc/passwd` and `/etc/shadow`.
pub struct Sandbox {
    pub root: PathBuf,
    pub canary: PathBuf,
    before: BTreeMap<PathBuf, String>,
}

impl Sandbox {
    fn new() -> Self {
        let root = PathBuf::from("/var/lib/berth/root");
        let canary = PathBuf::from("/var/lib/berth/canary");
        fs::create_dir_all(&root).unwrap();
        fs::create_dir_all(canary.join("sub")).unwrap();
        fs::write(canary.join("keep"), b"canary").unwrap();
        fs::write(canary.join("sub/x"), b"canary x").unwrap();
        fs::create_dir("/etc").unwrap();
        fs::write("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
        fs::write("/etc/shadow", b"root:*:1::::::\n").unwrap();
        let mut sandbox = Self {
            root,
            canary,
            before: BTreeMap::new(),
        };
        sandbox.before = sandbox.outside_root();
        sandbox
    }

    /// The directory holding the root.
    pub fn beside_root(&self) -> &Path {
        self.root.parent().unwrap()
    }

    /// An absolute path of the canary, for symlinks that try to reach it.
    pub fn canary_abs(&self) -> String {
        self.canary.to_str().unwrap().to_string()
    }

    pub fn unpack(&self, layer: &[u8]) -> Result<LayerStats, LayerError> {
        unpack_layer(&self.root, layer, WhiteoutMode::Apply, &Limits::default())
    }

    pub fn unpack_overlay(&self, layer: &[u8]) -> Result<LayerStats, LayerError> {
        unpack_layer(&self.root, layer, WhiteoutMode::Overlay, &Limits::default())
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Every path of the jail outside the root, with type, mode, owner,
    /// link count and content (or link target).
    fn outside_root(&self) -> BTreeMap<PathBuf, String> {
        let mut seen = BTreeMap::new();
        let mut stack = vec![PathBuf::from("/")];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path == self.root {
                    continue;
                }
                let meta = fs::symlink_metadata(&path).unwrap();
                let what = if meta.is_dir() {
                    stack.push(path.clone());
                    String::from("dir")
                } else if meta.is_symlink() {
                    format!("link {}", fs::read_link(&path).unwrap().display())
                } else {
                    format!("file {:?}", fs::read(&path).unwrap())
                };
                let line = format!(
                    "{what} mode {:o} nlink {} uid {}",
                    meta.mode(),
                    meta.nlink(),
                    meta.uid()
                );
                seen.insert(path, line);
            }
        }
        seen
    }

    /// Asserts that nothing beside the root was created, removed or changed.
    pub fn assert_host_unchanged(&self) {
        assert_eq!(
            self.outside_root(),
            self.before,
            "something outside the root changed"
        );
    }
}

/// The bytes, mode and link count of a host file, to check it is unchanged.
pub fn fingerprint(path: &Path) -> Option<(Vec<u8>, u32, u64)> {
    let meta = fs::metadata(path).ok()?;
    Some((fs::read(path).ok()?, meta.mode(), meta.nlink()))
}

/// gzip-compresses a stream.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}
