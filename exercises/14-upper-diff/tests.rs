use super::*;

/// When the image's files were written.
const IMAGE_TIME: i64 = 1_700_000_000_000_000_000;
/// When the container wrote its files, an hour later.
const CONTAINER_TIME: i64 = IMAGE_TIME + 3_600_000_000_000;

fn stat(kind: Kind, mode: u32, size: u64) -> Stat {
    Stat {
        kind,
        mode,
        uid: 0,
        gid: 0,
        size,
        mtime: IMAGE_TIME,
    }
}

/// The image the scenarios run on (the tree of the layers below the upper).
fn image() -> BTreeMap<String, Stat> {
    let dir = stat(Kind::Dir, 0o755, 4096);
    let file = |size| stat(Kind::File, 0o644, size);
    [
        ("a", dir),
        ("a/sub", dir),
        ("a/sub/y", file(2)),
        ("a/x", file(2)),
        ("b", dir),
        ("b/f", file(4)),
        ("bin", dir),
        ("bin/sh", stat(Kind::File, 0o755, 1_000_000)),
        ("c", dir),
        ("c/f", file(4)),
        ("etc", dir),
        ("etc/passwd", file(300)),
        ("tmp", stat(Kind::Dir, 0o1777, 4096)),
        ("usr", dir),
        ("usr/local", dir),
        ("usr/local/bin", dir),
    ]
    .into_iter()
    .map(|(path, stat)| (path.to_string(), stat))
    .collect()
}

/// An entry of the image copied up: everything `lstat` says is kept.
fn copied(path: &str) -> UpperEntry {
    UpperEntry {
        path: path.to_string(),
        stat: image()[path],
        opaque: false,
    }
}

/// An entry of the image copied up, then changed by `change`.
fn copied_then(path: &str, change: impl Fn(&mut Stat)) -> UpperEntry {
    let mut entry = copied(path);
    change(&mut entry.stat);
    entry
}

/// A file of the image written to: a new size and a new time.
fn written(path: &str, size: u64) -> UpperEntry {
    copied_then(path, |stat| {
        stat.size = size;
        stat.mtime = CONTAINER_TIME;
    })
}

fn made(path: &str, kind: Kind, mode: u32, size: u64) -> UpperEntry {
    UpperEntry {
        path: path.to_string(),
        stat: Stat {
            mtime: CONTAINER_TIME,
            ..stat(kind, mode, size)
        },
        opaque: false,
    }
}

fn new_file(path: &str) -> UpperEntry {
    made(path, Kind::File, 0o644, 0)
}

fn new_dir(path: &str) -> UpperEntry {
    made(path, Kind::Dir, 0o755, 4096)
}

fn opaque_dir(path: &str) -> UpperEntry {
    UpperEntry {
        opaque: true,
        ..new_dir(path)
    }
}

