//! What a tar entry's name means inside the root, decided before any file
//! system call: the path is made relative and free of `.`/`..`, and whiteout
//! names are recognised. Pure functions, so they are tested without root.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The prefix that turns a name into a whiteout (OCI image spec, layer.md).
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name that makes its directory opaque.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// Names starting with this are aufs bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`).
const AUFS_META_PREFIX: &str = ".wh..wh.";

/// Why an entry's path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// `..` climbs above the root.
    Escapes,
    /// `.wh.`, `.wh..` or `.wh...`: a whiteout of nothing, of its own directory
    /// or of its parent.
    WhiteoutNamesParent,
}

impl PathRefusal {
    /// Why, in the words of an error message.
    pub fn reason(self) -> &'static str {
        match self {
            PathRefusal::Escapes => "its path climbs out of the root with '..'",
            PathRefusal::WhiteoutNamesParent => {
                "a whiteout must name an entry of its own directory, not '', '.' or '..'"
            }
        }
    }
}

// ANCHOR: normalise_path
/// Turns an entry name into a path relative to the root, made only of normal
/// components. An empty result is the root itself.
///
/// Leading `/` and `./` are stripped: layers are always relative to the
/// root, and docker writes `./`-prefixed names too. A `..` that stays inside
/// (`a/../b`) is resolved here, textually, as docker does; one that would
/// climb above the root is refused rather than clamped, because no honest
/// layer tool writes it and silently moving the entry elsewhere would hide
/// the attack. Symlinks are not looked at here: the kernel resolves them
/// later, confined to the root (see `at::resolve`).
pub fn normalise(raw: &[u8]) -> Result<PathBuf, PathRefusal> {
    let mut clean = PathBuf::new();
    for component in Path::new(OsStr::from_bytes(raw)).components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                if !clean.pop() {
                    return Err(PathRefusal::Escapes);
                }
            }
            Component::Normal(name) => clean.push(name),
            Component::Prefix(_) => unreachable!("Windows prefixes do not exist on Linux"),
        }
    }
    Ok(clean)
}
// ANCHOR_END: normalise_path

/// What an entry's file name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker<'a> {
    /// An ordinary entry.
    Plain,
    /// `.wh..wh..opq`: the lower layers' content of this directory is hidden.
    Opaque,
    /// `.wh.NAME`: NAME of the lower layers is deleted.
    Whiteout(&'a OsStr),
    /// aufs bookkeeping, which docker skips and so does berth.
    AufsMeta,
}

// ANCHOR: classify_whiteout
/// Recognises whiteout names. Any entry type counts (docker looks at the name
/// only): the spec forbids ordinary files whose name starts with `.wh.`.
pub fn classify(name: &OsStr) -> Result<Marker<'_>, PathRefusal> {
    let bytes = name.as_bytes();
    if bytes == OPAQUE_MARKER.as_bytes() {
        return Ok(Marker::Opaque);
    }
    if bytes.starts_with(AUFS_META_PREFIX.as_bytes()) {
        return Ok(Marker::AufsMeta);
    }
    let Some(target) = bytes.strip_prefix(WHITEOUT_PREFIX.as_bytes()) else {
        return Ok(Marker::Plain);
    };
    // `.wh..` would delete the directory holding it and `.wh...` its parent:
    // a layer could erase what it does not own, so these are refused.
    if matches!(target, b"" | b"." | b"..") {
        return Err(PathRefusal::WhiteoutNamesParent);
    }
    Ok(Marker::Whiteout(OsStr::from_bytes(target)))
}
// ANCHOR_END: classify_whiteout

