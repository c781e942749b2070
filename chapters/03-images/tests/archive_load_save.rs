//! load, save and import: round trips, hostile archives, concurrent loads.

use std::fs;
use std::io::Write;

use berth_images::archive::{self, ArchiveError, ImportOptions, SaveItem};
use berth_images::layer::Limits;
use berth_images::reference::Reference;
use berth_images::store::{Store, digest_of};
use serde_json::json;

/// A tar archive built in memory from (path, bytes) members.
fn tar_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, &bytes[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

fn symlink_member(builder: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder.append_link(&mut header, path, target).unwrap();
}

fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let members: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(p, c)| (*p, c.as_bytes().to_vec()))
        .collect();
    tar_of(&members)
}

fn sha(bytes: &[u8]) -> String {
    digest_of(bytes).unwrap().digest.to_string()
}

fn config_for(layers: &[&[u8]], label: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "created": "2024-05-01T10:00:00Z",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Labels": {"l": label}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-05-01T10:00:00Z", "created_by": "test"}],
    }))
    .unwrap()
}

/// A docker-archive as docker 20.10 writes it: `<id>.json`, `<id>/layer.tar`.
fn docker_archive(tags: &[&str], label: &str) -> (Vec<u8>, String) {
    let base = layer(&[
        ("bin/sh", "shell"),
        ("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
    ]);
    let top = layer(&[("app", &format!("app {label}"))]);
    let config = config_for(&[&base, &top], label);
    let id = sha(&config);
    let hex = &id["sha256:".len()..];
    let manifest = json!([{
        "Config": format!("{hex}.json"),
        "RepoTags": tags,
        "Layers": ["aaa/layer.tar", "bbb/layer.tar"],
    }]);
    let archive = tar_of(&[
        ("aaa/VERSION", b"1.0".to_vec()),
        ("aaa/json", b"{}".to_vec()),
        ("aaa/layer.tar", base),
        ("bbb/layer.tar", top),
        (&format!("{hex}.json"), config),
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ]);
    (archive, id)
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_at(dir.path().join("images")).unwrap();
    (dir, store)
}

fn limits() -> Limits {
    Limits::default()
}

/// index.json and the set of blobs, to compare a store before and after.
fn snapshot(store: &Store) -> (Vec<u8>, Vec<String>) {
    let index = fs::read(store.root().join("index.json")).unwrap();
    let mut blobs: Vec<String> = fs::read_dir(store.root().join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    blobs.sort();
    (index, blobs)
}

#[test]
fn a_docker_archive_loads_with_its_names_and_id() {
    let (_dir, store) = new_store();
    let (archive, id) = docker_archive(&["busybox:latest", "me/app:v1"], "one");
    let report = archive::load(&store, &archive[..], &limits()).unwrap();
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.images[0].id.to_string(), id);
    assert_eq!(
        report.images[0].names,
        vec![
            Reference::parse("busybox:latest").unwrap(),
            Reference::parse("me/app:v1").unwrap()
        ]
    );
    assert!(report.replaced.is_empty());
    let image = store.resolve("busybox").unwrap();
    assert_eq!(image.id.to_string(), id);
    let manifest = store.manifest(&image).unwrap();
    assert_eq!(manifest.layers().len(), 2);
    assert_eq!(
        manifest.layers()[0].media_type().to_string(),
        "application/vnd.oci.image.layer.v1.tar"
    );
    // Legacy per-layer metadata is not kept: 2 layers + config + manifest.
    assert_eq!(snapshot(&store).1.len(), 4);

    // Loading the same archive again changes nothing.
    let before = snapshot(&store);
    let again = archive::load(&store, &archive[..], &limits()).unwrap();
    assert!(again.replaced.is_empty());
    assert_eq!(snapshot(&store), before);
}

#[test]
fn compressed_archives_and_layers_load() {
    let (_dir, store) = new_store();
    let plain = layer(&[("f", "zipped")]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gzipped_layer = gz.finish().unwrap();
    let config = config_for(&[&plain], "gz");
    let manifest = json!([{"Config": "c.json", "RepoTags": ["gz:1"], "Layers": ["l.tar.gz"]}]);
    let inner = tar_of(&[
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        ("c.json", config.clone()),
        ("l.tar.gz", gzipped_layer),
    ]);
    let outer = zstd::encode_all(&inner[..], 3).unwrap();
    let report = archive::load(&store, &outer[..], &limits()).unwrap();
    assert_eq!(report.images[0].id.to_string(), sha(&config));
    let image = store.resolve("gz:1").unwrap();
    assert_eq!(
        store.manifest(&image).unwrap().layers()[0]
            .media_type()
            .to_string(),
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
}

#[test]
fn a_repeated_layer_linked_by_symlink_is_followed() {
    let (_dir, store) = new_store();
    let same = layer(&[("x", "same")]);
    let config = config_for(&[&same, &same], "twice");
    let manifest = json!([{"Config": "c.json", "RepoTags": ["twice:1"],
                           "Layers": ["a/layer.tar", "b/layer.tar"]}]);
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in [
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        ("c.json", config),
        ("a/layer.tar", same),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, &bytes[..]).unwrap();
    }
    symlink_member(&mut builder, "b/layer.tar", "../a/layer.tar");
    let archive = builder.into_inner().unwrap();
    archive::load(&store, &archive[..], &limits()).unwrap();
    store.resolve("twice:1").unwrap();
}

#[test]
fn save_then_load_gives_the_same_ids_and_names() {
    let (_dir, store) = new_store();
    archive::load(&store, &docker_archive(&["one:1"], "one").0[..], &limits()).unwrap();
    archive::load(&store, &docker_archive(&["two:2"], "two").0[..], &limits()).unwrap();
    let one = store.resolve("one:1").unwrap();
    let two = store.resolve("two:2").unwrap();
    let items = vec![
        SaveItem {
            image: one.clone(),
            names: one.names.clone(),
        },
        SaveItem {
            image: two.clone(),
            names: vec![],
        },
    ];
    let mut saved = Vec::new();
    archive::save(&store, &items, &mut saved).unwrap();

    // The archive holds both formats, pointing at the same blobs.
    let mut members = Vec::new();
    let mut manifest_json = None;
    let mut index_json = None;
    for entry in tar::Archive::new(&saved[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        match path.as_str() {
            "manifest.json" => manifest_json = Some(bytes),
            "index.json" => index_json = Some(bytes),
            _ => {}
        }
        members.push(path);
    }
    assert!(members.contains(&"oci-layout".to_string()));
    assert!(members.contains(&"repositories".to_string()));
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_json.unwrap()).unwrap();
    assert_eq!(manifest[0]["RepoTags"], json!(["one:1"]));
    assert_eq!(manifest[1]["RepoTags"], json!([]));
    assert_eq!(
        manifest[0]["Config"],
        format!("blobs/sha256/{}", one.id.digest())
    );
    for layer in manifest[0]["Layers"].as_array().unwrap() {
        assert!(members.contains(&layer.as_str().unwrap().to_string()));
    }
    let index: serde_json::Value = serde_json::from_slice(&index_json.unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"],
        json!({"io.containerd.image.name": "docker.io/library/one:1",
               "org.opencontainers.image.ref.name": "1"})
    );
    assert!(index["manifests"][1].get("annotations").is_none());

    // Loaded into an empty store, the OCI index is read: same ids, same manifests.
    let (_dir2, other) = new_store();
    let report = archive::load(&other, &saved[..], &limits()).unwrap();
    let ids: Vec<String> = report.images.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(ids, [one.id.to_string(), two.id.to_string()]);
    assert_eq!(
        other.resolve("one:1").unwrap().manifest.digest(),
        one.manifest.digest()
    );
    assert!(other.resolve(two.id.as_ref()).unwrap().names.is_empty());

    // Only manifest.json (what docker 20.10 reads): still the same ids.
    let docker_only: Vec<(String, Vec<u8>)> = tar::Archive::new(&saved[..])
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            (path, bytes)
        })
        .filter(|(p, _)| p != "index.json" && !p.ends_with('/'))
        .collect();
    let members: Vec<(&str, Vec<u8>)> = docker_only
        .iter()
        .map(|(p, b)| (p.as_str(), b.clone()))
        .collect();
    let (_dir3, third) = new_store();
    let report = archive::load(&third, &tar_of(&members)[..], &limits()).unwrap();
    let ids: Vec<String> = report.images.iter().map(|i| i.id.to_string()).collect();
    assert_eq!(ids, [one.id.to_string(), two.id.to_string()]);
}

