//! Writing a container's files as a tar stream: `export` (the whole tree),
//! `commit` (the changes, whiteouts in OCI's form), `cp` out of a container.
//!
//! Every file is read through the descriptor of its directory (see
//! [`super::tree`]), and only what a tar can hold is written: directories,
//! regular files (hard links once, then as links), symlinks, devices and
//! fifos. Sockets are left out, as docker does. Of the extended attributes only
//! `security.capability` is kept, as docker does.
//!
//! Names are written as docker's archives spell them: a directory ends with
//! `/` (`srv/`), and a name keeps the `./` or `/` it was given (`cp
//! CONTAINER:/dir/. -` writes `./`, `./x`). The tar crate would tidy both away,
//! so the names go into the headers as bytes; one longer than a header holds
//! goes into a PAX record, as Go's tar (docker's) does it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};
use xattr::FileExt;

use super::tree::{self, Descend, Kind, Node, TreeError};

/// The prefix of an OCI whiteout entry (`.wh.NAME` deletes NAME).
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The entry that makes its directory opaque in an OCI layer.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The one extended attribute docker writes into archives.
pub const CAPABILITY_XATTR: &str = "security.capability";

/// Why a tar stream could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// A file could not be read.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// The stream could not be written.
    #[error("writing the archive: {source}")]
    Write {
        /// The system's error.
        source: io::Error,
    },
}

impl From<TarError> for berth_engine::Error {
    fn from(e: TarError) -> Self {
        match e {
            TarError::Tree(e) => e.into(),
            TarError::Write { .. } => berth_engine::Error::failed(e.to_string())
                .hint("check that the output is writable and has free space"),
        }
    }
}

fn write_error(source: io::Error) -> TarError {
    TarError::Write { source }
}

/// How the overlay's whiteouts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// As OCI layer entries: a 0:0 device becomes `.wh.NAME`, an opaque
    /// directory gets `.wh..wh..opq` (commit).
    Oci,
    /// Not expected: the tree is a merged view (export, cp).
    None,
}

/// A tar stream being written from a tree.
pub struct TreeTar<W: Write> {
    builder: tar::Builder<W>,
    whiteouts: Whiteouts,
    /// The first path written for each (device, inode) with more than one link.
    links: HashMap<(u64, u64), PathBuf>,
    entries: u64,
    owner: Option<(u32, u32)>,
}

impl<W: Write> TreeTar<W> {
    /// A stream into `out`.
    pub fn new(out: W, whiteouts: Whiteouts) -> Self {
        let mut builder = tar::Builder::new(out);
        builder.follow_symlinks(false);
        TreeTar {
            builder,
            whiteouts,
            links: HashMap::new(),
            entries: 0,
            owner: None,
        }
    }

    /// Writes every entry as owned by `uid:gid` instead of its owner (`cp`
    /// without `-a`).
    pub fn with_owner(mut self, owner: Option<(u32, u32)>) -> Self {
        self.owner = owner;
        self
    }

    /// Entries written so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    // ANCHOR: append_tree
    /// Writes every file under the directory `root` as `prefix/…` (no prefix:
    /// names relative to `root`), leaving out the paths `skip` names (relative
    /// to `root`) and what is below them.
    pub fn append_tree(
        &mut self,
        root: BorrowedFd<'_>,
        prefix: &Path,
        skip: &dyn Fn(&Path) -> bool,
    ) -> Result<(), TarError> {
        tree::walk(root, &mut |node| {
            if skip(node.path) {
                return Ok(Descend::No);
            }
            self.append_node(node, &prefix.join(node.path))?;
            Ok(Descend::Yes)
        })
    }
    // ANCHOR_END: append_tree

