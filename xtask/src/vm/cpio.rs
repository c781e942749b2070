//! A writer for the "newc" cpio format, the one the kernel unpacks as an initramfs.
//!
//! Writing it here (rather than staging a directory for the `cpio` tool) lets the archive
//! hold a `/dev/console` device node without root, and makes it reproducible: every
//! timestamp is zero and entries come out in the order they were added.

use std::collections::BTreeSet;

use anyhow::bail;

/// File type bits of `st_mode`, as the kernel's unpacker reads them.
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;

/// An archive being built in memory; parent directories are added on demand.
#[derive(Default)]
pub struct Archive {
    bytes: Vec<u8>,
    next_inode: u32,
    directories: BTreeSet<String>,
    others: BTreeSet<String>,
}

/// One entry's header fields that differ between entry kinds.
struct Header<'a> {
    path: &'a str,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    data: &'a [u8],
}

impl Archive {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory (and its parents); adding one twice is harmless.
    pub fn directory(&mut self, path: &str, permissions: u32) -> anyhow::Result<()> {
        let path = normalise(path)?;
        if self.directories.contains(&path) {
            return Ok(());
        }
        self.parents(&path)?;
        self.claim(&path)?;
        self.directories.insert(path.clone());
        self.entry(Header {
            path: &path,
            mode: S_IFDIR | permissions,
            nlink: 2,
            rdev: (0, 0),
            data: &[],
        });
        Ok(())
    }

    /// Adds a regular file with the given content.
    pub fn file(&mut self, path: &str, permissions: u32, content: &[u8]) -> anyhow::Result<()> {
        let path = self.new_leaf(path)?;
        self.entry(Header {
            path: &path,
            mode: S_IFREG | permissions,
            nlink: 1,
            rdev: (0, 0),
            data: content,
        });
        Ok(())
    }

    /// Adds a symbolic link pointing at `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> anyhow::Result<()> {
        let path = self.new_leaf(path)?;
        self.entry(Header {
            path: &path,
            mode: S_IFLNK | 0o777,
            nlink: 1,
            rdev: (0, 0),
            data: target.as_bytes(),
        });
        Ok(())
    }

    /// Adds a character device node.
    pub fn char_device(
        &mut self,
        path: &str,
        permissions: u32,
        major: u32,
        minor: u32,
    ) -> anyhow::Result<()> {
        let path = self.new_leaf(path)?;
        self.entry(Header {
            path: &path,
            mode: S_IFCHR | permissions,
            nlink: 1,
            rdev: (major, minor),
            data: &[],
        });
        Ok(())
    }

    /// Whether something already sits at `path`.
    pub fn contains(&self, path: &str) -> bool {
        normalise(path).is_ok_and(|p| self.directories.contains(&p) || self.others.contains(&p))
    }

    /// Appends the trailer and returns the archive's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry(Header {
            path: "TRAILER!!!",
            mode: 0,
            nlink: 1,
            rdev: (0, 0),
            data: &[],
        });
        self.bytes
    }

    /// Normalises a non-directory path, creates its parents and refuses duplicates.
    fn new_leaf(&mut self, path: &str) -> anyhow::Result<String> {
        let path = normalise(path)?;
        self.parents(&path)?;
        self.claim(&path)?;
        self.others.insert(path.clone());
        Ok(path)
    }

    /// Fails when `path` is already taken: the kernel would silently keep the last one.
    fn claim(&self, path: &str) -> anyhow::Result<()> {
        if self.directories.contains(path) || self.others.contains(path) {
            bail!("initramfs: `{path}` added twice");
        }
        Ok(())
    }

    /// Adds every missing ancestor directory of `path`, outermost first.
    fn parents(&mut self, path: &str) -> anyhow::Result<()> {
        let mut ancestor = String::new();
        let components: Vec<&str> = path.split('/').collect();
        for component in &components[..components.len() - 1] {
            if !ancestor.is_empty() {
                ancestor.push('/');
            }
            ancestor.push_str(component);
            if self.others.contains(&ancestor) {
                bail!("initramfs: `{ancestor}` is not a directory, cannot hold `{path}`");
            }
            self.directory(&ancestor.clone(), 0o755)?;
        }
        Ok(())
    }

    // ANCHOR: newc_entry
    /// Writes one entry: a 110-byte ASCII header, the name, then the data, each padded to 4.
    fn entry(&mut self, header: Header<'_>) {
        self.next_inode += 1;
        let name_size = header.path.len() + 1; // the name is NUL-terminated
        let fields = [
            self.next_inode,
            header.mode,
            0, // uid: root
            0, // gid: root
            header.nlink,
            0, // mtime: zero, so the archive is reproducible
            u32::try_from(header.data.len()).expect("initramfs entries are smaller than 4 GiB"),
            0, // devmajor and devminor: the device holding the file, unused
            0,
            header.rdev.0,
            header.rdev.1,
            u32::try_from(name_size).expect("paths are short"),
            0, // check: only used by the "070702" variant
        ];
        self.bytes.extend_from_slice(b"070701");
        for field in fields {
            self.bytes
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(header.path.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(header.data);
        self.pad();
    }
    // ANCHOR_END: newc_entry

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }
}

