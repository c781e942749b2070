//! Chapter 05's commands end to end: a container changes, adds and deletes
//! files; `diff` reports it as docker does, `commit` makes an image that sees
//! exactly the changes, `export` writes the merged tree, `cp` copies both ways
//! without ever leaving the container's root.

mod commands_support;

use std::fs;
use std::path::Path;
use std::process::Command;

use commands_support::{
    DIRECTORY_CASES, STEPS, STEPS_DIFF, WHITEOUT_NAMED, World, make_whiteout_named, sorted_lines,
};

#[test]
fn diff_reports_the_steps_as_docker_does() {
    let Some(world) = World::new("diff_reports_the_steps_as_docker_does") else {
        return;
    };
    world.ok(&["run", "--name", "steps", "base", "sh", "-c", STEPS]);
    let diff = world.ok(&["diff", "steps"]);
    assert_eq!(sorted_lines(&diff), STEPS_DIFF);
    assert_eq!(world.ok(&["container", "diff", "steps"]), diff);
    let missing = world.ch05(&["diff", "nope"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("No such container: nope"),
        "{missing:?}"
    );
    world.clean_up();
}

/// [`DIRECTORY_CASES`] give docker's lines on both storage drivers: from the
/// upper directory (overlay) and from comparing trees (vfs).
#[test]
fn diff_of_directories_is_docker_s_on_both_drivers() {
    for driver in ["overlay", "vfs"] {
        let test = "diff_of_directories_is_docker_s_on_both_drivers";
        let Some(world) = World::with_driver(test, Some(driver)) else {
            return;
        };
        for (case, (steps, expected)) in DIRECTORY_CASES.iter().enumerate() {
            let name = format!("case{case}");
            world.ok(&["run", "--name", &name, "base", "sh", "-c", steps]);
            let diff = world.ok(&["diff", &name]);
            assert_eq!(sorted_lines(&diff), *expected, "{steps} on {driver}");
        }
        world.clean_up();
    }
}

#[test]
fn a_committed_image_runs_with_exactly_the_changes() {
    let Some(world) = World::new("a_committed_image_runs_with_exactly_the_changes") else {
        return;
    };
    world.ok(&[
        "run",
        "--name",
        "steps",
        "-e",
        "GREETING=hi",
        "base",
        "sh",
        "-c",
        STEPS,
    ]);
    let id = world.ok(&[
        "commit",
        "-a",
        "A. Author <a@example.org>",
        "-m",
        "the steps",
        "-c",
        "LABEL stage=one",
        "steps",
        "stepped:1",
    ]);
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let seen = world.ok(&[
        "run",
        "--rm",
        "stepped:1",
        "sh",
        "-c",
        "cat /etc/keep; ls /etc/x; ls /etc/ren2/sub; ls /new/dir; readlink /lnk; \
         test -e /etc/del || echo no-del; test -e /etc/ren || echo no-ren; echo $GREETING",
    ]);
    assert_eq!(
        seen.lines().collect::<Vec<_>>(),
        [
            "keep",
            "m",
            "new",
            "f",
            "f",
            "/etc/keep",
            "no-del",
            "no-ren",
            "hi"
        ]
    );
    let history = world.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Comment}}",
        "stepped:1",
    ]);
    assert_eq!(
        history.lines().next().unwrap(),
        format!("sh -c {STEPS}|the steps")
    );
    let inspect = world.ok(&["image", "inspect", "stepped:1"]);
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspect[0]["Author"], "A. Author <a@example.org>");
    assert_eq!(inspect[0]["Config"]["Labels"]["stage"], "one");
    assert_eq!(inspect[0]["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    world.clean_up();
}

#[test]
fn an_unchanged_container_commits_no_layer_and_stays_running() {
    let Some(world) = World::new("an_unchanged_container_commits_no_layer_and_stays_running")
    else {
        return;
    };
    let id = world.ok(&["run", "-d", "--name", "idle", "base", "sleep", "100"]);
    world.ok(&["commit", "idle", "idle:1"]);
    let state = world.ok(&["inspect", "-f", "{{.State.Status}}", &id]);
    assert_eq!(state, "running", "commit -p must thaw the container");
    let layers = |image: &str| {
        let inspect = world.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", image]);
        serde_json::from_str::<Vec<String>>(&inspect).unwrap()
    };
    assert_eq!(layers("idle:1"), layers("base"));
    let history = world.ok(&["history", "--format", "{{.CreatedBy}}", "idle:1"]);
    assert_eq!(history.lines().next(), Some("sleep 100"));
    world.clean_up();
}

#[test]
fn export_writes_the_merged_tree() {
    let Some(world) = World::new("export_writes_the_merged_tree") else {
        return;
    };
    world.ok(&["run", "--name", "steps", "base", "sh", "-c", STEPS]);
    let file = world.env.state.path().join("c.tar");
    world.ok(&["export", "-o", file.to_str().unwrap(), "steps"]);
    let listing = Command::new("tar").arg("-tf").arg(&file).output().unwrap();
    let names = String::from_utf8(listing.stdout).unwrap();
    let names: Vec<&str> = names.lines().map(|n| n.trim_end_matches('/')).collect();
    for present in [
        "bin/busybox",
        "etc/x/new",
        "etc/ren2/sub/f",
        "new/dir/f",
        "lnk",
    ] {
        assert!(names.contains(&present), "{present} missing from {names:?}");
    }
    for absent in ["etc/del", "etc/x/a", "etc/ren"] {
        assert!(!names.contains(&absent), "{absent} is in the export");
    }
    let streamed = world.command(&["export", "steps"]).output().unwrap();
    assert_eq!(
        streamed.stdout,
        fs::read(&file).unwrap(),
        "-o and stdout differ"
    );
    fs::remove_file(file).unwrap();
    world.clean_up();
}

#[test]
fn cp_copies_both_ways_for_stopped_and_running_containers() {
    let Some(world) = World::new("cp_copies_both_ways_for_stopped_and_running_containers") else {
        return;
    };
    let host = world.env.state.path().join("host");
    fs::create_dir_all(host.join("dir/inner")).unwrap();
    fs::write(host.join("dump.rdb"), "data").unwrap();
    fs::write(host.join("dir/inner/f"), "deep").unwrap();
    let at = |p: &str| host.join(p).to_str().unwrap().to_string();

    world.ok(&["create", "--name", "stopped", "base", "true"]);
    world.ok(&["cp", &at("dump.rdb"), "stopped:/tmp/"]);
    world.ok(&["cp", &at("dir"), "stopped:/tmp/copied"]);
    world.ok(&["cp", "stopped:/etc/keep", &at("keep-out")]);
    world.ok(&["cp", "stopped:/etc/ren", &at("out-dir")]);
    assert_eq!(fs::read_to_string(host.join("keep-out")).unwrap(), "keep\n");
    assert_eq!(
        fs::read_to_string(host.join("out-dir/sub/f")).unwrap(),
        "r\n"
    );
    world.ok(&["start", "-a", "stopped"]);
    let diff = world.ok(&["diff", "stopped"]);
    for line in ["A /tmp/dump.rdb", "A /tmp/copied/inner/f"] {
        assert!(diff.lines().any(|l| l == line), "{line} not in {diff}");
    }

    let running = world.ok(&["run", "-d", "base", "sleep", "100"]);
    world.ok(&["cp", &at("dump.rdb"), &format!("{running}:/dump.rdb")]);
    let seen = world.ok(&[
        "exec",
        &running,
        "sh",
        "-c",
        "cat /dump.rdb; stat -c %u:%g /dump.rdb",
    ]);
    assert_eq!(seen, "data0:0");
    let tar = world
        .command(&["cp", &format!("{running}:/etc/x"), "-"])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let listing = tar_names(&tar.stdout);
    assert_eq!(listing, ["x/", "x/a", "x/b"]);

    let refused = world.ch05(&["cp", &at("dir"), "stopped:/etc/keep"]);
    assert_eq!(
        (
            refused.code,
            refused.stderr.contains("cannot copy directory")
        ),
        (1, true)
    );
    let missing = world.ch05(&["cp", "stopped:/nope", &at("x")]);
    assert!(
        missing
            .stderr
            .contains("Could not find the file /nope in container stopped")
    );
    let both = world.ch05(&["cp", &at("x"), &at("y")]);
    assert!(
        both.stderr
            .contains("must specify at least one container source")
    );
    world.clean_up();
}

/// `.wh.` names are files like any other to `cp`, both ways: nothing of the
/// container is deleted, nothing is hidden.
#[test]
fn cp_copies_files_named_like_whiteouts() {
    let Some(world) = World::new("cp_copies_files_named_like_whiteouts") else {
        return;
    };
    let host = world.env.state.path().join("host");
    make_whiteout_named(&host.join("src"));
    fs::write(host.join(".wh.keep"), "not a whiteout\n").unwrap();
    let at = |p: &str| host.join(p).to_str().unwrap().to_string();
    world.ok(&["create", "--name", "wh", "base", "true"]);
    world.ok(&["cp", &at("src"), "wh:/tmp/"]);
    world.ok(&["cp", &at(".wh.keep"), "wh:/etc/"]);
    world.ok(&["start", "-a", "wh"]);
    world.ok(&["cp", "wh:/tmp/src", &at("out")]);
    world.ok(&["cp", "wh:/etc/.", &at("etc")]);
    for (path, content) in WHITEOUT_NAMED {
        let copied = host.join("out").join(path.trim_end_matches('/'));
        match path.ends_with('/') {
            true => assert!(copied.is_dir(), "{path} not copied"),
            false => assert_eq!(fs::read_to_string(&copied).unwrap(), *content, "{path}"),
        }
    }
    assert_eq!(fs::read_to_string(host.join("etc/keep")).unwrap(), "keep\n");
    assert_eq!(
        fs::read_to_string(host.join("etc/.wh.keep")).unwrap(),
        "not a whiteout\n"
    );
    let diff = world.ok(&["diff", "wh"]);
    for line in [
        "A /etc/.wh.keep",
        "A /tmp/src/.wh..wh..opq",
        "A /tmp/src/.wh.d/in",
    ] {
        assert!(diff.lines().any(|l| l == line), "{line} not in {diff}");
    }
    world.clean_up();
}

fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(bytes);
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

/// CVE-2018-15664: the container swaps a directory for a symlink to `/` as
/// fast as it can while files are copied in and out through that path; a copy
/// may land in the container's root, never on the host's.
#[test]
fn cp_cannot_be_raced_onto_the_host() {
    let Some(world) = World::new("cp_cannot_be_raced_onto_the_host") else {
        return;
    };
    let marker = format!("berth-cve-2018-15664-{}", std::process::id());
    let secret_dir = tempfile::tempdir().unwrap();
    fs::write(secret_dir.path().join("secret"), "host secret").unwrap();
    let source = world.env.state.path().join(&marker);
    fs::write(&source, "from the host").unwrap();
    let swapper = "mkdir -p /w; while true; do rm -rf /w/l; mkdir /w/l; rm -rf /w/l; \
                   ln -s / /w/l; done";
    let id = world.ok(&["run", "-d", "base", "sh", "-c", swapper]);
    let secret = secret_dir.path().join("secret");
    for _ in 0..40 {
        let _ = world.ch05(&["cp", source.to_str().unwrap(), &format!("{id}:/w/l/")]);
        let out = world.env.state.path().join("read-back");
        let _ = world.ch05(&[
            "cp",
            &format!("{id}:/w/l{}", secret.display()),
            out.to_str().unwrap(),
        ]);
        assert!(
            !out.exists(),
            "a host file was read through the container's symlink"
        );
        assert!(
            !Path::new("/").join(&marker).exists(),
            "a copy landed on the host's /"
        );
    }
    world.clean_up();
}

/// CVE-2019-14271: `cp` needs nothing of the container; with its programs and
/// libraries gone it still copies both ways.
#[test]
fn cp_needs_nothing_from_the_container() {
    let Some(world) = World::new("cp_needs_nothing_from_the_container") else {
        return;
    };
    world.ok(&[
        "run",
        "--name",
        "bare",
        "base",
        "/bin/busybox",
        "rm",
        "-rf",
        "/bin",
        "/lib",
        "/etc/passwd",
    ]);
    let host = world.env.state.path().join("f");
    fs::write(&host, "x").unwrap();
    world.ok(&["cp", host.to_str().unwrap(), "bare:/f"]);
    let back = world.env.state.path().join("back");
    world.ok(&["cp", "bare:/f", back.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(back).unwrap(), "x");
    world.clean_up();
}