    // ANCHOR: append_node
    /// Writes one file as `name` (a directory as `name/`).
    pub fn append_node(&mut self, node: &Node, name: &Path) -> Result<(), TarError> {
        let stat = &node.stat;
        let mut header = Header::new_ustar();
        // The file-type bits stay in the mode field, as Go's tar (docker's) writes it.
        header.set_mode(stat.st_mode);
        let (uid, gid) = self.owner.unwrap_or((stat.st_uid, stat.st_gid));
        header.set_uid(u64::from(uid));
        header.set_gid(u64::from(gid));
        header.set_mtime(stat.st_mtime.max(0) as u64);
        header.set_size(0);
        let read = |action| TreeError::read(action, node.path);
        match node.kind() {
            Kind::Char if node.is_whiteout() && self.whiteouts == Whiteouts::Oci => {
                header.set_entry_type(EntryType::Regular);
                header.set_mode(0o100600);
                self.append(&mut header, &whiteout_name(name), io::empty())?;
            }
            Kind::Dir => {
                header.set_entry_type(EntryType::Directory);
                self.append(&mut header, &dir_name(name), io::empty())?;
                let opaque = super::changes::is_opaque(node.parent, node.name);
                if self.whiteouts == Whiteouts::Oci && opaque {
                    header.set_entry_type(EntryType::Regular);
                    header.set_mode(0o100000 | (stat.st_mode & 0o777));
                    self.append(&mut header, &name.join(OPAQUE_MARKER), io::empty())?;
                }
            }
            Kind::File => {
                let key = (stat.st_dev, stat.st_ino);
                if stat.st_nlink > 1 {
                    if let Some(first) = self.links.get(&key).cloned() {
                        header.set_entry_type(EntryType::Link);
                        return self.append_entry(
                            &mut header,
                            name,
                            Some(&first),
                            Vec::new(),
                            io::empty(),
                        );
                    }
                    self.links.insert(key, name.to_path_buf());
                }
                let file = tree::open_file(node.parent, node.name).map_err(read("opening"))?;
                let mut records = Vec::new();
                if let Ok(Some(caps)) = file.get_xattr(CAPABILITY_XATTR) {
                    records.push((format!("SCHILY.xattr.{CAPABILITY_XATTR}"), caps));
                }
                let size = stat.st_size as u64;
                header.set_entry_type(EntryType::Regular);
                header.set_size(size);
                // A file that shrinks while it is read is padded with zeros, so
                // the entry always holds the size its header announced.
                let data = file.take(size).chain(io::repeat(0)).take(size);
                self.append_entry(&mut header, name, None, records, data)?;
            }
            Kind::Symlink => {
                let target = tree::link_target(node.parent, node.name).map_err(read("reading"))?;
                header.set_entry_type(EntryType::Symlink);
                let target = Path::new(&target);
                self.append_entry(&mut header, name, Some(target), Vec::new(), io::empty())?;
            }
            Kind::Char | Kind::Block | Kind::Fifo => {
                header.set_entry_type(match node.kind() {
                    Kind::Char => EntryType::Char,
                    Kind::Block => EntryType::Block,
                    _ => EntryType::Fifo,
                });
                let (major, minor) = (
                    nix::sys::stat::major(stat.st_rdev),
                    nix::sys::stat::minor(stat.st_rdev),
                );
                header
                    .set_device_major(major as u32)
                    .and_then(|()| header.set_device_minor(minor as u32))
                    .map_err(write_error)?;
                self.append(&mut header, name, io::empty())?;
            }
            Kind::Socket => {}
        }
        Ok(())
    }
    // ANCHOR_END: append_node

    /// Writes the OCI whiteout that deletes `name` (`dir/.wh.NAME`), as a
    /// plain copy's deleted file becomes in a layer.
    pub fn append_whiteout(&mut self, name: &Path) -> Result<(), TarError> {
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::Regular);
        header.set_mode(0o100600);
        header.set_size(0);
        self.append(&mut header, &whiteout_name(name), io::empty())
    }

    fn append(
        &mut self,
        header: &mut Header,
        name: &Path,
        data: impl Read,
    ) -> Result<(), TarError> {
        self.append_entry(header, name, None, Vec::new(), data)
    }

    // ANCHOR: exact_names
    /// Writes one entry named `name` byte for byte (a link pointing at
    /// `link`), after a PAX header holding `records` and whatever does not
    /// fit the header's 100-byte fields.
    fn append_entry(
        &mut self,
        header: &mut Header,
        name: &Path,
        link: Option<&Path>,
        mut records: Vec<(String, Vec<u8>)>,
        data: impl Read,
    ) -> Result<(), TarError> {
        let fields = header.as_old_mut();
        let name = name.as_os_str().as_bytes();
        if !put_bytes(&mut fields.name, name) {
            records.push(("path".into(), name.to_vec()));
        }
        if let Some(link) = link {
            let link = link.as_os_str().as_bytes();
            if !put_bytes(&mut fields.linkname, link) {
                records.push(("linkpath".into(), link.to_vec()));
            }
        }
        if !records.is_empty() {
            self.append_pax(name, &records)?;
        }
        header.set_cksum();
        self.entries += 1;
        self.builder.append(header, data).map_err(write_error)
    }
    // ANCHOR_END: exact_names

    /// A PAX extended header for the entry `name` that follows.
    fn append_pax(&mut self, name: &[u8], records: &[(String, Vec<u8>)]) -> Result<(), TarError> {
        let mut data = Vec::new();
        for (key, value) in records {
            data.extend(pax_record(key, value));
        }
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::XHeader);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        let base = Path::new(OsStr::from_bytes(name))
            .file_name()
            .map(|n| n.as_bytes())
            .unwrap_or(b"entry");
        // The name of a PAX header is informative only; keep it short.
        let base = String::from_utf8_lossy(&base[..base.len().min(80)]).into_owned();
        self.builder
            .append_data(&mut header, format!("PaxHeaders/{base}"), &data[..])
            .map_err(write_error)
    }

    /// Ends the stream (two zero blocks) and gives the writer back.
    pub fn finish(self) -> Result<W, TarError> {
        self.builder.into_inner().map_err(write_error)
    }
}

