//! Chapter 03 against a real docker: images docker made unpack under berth to the tree
//! docker exports, berth's archives load back into docker and run, and `load` prints
//! what `docker load` prints.
//!
//! Every test needs the oracle dockerd (`BERTH_ORACLE_DOCKER`, started by
//! `cargo xtask test`) and skips with a reason without it.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use berth_tests::env::{exit_code, wait_with_timeout};
use berth_tests::oracle::{
    Docker, INIT_LAYER, Node, ch03, ch03_command, hardlink_groups, image_store, tree,
};
use berth_tests::{TestEnv, assert_nothing_left, env::RUN_TIMEOUT};

/// The lower layer: what the upper layer deletes, empties and changes.
const LOWER_LAYER: &str = "
mkdir -p /lower/gone/sub /lower/opaque /lower/keep
echo old > /lower/opaque/old
echo doomed > /lower/delete-me
echo kept > /lower/keep/file
echo gone > /lower/gone/sub/file
";

// ANCHOR: oracle_layer
/// The upper layer: one of each thing a layer tar has to express.
const UPPER_LAYER: &str = "
set -e
rm /lower/delete-me
rm -r /lower/gone
rm -r /lower/opaque && mkdir /lower/opaque && echo new > /lower/opaque/new
ln -s /lower/keep/file /absolute-link
ln -s ../keep/file /lower/opaque/relative-link
echo linked > /hard-one && ln /hard-one /hard-two
chmod 4755 /lower/keep/file
chown 1000:1000 /lower/keep
chown 1000:65534 /lower/opaque/new && chmod 640 /lower/opaque/new
mkdir -m 2775 /shared && mkdir -m 1777 /scratch
mkfifo /pipe
mkdir -p /deep/a/b/c/d && echo deep > /deep/a/b/c/d/file
";
// ANCHOR_END: oracle_layer

#[test]
fn docker_built_image_unpacks_to_exactly_the_tree_docker_exports() {
    let test = "docker_built_image_unpacks_to_exactly_the_tree_docker_exports";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let base = docker.name("base");
    let lower = docker.name("lower");
    let upper = docker.name("upper");
    docker.import(env.rootfs(), &base);
    docker.commit(&base, &lower, LOWER_LAYER);
    docker.commit(&lower, &upper, UPPER_LAYER);

    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("upper.tar");
    docker.ok(&["save", "-o", &archive.to_string_lossy(), &upper]);
    ch03(&env, &["load", "-i", &archive.to_string_lossy()]).assert_success();

    let exported = scratch.path().join("export");
    docker.export_into(&upper, &exported);
    let docker_tree = tree(&exported, INIT_LAYER);
    let docker_links = hardlink_groups(&exported, INIT_LAYER);
    // The image really holds what the comparison is about.
    let paths: BTreeSet<&str> = docker_tree.iter().map(|n| n.path.as_str()).collect();
    for present in ["lower/opaque/new", "pipe", "deep/a/b/c/d/file", "hard-two"] {
        assert!(paths.contains(present), "docker's export lacks {present}");
    }
    for absent in ["lower/opaque/old", "lower/delete-me", "lower/gone"] {
        assert!(
            !paths.contains(absent),
            "docker's export still has {absent}"
        );
    }

    let (berth_tree, berth_links) = berth_tree_while_running(&env, &upper);
    assert_same_tree(&docker_tree, &berth_tree);
    assert_eq!(docker_links, berth_links, "hardlink groups differ");
    assert_eq!(
        docker_links,
        BTreeSet::from([vec!["hard-one".to_string(), "hard-two".to_string()]])
    );
    assert_nothing_left(&env);
}

