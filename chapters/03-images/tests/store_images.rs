//! The image store: blobs by digest, names in index.json, resolution as docker,
//! garbage collection.

use std::fs;
use std::path::Path;

use berth_images::reference::Reference;
use berth_images::store::{Store, StoreError, digest_of};
use oci_spec::image::{Descriptor, Digest, MediaType};

/// Stores a tiny image (one fake layer) whose config differs by `label`, and
/// returns its manifest descriptor.
fn put_image(store: &Store, label: &str, created: &str) -> Descriptor {
    let layer = store
        .put_blob(format!("layer of {label}").as_bytes(), None)
        .unwrap();
    let config = serde_json::json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"which": label}},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest.to_string()]},
    });
    let config = store.put_blob(config.to_string().as_bytes(), None).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config.digest.to_string(), "size": config.size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer.digest.to_string(), "size": layer.size}],
    });
    let manifest = store
        .put_blob(manifest.to_string().as_bytes(), None)
        .unwrap();
    Descriptor::new(MediaType::ImageManifest, manifest.size, manifest.digest)
}

fn name(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn blob_count(root: &Path) -> usize {
    fs::read_dir(root.join("blobs/sha256")).unwrap().count()
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_at(dir.path().join("images")).unwrap();
    (dir, store)
}

#[test]
fn a_new_store_is_an_empty_oci_layout() {
    let (_dir, store) = new_store();
    let layout = fs::read_to_string(store.root().join("oci-layout")).unwrap();
    assert_eq!(layout, r#"{"imageLayoutVersion":"1.0.0"}"#);
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(store.root().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["manifests"], serde_json::json!([]));
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn blobs_are_named_by_their_digest_and_a_wrong_digest_leaves_nothing() {
    let (_dir, store) = new_store();
    let blob = store.put_blob(&b"hello"[..], None).unwrap();
    assert_eq!(
        blob.digest.to_string(),
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(blob.size, 5);
    assert_eq!(
        fs::read(store.blob_path(&blob.digest).unwrap()).unwrap(),
        b"hello"
    );

    let wrong: Digest = blob.digest.clone();
    let err = store.put_blob(&b"hellO"[..], Some(&wrong)).unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
    assert_eq!(blob_count(store.root()), 1);
    assert_eq!(fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
}

#[test]
fn verify_blob_notices_a_changed_file() {
    let (_dir, store) = new_store();
    let blob = store.put_blob(&b"content"[..], None).unwrap();
    assert_eq!(store.verify_blob(&blob.digest).unwrap(), blob);
    fs::write(store.blob_path(&blob.digest).unwrap(), b"c0ntent").unwrap();
    assert!(matches!(
        store.verify_blob(&blob.digest),
        Err(StoreError::DigestMismatch { .. })
    ));
    let missing = digest_of(&b"never stored"[..]).unwrap().digest;
    assert!(matches!(
        store.open_blob(&missing),
        Err(StoreError::MissingBlob { .. })
    ));
}

#[test]
fn names_resolve_as_docker_resolves_them() {
    let (_dir, store) = new_store();
    let manifest = put_image(&store, "one", "2024-01-01T00:00:00Z");
    assert_eq!(store.tag(&manifest, &name("busybox")).unwrap(), None);
    let image = store.resolve("busybox").unwrap();
    let id = image.id.to_string();
    assert_eq!(image.names, vec![name("busybox:latest")]);
    assert_eq!(image.manifest.digest(), manifest.digest());
    assert_eq!(image.created.as_deref(), Some("2024-01-01T00:00:00Z"));

    for alias in [
        "busybox:latest",
        "docker.io/library/busybox",
        id.as_str(),
        &id["sha256:".len()..],
        &id["sha256:".len().."sha256:".len() + 12],
        &id[..13],
        &format!("busybox@{}", manifest.digest()),
    ] {
        assert_eq!(store.resolve(alias).unwrap().id, image.id, "{alias}");
    }
    assert!(matches!(
        store.resolve("busybox:1.0"),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.resolve("nothing").unwrap_err().to_string(),
        "No such image: nothing"
    );
    assert_eq!(
        store.resolve("Bad").unwrap_err().to_string(),
        "invalid reference format: repository name (library/Bad) must be lowercase"
    );
}

#[test]
fn an_ambiguous_id_prefix_is_refused() {
    let (_dir, store) = new_store();
    let mut ids = Vec::new();
    // Enough images that two ids share a first hex digit (pigeonhole: 17 > 16).
    for n in 0..17 {
        let manifest = put_image(&store, &format!("image {n}"), "2024-01-01T00:00:00Z");
        store.record(&[(manifest, vec![])]).unwrap();
    }
    for image in store.images().unwrap() {
        ids.push(image.id.digest().to_string());
    }
    assert_eq!(ids.len(), 17);
    let shared = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|id| id.starts_with(p.as_str())).count() > 1)
        .unwrap();
    assert_eq!(
        store.resolve(&shared).unwrap_err().to_string(),
        format!("multiple IDs found with provided prefix: {shared}")
    );
}

#[test]
fn index_json_names_each_tag_for_skopeo_umoci_and_containerd() {
    let (_dir, store) = new_store();
    let manifest = put_image(&store, "one", "2024-01-01T00:00:00Z");
    store
        .record(&[(
            manifest.clone(),
            vec![name("busybox"), name("host:5000/ns/repo:v1")],
        )])
        .unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(store.root().join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    let names: Vec<&str> = manifests
        .iter()
        .map(|m| {
            assert_eq!(m["digest"], manifest.digest().to_string());
            assert_eq!(
                m["annotations"]["org.opencontainers.image.ref.name"],
                m["annotations"]["io.containerd.image.name"]
            );
            m["annotations"]["io.containerd.image.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        names,
        ["docker.io/library/busybox:latest", "host:5000/ns/repo:v1"]
    );
    let images = store.images().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].names.len(), 2);
}

#[test]
fn moving_a_name_reports_the_old_image_which_stays_untagged() {
    let (_dir, store) = new_store();
    let old = put_image(&store, "old", "2024-01-01T00:00:00Z");
    let new = put_image(&store, "new", "2024-02-01T00:00:00Z");
    store.tag(&old, &name("app:1")).unwrap();
    let old_id = store.resolve("app:1").unwrap().id;
    let replaced = store.record(&[(new.clone(), vec![name("app:1")])]).unwrap();
    assert_eq!(replaced.len(), 1);
    assert_eq!(replaced[0].old_id, old_id);
    assert_eq!(replaced[0].name, name("app:1"));

    let images = store.images().unwrap();
    assert_eq!(images.len(), 2, "the old image is kept as <none>");
    assert_eq!(images[0].names, vec![name("app:1")], "newest first");
    assert!(images[1].names.is_empty());
    assert_eq!(images[1].id, old_id);

    // Naming the same image again replaces nothing.
    assert_eq!(store.tag(&new, &name("app:1")).unwrap(), None);
}

#[test]
fn untag_then_remove_then_collect_frees_only_unshared_blobs() {
    let (_dir, store) = new_store();
    let keep = put_image(&store, "keep", "2024-01-01T00:00:00Z");
    let gone = put_image(&store, "gone", "2024-01-01T00:00:00Z");
    store.tag(&keep, &name("keep")).unwrap();
    store.tag(&gone, &name("gone")).unwrap();
    store.tag(&gone, &name("gone:two")).unwrap();
    assert_eq!(blob_count(store.root()), 6);

    let image = store.untag(&name("gone")).unwrap();
    assert_eq!(store.resolve("gone:two").unwrap().id, image.id);
    store.untag(&name("gone:two")).unwrap();
    let untagged = store.resolve(image.id.as_ref()).unwrap();
    assert!(untagged.names.is_empty(), "last name gone, image kept");
    assert!(matches!(
        store.untag(&name("gone")),
        Err(StoreError::NotFound { .. })
    ));

    // A leftover of an interrupted write, and a blob nothing refers to.
    fs::write(store.root().join("tmp/blob-leftover"), b"partial").unwrap();
    store.put_blob(&b"orphan"[..], None).unwrap();

    store.remove_image(&image.id).unwrap();
    assert!(store.resolve(image.id.as_ref()).is_err());
    let collected = store.garbage_collect().unwrap();
    assert_eq!(collected.blobs.len(), 4, "manifest, config, layer, orphan");
    assert_eq!(blob_count(store.root()), 3);
    assert_eq!(fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
    let kept = store.resolve("keep").unwrap();
    store.manifest(&kept).unwrap();
    store.config(&kept).unwrap();
}

#[test]
fn recording_an_image_with_a_missing_blob_is_refused() {
    let (_dir, store) = new_store();
    let manifest = put_image(&store, "one", "2024-01-01T00:00:00Z");
    let layer = store.manifest_layers_for_test(&manifest);
    fs::remove_file(store.blob_path(&layer).unwrap()).unwrap();
    assert!(matches!(
        store.record(&[(manifest, vec![name("x")])]),
        Err(StoreError::MissingBlob { .. })
    ));
    assert!(store.images().unwrap().is_empty());
}

#[test]
fn concurrent_taggers_lose_no_name() {
    let (_dir, store) = new_store();
    let manifests: Vec<Descriptor> = (0..8)
        .map(|n| put_image(&store, &format!("{n}"), "2024-01-01T00:00:00Z"))
        .collect();
    std::thread::scope(|scope| {
        for (n, manifest) in manifests.iter().enumerate() {
            let store = store.clone();
            scope.spawn(move || {
                store
                    .tag(manifest, &name(&format!("repo{n}:latest")))
                    .unwrap()
            });
        }
    });
    let images = store.images().unwrap();
    assert_eq!(images.len(), 8);
    for n in 0..8 {
        store.resolve(&format!("repo{n}")).unwrap();
    }
}

/// Test helper: the first layer's digest of a stored manifest.
trait FirstLayer {
    fn manifest_layers_for_test(&self, manifest: &Descriptor) -> Digest;
}

impl FirstLayer for Store {
    fn manifest_layers_for_test(&self, manifest: &Descriptor) -> Digest {
        self.read_manifest(manifest.digest()).unwrap().layers()[0]
            .digest()
            .clone()
    }
}

#[test]
fn read_json_blob_refuses_a_changed_file() {
    let (_dir, store) = new_store();
    let blob = store.put_blob(&b"{\"a\":1}"[..], None).unwrap();
    assert_eq!(
        store.read_json_blob(&blob.digest, "config").unwrap(),
        b"{\"a\":1}"
    );
    fs::write(store.blob_path(&blob.digest).unwrap(), b"{\"a\":2}").unwrap();
    assert!(matches!(
        store.read_json_blob(&blob.digest, "config"),
        Err(StoreError::DigestMismatch { .. })
    ));
}

#[test]
fn the_listing_is_read_again_whenever_index_json_is_replaced() {
    let (dir, store) = new_store();
    let manifest = put_image(&store, "one", "2024-01-01T00:00:00Z");
    let empty_index = fs::read(store.root().join("index.json")).unwrap();
    store.tag(&manifest, &name("one")).unwrap();
    assert_eq!(store.images().unwrap()[0].names, [name("one:latest")]);
    // Asked again with nothing changed: the same answer.
    assert_eq!(store.images().unwrap()[0].names, [name("one:latest")]);
    store.tag(&manifest, &name("two")).unwrap();
    assert_eq!(
        store.images().unwrap()[0].names,
        [name("one:latest"), name("two:latest")]
    );
    // Another process's change: the index replaced by a rename.
    let other = dir.path().join("index.json.new");
    fs::write(&other, &empty_index).unwrap();
    fs::rename(&other, store.root().join("index.json")).unwrap();
    assert!(store.images().unwrap().is_empty());
    // A second store in another directory has its own listing.
    let (_dir2, second) = new_store();
    let manifest = put_image(&second, "three", "2024-01-02T00:00:00Z");
    second.tag(&manifest, &name("three")).unwrap();
    assert_eq!(second.images().unwrap().len(), 1);
    assert!(store.images().unwrap().is_empty());
}