fn whiteout(path: &str) -> UpperEntry {
    made(path, Kind::CharDevice { major: 0, minor: 0 }, 0, 0)
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
fn a_file_differs_in_type_mode_owner_size_or_time() {
    let old = stat(Kind::File, 0o644, 4);
    assert!(!differs(&old, &old));
    let changes: [fn(&mut Stat); 7] = [
        |s| s.kind = Kind::Symlink,
        |s| s.mode = 0o600,
        |s| s.uid = 1000,
        |s| s.gid = 1000,
        |s| s.size = 5,
        |s| s.mtime += 1,
        |s| s.kind = Kind::Dir,
    ];
    for change in changes {
        let mut new = old;
        change(&mut new);
        assert!(differs(&new, &old), "{new:?} against {old:?}");
    }
    // A device's number is part of what it is.
    let null = stat(Kind::CharDevice { major: 1, minor: 3 }, 0o666, 0);
    let zero = stat(Kind::CharDevice { major: 1, minor: 5 }, 0o666, 0);
    assert!(differs(&zero, &null));
}

#[test]
fn a_directory_differs_only_in_type_mode_or_owner() {
    let old = stat(Kind::Dir, 0o755, 4096);
    // A name added and removed again: a new size and time, the same directory.
    let touched = Stat {
        size: 8192,
        mtime: CONTAINER_TIME,
        ..old
    };
    assert!(!differs(&touched, &old));
    assert!(differs(&Stat { mode: 0o700, ..old }, &old));
    assert!(differs(&Stat { uid: 1000, ..old }, &old));
    assert!(differs(&Stat { gid: 1000, ..old }, &old));
    // A directory where a file was.
    let file = stat(Kind::File, 0o755, 4096);
    assert!(differs(&old, &file));
}

#[test]
fn an_entry_is_compared_with_the_file_below_it() {
    let lower = image();
    assert_eq!(change_of(&new_file("b/g"), &lower), Some(Change::Added));
    assert_eq!(change_of(&new_dir("new"), &lower), Some(Change::Added));
    assert_eq!(change_of(&written("b/f", 5), &lower), Some(Change::Changed));
    assert_eq!(
        change_of(&copied_then("b", |s| s.uid = 1000), &lower),
        Some(Change::Changed)
    );
    // Copied up and left as it was.
    assert_eq!(change_of(&copied("b/f"), &lower), None);
    assert_eq!(change_of(&copied("usr/local"), &lower), None);
    // A file where a directory was is a change of that path.
    assert_eq!(change_of(&new_file("a"), &lower), Some(Change::Changed));
}

#[test]
fn a_whiteout_deletes_what_is_below_and_a_real_device_is_added() {
    let lower = image();
    assert_eq!(change_of(&whiteout("b/f"), &lower), Some(Change::Deleted));
    assert_eq!(change_of(&whiteout("b/none"), &lower), None);
    let null = made(
        "tmp/null",
        Kind::CharDevice { major: 1, minor: 3 },
        0o666,
        0,
    );
    assert_eq!(change_of(&null, &lower), Some(Change::Added));
}

#[test]
fn lines_are_sorted_by_path_with_a_slash_in_front() {
    // `touch /usr/local/bin/n`: the file is new, and every directory above it,
    // copied up, holds a change.
    let upper = [
        copied("usr"),
        copied("usr/local"),
        copied_then("usr/local/bin", |s| s.mtime = CONTAINER_TIME),
        new_file("usr/local/bin/n"),
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
fn a_file_made_and_removed_again_leaves_no_line() {
    // `touch /usr/local/bin/n; rm /usr/local/bin/n`: the copied-up directories
    // stay, bin with a new time; a file the layers never had leaves no whiteout.
    let upper = [
        copied("usr"),
        copied("usr/local"),
        copied_then("usr/local/bin", |s| s.mtime = CONTAINER_TIME),
    ];
    assert_eq!(diff(&upper, &image()), Vec::<String>::new());
}

#[test]
fn a_copy_up_with_nothing_written_is_no_change() {
    // `exec 3<>/a/x`: opened for writing, so copied up, and closed unchanged.
    let upper = [copied("a"), copied("a/x")];
    assert_eq!(diff(&upper, &image()), Vec::<String>::new());
}

#[test]
fn a_chmod_changes_the_directory_and_its_parent() {
    // `chmod 700 /a/sub`.
    let upper = [copied("a"), copied_then("a/sub", |s| s.mode = 0o700)];
    assert_eq!(diff(&upper, &image()), lines(&["C /a", "C /a/sub"]));
}

#[test]
fn a_directory_that_is_not_opaque_keeps_what_is_below() {
    // `echo >> /b/f; rm /c/f; echo new > /c/f`: b/f changed, c/f replaced.
    let upper = [
        copied("b"),
        written("b/f", 5),
        copied_then("c", |s| s.mtime = CONTAINER_TIME),
        written("c/f", 4),
    ];
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
        new_file("a/new"),
        copied("b"),
        whiteout("b/f"),
        whiteout("c"),
        new_dir("c2"),
        UpperEntry {
            path: "c2/f".to_string(),
            ..copied("c/f")
        },
        new_dir("new"),
        new_dir("new/deep"),
        new_file("new/deep/f"),
        copied("usr"),
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
    // rm -rf /a; mkdir -p /a/sub; touch /a/sub/z: a/sub is not opaque itself,
    // but its parent is, so a/sub/y is gone too. Neither directory differs from
    // the image's: each is `C` for what went from it.
    let upper = [opaque_dir("a"), new_dir("a/sub"), new_file("a/sub/z")];
    assert_eq!(
        diff(&upper, &image()),
        lines(&["C /a", "C /a/sub", "D /a/sub/y", "A /a/sub/z", "D /a/x"])
    );
}

#[test]
fn a_directory_where_a_file_was_is_a_change() {
    // rm /a/x && mkdir /a/x && touch /a/x/f: overlay marks a directory made
    // over a whiteout opaque.
    let upper = [copied("a"), opaque_dir("a/x"), new_file("a/x/f")];
    assert_eq!(
        diff(&upper, &image()),
        lines(&["C /a", "C /a/x", "A /a/x/f"])
    );
}

#[test]
fn an_opaque_directory_new_to_the_image_deletes_nothing() {
    let upper = [opaque_dir("fresh"), new_file("fresh/f")];
    assert_eq!(diff(&upper, &image()), lines(&["A /fresh", "A /fresh/f"]));
}

#[test]
fn a_name_that_only_starts_like_a_directory_is_not_inside_it() {
    let dir = stat(Kind::Dir, 0o755, 4096);
    let lower: BTreeMap<String, Stat> = [
        ("a", dir),
        ("ab", dir),
        ("ab/x", stat(Kind::File, 0o644, 1)),
    ]
    .into_iter()
    .map(|(path, stat)| (path.to_string(), stat))
    .collect();
    let upper = [
        UpperEntry {
            path: "a".to_string(),
            stat: dir,
            opaque: true,
        },
        UpperEntry {
            path: "ab".to_string(),
            stat: dir,
            opaque: false,
        },
        UpperEntry {
            path: "ab/x".to_string(),
            stat: stat(Kind::File, 0o644, 2),
            opaque: false,
        },
    ];
    // Neither `D /ab` from the opaque `a`, nor `C /a` for the change in `ab`.
    assert_eq!(diff(&upper, &lower), lines(&["C /ab", "C /ab/x"]));
}
