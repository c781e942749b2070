//! Chapter 05's commands against docker (the oracle dockerd of `cargo xtask
//! test`): the same image, the same steps in a container; `diff` gives the same
//! set of lines, `export` the same tree but for docker's init layer, and a
//! committed image saved by berth loads and runs in docker.

mod commands_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use berth_tests::oracle::{Docker, INIT_LAYER, tree};
use commands_support::{
    DIRECTORY_CASES, STEPS, STEPS_DIFF, World, make_whiteout_named, sorted_lines,
};

fn untar(tarball: &Path, dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let status = Command::new("tar")
        .args(["--numeric-owner", "--same-owner", "-p", "-x", "-f"])
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .status()
        .expect("running tar");
    assert!(status.success(), "unpacking {}", tarball.display());
}

#[test]
fn diff_and_export_equal_docker_s() {
    let test = "diff_and_export_equal_docker_s";
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let Some(world) = World::new(test) else {
        return;
    };
    let image = docker.name("steps-base");
    docker.import(world.env.rootfs(), &image);
    let container = docker.ok(&["create", "--network", "none", &image, "sh", "-c", STEPS]);
    let started = docker.run(&["start", "-a", &container]);
    let docker_diff = docker.run(&["diff", &container]);
    let scratch = tempfile::tempdir().unwrap();
    let docker_tar = scratch.path().join("docker.tar");
    let exported = docker.run(&["export", "-o", docker_tar.to_str().unwrap(), &container]);
    docker.ok(&["rm", "-f", &container]);
    assert_eq!(started.code, 0, "{started:#?}");
    assert_eq!(exported.code, 0, "{exported:#?}");

    world.ok(&["run", "--name", "steps", "base", "sh", "-c", STEPS]);
    let berth_diff = world.ok(&["diff", "steps"]);
    assert_eq!(sorted_lines(&berth_diff), sorted_lines(&docker_diff.stdout));
    assert_eq!(sorted_lines(&berth_diff), STEPS_DIFF);

    let berth_tar = scratch.path().join("berth.tar");
    world.ok(&["export", "-o", berth_tar.to_str().unwrap(), "steps"]);
    untar(&docker_tar, &scratch.path().join("docker"));
    untar(&berth_tar, &scratch.path().join("berth"));
    let docker_tree = tree(&scratch.path().join("docker"), INIT_LAYER);
    let berth_tree = tree(&scratch.path().join("berth"), INIT_LAYER);
    let only_docker: Vec<_> = docker_tree.difference(&berth_tree).collect();
    let only_berth: Vec<_> = berth_tree.difference(&docker_tree).collect();
    assert!(
        only_docker.is_empty() && only_berth.is_empty(),
        "exports differ: only docker's {only_docker:#?}, only berth's {only_berth:#?}"
    );
    world.clean_up();
}

/// Each of [`DIRECTORY_CASES`] run in docker and in berth, on both of berth's
/// storage drivers: the same lines, and the lines recorded in the case.
#[test]
fn diff_of_directories_equals_docker_s() {
    let test = "diff_of_directories_equals_docker_s";
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    for driver in ["overlay", "vfs"] {
        let Some(world) = World::with_driver(test, Some(driver)) else {
            return;
        };
        let image = docker.name("dirs-base");
        docker.import(world.env.rootfs(), &image);
        for (case, (steps, recorded)) in DIRECTORY_CASES.iter().enumerate() {
            let container = docker.ok(&["create", "--network", "none", &image, "sh", "-c", steps]);
            let started = docker.run(&["start", "-a", &container]);
            let docker_diff = docker.run(&["diff", &container]);
            docker.ok(&["rm", "-f", &container]);
            assert_eq!(started.code, 0, "{started:#?}");
            let docker_lines = sorted_lines(&docker_diff.stdout);
            assert_eq!(docker_lines, *recorded, "docker's diff after {steps}");

            let name = format!("case{case}");
            world.ok(&["run", "--name", &name, "base", "sh", "-c", steps]);
            let berth_diff = world.ok(&["diff", &name]);
            assert_eq!(
                sorted_lines(&berth_diff),
                docker_lines,
                "diff after {steps} on {driver}"
            );
        }
        world.clean_up();
    }
}

