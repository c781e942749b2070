//! docker's path rules for `cp`: what the source names, and where it lands.
//!
//! - `SRC/.` copies what the directory holds, not the directory;
//! - a trailing `/` on the source requires a directory;
//! - a destination that is a directory receives the source under its own name;
//! - a destination file is overwritten by a file, never by a directory;
//! - a missing destination is created with the source's content, if its parent
//!   exists; with a trailing `/` only a directory may create it.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// A path given to `cp`, split as docker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenPath {
    /// The path without a trailing `/` or `/.` (`/` stays `/`).
    pub path: PathBuf,
    /// It ended in `/`.
    pub trailing_slash: bool,
    /// It ended in `/.` (or is `.`): the directory's content is meant.
    pub contents: bool,
}

impl GivenPath {
    /// Splits `text`.
    pub fn parse(text: &str) -> Self {
        let contents = text == "." || text.ends_with("/.");
        let trimmed = text.strip_suffix('.').filter(|_| contents).unwrap_or(text);
        let trailing_slash = !contents && text.len() > 1 && text.ends_with('/');
        let trimmed = trimmed.trim_end_matches('/');
        let path = match (trimmed.is_empty(), text.starts_with('/')) {
            (true, true) => PathBuf::from("/"),
            (true, false) => PathBuf::from("."),
            (false, _) => PathBuf::from(trimmed),
        };
        GivenPath {
            path,
            trailing_slash,
            contents,
        }
    }

    /// Its last component (`.` for `/` or `.`).
    pub fn base(&self) -> OsString {
        self.path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| ".".into())
    }

    /// Its parent (`/` for `/x`, `.` for `x`).
    pub fn parent(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if p.as_os_str().is_empty() => PathBuf::from("."),
            Some(p) => p.to_path_buf(),
            None => self.path.clone(),
        }
    }
}

/// What is at the destination now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestState {
    /// A directory.
    Dir,
    /// Anything else.
    File,
    /// Nothing (its parent exists).
    Missing,
}

/// Why a copy cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// A directory onto a file.
    #[error("cannot copy directory")]
    DirectoryOntoFile,
    /// A file to `missing/`.
    #[error("no such directory")]
    NoSuchDirectory,
    /// `file/` or `file/.` as the source.
    #[error("not a directory")]
    NotADirectory,
}

/// Where the copy goes: into the destination or into its parent, and under
/// which name (`None`: the source's content goes straight into the destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Extract into the destination's parent (else into the destination).
    pub into_parent: bool,
    /// The name of the copy's top entry.
    pub top: Option<OsString>,
}

impl Placement {
    /// The name the copy's tar gives the source: `.` when its content goes
    /// straight into the destination.
    pub fn top_name(&self) -> OsString {
        self.top.clone().unwrap_or_else(|| ".".into())
    }
}

// ANCHOR: cp_placement
/// docker's rules, decided before anything is written.
pub fn place(
    source: &GivenPath,
    source_is_dir: bool,
    dest: &GivenPath,
    state: DestState,
) -> Result<Placement, PlaceError> {
    if (source.trailing_slash || source.contents) && !source_is_dir {
        return Err(PlaceError::NotADirectory);
    }
    match state {
        DestState::Dir if source.contents => Ok(Placement {
            into_parent: false,
            top: None,
        }),
        DestState::Dir => Ok(Placement {
            into_parent: false,
            top: Some(source.base()),
        }),
        DestState::File if source_is_dir => Err(PlaceError::DirectoryOntoFile),
        DestState::Missing if dest.trailing_slash && !source_is_dir => {
            Err(PlaceError::NoSuchDirectory)
        }
        DestState::File | DestState::Missing => Ok(Placement {
            into_parent: true,
            top: Some(dest.base()),
        }),
    }
}
// ANCHOR_END: cp_placement

/// `path` relative and without `.`; `None` when a `..` would climb out.
pub fn inside(path: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::ParentDir => {
                if !clean.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(text: &str) -> GivenPath {
        GivenPath::parse(text)
    }

    #[test]
    fn trailing_slash_and_dot_are_read_as_docker_does() {
        assert_eq!(
            given("/etc/."),
            GivenPath {
                path: "/etc".into(),
                trailing_slash: false,
                contents: true
            }
        );
        assert!(given("/etc/").trailing_slash);
        assert_eq!(given("/").path, Path::new("/"));
        assert!(given(".").contents);
        assert_eq!(given("a/b").base(), "b");
        assert_eq!(given("b").parent(), Path::new("."));
        assert_eq!(given("/b").parent(), Path::new("/"));
    }

    #[test]
    fn a_directory_destination_receives_the_source_by_name() {
        let placed = place(&given("/etc"), true, &given("out"), DestState::Dir).unwrap();
        assert_eq!(placed.top.as_deref(), Some("etc".as_ref()));
        assert!(!placed.into_parent);
        let contents = place(&given("/etc/."), true, &given("out"), DestState::Dir).unwrap();
        assert_eq!(contents.top, None);
    }

    #[test]
    fn a_missing_destination_is_the_copy_s_new_name() {
        let placed = place(&given("/etc/keep"), false, &given("k2"), DestState::Missing).unwrap();
        assert!(placed.into_parent);
        assert_eq!(placed.top.as_deref(), Some("k2".as_ref()));
    }

    #[test]
    fn docker_s_refusals() {
        let refuse = |s: &str, dir, d: &str, state| place(&given(s), dir, &given(d), state);
        assert_eq!(
            refuse("d", true, "f", DestState::File),
            Err(PlaceError::DirectoryOntoFile)
        );
        assert_eq!(
            refuse("f", false, "new/", DestState::Missing),
            Err(PlaceError::NoSuchDirectory)
        );
        assert_eq!(
            refuse("f/", false, "x", DestState::Missing),
            Err(PlaceError::NotADirectory)
        );
        assert!(refuse("d", true, "new/", DestState::Missing).is_ok());
    }

    #[test]
    fn paths_may_not_climb_out() {
        assert_eq!(inside(Path::new("./a/../b")), Some(PathBuf::from("b")));
        assert_eq!(inside(Path::new("/abs/x")), Some(PathBuf::from("abs/x")));
        assert_eq!(inside(Path::new("a/../../x")), None);
    }
}