#[test]
fn reloading_a_name_reports_the_image_it_took_the_name_from() {
    let (_dir, store) = new_store();
    let (first, first_id) = docker_archive(&["app:1"], "first");
    let (second, second_id) = docker_archive(&["app:1"], "second");
    archive::load(&store, &first[..], &limits()).unwrap();
    let report = archive::load(&store, &second[..], &limits()).unwrap();
    assert_eq!(report.replaced.len(), 1);
    assert_eq!(report.replaced[0].old_id.to_string(), first_id);
    assert_eq!(store.resolve("app:1").unwrap().id.to_string(), second_id);
    assert!(store.resolve(&first_id).unwrap().names.is_empty());
}

/// Each hostile archive is refused and the store stays as it was (after the
/// collector removes what the failed load spooled).
#[test]
fn bad_archives_leave_the_store_unchanged() {
    let (_dir, store) = new_store();
    archive::load(
        &store,
        &docker_archive(&["kept:1"], "kept").0[..],
        &limits(),
    )
    .unwrap();
    let before = snapshot(&store);

    let good_layer = layer(&[("f", "content")]);
    let good_config = config_for(&[&good_layer], "bad");
    let with_manifest = |manifest: serde_json::Value, extra: Vec<(&str, Vec<u8>)>| {
        let mut members = vec![
            ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
            ("c.json", good_config.clone()),
            ("l.tar", good_layer.clone()),
        ];
        members.extend(extra);
        tar_of(&members)
    };
    let wrong_path = format!("blobs/sha256/{}", "0".repeat(64));
    let (full, _) = docker_archive(&["cut:1"], "cut");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "escaping layer path",
            with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["../l.tar"]}]),
                vec![],
            ),
        ),
        (
            "absolute config path",
            with_manifest(
                json!([{"Config": "/etc/passwd", "RepoTags": ["x:1"], "Layers": ["l.tar"]}]),
                vec![],
            ),
        ),
        (
            "missing layer",
            with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["nope.tar"]}]),
                vec![],
            ),
        ),
        (
            "blob not matching its name",
            with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["l.tar"]}]),
                vec![(wrong_path.as_str(), b"other".to_vec())],
            ),
        ),
        (
            "diff id mismatch",
            with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["other.tar"]}]),
                vec![("other.tar", layer(&[("f", "different")]))],
            ),
        ),
        (
            "fewer layers than diff ids",
            with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": []}]),
                vec![],
            ),
        ),
        (
            "invalid name",
            with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["Bad:1"], "Layers": ["l.tar"]}]),
                vec![],
            ),
        ),
        ("truncated tar", full[..full.len() / 2].to_vec()),
        ("tar cut inside the last member", {
            let big = layer(&[("f", &"x".repeat(10_000))]);
            let whole = with_manifest(
                json!([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["l.tar"]}]),
                vec![("big.tar", big)],
            );
            // Drop the end-of-archive blocks and the last 2000 bytes of data.
            whole[..whole.len() - 1024 - 2000].to_vec()
        }),
        (
            "not an archive",
            b"hello, this is not a tar file at all".repeat(20),
        ),
        ("no manifest", tar_of(&[("x", b"y".to_vec())])),
    ];
    for (what, archive) in cases {
        let err = archive::load(&store, &archive[..], &limits())
            .expect_err(what)
            .to_string();
        eprintln!("{what}: {err}");
        assert_eq!(
            fs::read(store.root().join("index.json")).unwrap(),
            before.0,
            "{what}: index.json changed"
        );
        store.garbage_collect().unwrap();
        assert_eq!(snapshot(&store), before, "{what}: blobs left ({err})");
    }
    store.resolve("kept:1").unwrap();
}

