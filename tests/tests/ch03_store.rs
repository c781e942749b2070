//! Chapter 03's store under stress, no docker needed: a load killed half-way leaves
//! index.json as it was, two loads at once both land, and the 127-layer limit holds
//! exactly where docker puts it.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_tests::env::{eventually, exit_code, finish, spawn, wait_with_timeout};
use berth_tests::oracle::{ch03, ch03_command, image_store, write_docker_archive};
use berth_tests::{TestEnv, assert_nothing_left};

/// A layer directory holding one file `name` with `content`.
fn layer_with(parent: &Path, index: usize, name: &str, content: &[u8]) -> PathBuf {
    let dir = parent.join(format!("layer-{index}"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), content).unwrap();
    dir
}

/// The test's busybox tree as the first layer, then `extra` one-file layers.
fn busybox_layers(env: &TestEnv, scratch: &Path, extra: usize) -> Vec<PathBuf> {
    let mut layers = vec![env.rootfs().to_path_buf()];
    for index in 0..extra {
        let name = format!("file-{index}");
        layers.push(layer_with(
            scratch,
            index,
            &name,
            format!("{index}\n").as_bytes(),
        ));
    }
    layers
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    let mut file = fs::File::open("/dev/urandom").unwrap();
    std::io::Read::read_exact(&mut file, &mut bytes).unwrap();
    bytes
}

// ANCHOR: killed_load
#[test]
fn killed_load_leaves_index_json_unchanged_and_the_next_load_works() {
    let test = "killed_load_leaves_index_json_unchanged_and_the_next_load_works";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let small = scratch.path().join("small.tar");
    write_docker_archive(&busybox_layers(&env, scratch.path(), 0), "small:v1", &small);
    ch03(&env, &["load", "-i", &small.to_string_lossy()]).assert_success();
    let index = image_store(&env).join("index.json");
    let before = fs::read(&index).unwrap();

    // Three 48 MiB layers of random data: big enough to be caught half-way.
    let big_layers: Vec<PathBuf> = (0..3)
        .map(|i| layer_with(scratch.path(), i, "noise", &random_bytes(48 << 20)))
        .collect();
    let big = scratch.path().join("big.tar");
    write_docker_archive(&big_layers, "big:v1", &big);
    let mut load = spawn(&mut ch03_command(
        &env,
        &["load", "-i", &big.to_string_lossy()],
    ));
    let tmp = image_store(&env).join("tmp");
    let writing = eventually(Duration::from_secs(30), || {
        fs::read_dir(&tmp).is_ok_and(|mut entries| entries.next().is_some())
    });
    assert!(writing, "the load never started writing a blob");
    load.kill().unwrap();
    let status = wait_with_timeout(&mut load, Duration::from_secs(10)).unwrap();
    assert_eq!(
        exit_code(status),
        128 + 9,
        "the load ended before it was killed"
    );

    assert_eq!(fs::read(&index).unwrap(), before, "index.json changed");
    let again = ch03(&env, &["load", "-i", &big.to_string_lossy()]);
    again.assert_success();
    assert_eq!(again.stdout, "Loaded image: big:v1\n");
    let ran = ch03(&env, &["run", "small:v1", "cat", "/etc/hostname"]);
    ran.assert_success();
    assert_nothing_left(&env);
}
// ANCHOR_END: killed_load

#[test]
fn two_loads_at_once_both_succeed() {
    let test = "two_loads_at_once_both_succeed";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let archives: Vec<(PathBuf, String)> = (0..2)
        .map(|i| {
            let dir = scratch.path().join(format!("image-{i}"));
            let mut layers = busybox_layers(&env, &dir, 0);
            layers.push(layer_with(&dir, 0, "noise", &random_bytes(16 << 20)));
            let path = scratch.path().join(format!("image-{i}.tar"));
            let name = format!("together-{i}:v1");
            write_docker_archive(&layers, &name, &path);
            (path, name)
        })
        .collect();
    let loads: Vec<_> = archives
        .iter()
        .map(|(path, _)| {
            spawn(&mut ch03_command(
                &env,
                &["load", "-i", &path.to_string_lossy()],
            ))
        })
        .collect();
    for (load, (_, name)) in loads.into_iter().zip(&archives) {
        let output = finish(load);
        output.assert_success();
        assert_eq!(output.stdout, format!("Loaded image: {name}\n"));
    }
    let index = fs::read_to_string(image_store(&env).join("index.json")).unwrap();
    for (_, name) in &archives {
        assert!(
            index.contains(&format!("docker.io/library/{name}")),
            "{index}"
        );
        ch03(&env, &["run", name, "true"]).assert_success();
    }
    assert_nothing_left(&env);
}

#[test]
fn an_image_of_127_layers_runs_and_128_is_max_depth_exceeded() {
    let test = "an_image_of_127_layers_runs_and_128_is_max_depth_exceeded";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let layers = busybox_layers(&env, scratch.path(), 127);
    let deepest = scratch.path().join("127.tar");
    let too_deep = scratch.path().join("128.tar");
    write_docker_archive(&layers[..127], "deep:127", &deepest);
    write_docker_archive(&layers, "deep:128", &too_deep);
    for archive in [&deepest, &too_deep] {
        ch03(&env, &["load", "-i", &archive.to_string_lossy()]).assert_success();
    }

    // The top layer of 127 is file-125 (the busybox tree is layer one).
    let ran = ch03(&env, &["run", "deep:127", "cat", "/file-0", "/file-125"]);
    ran.assert_success();
    assert_eq!(ran.stdout, "0\n125\n");
    let refused = ch03(&env, &["run", "deep:128", "true"]);
    assert_eq!(refused.code, 125, "{refused:#?}");
    assert!(
        refused.stderr.contains("max depth exceeded"),
        "{refused:#?}"
    );
    // The runs' lock file stays; no run's directory may.
    assert_eq!(
        fs::read_dir(env.state.path().join("rootfs"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
            .count(),
        0,
        "a refused run left an unpacked root behind"
    );
    assert_nothing_left(&env);
}
