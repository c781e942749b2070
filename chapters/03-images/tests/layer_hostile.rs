//! Hostile layers: each one tries to reach outside the root. Each must be
//! refused with an error naming the entry, or be confined to the root; the
//! canary directory beside the root must stay exactly as it was.

mod layer_support;

use std::fs;
use std::io::Write;
use std::path::Path;

use berth_images::layer::{LayerError, Limits, WhiteoutMode, unpack_layer};
use layer_support::{Layer, fingerprint, gzip, have_root, in_jail};

/// Asserts a refusal that names `entry`.
fn assert_refused(result: Result<berth_images::layer::LayerStats, LayerError>, entry: &str) {
    let error = result.expect_err("the layer should have been refused");
    let message = error.to_string();
    assert!(
        message.contains(entry),
        "{message:?} does not name {entry:?}"
    );
}

#[test]
fn dotdot_out_of_the_root_is_refused() {
    if !have_root("dotdot_out_of_the_root_is_refused") {
        return;
    }
    in_jail(|sandbox| {
        let result = sandbox.unpack(&Layer::new().file("../escaped", b"x").finish());
        assert_refused(result, "../escaped");
        assert!(!sandbox.beside_root().join("escaped").exists());
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn dotdot_in_the_middle_is_refused() {
    if !have_root("dotdot_in_the_middle_is_refused") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .dir("a")
            .file("a/../../canary/keep", b"pwned")
            .finish();
        let result = sandbox.unpack(&layer);
        assert_refused(result, "a/../../canary/keep");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn absolute_paths_land_inside_the_root() {
    if !have_root("absolute_paths_land_inside_the_root") {
        return;
    }
    in_jail(|sandbox| {
        let target = format!("{}/planted", sandbox.canary_abs());
        sandbox
            .unpack(&Layer::new().file(&target, b"confined").finish())
            .unwrap();
        let inside = sandbox.root.join(target.trim_start_matches('/'));
        assert_eq!(fs::read(inside).unwrap(), b"confined");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn symlink_to_slash_is_followed_inside_the_root() {
    if !have_root("symlink_to_slash_is_followed_inside_the_root") {
        return;
    }
    in_jail(|sandbox| {
        let host_passwd = fingerprint(Path::new("/etc/passwd"));
        let layer = Layer::new()
            .symlink("a", "/")
            .file("a/etc/passwd", b"evil::0:0::/:/bin/sh\n")
            .finish();
        sandbox.unpack(&layer).unwrap();
        assert_eq!(
            fs::read(sandbox.path("etc/passwd")).unwrap(),
            b"evil::0:0::/:/bin/sh\n"
        );
        assert_eq!(fingerprint(Path::new("/etc/passwd")), host_passwd);
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn symlink_to_the_canary_cannot_be_written_through() {
    if !have_root("symlink_to_the_canary_cannot_be_written_through") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .symlink("a", &sandbox.canary_abs())
            .file("a/keep", b"pwned")
            .file("a/new", b"pwned")
            .finish();
        // The link points at a path the root does not have: a dangling link
        // cannot be a parent directory, so the layer is refused.
        assert_refused(sandbox.unpack(&layer), "a/keep");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn relative_symlink_climbing_out_is_clamped_at_the_root() {
    if !have_root("relative_symlink_climbing_out_is_clamped_at_the_root") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .symlink("a", "../../..")
            .file("a/x", b"confined")
            .finish();
        sandbox.unpack(&layer).unwrap();
        assert_eq!(fs::read(sandbox.path("x")).unwrap(), b"confined");
        // ../canary from the root is the root itself, clamped.
        let layer = Layer::new()
            .symlink("b", "../canary")
            .file("b/keep", b"pwned")
            .finish();
        assert_refused(sandbox.unpack(&layer), "b/keep");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn hardlink_to_a_host_file_is_refused() {
    if !have_root("hardlink_to_a_host_file_is_refused") {
        return;
    }
    in_jail(|sandbox| {
        let shadow = fingerprint(Path::new("/etc/shadow"));
        // /etc/shadow means the root's etc/shadow, which this root does not have.
        let result = sandbox.unpack(&Layer::new().hardlink("shadow", "/etc/shadow").finish());
        assert_refused(result, "shadow");
        assert_eq!(fingerprint(Path::new("/etc/shadow")), shadow);
        // The canary by its absolute path: again only looked up inside the root.
        let target = format!("{}/keep", sandbox.canary_abs());
        assert_refused(
            sandbox.unpack(&Layer::new().hardlink("k", &target).finish()),
            "k",
        );
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn hardlink_climbing_out_is_refused() {
    if !have_root("hardlink_climbing_out_is_refused") {
        return;
    }
    in_jail(|sandbox| {
        let result = sandbox.unpack(&Layer::new().hardlink("k", "../canary/keep").finish());
        let error = result.unwrap_err();
        assert!(matches!(error, LayerError::LinkEscapes { .. }), "{error}");
        assert!(error.to_string().contains("../canary/keep"), "{error}");
        let result = sandbox.unpack(&Layer::new().hardlink("k", "../../x").finish());
        assert!(matches!(result, Err(LayerError::LinkEscapes { .. })));
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn hardlink_through_an_outward_symlink_links_the_symlink() {
    if !have_root("hardlink_through_an_outward_symlink_links_the_symlink") {
        return;
    }
    in_jail(|sandbox| {
        let target = format!("{}/keep", sandbox.canary_abs());
        let layer = Layer::new()
            .symlink("s", &target)
            .hardlink("h", "s")
            .file("h", b"replaced")
            .finish();
        sandbox.unpack(&layer).unwrap();
        assert_eq!(
            fs::read_link(sandbox.path("s")).unwrap(),
            Path::new(&target)
        );
        assert_eq!(fs::read(sandbox.path("h")).unwrap(), b"replaced");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn whiteouts_naming_a_parent_are_refused() {
    if !have_root("whiteouts_naming_a_parent_are_refused") {
        return;
    }
    in_jail(|sandbox| {
        sandbox
            .unpack(&Layer::new().dir("a").file("a/f", b"lower").finish())
            .unwrap();
        for marker in ["a/.wh...", "a/.wh..", "a/.wh."] {
            let result = sandbox.unpack(&Layer::new().file(marker, b"").finish());
            assert_refused(result, marker);
        }
        assert_eq!(fs::read(sandbox.path("a/f")).unwrap(), b"lower");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn whiteout_through_a_symlink_stays_in_the_root() {
    if !have_root("whiteout_through_a_symlink_stays_in_the_root") {
        return;
    }
    in_jail(|sandbox| {
        let lower = Layer::new()
            .file("x", b"lower")
            .symlink("link", "/")
            .symlink("out", &sandbox.canary_abs())
            .finish();
        sandbox.unpack(&lower).unwrap();
        let upper = Layer::new()
            .file("link/.wh.x", b"")
            .file("out/.wh.keep", b"")
            .file("out/.wh.sub", b"")
            .finish();
        sandbox.unpack(&upper).unwrap();
        // link -> / is the root: its x is gone; the canary is not reachable.
        assert!(!sandbox.path("x").exists());
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn file_replaces_an_outward_symlink_instead_of_writing_through_it() {
    if !have_root("file_replaces_an_outward_symlink_instead_of_writing_through_it") {
        return;
    }
    in_jail(|sandbox| {
        let target = format!("{}/keep", sandbox.canary_abs());
        // In one layer…
        let layer = Layer::new()
            .symlink("a", &target)
            .file("a", b"new")
            .finish();
        sandbox.unpack(&layer).unwrap();
        assert_eq!(fs::read(sandbox.path("a")).unwrap(), b"new");
        assert!(fs::symlink_metadata(sandbox.path("a")).unwrap().is_file());
        // …and across two layers, also for a directory and a device.
        sandbox
            .unpack(
                &Layer::new()
                    .symlink("b", &target)
                    .symlink("c", &target)
                    .symlink("d", &target)
                    .finish(),
            )
            .unwrap();
        sandbox
            .unpack(&Layer::new().file("b", b"new").dir("c").fifo("d").finish())
            .unwrap();
        assert_eq!(fs::read(sandbox.path("b")).unwrap(), b"new");
        assert!(fs::symlink_metadata(sandbox.path("c")).unwrap().is_dir());
        assert!(
            !fs::symlink_metadata(sandbox.path("d"))
                .unwrap()
                .is_symlink()
        );
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn symlink_chain_across_layers_stays_in_the_root() {
    if !have_root("symlink_chain_across_layers_stays_in_the_root") {
        return;
    }
    in_jail(|sandbox| {
        sandbox
            .unpack(&Layer::new().symlink("a", "b").finish())
            .unwrap();
        sandbox
            .unpack(
                &Layer::new()
                    .symlink("b", "../../..")
                    .symlink("e", &sandbox.canary_abs())
                    .finish(),
            )
            .unwrap();
        sandbox
            .unpack(&Layer::new().symlink("d", "e").finish())
            .unwrap();
        sandbox
            .unpack(&Layer::new().file("a/x", b"confined").finish())
            .unwrap();
        assert_eq!(fs::read(sandbox.path("x")).unwrap(), b"confined");
        assert_refused(
            sandbox.unpack(&Layer::new().file("d/keep", b"pwned").finish()),
            "d/keep",
        );
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn a_size_that_lies_is_an_error() {
    if !have_root("a_size_that_lies_is_an_error") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .file("ok", b"fine")
            .truncated_file("short", 4096, b"only this")
            .unterminated();
        let error = sandbox.unpack(&layer).unwrap_err();
        assert!(
            matches!(
                error,
                LayerError::Truncated {
                    declared: 4096,
                    found: 9,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("short"), "{error}");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn a_stream_past_the_size_cap_is_an_error() {
    if !have_root("a_stream_past_the_size_cap_is_an_error") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new().file("big", &vec![7u8; 256 * 1024]).finish();
        let limits = Limits {
            max_bytes: 64 * 1024,
            ..Limits::default()
        };
        let error =
            unpack_layer(&sandbox.root, &layer[..], WhiteoutMode::Apply, &limits).unwrap_err();
        assert!(
            matches!(error, LayerError::TooLarge { max: 65536 }),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            "layer is larger than 65536 bytes uncompressed, raise BERTH_MAX_LAYER_BYTES"
        );
        let error = berth_images::layer::diff_id(&layer[..], &limits).unwrap_err();
        assert!(matches!(error, LayerError::TooLarge { .. }), "{error}");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn a_gzip_bomb_stops_at_the_cap() {
    if !have_root("a_gzip_bomb_stops_at_the_cap") {
        return;
    }
    in_jail(|sandbox| {
        // 64 MiB of zeros in one file, about 64 KiB compressed.
        const BOMB: u64 = 64 << 20;
        let mut header = tar::Header::new_gnu();
        header.set_path("bomb").unwrap();
        header.set_size(BOMB);
        header.set_mode(0o644);
        header.set_cksum();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(header.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(BOMB >> 20) {
            gz.write_all(&zeros).unwrap();
        }
        gz.write_all(&[0u8; 1024]).unwrap();
        let blob = gz.finish().unwrap();
        assert!(
            blob.len() < 1 << 20,
            "the bomb should be small: {}",
            blob.len()
        );
        let limits = Limits {
            max_bytes: 4 << 20,
            ..Limits::default()
        };
        let error =
            unpack_layer(&sandbox.root, &blob[..], WhiteoutMode::Apply, &limits).unwrap_err();
        assert!(matches!(error, LayerError::TooLarge { .. }), "{error}");
        let written = fs::metadata(sandbox.path("bomb"))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(written <= 4 << 20, "{written} bytes written past the cap");
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn too_many_entries_is_an_error() {
    if !have_root("too_many_entries_is_an_error") {
        return;
    }
    in_jail(|sandbox| {
        let mut layer = Layer::new();
        for i in 0..20 {
            layer = layer.file(&format!("f{i}"), b"");
        }
        let limits = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        let error = unpack_layer(
            &sandbox.root,
            &gzip(&layer.finish())[..],
            WhiteoutMode::Apply,
            &limits,
        )
        .unwrap_err();
        assert!(
            matches!(error, LayerError::TooManyEntries { max: 10 }),
            "{error}"
        );
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn trusted_xattrs_in_a_layer_are_dropped() {
    if !have_root("trusted_xattrs_in_a_layer_are_dropped") {
        return;
    }
    in_jail(|sandbox| {
        let layer = Layer::new()
            .dir("d")
            .file_with_xattrs(
                "d/f",
                b"x",
                &[
                    ("trusted.overlay.opaque", b"y"),
                    ("trusted.overlay.redirect", b"/etc"),
                    ("user.kept", b"yes"),
                ],
            )
            .finish();
        sandbox.unpack_overlay(&layer).unwrap();
        let f = sandbox.path("d/f");
        assert_eq!(xattr::get(&f, "trusted.overlay.opaque").unwrap(), None);
        assert_eq!(xattr::get(&f, "trusted.overlay.redirect").unwrap(), None);
        assert_eq!(
            xattr::get(&f, "user.kept").unwrap().as_deref(),
            Some(&b"yes"[..])
        );
        sandbox.assert_host_unchanged();
    });
}

#[test]
fn a_hardlink_to_a_directory_is_refused() {
    if !have_root("a_hardlink_to_a_directory_is_refused") {
        return;
    }
    in_jail(|sandbox| {
        let result = sandbox.unpack(&Layer::new().dir("d").hardlink("h", "d").finish());
        assert_refused(result, "h");
        sandbox.assert_host_unchanged();
    });
}