#[test]
fn hostile_paths_are_named_in_the_error() {
    let (_dir, store) = new_store();
    let archive = tar_of(&[(
        "manifest.json",
        serde_json::to_vec(&json!([{"Config": "../../etc/shadow", "Layers": []}])).unwrap(),
    )]);
    let err = archive::load(&store, &archive[..], &limits()).unwrap_err();
    assert!(matches!(err, ArchiveError::BadPath { .. }), "{err}");
    assert!(err.to_string().contains("../../etc/shadow"), "{err}");
}

#[test]
fn two_loads_at_once_both_succeed() {
    let (_dir, store) = new_store();
    let archives: Vec<(Vec<u8>, String)> = (0..4)
        .map(|n| docker_archive(&[&format!("para{n}:1")], &format!("{n}")))
        .collect();
    std::thread::scope(|scope| {
        for (archive, _) in &archives {
            let store = store.clone();
            scope.spawn(move || archive::load(&store, &archive[..], &limits()).unwrap());
        }
        // A collector running meanwhile must not take the loads' blobs.
        let store = store.clone();
        scope.spawn(move || store.garbage_collect().unwrap());
    });
    for (n, (_, id)) in archives.iter().enumerate() {
        let image = store.resolve(&format!("para{n}:1")).unwrap();
        assert_eq!(&image.id.to_string(), id);
        store.manifest(&image).unwrap();
    }
    assert!(store.garbage_collect().unwrap().blobs.is_empty());
}

#[test]
fn import_makes_a_one_layer_image() {
    let (_dir, store) = new_store();
    let rootfs = layer(&[("bin/sh", "shell")]);
    let options = ImportOptions {
        comment: "Imported from -".to_string(),
        config: None,
        name: Some(Reference::parse("imported").unwrap()),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&rootfs).unwrap();
    let imported = archive::import(&store, &gz.finish().unwrap()[..], &options, &limits()).unwrap();
    let image = store.resolve("imported:latest").unwrap();
    assert_eq!(image.id, imported.id);
    assert_eq!(imported.replaced, None);
    let config: serde_json::Value =
        serde_json::from_slice(&store.config_bytes(&image).unwrap()).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"], json!([sha(&rootfs)]));
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["history"][0]["comment"], "Imported from -");
    assert_eq!(config["history"][0]["created"], config["created"]);
    assert_eq!(
        store.manifest(&image).unwrap().layers()[0]
            .media_type()
            .to_string(),
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
}