/// The names of a tar's entries as written (`./x`, `srv/`), with the target
/// of a hard link (`./a link to ./b`).
fn entry_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            match entry.header().entry_type() {
                tar::EntryType::Link => {
                    let target = entry.link_name_bytes().unwrap();
                    format!("{name} link to {}", String::from_utf8_lossy(&target))
                }
                _ => name,
            }
        })
        .collect()
}

/// `names` without the entries of either engine's init layer, sorted.
fn without_init_layer(names: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = names
        .into_iter()
        .filter(|name| {
            let path = name.trim_start_matches("./").trim_start_matches('/');
            !INIT_LAYER
                .iter()
                .any(|entry| Path::new(path).starts_with(entry))
        })
        .collect();
    kept.sort();
    kept
}

/// The entry names of the last layer of a saved image (`save`'s manifest.json).
fn top_layer_names(archive: &[u8]) -> Vec<String> {
    let mut files = std::collections::HashMap::new();
    let mut outer = tar::Archive::new(archive);
    for entry in outer.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        files.insert(name, data);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let layers = manifest[0]["Layers"].as_array().unwrap();
    let top = layers.last().unwrap().as_str().unwrap();
    let mut names = entry_names(&files[top]);
    names.sort();
    names
}

/// The paths `cp CONTAINER:PATH -` is compared on.
const CP_PATHS: &[&str] = &["/etc/x", "/etc/x/", "/etc/x/.", "/etc/x/new", "/", "/."];

/// `ch05 args…` in `world`, which must succeed; its raw stdout.
fn berth_bytes(world: &World, args: &[&str]) -> Vec<u8> {
    let out = world.command(args).output().unwrap();
    assert!(out.status.success(), "berth {args:?}: {out:?}");
    out.stdout
}

/// `docker args…`, which must succeed; its raw stdout.
fn docker_bytes(docker: &Docker, args: &[&str]) -> Vec<u8> {
    let out = docker.command(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {out:?}");
    out.stdout
}

/// The entry names of `cp` for each of [`CP_PATHS`], then of `export`, of
/// the container `name`; the root's without either engine's init layer
/// (which differ), but for its first entry.
fn stream_names(bytes: &dyn Fn(&[&str]) -> Vec<u8>, name: &str) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for path in CP_PATHS {
        let names = entry_names(&bytes(&["cp", &format!("{name}:{path}"), "-"]));
        all.push(match path.starts_with("/etc") {
            true => names,
            false => {
                let mut kept = vec![names[0].clone()];
                kept.extend(without_init_layer(names));
                kept
            }
        });
    }
    all.push(without_init_layer(entry_names(&bytes(&["export", name]))));
    all
}