/// Copies `bytes` into a header field padded with NULs, or its first bytes
/// when it is too long for it: false then, and a PAX record must say the rest.
fn put_bytes(field: &mut [u8], bytes: &[u8]) -> bool {
    let fits = bytes.len() <= field.len();
    let kept = bytes.len().min(field.len());
    field.fill(0);
    field[..kept].copy_from_slice(&bytes[..kept]);
    fits
}

/// A directory's name in docker's archives: with a `/` at the end.
fn dir_name(name: &Path) -> PathBuf {
    let mut bytes = name.as_os_str().as_bytes().to_vec();
    if bytes.last() != Some(&b'/') {
        bytes.push(b'/');
    }
    PathBuf::from(OsString::from_vec(bytes))
}

/// `dir/NAME` → `dir/.wh.NAME`.
fn whiteout_name(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{WHITEOUT_PREFIX}{name}"))
}

/// One PAX record, `"<length> <key>=<value>\n"`, where the length counts itself.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut length = rest + rest.to_string().len();
    if length.to_string().len() + rest != length {
        length += 1;
    }
    let mut record = format!("{length} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// Writes the whole tree under `root` into `out` (no whiteouts expected).
pub fn write_tree(
    root: &Path,
    out: impl Write,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<u64, TarError> {
    let fd = tree::open_root(root)?;
    let mut tar = TreeTar::new(out, Whiteouts::None);
    tar.append_tree(fd.as_fd(), Path::new(""), skip)?;
    let entries = tar.entries();
    tar.finish()?.flush().map_err(write_error)?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn listing(bytes: &[u8]) -> Vec<(String, EntryType, u64)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let header = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    header.entry_type(),
                    header.size().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_tree_becomes_a_tar_with_links_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("d/e")).unwrap();
        fs::write(root.join("d/f"), "hello").unwrap();
        fs::hard_link(root.join("d/f"), root.join("d/g")).unwrap();
        symlink("/etc/passwd", root.join("l")).unwrap();
        let mut out = Vec::new();
        let entries = write_tree(root, &mut out, &|_| false).unwrap();
        assert_eq!(entries, 5);
        assert_eq!(
            listing(&out),
            [
                ("d/".to_string(), EntryType::Directory, 0),
                ("d/e/".to_string(), EntryType::Directory, 0),
                ("d/f".to_string(), EntryType::Regular, 5),
                ("d/g".to_string(), EntryType::Link, 0),
                ("l".to_string(), EntryType::Symlink, 0),
            ]
        );
    }

    #[test]
    fn skipped_paths_and_what_is_below_them_are_left_out() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("proc/1")).unwrap();
        fs::write(tmp.path().join("keep"), "").unwrap();
        let mut out = Vec::new();
        write_tree(tmp.path(), &mut out, &|p| p == Path::new("proc")).unwrap();
        let names: Vec<_> = listing(&out).into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(names, ["keep"]);
    }

    #[test]
    fn overlay_whiteouts_become_oci_whiteouts() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: whiteouts need root (mknod)");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir(root.join("opaque")).unwrap();
        fs::File::open(root.join("opaque"))
            .unwrap()
            .set_xattr(super::super::changes::OVERLAY_OPAQUE, b"y")
            .unwrap();
        nix::sys::stat::mknod(
            &root.join("gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        let fd = tree::open_root(root).unwrap();
        let mut tar = TreeTar::new(Vec::new(), Whiteouts::Oci);
        tar.append_tree(fd.as_fd(), Path::new(""), &|_| false)
            .unwrap();
        let out = tar.finish().unwrap();
        let names: Vec<_> = listing(&out).into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(names, [".wh.gone", "opaque/", "opaque/.wh..wh..opq"]);
    }

    #[test]
    fn names_are_written_as_given_and_long_ones_in_pax_records() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let long = "l".repeat(120);
        fs::create_dir_all(root.join(&long)).unwrap();
        fs::write(root.join("f"), "x").unwrap();
        fs::hard_link(root.join("f"), root.join("h")).unwrap();
        symlink(format!("./{long}/"), root.join("s")).unwrap();
        let fd = tree::open_root(root).unwrap();
        let mut tar = TreeTar::new(Vec::new(), Whiteouts::None);
        tar.append_tree(fd.as_fd(), Path::new("."), &|_| false)
            .unwrap();
        let out = tar.finish().unwrap();
        let mut archive = tar::Archive::new(&out[..]);
        let entries: Vec<(String, Option<String>)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                (text(&e.path_bytes()), e.link_name_bytes().map(|l| text(&l)))
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("./f".to_string(), None),
                ("./h".to_string(), Some("./f".to_string())),
                (format!("./{long}/"), None),
                ("./s".to_string(), Some(format!("./{long}/"))),
            ]
        );
    }

    #[test]
    fn pax_records_count_their_own_length() {
        let record = pax_record("k", b"v");
        assert_eq!(record, b"6 k=v\n");
        let long = pax_record("SCHILY.xattr.security.capability", &[0u8; 20]);
        let text = String::from_utf8_lossy(&long);
        let length: usize = text.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(length, long.len());
    }
}
