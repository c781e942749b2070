//! `commit [-a] [-m] [-c …] [-p] CONTAINER [REPO[:TAG]]`: a container's
//! changes become the top layer of a new image.
//!
//! The layer is the overlay's upper directory written as an OCI layer tar
//! (overlay whiteouts turned into `.wh.` entries), or for a plain copy the
//! files docker's naive diff finds. The new config is the parent's with the
//! container's run configuration, the `-c` changes, one more diff id and one
//! more history entry. Nothing is recorded until every blob is stored, so a
//! failed commit leaves no half image (only blobs the next `image prune` takes).

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::os::fd::AsFd;
use std::path::Path;

use berth_engine::cli::CommitArgs;
use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{Engine, Error, Result};
use berth_images::archive::store_manifest;
use berth_images::changes::new_image_request;
use berth_images::reference::Reference;
use berth_images::store::{ImageRecord, Store};
use berth_lifecycle::commands::pause::{container_spec, pause_container, unpause_container};
use berth_lifecycle::record::now_rfc3339;
use berth_lifecycle::state::Status;
use oci_spec::image::{Config, Descriptor, MediaType};
use serde_json::{Value, json};

use super::changes::{ChangeKind, naive_changes};
use super::commit_config::{RunFacts, container_config, merge};
use super::container::{Scratch, Target};
use super::tree::{self, Node, TreeError, open_dir_in};
use super::tree_tar::{TarError, TreeTar, Whiteouts};
use crate::storage::ContainerLayers;
use crate::storage::init_layer::is_init_path;

/// Runs `commit`: prints the new image's id.
pub fn commit(engine: &Engine, args: &CommitArgs) -> Result<i32> {
    let (name, changes) = new_image_request(args.repository.as_deref(), &args.change)?;
    let target = Target::find(engine, &args.container)?;
    target.require_image()?;
    let store = Store::open(&engine.paths)?;
    let image_id = target.record.image_id.clone().unwrap_or_default();
    let parent = store.resolve(&image_id)?;
    let scratch = Scratch::new(engine, &target.record.id)?;
    let layer_path = scratch.path().join("layer.tar");
    let entries = {
        let _paused = PauseGuard::pause(&target, args.pause)?;
        write_layer(&target, &layer_path)?
    };
    let spec = container_spec(&target.world, &target.record)?;
    let container = container_config(&parent_config(&store, &parent)?, &run_facts(&target, &spec));
    // docker's `created_by` of a commit: the container's command without the
    // entrypoint, its words joined by spaces.
    let created_by = container.cmd().clone().unwrap_or_default().join(" ");
    let config = merge(changes, &container);
    let layer = Layer {
        path: &layer_path,
        entries,
        created_by,
    };
    let id = store_image(&store, &target, &parent, &config, args, &layer, name)?;
    println!("{id}");
    Ok(0)
}

/// Freezes a running container while its files are read (`-p`, docker's
/// default), so the layer is one moment of it; thaws it when dropped.
struct PauseGuard<'a> {
    target: Option<&'a Target<'a>>,
}

impl<'a> PauseGuard<'a> {
    fn pause(target: &'a Target<'a>, wanted: bool) -> Result<Self> {
        if !wanted || target.record.state.status != Status::Running {
            return Ok(PauseGuard { target: None });
        }
        pause_container(&target.world, &target.record)?;
        Ok(PauseGuard {
            target: Some(target),
        })
    }
}

impl Drop for PauseGuard<'_> {
    fn drop(&mut self) {
        if let Some(target) = self.target {
            let _ = unpause_container(&target.world, &target.record);
        }
    }
}

// ANCHOR: write_layer
/// Writes the container's changes to `path` as a layer tar; returns how many
/// entries it holds (none: the container changed nothing).
fn write_layer(target: &Target, path: &Path) -> Result<u64> {
    let file = File::create(path)
        .map_err(|e| Error::failed(format!("creating {}: {e}", path.display())))?;
    let mut tar = TreeTar::new(BufWriter::new(file), Whiteouts::Oci);
    let layers = target.layers()?;
    match &layers.layers {
        ContainerLayers::Overlay { upper, .. } => {
            let root = tree::open_root(upper)?;
            tar.append_tree(root.as_fd(), Path::new(""), &|_| false)?;
        }
        ContainerLayers::Copy { rootfs, image } => {
            let root = tree::open_root(rootfs)?;
            for change in naive_changes(rootfs, image, &is_init_path)? {
                let relative = change.path.strip_prefix("/").unwrap_or(&change.path);
                match change.kind {
                    ChangeKind::Deleted => tar.append_whiteout(relative)?,
                    ChangeKind::Added | ChangeKind::Modified => {
                        append_path(&mut tar, root.as_fd(), relative)?
                    }
                }
            }
        }
    }
    let entries = tar.entries();
    let mut out = tar.finish()?;
    out.flush().map_err(|source| TarError::Write { source })?;
    Ok(entries)
}
// ANCHOR_END: write_layer

