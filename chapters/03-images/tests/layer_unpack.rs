//! What an honest layer must produce: files, directories, links, devices
//! with their owners, modes and times; whiteouts in both representations;
//! the diff_id of every compression.

mod layer_support;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use berth_images::layer::{Compression, Limits, decompress, diff_id};
use layer_support::{Layer, Meta, gzip, have_root, in_jail};
use sha2::{Digest, Sha256};

fn sha256(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[test]
fn files_dirs_and_links_keep_their_metadata() {
    if !have_root("files_dirs_and_links_keep_their_metadata") {
        return;
    }
    in_jail(|sandbox| {
        let dir_meta = Meta {
            mode: 0o750,
            uid: 1000,
            gid: 1001,
            mtime: 1_500_000_000,
        };
        let suid = Meta {
            mode: 0o4755,
            uid: 1000,
            gid: 1000,
            mtime: 1_400_000_000,
        };
        let layer = Layer::new()
            .dir_with("d", dir_meta)
            .file_with("d/tool", b"#!/bin/sh\n", suid)
            .symlink("d/link", "tool")
            .hardlink("d/hard", "d/tool")
            .fifo("d/pipe")
            .char_device("d/null", 1, 3)
            .file("implied/parents/f", b"x")
            .finish();
        let stats = sandbox.unpack(&layer).unwrap();
        assert_eq!(stats.entries, 7);
        assert_eq!(stats.size, layer.len() as u64);
        assert_eq!(stats.diff_id, sha256(&layer));

        let d = fs::metadata(sandbox.path("d")).unwrap();
        assert_eq!((d.mode() & 0o7777, d.uid(), d.gid()), (0o750, 1000, 1001));
        // Set after its content was created, so it is the archive's.
        assert_eq!(d.mtime(), 1_500_000_000);
        let tool = fs::metadata(sandbox.path("d/tool")).unwrap();
        assert_eq!(
            (tool.mode() & 0o7777, tool.uid(), tool.mtime()),
            (0o4755, 1000, 1_400_000_000)
        );
        assert_eq!(
            fs::read_link(sandbox.path("d/link")).unwrap().to_str(),
            Some("tool")
        );
        let hard = fs::metadata(sandbox.path("d/hard")).unwrap();
        assert_eq!((hard.ino(), hard.nlink()), (tool.ino(), 2));
        assert!(
            fs::metadata(sandbox.path("d/pipe"))
                .unwrap()
                .file_type()
                .is_fifo()
        );
        let null = fs::metadata(sandbox.path("d/null")).unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!(
            (null.rdev(), null.mode() & 0o7777),
            (nix::sys::stat::makedev(1, 3), 0o666)
        );
        let implied = fs::metadata(sandbox.path("implied/parents")).unwrap();
        assert_eq!(implied.permissions().mode() & 0o7777, 0o755);
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn long_names_and_xattrs_come_through() {
    if !have_root("long_names_and_xattrs_come_through") {
        return;
    }
    in_jail(|sandbox| {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(150));
        let cap = [
            1u8, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let layer = Layer::new()
            .long_file(&long, b"long")
            .file_with_xattrs(
                "ping",
                b"elf",
                &[("security.capability", &cap), ("user.note", b"hi")],
            )
            .finish();
        sandbox.unpack(&layer).unwrap();
        assert_eq!(fs::read(sandbox.path(&long)).unwrap(), b"long");
        let ping = sandbox.path("ping");
        assert_eq!(
            xattr::get(&ping, "security.capability").unwrap().as_deref(),
            Some(&cap[..])
        );
        assert_eq!(
            xattr::get(&ping, "user.note").unwrap().as_deref(),
            Some(&b"hi"[..])
        );
    });
}

#[test]
fn whiteouts_delete_from_lower_layers() {
    if !have_root("whiteouts_delete_from_lower_layers") {
        return;
    }
    in_jail(|sandbox| {
        let lower = Layer::new()
            .dir("etc")
            .file("etc/gone", b"lower")
            .file("etc/kept", b"lower")
            .dir("tree")
            .file("tree/deep/file", b"lower")
            .finish();
        sandbox.unpack(&lower).unwrap();
        let upper = Layer::new()
            .file("etc/.wh.gone", b"")
            .file(".wh.tree", b"")
            .finish();
        sandbox.unpack(&upper).unwrap();
        assert!(!sandbox.path("etc/gone").exists());
        assert!(!sandbox.path("tree").exists());
        assert_eq!(fs::read(sandbox.path("etc/kept")).unwrap(), b"lower");
        // The markers themselves leave nothing behind.
        assert!(!sandbox.path("etc/.wh.gone").exists());
    });
}

#[test]
fn opaque_directories_keep_only_their_own_layer() {
    if !have_root("opaque_directories_keep_only_their_own_layer") {
        return;
    }
    in_jail(|sandbox| {
        let lower = Layer::new()
            .dir("o")
            .file("o/old", b"lower")
            .dir("o/sub")
            .file("o/sub/old", b"lower")
            .finish();
        sandbox.unpack(&lower).unwrap();
        // The marker comes after the layer's own entries: they must stay.
        let upper = Layer::new()
            .dir("o")
            .file("o/new", b"upper")
            .dir("o/sub")
            .file("o/sub/new", b"upper")
            .file("o/.wh..wh..opq", b"")
            .finish();
        sandbox.unpack(&upper).unwrap();
        let mut names: Vec<_> = walk(&sandbox.path("o"));
        names.sort();
        assert_eq!(names, ["new", "sub", "sub/new"]);
    });
}

#[test]
fn a_whiteout_does_not_hide_its_own_layer() {
    if !have_root("a_whiteout_does_not_hide_its_own_layer") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .file("f", b"same layer")
            .file(".wh.f", b"")
            .finish();
        sandbox.unpack(&layer).unwrap();
        assert_eq!(fs::read(sandbox.path("f")).unwrap(), b"same layer");
    });
}

#[test]
fn entries_replace_what_lower_layers_had() {
    if !have_root("entries_replace_what_lower_layers_had") {
        return;
    }
    in_jail(|sandbox| {
        let lower = Layer::new()
            .file("was_file", b"f")
            .dir("was_dir")
            .file("was_dir/inner", b"i")
            .dir("kept_dir")
            .file("kept_dir/lower", b"l")
            .finish();
        sandbox.unpack(&lower).unwrap();
        let upper = Layer::new()
            .dir("was_file")
            .file("was_dir", b"now a file")
            .dir_with(
                "kept_dir",
                Meta {
                    mode: 0o700,
                    ..Meta::default()
                },
            )
            .finish();
        sandbox.unpack(&upper).unwrap();
        assert!(sandbox.path("was_file").is_dir());
        assert_eq!(fs::read(sandbox.path("was_dir")).unwrap(), b"now a file");
        // An existing directory is kept with its content; its metadata is updated.
        assert_eq!(fs::read(sandbox.path("kept_dir/lower")).unwrap(), b"l");
        assert_eq!(
            fs::metadata(sandbox.path("kept_dir")).unwrap().mode() & 0o7777,
            0o700
        );
    });
}

#[test]
fn hardlinks_reach_earlier_layers() {
    if !have_root("hardlinks_reach_earlier_layers") {
        return;
    }
    in_jail(|sandbox| {
        sandbox
            .unpack(&Layer::new().file("bin/busybox", b"bb").finish())
            .unwrap();
        sandbox
            .unpack(&Layer::new().hardlink("bin/sh", "/bin/busybox").finish())
            .unwrap();
        let a = fs::metadata(sandbox.path("bin/busybox")).unwrap();
        let b = fs::metadata(sandbox.path("bin/sh")).unwrap();
        assert_eq!(a.ino(), b.ino());
    });
}

#[test]
fn overlay_mode_records_whiteouts_for_overlayfs() {
    if !have_root("overlay_mode_records_whiteouts_for_overlayfs") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .dir("etc")
            .file("etc/.wh.gone", b"")
            .dir("opaque")
            .file("opaque/.wh..wh..opq", b"")
            .file("opaque/new", b"n")
            .finish();
        sandbox.unpack_overlay(&layer).unwrap();
        let gone = fs::symlink_metadata(sandbox.path("etc/gone")).unwrap();
        assert!(gone.file_type().is_char_device());
        assert_eq!((gone.rdev(), gone.uid(), gone.gid()), (0, 0, 0));
        let opaque = sandbox.path("opaque");
        assert_eq!(
            xattr::get(&opaque, "trusted.overlay.opaque")
                .unwrap()
                .as_deref(),
            Some(&b"y"[..])
        );
        assert_eq!(fs::read(sandbox.path("opaque/new")).unwrap(), b"n");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn every_compression_gives_the_same_diff_id() {
    let tar = Layer::new().file("a", b"hello").dir("d").finish();
    let expected = sha256(&tar);
    let zstd = zstd::encode_all(&tar[..], 3).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&tar).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
    xz.write_all(&tar).unwrap();
    let blobs = [
        (Compression::None, tar.clone()),
        (Compression::Gzip, gzip(&tar)),
        (Compression::Zstd, zstd),
        (Compression::Bzip2, bz.finish().unwrap()),
        (Compression::Xz, xz.finish().unwrap()),
    ];
    for (compression, blob) in blobs {
        let (found, _) = decompress(&blob[..]).unwrap();
        assert_eq!(found, compression);
        let stats = diff_id(&blob[..], &Limits::default()).unwrap();
        assert_eq!(stats.diff_id, expected, "{compression:?}");
        assert_eq!((stats.size, stats.entries), (tar.len() as u64, 2));
        if have_root("every_compression_gives_the_same_diff_id") {
            in_jail(move |sandbox| assert_eq!(sandbox.unpack(&blob).unwrap(), stats));
        }
    }
}

#[test]
fn trailing_padding_counts_in_the_diff_id() {
    // tar pads to a 10 KiB record; the parser stops before the padding, the
    // diff_id must still cover it.
    let mut tar = Layer::new().file("a", b"x").finish();
    tar.resize(10240, 0);
    let stats = diff_id(&tar[..], &Limits::default()).unwrap();
    assert_eq!(stats.diff_id, sha256(&tar));
    assert_eq!(stats.size, 10240);
}

/// Paths under `dir`, relative to it.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            found.push(
                path.strip_prefix(dir)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string(),
            );
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    found
}