/// The names in the tars of `export`, `cp CONTAINER:PATH -` and a committed
/// layer are docker's: directories end with `/`, `dir/.` gives `./`, `./x`,
/// the root gives `/`, `/x`, a hard link points at the name written first.
/// On both storage drivers; the committed layer on overlay, which docker's is.
#[test]
fn tar_entry_names_equal_docker_s() {
    let test = "tar_entry_names_equal_docker_s";
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let steps = format!("{STEPS} && ln /etc/x/new /etc/x/hl && mkdir /etc/x/d");
    let mut theirs = None;
    let mut their_layer = None;
    for driver in ["overlay", "vfs"] {
        let Some(world) = World::with_driver(test, Some(driver)) else {
            return;
        };
        if theirs.is_none() {
            let image = docker.name("names-base");
            docker.import(world.env.rootfs(), &image);
            let container = docker.ok(&["create", "--network", "none", &image, "sh", "-c", &steps]);
            docker.ok(&["start", "-a", &container]);
            theirs = Some(stream_names(
                &|args| docker_bytes(&docker, args),
                &container,
            ));
            let committed = docker.name("names-committed");
            docker.ok(&["commit", &container, &committed]);
            docker.ok(&["rm", "-f", &container]);
            their_layer = Some(top_layer_names(&docker_bytes(
                &docker,
                &["save", &committed],
            )));
        }
        world.ok(&["run", "--name", "names", "base", "sh", "-c", &steps]);
        let ours = stream_names(&|args| berth_bytes(&world, args), "names");
        let theirs = theirs.as_ref().unwrap();
        let what = CP_PATHS.iter().map(|p| format!("cp CONTAINER:{p} -"));
        for ((ours, theirs), what) in ours.iter().zip(theirs).zip(what.chain(["export".into()])) {
            assert_eq!(ours, theirs, "{what} on {driver}");
        }
        if driver == "overlay" {
            world.ok(&["commit", "names", "names-committed"]);
            let ours = top_layer_names(&berth_bytes(&world, &["save", "names-committed"]));
            assert_eq!(Some(ours), their_layer, "the committed layer");
        }
        world.clean_up();
    }
}

/// Files named `.wh.*` copied into a container and out again as a stream: the
/// same entries and the same diff in docker and in berth.
#[test]
fn cp_of_whiteout_names_equals_docker_s() {
    let test = "cp_of_whiteout_names_equals_docker_s";
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let Some(world) = World::new(test) else {
        return;
    };
    let host = world.env.state.path().join("host");
    make_whiteout_named(&host.join("src"));
    fs::write(host.join(".wh.keep"), "not a whiteout\n").unwrap();
    let src = host.join("src").to_str().unwrap().to_string();
    let keep = host.join(".wh.keep").to_str().unwrap().to_string();

    let image = docker.name("wh-base");
    docker.import(world.env.rootfs(), &image);
    let container = docker.ok(&["create", "--network", "none", &image, "true"]);
    docker.ok(&["cp", &src, &format!("{container}:/tmp/")]);
    docker.ok(&["cp", &keep, &format!("{container}:/etc/")]);
    let out = docker
        .command(&["cp", &format!("{container}:/tmp/src"), "-"])
        .output()
        .unwrap();
    let theirs = entry_names(&out.stdout);
    let their_diff = docker.run(&["diff", &container]);
    docker.ok(&["rm", "-f", &container]);

    world.ok(&["create", "--name", "wh", "base", "true"]);
    world.ok(&["cp", &src, "wh:/tmp/"]);
    world.ok(&["cp", &keep, "wh:/etc/"]);
    let out = world.command(&["cp", "wh:/tmp/src", "-"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(entry_names(&out.stdout), theirs);
    let our_diff = world.ok(&["diff", "wh"]);
    assert_eq!(sorted_lines(&our_diff), sorted_lines(&their_diff.stdout));
    world.clean_up();
}

#[test]
fn a_committed_image_saved_by_berth_runs_in_docker() {
    let test = "a_committed_image_saved_by_berth_runs_in_docker";
    let Some(docker) = Docker::connect(test) else {
        return;
    };
    let Some(world) = World::new(test) else {
        return;
    };
    world.ok(&["run", "--name", "steps", "base", "sh", "-c", STEPS]);
    let name = docker.name("committed");
    world.ok(&["commit", "-m", "the steps", "steps", &name]);
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join("committed.tar");
    world.ok(&["save", "-o", archive.to_str().unwrap(), &name]);
    docker.ok(&["load", "-i", archive.to_str().unwrap()]);
    let seen = docker.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &name,
        "sh",
        "-c",
        "cat /etc/keep; ls /etc/x; test -e /etc/del || echo no-del; readlink /lnk",
    ]);
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        ["keep", "m", "new", "no-del", "/etc/keep"]
    );
    let history = docker.ok(&["history", "--format", "{{.Comment}}", &name]);
    assert_eq!(history.lines().next(), Some("the steps"));
    world.clean_up();
}
