use super::*;

fn file(path: &str) -> UpperEntry {
    UpperEntry {
        path: path.to_string(),
        kind: Kind::File,
        opaque: false,
    }
}

fn dir(path: &str) -> UpperEntry {
    UpperEntry {
        kind: Kind::Dir,
        ..file(path)
    }
}

fn opaque_dir(path: &str) -> UpperEntry {
    UpperEntry {
        opaque: true,
        ..dir(path)
    }
}

fn whiteout(path: &str) -> UpperEntry {
    UpperEntry {
        kind: Kind::CharDevice { major: 0, minor: 0 },
        ..file(path)
    }
}

/// The image the scenarios run on (the tree of the layers below the upper).
fn image() -> BTreeSet<String> {
    [
        "a",
        "a/sub",
        "a/sub/y",
        "a/x",
        "b",
        "b/f",
        "bin",
        "bin/sh",
        "c",
        "c/f",
        "etc",
        "etc/passwd",
        "root",
        "tmp",
        "usr",
        "usr/local",
        "usr/local/bin",
    ]
    .iter()
    .map(|path| path.to_string())
    .collect()
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|line| line.to_string()).collect()
}

#[test]
fn a_whiteout_is_a_character_device_numbered_0_0() {
    assert!(is_whiteout(Kind::CharDevice { major: 0, minor: 0 }));
    assert!(!is_whiteout(Kind::CharDevice { major: 1, minor: 3 }));
    assert!(!is_whiteout(Kind::CharDevice { major: 0, minor: 1 }));
    assert!(!is_whiteout(Kind::CharDevice { major: 5, minor: 0 }));
    assert!(!is_whiteout(Kind::File));
    assert!(!is_whiteout(Kind::Dir));
}

#[test]
fn an_entry_is_changed_when_the_tree_below_has_it_else_added() {
    let lower = image();
    assert_eq!(change_of(&file("b/f"), &lower), Change::Changed);
    assert_eq!(change_of(&dir("usr/local"), &lower), Change::Changed);
    assert_eq!(change_of(&file("b/g"), &lower), Change::Added);
    assert_eq!(change_of(&dir("new"), &lower), Change::Added);
    // A file where a directory was is a change of that path.
    assert_eq!(change_of(&file("a"), &lower), Change::Changed);
}

#[test]
fn a_whiteout_is_a_deletion_and_a_real_device_an_addition() {
    let lower = image();
    assert_eq!(change_of(&whiteout("b/f"), &lower), Change::Deleted);
    let null = UpperEntry {
        kind: Kind::CharDevice { major: 1, minor: 3 },
        ..file("tmp/null")
    };
    assert_eq!(change_of(&null, &lower), Change::Added);
}

#[test]
fn lines_are_sorted_by_path_with_a_slash_in_front() {
    // `touch /usr/local/bin/n`: the file is new, every directory above it was
    // copied up.
    let upper = [
        dir("usr"),
        dir("usr/local"),
        dir("usr/local/bin"),
        file("usr/local/bin/n"),
    ];
    assert_eq!(
        diff(&upper, &image()),
        lines(&[
            "C /usr",
            "C /usr/local",
            "C /usr/local/bin",
            "A /usr/local/bin/n"
        ])
    );
    // Walk order does not matter.
    let reversed: Vec<UpperEntry> = upper.iter().rev().cloned().collect();
    assert_eq!(diff(&reversed, &image()), diff(&upper, &image()));
}

#[test]
fn nothing_written_is_no_change() {
    assert_eq!(diff(&[], &image()), Vec::<String>::new());
}

#[test]
fn a_directory_that_is_not_opaque_keeps_what_is_below() {
    // `echo >> /b/f; rm /c/f; echo new > /c/f`: b/f changed, c/f replaced.
    let upper = [dir("b"), file("b/f"), dir("c"), file("c/f")];
    assert_eq!(
        diff(&upper, &image()),
        lines(&["C /b", "C /b/f", "C /c", "C /c/f"])
    );
}

#[test]
fn docker_steps_deletions_an_opaque_directory_and_a_renamed_one() {
    // The container ran: rm -rf /a && mkdir /a && touch /a/new; rm /b/f;
    // mv /c /c2 (overlay copies a renamed directory when redirect_dir is off);
    // mkdir -p /new/deep; touch /new/deep/f; rm -rf /usr/local
    let upper = [
        opaque_dir("a"),
        file("a/new"),
        dir("b"),
        whiteout("b/f"),
        whiteout("c"),
        dir("c2"),
        file("c2/f"),
        dir("new"),
        dir("new/deep"),
        file("new/deep/f"),
        dir("usr"),
        whiteout("usr/local"),
    ];
    // What docker diff printed for the same steps, sorted.
    assert_eq!(
        diff(&upper, &image()),
        lines(&[
            "C /a",
            "A /a/new",
            "D /a/sub",
            "D /a/x",
            "C /b",
            "D /b/f",
            "D /c",
            "A /c2",
            "A /c2/f",
            "A /new",
            "A /new/deep",
            "A /new/deep/f",
            "C /usr",
            "D /usr/local",
        ])
    );
}

#[test]
fn below_an_opaque_directory_every_directory_hides_the_lower_tree() {
    // rm -rf /a; mkdir /a; mkdir /a/sub; touch /a/sub/z: a/sub is not opaque
    // itself, but its parent is, so a/sub/y is gone too.
    let upper = [opaque_dir("a"), dir("a/sub"), file("a/sub/z")];
    assert_eq!(
        diff(&upper, &image()),
        lines(&["C /a", "C /a/sub", "D /a/sub/y", "A /a/sub/z", "D /a/x"])
    );
}

#[test]
fn an_opaque_directory_new_to_the_image_deletes_nothing() {
    let upper = [opaque_dir("fresh"), file("fresh/f")];
    assert_eq!(diff(&upper, &image()), lines(&["A /fresh", "A /fresh/f"]));
    // A name that only starts like a lower directory is not inside it.
    let lower: BTreeSet<String> = ["ab", "ab/x", "a"].iter().map(|p| p.to_string()).collect();
    assert_eq!(diff(&[opaque_dir("a")], &lower), lines(&["C /a"]));
}