/// Runs `image` under `ch03 run -i` and reads the root filesystem berth unpacked for it
/// from the host while the container waits on its stdin.
fn berth_tree_while_running(env: &TestEnv, image: &str) -> (BTreeSet<Node>, BTreeSet<Vec<String>>) {
    let mut command = ch03_command(
        env,
        &["run", "-i", image, "sh", "-c", "echo ready; read line"],
    );
    command.stdin(std::process::Stdio::piped());
    let mut child = command.spawn().expect("starting ch03 run");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("reading the container's stdout");
    assert_eq!(line, "ready\n", "the container did not start");
    let rootfs_dir = env.state.path().join("rootfs");
    // One directory per run (beside the runs' lock file), the root inside it.
    let roots: Vec<_> = fs::read_dir(&rootfs_dir)
        .expect("berth's rootfs directory")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|run| run.join("rootfs"))
        .collect();
    assert_eq!(roots.len(), 1, "one unpacked root: {roots:?}");
    let facts = (
        tree(&roots[0], INIT_LAYER),
        hardlink_groups(&roots[0], INIT_LAYER),
    );
    // A line ends `read`, and with it the container.
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"done\n")
        .expect("writing to the container's stdin");
    drop(stdin);
    let status = wait_with_timeout(&mut child, RUN_TIMEOUT).expect("the container ended");
    assert_eq!(exit_code(status), 0);
    assert!(
        !roots[0].exists(),
        "the unpacked root outlived its container"
    );
    facts
}

fn assert_same_tree(docker: &BTreeSet<Node>, berth: &BTreeSet<Node>) {
    let only_docker: Vec<&Node> = docker.difference(berth).collect();
    let only_berth: Vec<&Node> = berth.difference(docker).collect();
    assert!(
        only_docker.is_empty() && only_berth.is_empty(),
        "the trees differ ({} entries in docker's export)\nonly in docker's: {only_docker:#?}\nonly in berth's: {only_berth:#?}",
        docker.len()
    );
}

/// The id berth gives the image named `name`: the digest of its config.
fn berth_image_id(env: &TestEnv, name: &str) -> String {
    let store = image_store(env);
    let index: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(store.join("index.json")).unwrap()).unwrap();
    let wanted = format!("docker.io/library/{name}");
    let manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == wanted.as_str())
        .unwrap_or_else(|| panic!("{wanted} is not in index.json: {index}"));
    let blob = |digest: &serde_json::Value| {
        let hex = digest.as_str().unwrap().trim_start_matches("sha256:");
        store.join("blobs/sha256").join(hex)
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(blob(&manifest["digest"])).unwrap()).unwrap();
    manifest["config"]["digest"].as_str().unwrap().to_string()
}

#[test]
fn berth_save_loads_into_docker_and_runs_with_the_same_id() {
    let test = "berth_save_loads_into_docker_and_runs_with_the_same_id";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let name = docker.name("saved");
    let tagged = format!("{name}:latest");
    fs::write(env.rootfs().join("greeting"), "made by berth\n").unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let rootfs_tar = scratch.path().join("rootfs.tar");
    berth_tests::oracle::tar_dir(env.rootfs(), &rootfs_tar);
    ch03(&env, &["import", &rootfs_tar.to_string_lossy(), &name]).assert_success();
    let saved = scratch.path().join("berth-save.tar");
    ch03(&env, &["save", "-o", &saved.to_string_lossy(), &name]).assert_success();

    let loaded = docker.ok(&["load", "-i", &saved.to_string_lossy()]);
    assert_eq!(loaded, format!("Loaded image: {tagged}"));
    let docker_id = docker.ok(&["image", "inspect", "-f", "{{.Id}}", &tagged]);
    assert_eq!(docker_id, berth_image_id(&env, &tagged));
    let ran = docker.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &tagged,
        "cat",
        "/greeting",
    ]);
    assert_eq!(ran, "made by berth");
}

#[test]
fn multi_layer_image_round_trips_through_berth_into_docker() {
    let test = "multi_layer_image_round_trips_through_berth_into_docker";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let base = docker.name("rt-base");
    let image = docker.name("rt");
    docker.import(env.rootfs(), &base);
    docker.commit(&base, &image, "echo second layer > /second");
    let scratch = tempfile::tempdir().unwrap();
    let from_docker = scratch.path().join("docker.tar");
    let from_berth = scratch.path().join("berth.tar");
    docker.ok(&["save", "-o", &from_docker.to_string_lossy(), &image]);
    let id = docker.ok(&["image", "inspect", "-f", "{{.Id}}", &image]);
    ch03(&env, &["load", "-i", &from_docker.to_string_lossy()]).assert_success();
    ch03(&env, &["save", "-o", &from_berth.to_string_lossy(), &image]).assert_success();
    docker.ok(&["rmi", &image]);
    let loaded = docker.ok(&["load", "-i", &from_berth.to_string_lossy()]);
    assert_eq!(loaded, format!("Loaded image: {image}:latest"));
    assert_eq!(
        docker.ok(&["image", "inspect", "-f", "{{.Id}}", &image]),
        id
    );
    let ran = docker.ok(&["run", "--rm", "--network", "none", &image, "cat", "/second"]);
    assert_eq!(ran, "second layer");
}

