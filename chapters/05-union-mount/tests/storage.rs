//! Chapter 05's storage, end to end, as the kernel shows it: the container's
//! root is an overlay with berth's options, layers are shared and unpacked
//! once, nothing stays mounted, layers go with the last image that has them.

mod storage_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_tests::kernel::{mount_at, parse_mountinfo};
use storage_support::World;

#[test]
fn a_container_root_is_an_overlay_with_redirects_metacopy_and_index_off() {
    let Some(world) = World::new("overlay_options") else {
        return;
    };
    let id = world.ok(&["run", "-d", "busybox", "sleep", "60"]);
    let rootfs = world.container_dir(&id).join("rootfs");
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounts = parse_mountinfo(&table);
    let mount = mount_at(&mounts, rootfs.to_str().unwrap()).expect("the root is mounted");
    assert_eq!(mount.fs_type, "overlay");
    let options = mount.super_options.join(",");
    let lowerdir = mount
        .super_options
        .iter()
        .find_map(|o| o.strip_prefix("lowerdir="))
        .expect("a lowerdir");
    // The image's shared init layer on top, then its one layer by its short name.
    let lowers: Vec<&str> = lowerdir.split(':').collect();
    assert_eq!(lowers.len(), 2, "{options}");
    let layer = world.chain_dirs(&world.layers()).remove(0);
    let chain = layer.file_name().unwrap().to_str().unwrap();
    assert!(lowers[0].ends_with(&format!("{chain}/init")), "{options}");
    assert!(!world.container_dir(&id).join("init").exists());
    assert!(
        lowers[1].starts_with("l/") && lowers[1].len() == 28,
        "{options}"
    );
    // The kernel lists only what differs from its defaults: none may be on.
    for on in [
        "redirect_dir=on",
        "redirect_dir=follow",
        "metacopy=on",
        "index=on",
    ] {
        assert!(!options.contains(on), "{on} in {options}");
    }
    world.ok(&["rm", "-f", &id]);
    assert!(world.mounts_under_state().is_empty());
    world.clean_up();
}

#[test]
fn a_container_that_only_runs_leaves_its_upper_dir_empty() {
    let Some(world) = World::new("empty_upper") else {
        return;
    };
    world.ok(&["run", "--name", "quiet", "busybox", "true"]);
    let id = world.id_of("quiet");
    let upper = world.container_dir(&id).join("upper");
    let entries: Vec<_> = fs::read_dir(&upper).unwrap().flatten().collect();
    assert!(entries.is_empty(), "upper holds {entries:?}");
    assert_eq!(world.ok(&["diff", "quiet"]), "");
    // Stopped: its root is not mounted any more.
    assert!(world.mounts_under_state().is_empty());
    world.clean_up();
}

#[test]
fn two_containers_of_one_image_share_its_layer_and_write_to_their_own() {
    let Some(world) = World::new("shared_lowers") else {
        return;
    };
    let a = world.ok(&["run", "-d", "busybox", "sleep", "60"]);
    let b = world.ok(&["run", "-d", "busybox", "sleep", "60"]);
    // Each overlay is a file system of its own (its own st_dev), but on one
    // backing file system it shows the lower file's inode number.
    let inode = |root: &Path| fs::metadata(root.join("bin/busybox")).unwrap().ino();
    let layer = world.chain_dirs(&world.layers()).remove(0);
    assert_eq!(world.chain_dirs(&world.layers()).len(), 1);
    let shared = inode(&layer.join("diff"));
    assert_eq!(inode(&world.container_dir(&a).join("rootfs")), shared);
    assert_eq!(inode(&world.container_dir(&b).join("rootfs")), shared);

    // One init layer for both, written once, made before either container.
    let init = layer.join("init");
    assert!(init.join(".dockerenv").is_file());
    assert!(!world.container_dir(&a).join("init").exists());
    assert!(!world.container_dir(&b).join("init").exists());

    world.ok(&["exec", &a, "sh", "-c", "echo mine > /tmp/written"]);
    let upper = world.container_dir(&a).join("upper/tmp/written");
    assert_eq!(fs::read_to_string(upper).unwrap(), "mine\n");
    assert!(!layer.join("diff/tmp/written").exists());
    assert!(!world.container_dir(&b).join("rootfs/tmp/written").exists());
    world.clean_up();
}

#[test]
fn rm_unmounts_and_the_layers_stay_until_rmi() {
    let Some(world) = World::new("layers_until_rmi") else {
        return;
    };
    let id = world.ok(&["run", "-d", "busybox", "sleep", "60"]);
    assert_eq!(world.mounts_under_state().len(), 1);
    world.ok(&["rm", "-f", &id]);
    assert!(world.mounts_under_state().is_empty());
    assert!(!world.container_dir(&id).exists());
    let layers = world.chain_dirs(&world.layers());
    assert_eq!(layers.len(), 1, "the image keeps its layer");
    assert!(
        layers[0].join("init").is_dir(),
        "the image keeps its init layer"
    );

    // A container keeps the layer of an image that is gone.
    world.ok(&["create", "--name", "keeper", "busybox", "true"]);
    world.ok(&["rmi", "-f", "busybox"]);
    assert_eq!(world.chain_dirs(&world.layers()), layers);
    world.ok(&["rm", "keeper"]);
    world.ok(&["image", "prune", "-f"]);
    assert!(world.chain_dirs(&world.layers()).is_empty());
    let links: Vec<_> = fs::read_dir(world.layers().join("l")).unwrap().collect();
    assert!(links.is_empty(), "short links left: {links:?}");
    world.clean_up();
}

