//! Paths inside an archive: the names of its members, and the paths its
//! `manifest.json` gives. Neither may leave the archive.

use super::ArchiveError;

// ANCHOR: member_path
/// Normalises a path inside the archive to `a/b/c` form: `./` and `.` parts are
/// dropped and `a/../b` is resolved. An absolute path, or one that climbs above
/// the archive's top with `..`, is refused: no tool writes them, and they are how
/// a hostile archive reaches files it does not hold.
pub fn member_path(raw: &str) -> Result<String, ArchiveError> {
    let refuse = |reason| ArchiveError::BadPath {
        path: raw.to_string(),
        reason,
    };
    if raw.starts_with('/') {
        return Err(refuse("absolute paths point outside the archive"));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts
                    .pop()
                    .ok_or_else(|| refuse("'..' climbs out of the archive"))?;
            }
            name => parts.push(name),
        }
    }
    if parts.is_empty() {
        return Err(refuse("it names no file"));
    }
    Ok(parts.join("/"))
}
// ANCHOR_END: member_path

/// The directory part of a normalised member path (`""` at the top).
pub(super) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_forms() {
        let cases = [
            ("manifest.json", "manifest.json"),
            ("./manifest.json", "manifest.json"),
            ("blobs/sha256/ab", "blobs/sha256/ab"),
            ("a//b/./c", "a/b/c"),
            ("abc/../def/layer.tar", "def/layer.tar"),
            ("dir/", "dir"),
        ];
        for (raw, want) in cases {
            assert_eq!(member_path(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn escapes_are_refused() {
        for raw in ["/etc/passwd", "../x", "a/../../x", "", ".", "./.."] {
            assert!(
                matches!(member_path(raw), Err(ArchiveError::BadPath { .. })),
                "{raw}"
            );
        }
    }

    #[test]
    fn parents() {
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("c"), "");
    }
}