// ANCHOR: load_lines_oracle
#[test]
fn load_prints_the_lines_docker_load_prints() {
    let test = "load_prints_the_lines_docker_load_prints";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let first = docker.name("first");
    let second = docker.name("second");
    let moving = format!("{}:v1", docker.name("moving"));
    docker.import(env.rootfs(), &first);
    docker.commit(&first, &second, "echo two > /two");
    let scratch = tempfile::tempdir().unwrap();
    let archive = |what: &str, image: &str| {
        let path = scratch.path().join(format!("{what}.tar"));
        docker.ok(&["save", "-o", &path.to_string_lossy(), image]);
        path.to_string_lossy().into_owned()
    };
    let second_id = docker.ok(&["image", "inspect", "-f", "{{.Id}}", &second]);
    let untagged = archive("untagged", &second_id);
    docker.ok(&["tag", &first, &moving]);
    let moving_first = archive("moving-first", &moving);
    docker.ok(&["tag", &second, &moving]);
    let moving_second = archive("moving-second", &moving);
    docker.ok(&["rmi", &moving]);

    // The same archives in the same order: the tag appears, then moves.
    for (step, archive) in [
        ("untagged", &untagged),
        ("tagged", &moving_first),
        ("tag moves", &moving_second),
        ("same again", &moving_second),
    ] {
        let expected = docker.ok(&["load", "-i", archive]);
        let berth = ch03(&env, &["load", "-i", archive]);
        berth.assert_success();
        assert_eq!(
            berth.stdout.trim_end(),
            expected,
            "{step}: berth {berth:#?}"
        );
    }
    assert!(
        fs::read_to_string(image_store(&env).join("index.json"))
            .unwrap()
            .contains(&format!("docker.io/library/{moving}"))
    );
}
// ANCHOR_END: load_lines_oracle

#[test]
fn export_facts_ignore_only_the_init_layer() {
    // The comparison above is only as good as its exclusions: nothing but docker's
    // init layer may be left out, and a tree built by hand shows every fact.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/hosts"), "").unwrap();
    fs::write(root.join("etc/passwd"), "root").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
    fs::hard_link(root.join("etc/passwd"), root.join("copy")).unwrap();
    let nodes = tree(root, INIT_LAYER);
    let paths: Vec<&str> = nodes.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["copy", "etc", "etc/passwd", "link"]);
    let link = nodes.iter().find(|n| n.path == "link").unwrap();
    assert_eq!(
        (link.kind, link.link.as_deref()),
        ("symlink", Some("/etc/passwd"))
    );
    assert_eq!(nodes.iter().find(|n| n.path == "copy").unwrap().size, 4);
    assert_eq!(
        hardlink_groups(root, INIT_LAYER),
        BTreeSet::from([vec!["copy".to_string(), "etc/passwd".to_string()]])
    );
    assert!(Path::new(root).exists());
}

#[test]
fn load_accepts_an_archive_repacked_with_dot_slash_members_as_docker_does() {
    let test = "load_accepts_an_archive_repacked_with_dot_slash_members_as_docker_does";
    let Some(env) = TestEnv::new(test) else {
        return;
    };
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let image = docker.name("repacked");
    docker.import(env.rootfs(), &image);
    let scratch = tempfile::tempdir().unwrap();
    let saved = scratch.path().join("saved.tar");
    docker.ok(&["save", "-o", &saved.to_string_lossy(), &image]);
    // Unpacked and packed again the way people do by hand: every member under `./`.
    let unpacked = scratch.path().join("unpacked");
    fs::create_dir(&unpacked).unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&saved)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let repacked = scratch.path().join("repacked.tar");
    berth_tests::oracle::tar_dir(&unpacked, &repacked);
    docker.ok(&["rmi", &image]);
    let expected = docker.ok(&["load", "-i", &repacked.to_string_lossy()]);
    let berth = ch03(&env, &["load", "-i", &repacked.to_string_lossy()]);
    berth.assert_success();
    assert_eq!(berth.stdout.trim_end(), expected);
}
