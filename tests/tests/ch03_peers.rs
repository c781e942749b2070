//! Chapter 03's store and archives read and written by skopeo and umoci: berth's
//! `images/` directory is an OCI image layout others can open, `save` writes an archive
//! skopeo accepts, and berth loads the OCI archives skopeo makes (zstd layers too).
//!
//! The tests need skopeo, umoci and podman (apt) and skip with a reason without them;
//! podman loads berth's `save` output into a private store of its own.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_tests::oracle::{ch03, image_store, tar_dir, tool};
use berth_tests::{TestEnv, assert_nothing_left};

/// A one-layer image berth imported from the test's busybox tree, holding `/greeting`.
fn imported_image(env: &TestEnv, scratch: &Path, name: &str) {
    fs::write(env.rootfs().join("greeting"), "hello from berth\n").unwrap();
    let tarball = scratch.join("rootfs.tar");
    tar_dir(env.rootfs(), &tarball);
    ch03(env, &["import", &tarball.to_string_lossy(), name]).assert_success();
}

/// Runs a peer tool, which must succeed; its stdout.
fn peer(tool: &Path, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}",
        tool.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn index_json(env: &TestEnv) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(image_store(env).join("index.json")).unwrap()).unwrap()
}

fn peers(test: &str) -> Option<(PathBuf, PathBuf)> {
    Some((tool(test, "skopeo")?, tool(test, "umoci")?))
}

#[test]
fn skopeo_and_umoci_read_berths_image_store() {
    let test = "skopeo_and_umoci_read_berths_image_store";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some((skopeo, umoci)) = peers(test) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    imported_image(&env, scratch.path(), "peer-read:v1");
    let store = image_store(&env);
    let reference = format!(
        "oci:{}:docker.io/library/peer-read:v1",
        store.to_string_lossy()
    );

    let inspected: serde_json::Value =
        serde_json::from_str(&peer(&skopeo, &["inspect", &reference])).unwrap();
    let recorded = &index_json(&env)["manifests"][0];
    assert_eq!(inspected["Digest"], recorded["digest"]);
    assert_eq!(inspected["Layers"].as_array().unwrap().len(), 1);
    assert_eq!(inspected["Os"], "linux");

    let listed = peer(&umoci, &["ls", "--layout", &store.to_string_lossy()]);
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["docker.io/library/peer-read:v1"]
    );
}

#[test]
fn skopeo_copies_berths_save_and_berth_loads_skopeos_zstd_oci_archive() {
    let test = "skopeo_copies_berths_save_and_berth_loads_skopeos_zstd_oci_archive";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some((skopeo, _)) = peers(test) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    imported_image(&env, scratch.path(), "peer-copy:v1");
    let saved = scratch.path().join("berth-save.tar");
    ch03(
        &env,
        &["save", "-o", &saved.to_string_lossy(), "peer-copy:v1"],
    )
    .assert_success();

    // skopeo reads berth's archive as docker's format.
    let oci_plain = scratch.path().join("plain-oci.tar");
    peer(
        &skopeo,
        &[
            "copy",
            &format!("docker-archive:{}", saved.display()),
            &format!("oci-archive:{}:copied:v1", oci_plain.display()),
        ],
    );
    // And berth reads what skopeo wrote, with every layer recompressed as zstd.
    let oci_zstd = scratch.path().join("zstd-oci.tar");
    peer(
        &skopeo,
        &[
            "copy",
            "--dest-compress-format",
            "zstd",
            &format!("docker-archive:{}", saved.display()),
            &format!("oci-archive:{}:zstd-copy:v1", oci_zstd.display()),
        ],
    );
    let manifest = skopeo_manifest(&skopeo, &oci_zstd);
    assert!(
        manifest["layers"][0]["mediaType"]
            .as_str()
            .unwrap()
            .ends_with("+zstd"),
        "skopeo did not write zstd layers: {manifest}"
    );
    for (archive, name) in [(&oci_plain, "copied:v1"), (&oci_zstd, "zstd-copy:v1")] {
        let loaded = ch03(&env, &["load", "-i", &archive.to_string_lossy()]);
        loaded.assert_success();
        assert_eq!(loaded.stdout.trim_end(), format!("Loaded image: {name}"));
        let ran = ch03(&env, &["run", name, "cat", "/greeting"]);
        ran.assert_success();
        assert_eq!(ran.stdout, "hello from berth\n");
    }
    assert_nothing_left(&env);
}

fn skopeo_manifest(skopeo: &Path, archive: &Path) -> serde_json::Value {
    let raw = peer(
        skopeo,
        &[
            "inspect",
            "--raw",
            &format!("oci-archive:{}", archive.display()),
        ],
    );
    serde_json::from_str(&raw).unwrap()
}

#[test]
fn podman_loads_berths_save_output_with_the_same_id() {
    let test = "podman_loads_berths_save_output_with_the_same_id";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some(podman) = tool(test, "podman") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    imported_image(&env, scratch.path(), "peer-podman:v1");
    let archive = scratch.path().join("saved.tar");
    ch03(
        &env,
        &["save", "-o", &archive.to_string_lossy(), "peer-podman:v1"],
    )
    .assert_success();

    // A private podman store, so the machine's own is untouched; vfs needs no mounts.
    let root = scratch.path().join("podman-root");
    let runroot = scratch.path().join("podman-run");
    let private = |args: &[&str]| {
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "--storage-driver",
            "vfs",
        ];
        all.extend_from_slice(args);
        peer(&podman, &all)
    };
    let loaded = private(&["load", "-i", &archive.to_string_lossy()]);
    assert!(
        loaded.contains("Loaded image: docker.io/library/peer-podman:v1"),
        "{loaded}"
    );
    let id = private(&["image", "inspect", "--format", "{{.Id}}", "peer-podman:v1"]);
    let ours = index_json(&env);
    assert!(ours["manifests"].as_array().is_some_and(|m| m.len() == 1));
    let berth_id = ch03(
        &env,
        &["image", "inspect", "--format", "{{.Id}}", "peer-podman:v1"],
    );
    assert_eq!(format!("sha256:{}", id.trim()), berth_id.stdout.trim());
    assert_nothing_left(&env);
}