#[test]
fn the_root_of_a_container_whose_supervisor_was_killed_is_unmounted_by_the_next_ps() {
    let Some(world) = World::new("killed_supervisor_mount") else {
        return;
    };
    let id = world.ok(&["run", "-d", "busybox", "sleep", "60"]);
    assert_eq!(world.mounts_under_state().len(), 1);
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(world.container_dir(&id).join("container.json")).unwrap())
            .unwrap();
    let supervisor = record["State"]["SupervisorPid"]
        .as_i64()
        .expect("the record names its supervisor");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(supervisor as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !world
        .ok(&["ps", "-a", "--format", "{{.Status}}"])
        .starts_with("Exited")
    {
        assert!(Instant::now() < deadline, "ps never saw the container exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        world.mounts_under_state().is_empty(),
        "the root stays mounted: {:?}",
        world.mounts_under_state()
    );
    // And it starts again: the root is mounted anew.
    world.ok(&["start", &id]);
    assert_eq!(world.mounts_under_state().len(), 1);
    world.ok(&["rm", "-f", &id]);
    assert!(world.mounts_under_state().is_empty());
    world.clean_up();
}

#[test]
fn an_image_of_127_layers_runs_and_one_of_128_is_refused() {
    let Some(world) = World::new("deep_image") else {
        return;
    };
    let layers = world.small_layers(126);
    world.load_layers("deep", &layers).assert_success();
    let out = world.ch05(&[
        "run",
        "--rm",
        "deep",
        "sh",
        "-c",
        "cat /layers/0 /layers/125",
    ]);
    out.assert_success();
    assert_eq!(out.stdout, "0\n125\n");
    assert_eq!(world.chain_dirs(&world.layers()).len(), 127);

    let layers = world.small_layers(127);
    world.load_layers("deeper", &layers).assert_success();
    let out = world.ch05(&["run", "--rm", "deeper", "true"]);
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("max depth exceeded"), "{out:?}");
    world.clean_up();
}

#[test]
fn a_killed_unpack_is_never_used_and_the_next_run_unpacks_again() {
    let Some(world) = World::new("killed_unpack") else {
        return;
    };
    let big = world.scratch().join("big");
    fs::create_dir_all(&big).unwrap();
    let size: u64 = 400 << 20;
    fs::File::create(big.join("blob"))
        .unwrap()
        .set_len(size)
        .unwrap();
    let layers = vec![world.env.rootfs().to_path_buf(), big.clone()];
    world.load_layers("big", &layers).assert_success();
    fs::remove_dir_all(&big).unwrap();

    let mut create = world.command(&["create", "--name", "half", "big", "true"]);
    let mut child = create.spawn().unwrap();
    // Kill it once the big layer's unpack has begun.
    let started = Instant::now();
    let unpacking = |layers: &Path| {
        fs::read_dir(layers).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name().to_string_lossy().starts_with(".tmp-")
                    && e.path().join("diff/blob").exists()
            })
        })
    };
    while !unpacking(&world.layers()) && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(unpacking(&world.layers()), "the unpack never began");
    child.kill().unwrap();
    child.wait().unwrap();

    let out = world.ch05(&["run", "--rm", "big", "sh", "-c", "wc -c < /blob"]);
    out.assert_success();
    assert_eq!(out.stdout.trim(), size.to_string());
    world.clean_up();
}

#[test]
fn two_creates_of_one_image_at_once_unpack_it_once() {
    let Some(world) = World::new("concurrent_creates") else {
        return;
    };
    let mut children: Vec<_> = ["one", "two", "three"]
        .iter()
        .map(|name| {
            world
                .command(&["create", "--name", name, "busybox", "true"])
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(world.chain_dirs(&world.layers()).len(), 1);
    let links = fs::read_dir(world.layers().join("l")).unwrap().count();
    assert_eq!(links, 1, "one short name per layer");
    world.clean_up();
}

#[test]
fn vfs_copies_the_image_and_mounts_nothing() {
    let Some(world) = World::with_vars("vfs", &[("BERTH_STORAGE_DRIVER", "vfs")]) else {
        return;
    };
    let id = world.ok(&["run", "-d", "busybox", "sleep", "60"]);
    assert!(world.mounts_under_state().is_empty());
    let record = fs::read_to_string(world.container_dir(&id).join("storage.json")).unwrap();
    assert!(record.contains("\"vfs\""), "{record}");
    let flat = world.chain_dirs(&world.layers().join("vfs"));
    assert_eq!(flat.len(), 1);
    let copy = fs::metadata(world.container_dir(&id).join("rootfs/bin/busybox")).unwrap();
    let layer = fs::metadata(flat[0].join("diff/bin/busybox")).unwrap();
    assert_ne!(copy.ino(), layer.ino(), "a copy, not the layer itself");
    assert_eq!(copy.mode(), layer.mode());
    world.ok(&["rm", "-f", &id]);
    assert!(!world.container_dir(&id).exists());

    let out = world.ch05(&["run", "--rm", "busybox", "cat", "/etc/passwd"]);
    out.assert_success();
    assert!(out.stdout.starts_with("root:x:0:0"));
    world.clean_up();
}

#[test]
fn a_bad_storage_driver_is_one_line_and_exit_125() {
    let Some(world) = World::new("bad_driver") else {
        return;
    };
    let mut command = world.command(&["run", "--rm", "busybox", "true"]);
    command.env("BERTH_STORAGE_DRIVER", "zfs");
    let out = berth_tests::env::finish(berth_tests::env::spawn(&mut command));
    assert_eq!(out.code, 125);
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("BERTH_STORAGE_DRIVER=zfs"), "{out:?}");
    world.clean_up();
}