/// Strips leading slashes and refuses empty, `.` and `..` components.
fn normalise(path: &str) -> anyhow::Result<String> {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty()
        || trimmed
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        bail!("initramfs: `{path}` is not a plain path below /");
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One parsed entry: name, mode, rdev major, rdev minor, data.
    type Parsed = (String, u32, u32, u32, Vec<u8>);

    /// Reads an archive back, checking magic and alignment as the kernel would.
    fn parse(mut bytes: &[u8]) -> Vec<Parsed> {
        let start = bytes.len();
        let mut entries = Vec::new();
        loop {
            assert_eq!((start - bytes.len()) % 4, 0, "each header starts 4-aligned");
            assert_eq!(&bytes[..6], b"070701");
            let field = |i: usize| {
                let text = std::str::from_utf8(&bytes[6 + 8 * i..14 + 8 * i]).unwrap();
                u32::from_str_radix(text, 16).unwrap()
            };
            let (mode, size, major, minor, name_size) =
                (field(1), field(6), field(9), field(10), field(11));
            let name = std::str::from_utf8(&bytes[110..110 + name_size as usize - 1])
                .unwrap()
                .to_string();
            assert_eq!(
                bytes[110 + name_size as usize - 1],
                0,
                "name is NUL-terminated"
            );
            let data_start = (110 + name_size as usize).next_multiple_of(4);
            let data = bytes[data_start..data_start + size as usize].to_vec();
            bytes = &bytes[(data_start + size as usize).next_multiple_of(4)..];
            if name == "TRAILER!!!" {
                assert!(bytes.is_empty(), "nothing follows the trailer");
                return entries;
            }
            entries.push((name, mode, major, minor, data));
        }
    }

    #[test]
    fn parents_come_before_their_children() {
        let mut archive = Archive::new();
        archive.file("/usr/local/bin/ch02", 0o755, b"elf").unwrap();
        let names: Vec<String> = parse(&archive.finish()).into_iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            ["usr", "usr/local", "usr/local/bin", "usr/local/bin/ch02"]
        );
    }

    #[test]
    fn entries_keep_kind_permissions_and_content() {
        let mut archive = Archive::new();
        archive.file("init", 0o755, b"#!/bin/sh\n").unwrap();
        archive.symlink("bin/sh", "/bin/busybox").unwrap();
        archive.char_device("dev/console", 0o600, 5, 1).unwrap();
        let entries = parse(&archive.finish());
        assert_eq!(
            entries[0],
            (
                "init".into(),
                S_IFREG | 0o755,
                0,
                0,
                b"#!/bin/sh\n".to_vec()
            )
        );
        assert_eq!(
            entries[2],
            (
                "bin/sh".into(),
                S_IFLNK | 0o777,
                0,
                0,
                b"/bin/busybox".to_vec()
            )
        );
        assert_eq!(
            entries[4],
            ("dev/console".into(), S_IFCHR | 0o600, 5, 1, Vec::new())
        );
    }

    #[test]
    fn odd_sizes_are_padded_to_four_bytes() {
        for len in 0..9 {
            let mut archive = Archive::new();
            archive.file("a", 0o644, &vec![b'x'; len]).unwrap();
            archive.file("bc", 0o644, b"y").unwrap();
            let entries = parse(&archive.finish());
            assert_eq!(entries[0].4.len(), len);
            assert_eq!(entries[1].4, b"y");
        }
    }

    #[test]
    fn a_path_cannot_be_added_twice() {
        let mut archive = Archive::new();
        archive.file("bin/ch02", 0o755, b"").unwrap();
        assert!(archive.symlink("bin/ch02", "x").is_err());
        assert!(
            archive.file("bin/ch02/x", 0o644, b"").is_err(),
            "a file is not a parent"
        );
        archive.directory("bin", 0o755).unwrap();
        assert!(archive.contains("/bin/ch02"));
    }

    #[test]
    fn paths_must_stay_below_the_root() {
        let mut archive = Archive::new();
        for bad in ["", "/", "a/../b", "a//b", "./a"] {
            assert!(archive.file(bad, 0o644, b"").is_err(), "{bad:?} accepted");
        }
    }
}