/// Whether any directory on the path is aufs bookkeeping (its content is too).
pub fn under_aufs_meta(path: &Path) -> bool {
    path.parent().is_some_and(|parent| {
        parent
            .iter()
            .any(|c| c.as_bytes().starts_with(AUFS_META_PREFIX.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn norm(s: &str) -> Result<PathBuf, PathRefusal> {
        normalise(s.as_bytes())
    }

    #[test]
    fn leading_slash_and_dot_are_stripped() {
        assert_eq!(norm("/etc/passwd").unwrap(), Path::new("etc/passwd"));
        assert_eq!(norm("./etc/passwd").unwrap(), Path::new("etc/passwd"));
        assert_eq!(norm("//./etc//passwd/").unwrap(), Path::new("etc/passwd"));
    }

    #[test]
    fn the_root_itself_is_empty() {
        assert_eq!(norm("./").unwrap(), Path::new(""));
        assert_eq!(norm("/").unwrap(), Path::new(""));
    }

    #[test]
    fn inner_dotdot_stays_inside() {
        assert_eq!(norm("a/b/../c").unwrap(), Path::new("a/c"));
        assert_eq!(norm("a/../b").unwrap(), Path::new("b"));
    }

    #[test]
    fn dotdot_above_the_root_is_refused() {
        assert_eq!(norm("../x"), Err(PathRefusal::Escapes));
        assert_eq!(norm("a/../../x"), Err(PathRefusal::Escapes));
        assert_eq!(norm("/../x"), Err(PathRefusal::Escapes));
        assert_eq!(norm("./.."), Err(PathRefusal::Escapes));
    }

    #[test]
    fn whiteouts_are_recognised() {
        assert_eq!(
            classify(OsStr::new(".wh.foo")),
            Ok(Marker::Whiteout(OsStr::new("foo")))
        );
        assert_eq!(classify(OsStr::new(".wh..wh..opq")), Ok(Marker::Opaque));
        assert_eq!(classify(OsStr::new(".wh..wh.plnk")), Ok(Marker::AufsMeta));
        assert_eq!(classify(OsStr::new("foo.wh.")), Ok(Marker::Plain));
        assert_eq!(classify(OsStr::new(".whx")), Ok(Marker::Plain));
    }

    #[test]
    fn whiteouts_of_self_or_parent_are_refused() {
        for name in [".wh.", ".wh..", ".wh..."] {
            assert_eq!(
                classify(OsStr::new(name)),
                Err(PathRefusal::WhiteoutNamesParent),
                "{name}"
            );
        }
    }

    #[test]
    fn aufs_directories_hide_their_content() {
        assert!(under_aufs_meta(Path::new(".wh..wh.plnk/123.456")));
        assert!(!under_aufs_meta(Path::new("a/.wh..wh.plnk")));
        assert!(!under_aufs_meta(Path::new("a/b")));
    }

    fn component() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just("".to_string()),
            "[a-z]{1,3}",
        ]
    }

    proptest! {
        /// Whatever the name, a normalised path has only normal components,
        /// so joining it to a root can never leave the root.
        #[test]
        fn normalised_paths_never_climb(parts in prop::collection::vec(component(), 0..8), absolute: bool) {
            let raw = format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"));
            if let Ok(clean) = norm(&raw) {
                prop_assert!(clean.components().all(|c| matches!(c, Component::Normal(_))));
                // Textual depth never goes negative while walking the raw name.
                let mut depth: i32 = 0;
                for part in &parts {
                    match part.as_str() {
                        ".." => depth -= 1,
                        "" | "." => {}
                        _ => depth += 1,
                    }
                    prop_assert!(depth >= 0, "{raw} was accepted but climbs");
                }
            }
        }

        /// A name is refused exactly when walking it climbs above the root.
        #[test]
        fn refusal_matches_climbing(parts in prop::collection::vec(component(), 0..8)) {
            let raw = parts.join("/");
            let mut depth: i32 = 0;
            let mut climbs = false;
            for part in &parts {
                match part.as_str() {
                    ".." => { depth -= 1; climbs |= depth < 0; }
                    "" | "." => {}
                    _ => depth += 1,
                }
            }
            prop_assert_eq!(norm(&raw).is_err(), climbs);
        }
    }
}
