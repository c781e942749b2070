use super::*;

/// A tree holding exactly `paths`.
fn tree(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

/// `lower` with `layer` applied.
fn applied(lower: &[&str], layer: &[&str]) -> BTreeSet<String> {
    let mut result = tree(lower);
    apply_layer(&mut result, layer).unwrap();
    result
}

#[test]
fn entries_are_additions_whiteouts_or_opaque_markers() {
    let add = |p: &str| {
        Ok(Entry::Add {
            path: p.to_string(),
        })
    };
    let remove = |p: &str| {
        Ok(Entry::Remove {
            path: p.to_string(),
        })
    };
    let opaque = |d: &str| Ok(Entry::Opaque { dir: d.to_string() });
    assert_eq!(classify("etc/passwd"), add("etc/passwd"));
    assert_eq!(classify("etc"), add("etc"));
    assert_eq!(classify("etc/.wh.motd"), remove("etc/motd"));
    assert_eq!(classify(".wh.tmp"), remove("tmp"));
    assert_eq!(classify("var/cache/.wh..wh..opq"), opaque("var/cache"));
    assert_eq!(classify(".wh..wh..opq"), opaque(""));
    // Only a name that starts with the prefix is a whiteout.
    assert_eq!(classify("etc/x.wh.y"), add("etc/x.wh.y"));
}

#[test]
fn a_whiteout_naming_dot_dot_dot_or_nothing_is_refused() {
    for entry in ["etc/.wh...", ".wh...", "etc/.wh..", ".wh.", "a/b/.wh."] {
        assert_eq!(
            classify(entry),
            Err(LayerError::BadWhiteout {
                entry: entry.to_string()
            }),
            "{entry}"
        );
    }
    let err = classify("etc/.wh...").unwrap_err();
    assert_eq!(
        err.to_string(),
        "whiteout \"etc/.wh...\" does not name an entry of its directory"
    );
}

#[test]
fn paths_that_are_not_plain_and_relative_are_refused() {
    for entry in [
        "/etc/passwd",
        "../etc/passwd",
        "a/../../b",
        "a//b",
        "./a",
        "a/.",
        "",
        "a/../.wh.b",
    ] {
        assert_eq!(
            classify(entry),
            Err(LayerError::UnsafePath {
                entry: entry.to_string()
            }),
            "{entry:?}"
        );
    }
}

#[test]
fn a_whiteout_removes_the_name_and_everything_under_it() {
    let lower = ["bin", "bin/sh", "bin/sub", "bin/sub/x", "etc", "etc/motd"];
    assert_eq!(applied(&lower, &[".wh.bin"]), tree(&["etc", "etc/motd"]));
    assert_eq!(
        applied(&lower, &["etc/.wh.motd"]),
        tree(&["bin", "bin/sh", "bin/sub", "bin/sub/x", "etc"])
    );
}

#[test]
fn a_whiteout_leaves_names_that_only_share_a_prefix() {
    let lower = ["a", "a/x", "ab", "ab/y", "a.txt"];
    assert_eq!(applied(&lower, &[".wh.a"]), tree(&["ab", "ab/y", "a.txt"]));
}

#[test]
fn a_whiteout_of_a_missing_path_changes_nothing() {
    let lower = ["etc", "etc/passwd"];
    assert_eq!(applied(&lower, &["etc/.wh.motd", ".wh.srv"]), tree(&lower));
}

#[test]
fn an_opaque_directory_keeps_itself_and_this_layers_entries_only() {
    let lower = [
        "var",
        "var/cache",
        "var/cache/old",
        "var/cache/old/f",
        "var/cachex",
    ];
    let want = tree(&["var", "var/cache", "var/cache/new", "var/cachex"]);
    // The marker hides the lower entries wherever it stands in the layer.
    assert_eq!(
        applied(&lower, &["var/cache/.wh..wh..opq", "var/cache/new"]),
        want
    );
    assert_eq!(
        applied(&lower, &["var/cache/new", "var/cache/.wh..wh..opq"]),
        want
    );
}

#[test]
fn an_opaque_root_hides_every_lower_entry() {
    let lower = ["bin", "bin/sh", "etc"];
    assert_eq!(applied(&lower, &[".wh..wh..opq", "app"]), tree(&["app"]));
}

#[test]
fn a_whiteout_does_not_hide_the_same_layers_entry() {
    // `rm -r d; mkdir d; touch d/new` in one step: the old contents go, the new stay.
    let lower = ["d", "d/old", "etc", "etc/motd"];
    assert_eq!(
        applied(&lower, &["d", "d/new", ".wh.d", "etc/motd", "etc/.wh.motd"]),
        tree(&["d", "d/new", "etc", "etc/motd"])
    );
}

#[test]
fn new_entries_are_added_and_markers_never_appear() {
    let lower = ["etc", "etc/gone", "var", "var/old"];
    let layer = [
        "etc/hosts",
        "etc/.wh.gone",
        "var/.wh..wh..opq",
        "var",
        "srv",
    ];
    assert_eq!(
        applied(&lower, &layer),
        tree(&["etc", "etc/hosts", "srv", "var"])
    );
}

#[test]
fn layers_apply_in_order() {
    let mut result = tree(&["bin", "bin/sh"]);
    apply_layer(&mut result, &["tmp", "tmp/build.log"]).unwrap();
    apply_layer(&mut result, &["tmp/.wh.build.log", "bin/busybox"]).unwrap();
    assert_eq!(result, tree(&["bin", "bin/busybox", "bin/sh", "tmp"]));
}

#[test]
fn a_refused_layer_leaves_the_tree_unchanged() {
    let lower = tree(&["etc", "etc/passwd", "root", "root/.profile"]);
    let mut result = lower.clone();
    let err = apply_layer(
        &mut result,
        &[".wh.root", "etc/.wh.passwd", "evil", "etc/.wh..."],
    )
    .unwrap_err();
    assert_eq!(
        err,
        LayerError::BadWhiteout {
            entry: "etc/.wh...".to_string()
        }
    );
    assert_eq!(result, lower);
}