/// Writes the one file at `relative` under `root` (not what a directory holds).
fn append_path(
    tar: &mut TreeTar<impl Write>,
    root: std::os::fd::BorrowedFd<'_>,
    relative: &Path,
) -> Result<(), TarError> {
    let parent_path = relative.parent().unwrap_or(Path::new(""));
    let name = relative.file_name().unwrap_or_default();
    let Some(parent) =
        open_dir_in(root, parent_path).map_err(TreeError::read("opening", parent_path))?
    else {
        return Ok(());
    };
    let stat = match nix::sys::stat::fstatat(
        parent.as_fd(),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(stat) => stat,
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(TreeError::read("examining", relative)(e).into()),
    };
    let node = Node {
        parent: parent.as_fd(),
        name,
        path: relative,
        stat,
    };
    tar.append_node(&node, relative)
}

fn parent_config(store: &Store, parent: &ImageRecord) -> Result<Config> {
    Ok(store.config(parent)?.config().clone().unwrap_or_default())
}

/// What the container's record and spec say of how it runs.
fn run_facts(target: &Target, spec: &Spec) -> RunFacts {
    let process = spec.process().clone().unwrap_or_default();
    RunFacts {
        process: std::iter::once(target.record.path.clone())
            .chain(target.record.args.iter().cloned())
            .collect(),
        env: process.env().clone().unwrap_or_default(),
        cwd: process.cwd().to_string_lossy().into_owned(),
        hostname: spec.hostname().clone().unwrap_or_default(),
        tty: target.record.config.tty,
        labels: target.record.config.labels.clone().into_iter().collect(),
    }
}

// ANCHOR: store_image
/// Stores the layer (unless empty), the config and the manifest, then names
/// the image: docker's `NewChildImage`. An empty change set adds no layer,
/// only a history entry marked `empty_layer`, as docker does.
fn store_image(
    store: &Store,
    target: &Target,
    parent: &ImageRecord,
    config: &Config,
    args: &CommitArgs,
    layer: &Layer,
    name: Option<Reference>,
) -> Result<String> {
    let layer_path = layer.path;
    let _ingest = store.ingest()?;
    let mut layers: Vec<Descriptor> = store.manifest(parent)?.layers().clone();
    let mut document: Value = serde_json::from_slice(&store.config_bytes(parent)?)
        .map_err(|e| Error::failed(format!("the config of image {}: {e}", parent.id)))?;
    let empty = layer.entries == 0;
    if !empty {
        let mut file = File::open(layer_path)
            .map_err(|e| Error::failed(format!("reading {}: {e}", layer_path.display())))?;
        file.rewind()
            .map_err(|e| Error::failed(format!("reading {}: {e}", layer_path.display())))?;
        let blob = store.put_blob(file, None)?;
        // A plain tar's diff id is its digest.
        push_array(
            &mut document["rootfs"],
            "diff_ids",
            json!(blob.digest.to_string()),
        );
        layers.push(Descriptor::new(
            MediaType::ImageLayer,
            blob.size,
            blob.digest,
        ));
    }
    let created = now_rfc3339();
    let container = &target.record;
    let mut history = json!({
        "created": created,
        "created_by": layer.created_by,
    });
    if let Some(author) = args.author.as_deref().filter(|a| !a.is_empty()) {
        history["author"] = json!(author);
        document["author"] = json!(author);
    } else if let Some(map) = document.as_object_mut() {
        map.remove("author");
    }
    if let Some(comment) = args.message.as_deref().filter(|m| !m.is_empty()) {
        history["comment"] = json!(comment);
    }
    if empty {
        history["empty_layer"] = json!(true);
    }
    push_array(&mut document, "history", history);
    document["created"] = json!(created);
    document["container"] = json!(container.id);
    set_run_config(&mut document, config);
    let bytes = serde_json::to_vec(&document).expect("a config serialises");
    let config_blob = store.put_blob(&bytes[..], None)?;
    let manifest = store_manifest(store, &config_blob, &layers)?;
    store.record(&[(manifest, name.into_iter().collect())])?;
    Ok(config_blob.digest.to_string())
}
// ANCHOR_END: store_image

/// The layer tar written from the container, and its history line.
struct Layer<'a> {
    path: &'a Path,
    entries: u64,
    created_by: String,
}

fn push_array(object: &mut Value, key: &str, item: Value) {
    if !object[key].is_array() {
        object[key] = json!([]);
    }
    object[key]
        .as_array_mut()
        .expect("made an array above")
        .push(item);
}

/// Writes the run configuration into the config document's `config`, keeping
/// the fields berth does not model (docker's `Hostname`, `OnBuild`…) as they were.
fn set_run_config(document: &mut Value, config: &Config) {
    if !document["config"].is_object() {
        document["config"] = json!({});
    }
    let ours = serde_json::to_value(config).expect("a run config serialises");
    let theirs = document["config"]
        .as_object_mut()
        .expect("made an object above");
    for field in [
        "Cmd",
        "Entrypoint",
        "Env",
        "Labels",
        "WorkingDir",
        "User",
        "ExposedPorts",
        "Volumes",
        "StopSignal",
    ] {
        match ours.get(field) {
            Some(value) if !value.is_null() => {
                theirs.insert(field.to_string(), value.clone());
            }
            _ => {
                theirs.remove(field);
            }
        }
    }
}
