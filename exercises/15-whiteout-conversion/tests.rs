use super::*;

fn upper(path: &str, kind: Kind) -> UpperEntry {
    UpperEntry {
        path: path.to_string(),
        kind,
        opaque: false,
    }
}

fn opaque_dir(path: &str) -> UpperEntry {
    UpperEntry {
        opaque: true,
        ..upper(path, Kind::Dir)
    }
}

fn tar(path: &str, kind: Kind) -> TarEntry {
    TarEntry {
        path: path.to_string(),
        kind,
    }
}

#[test]
fn names_are_plain_whiteouts_or_opaque_markers() {
    assert_eq!(classify("etc/passwd"), Ok(Marker::Plain));
    assert_eq!(classify("etc/wh.x"), Ok(Marker::Plain));
    assert_eq!(
        classify(".wh.c"),
        Ok(Marker::Whiteout { target: "c".into() })
    );
    assert_eq!(
        classify("usr/.wh.local"),
        Ok(Marker::Whiteout {
            target: "usr/local".into()
        })
    );
    assert_eq!(
        classify("a/b/.wh..wh..opq"),
        Ok(Marker::Opaque { dir: "a/b".into() })
    );
    assert_eq!(
        classify(".wh..wh..opq"),
        Ok(Marker::Opaque { dir: String::new() })
    );
    // `.wh..hidden` deletes `.hidden`: only `.wh..wh.` names are markers.
    assert_eq!(
        classify("root/.wh..profile"),
        Ok(Marker::Whiteout {
            target: "root/.profile".into()
        })
    );
}

#[test]
fn whiteouts_naming_nothing_and_unknown_markers_are_refused() {
    for path in ["etc/.wh.", "etc/.wh..", "etc/.wh...", ".wh.."] {
        assert_eq!(
            classify(path),
            Err(ConvertError::BadWhiteout { path: path.into() }),
            "{path}"
        );
    }
    for path in ["a/.wh..wh.plnk", ".wh..wh.aufs", "a/.wh..wh..opq2"] {
        assert_eq!(
            classify(path),
            Err(ConvertError::UnknownMarker { path: path.into() }),
            "{path}"
        );
    }
}

#[test]
fn overlay_whiteouts_become_wh_files() {
    let entries = [
        upper("b", Kind::Dir),
        upper("b/f", OVERLAY_WHITEOUT),
        upper(".c", OVERLAY_WHITEOUT),
    ];
    assert_eq!(
        to_tar(&entries),
        Ok(vec![
            tar("b", Kind::Dir),
            tar("b/.wh.f", Kind::File),
            tar(".wh..c", Kind::File),
        ])
    );
}

#[test]
fn an_opaque_directory_is_followed_by_its_marker() {
    let entries = [
        opaque_dir("a"),
        upper("a/new", Kind::File),
        upper("b", Kind::Dir),
    ];
    assert_eq!(
        to_tar(&entries),
        Ok(vec![
            tar("a", Kind::Dir),
            tar("a/.wh..wh..opq", Kind::File),
            tar("a/new", Kind::File),
            tar("b", Kind::Dir),
        ])
    );
}

#[test]
fn other_entries_go_into_the_tar_as_they_are() {
    let null = Kind::CharDevice { major: 1, minor: 3 };
    let entries = [
        upper("dev", Kind::Dir),
        upper("dev/null", null),
        upper("bin/sh", Kind::Symlink),
    ];
    assert_eq!(
        to_tar(&entries),
        Ok(vec![
            tar("dev", Kind::Dir),
            tar("dev/null", null),
            tar("bin/sh", Kind::Symlink),
        ])
    );
}

#[test]
fn a_reserved_name_in_the_upper_directory_cannot_be_committed() {
    for path in [
        "tmp/.wh.passwd",
        "tmp/.wh..wh..opq",
        ".wh..wh.plnk",
        "x/.wh..",
    ] {
        let entries = [upper("tmp", Kind::Dir), upper(path, Kind::File)];
        assert_eq!(
            to_tar(&entries),
            Err(ConvertError::ReservedName { path: path.into() }),
            "{path}"
        );
    }
}

#[test]
fn wh_files_become_overlay_whiteouts() {
    let layer = [
        tar("usr", Kind::Dir),
        tar("usr/.wh.local", Kind::File),
        tar(".wh.c", Kind::File),
    ];
    assert_eq!(
        to_upper(&layer),
        Ok(vec![
            upper("usr", Kind::Dir),
            upper("usr/local", OVERLAY_WHITEOUT),
            upper("c", OVERLAY_WHITEOUT),
        ])
    );
}

#[test]
fn an_opaque_marker_marks_its_directory_wherever_it_comes() {
    // Right after the directory, as docker writes it.
    let after = [
        tar("a", Kind::Dir),
        tar("a/.wh..wh..opq", Kind::File),
        tar("a/new", Kind::File),
    ];
    let expected = vec![opaque_dir("a"), upper("a/new", Kind::File)];
    assert_eq!(to_upper(&after), Ok(expected.clone()));
    // Before it.
    let before = [
        tar("a/.wh..wh..opq", Kind::File),
        tar("a", Kind::Dir),
        tar("a/new", Kind::File),
    ];
    assert_eq!(to_upper(&before), Ok(expected));
    // Without an entry for the directory: made where the marker was, once.
    let alone = [
        tar("x", Kind::File),
        tar("a/b/.wh..wh..opq", Kind::File),
        tar("a/b/.wh..wh..opq", Kind::File),
        tar("a/b/new", Kind::File),
    ];
    assert_eq!(
        to_upper(&alone),
        Ok(vec![
            upper("x", Kind::File),
            opaque_dir("a/b"),
            upper("a/b/new", Kind::File),
        ])
    );
    // At the top, the root itself.
    assert_eq!(
        to_upper(&[tar(".wh..wh..opq", Kind::File)]),
        Ok(vec![opaque_dir("")])
    );
}

#[test]
fn a_bad_layer_is_refused_whole() {
    let layer = [tar("a", Kind::Dir), tar("a/.wh..", Kind::File)];
    assert_eq!(
        to_upper(&layer),
        Err(ConvertError::BadWhiteout {
            path: "a/.wh..".into()
        })
    );
    let layer = [tar("a/.wh..wh.plnk", Kind::Dir)];
    assert_eq!(
        to_upper(&layer),
        Err(ConvertError::UnknownMarker {
            path: "a/.wh..wh.plnk".into()
        })
    );
}

#[test]
fn commit_then_unpack_gives_the_upper_directory_back() {
    let entries = vec![
        opaque_dir("a"),
        upper("a/new", Kind::File),
        upper("b", Kind::Dir),
        upper("b/f", OVERLAY_WHITEOUT),
        upper("c", OVERLAY_WHITEOUT),
        upper("c2", Kind::Dir),
        upper("c2/f", Kind::File),
        upper("usr", Kind::Dir),
        upper("usr/local", OVERLAY_WHITEOUT),
        upper("usr/sh", Kind::Symlink),
    ];
    let layer = to_tar(&entries).unwrap();
    assert_eq!(to_upper(&layer), Ok(entries));
}
