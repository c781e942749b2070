//! A store filled with small, reproducible images, and a console that writes
//! into buffers at a fixed "now", for the command tests.
#![allow(dead_code)]

use std::io::Cursor;
use std::time::{Duration, UNIX_EPOCH};

use berth_engine::output::Console;
use berth_engine::state::Paths;
use berth_engine::{Chapter, Engine};
use berth_images::reference::Reference;
use berth_images::store::Store;
use oci_spec::image::{Descriptor, MediaType};
use serde_json::{Value, json};

/// 2024-06-01T12:00:00Z: the "now" every test runs at.
pub const NOW: u64 = 1_717_243_200;

/// A temp state root with an engine and the image store in it.
pub struct Fixture {
    /// Removed (with everything in it) when the fixture is dropped.
    pub dir: tempfile::TempDir,
    pub engine: Engine,
    pub store: Store,
}

impl Fixture {
    /// A fixture whose engine has `chapters` registered (none: nobody uses images).
    pub fn with_chapters(chapters: &[&'static dyn Chapter]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            root: dir.path().join("root"),
            run: dir.path().join("run"),
        };
        let engine = Engine::new("ch03", chapters, paths);
        let store = Store::open(&engine.paths).unwrap();
        Fixture { dir, engine, store }
    }

    pub fn new() -> Fixture {
        Fixture::with_chapters(&[])
    }

    /// Stores an image and gives it `names`; returns its manifest descriptor.
    pub fn add(&self, image: &TestImage, names: &[&str]) -> Descriptor {
        let manifest = image.store_in(&self.store);
        let names: Vec<Reference> = names.iter().map(|n| Reference::parse(n).unwrap()).collect();
        self.store.record(&[(manifest.clone(), names)]).unwrap();
        manifest
    }

    /// The id (`sha256:…`) the image with this name has.
    pub fn id_of(&self, name: &str) -> String {
        self.store.resolve(name).unwrap().id.to_string()
    }

    /// The number of blobs in the store.
    pub fn blob_count(&self) -> usize {
        std::fs::read_dir(self.store.root().join("blobs/sha256"))
            .unwrap()
            .count()
    }
}

/// What a command printed.
#[derive(Debug)]
pub struct Printed {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// Runs `command` with buffers for stdout and stderr, `input` as stdin, at [`NOW`].
pub fn capture(
    input: &str,
    command: impl FnOnce(&mut Console) -> berth_engine::Result<i32>,
) -> Printed {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut input = Cursor::new(input.as_bytes().to_vec());
    let result = command(&mut Console {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        now: UNIX_EPOCH + Duration::from_secs(NOW),
    });
    // The engine prints a command's error as `program: message` on stderr.
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            err.extend_from_slice(format!("ch03: {e}\n").as_bytes());
            e.exit_code()
        }
    };
    Printed {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

/// `seconds` before [`NOW`], as RFC 3339.
pub fn ago(seconds: u64) -> String {
    berth_engine::output::rfc3339_utc(UNIX_EPOCH + Duration::from_secs(NOW - seconds))
}

/// One file of a layer: path and content (a symlink when `link` is set).
pub struct Entry {
    pub path: &'static str,
    pub content: &'static [u8],
    pub link: Option<&'static str>,
}

pub fn file(path: &'static str, content: &'static [u8]) -> Entry {
    Entry {
        path,
        content,
        link: None,
    }
}

pub fn symlink(path: &'static str, target: &'static str) -> Entry {
    Entry {
        path,
        content: b"",
        link: Some(target),
    }
}

/// A plain tar of `entries`, reproducible: fixed owners, modes and times.
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        match entry.link {
            Some(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_link(&mut header, entry.path, target).unwrap();
            }
            None => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(0o644);
                header.set_size(entry.content.len() as u64);
                tar.append_data(&mut header, entry.path, entry.content)
                    .unwrap();
            }
        }
    }
    tar.into_inner().unwrap()
}

/// An image to store: its layers, its config's fields, whether to gzip layers.
pub struct TestImage {
    pub layers: Vec<Vec<u8>>,
    pub created: String,
    pub config: Value,
    pub history: Vec<Value>,
    pub gzip: bool,
}

impl TestImage {
    /// One layer holding `content` at `/file`, created `age` seconds before NOW.
    pub fn simple(content: &'static [u8], age: u64) -> TestImage {
        TestImage {
            layers: vec![layer_tar(&[file("file", content)])],
            created: ago(age),
            config: json!({"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                           "Cmd": ["sh"]}),
            history: Vec::new(),
            gzip: false,
        }
    }

    /// Writes the layers, config and manifest blobs; returns the manifest descriptor.
    pub fn store_in(&self, store: &Store) -> Descriptor {
        let mut diff_ids = Vec::new();
        let mut layer_descriptors = Vec::new();
        for layer in &self.layers {
            diff_ids.push(
                berth_images::store::digest_of(&layer[..])
                    .unwrap()
                    .digest
                    .to_string(),
            );
            let (bytes, media_type) = if self.gzip {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut gz, layer).unwrap();
                (
                    gz.finish().unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            } else {
                (layer.clone(), "application/vnd.oci.image.layer.v1.tar")
            };
            let blob = store.put_blob(&bytes[..], None).unwrap();
            layer_descriptors.push(json!({"mediaType": media_type,
                "digest": blob.digest.to_string(), "size": blob.size}));
        }
        let mut config = json!({
            "architecture": "amd64",
            "os": "linux",
            "created": self.created,
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        if !self.history.is_empty() {
            config["history"] = Value::Array(self.history.clone());
        }
        let config = store.put_blob(config.to_string().as_bytes(), None).unwrap();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config.digest.to_string(), "size": config.size},
            "layers": layer_descriptors,
        });
        let manifest = store
            .put_blob(manifest.to_string().as_bytes(), None)
            .unwrap();
        Descriptor::new(MediaType::ImageManifest, manifest.size, manifest.digest)
    }
}

/// Replaces ids and digests with placeholders, for snapshots: a run of 64
/// hex characters becomes `<hex64>`, a run of 12 (a short id) `<image-id12>`,
/// which keeps the table's columns where they were.
pub fn redact(text: &str) -> String {
    let mut redacted = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, redacted: &mut String| {
        match run.len() {
            64 => redacted.push_str("<hex64>"),
            12 => redacted.push_str("<image-id12>"),
            _ => redacted.push_str(run),
        }
        run.clear();
    };
    for c in text.chars() {
        if matches!(c, '0'..='9' | 'a'..='f') {
            run.push(c);
        } else {
            flush(&mut run, &mut redacted);
            redacted.push(c);
        }
    }
    flush(&mut run, &mut redacted);
    redacted
}
