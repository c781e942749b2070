//! The extraction loop: read an entry, decide what its name means, apply
//! whiteouts, resolve the parent inside the root, create the node. Directory
//! times are set at the very end, since creating their content changes them.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use tar::EntryType;

use super::at::{open_parent, resolve};
use super::entry_path::{Marker, classify, normalise, under_aufs_meta};
use super::error::sys;
use super::meter::Meter;
use super::node::{self, Meta, Special};
use super::{LayerError, LayerStats, Limits, WhiteoutMode, decompress, whiteout, xattrs};

/// Unpacks `blob` onto `root`; see [`super::unpack_layer`].
pub(super) fn unpack(
    root: &Path,
    blob: impl Read,
    mode: WhiteoutMode,
    limits: &Limits,
) -> Result<LayerStats, LayerError> {
    let root_fd = open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|source| LayerError::OpenRoot {
        root: root.to_path_buf(),
        source,
    })?;
    let mut unpacker = Unpacker {
        root: root_fd,
        mode,
        written: HashSet::new(),
        dir_times: Vec::new(),
    };
    let (_, stream) = decompress(blob)?;
    let mut archive = tar::Archive::new(Meter::new(stream, limits.max_bytes));
    let walked = for_each_entry(&mut archive, limits, |entry| unpacker.apply(entry));
    let meter = archive.into_inner();
    let entries = walked.map_err(|e| meter.explain(e))?;
    unpacker.set_dir_times()?;
    let (diff_id, size) = meter.finish()?;
    Ok(LayerStats {
        diff_id,
        size,
        entries,
    })
}

/// Reads `blob` through without writing anything; see [`super::diff_id`].
pub(super) fn measure(blob: impl Read, limits: &Limits) -> Result<LayerStats, LayerError> {
    let (_, stream) = decompress(blob)?;
    let mut archive = tar::Archive::new(Meter::new(stream, limits.max_bytes));
    let walked = for_each_entry(&mut archive, limits, |_| Ok(()));
    let meter = archive.into_inner();
    let entries = walked.map_err(|e| meter.explain(e))?;
    let (diff_id, size) = meter.finish()?;
    Ok(LayerStats {
        diff_id,
        size,
        entries,
    })
}

/// Calls `apply` on each entry, counting them against the limit.
fn for_each_entry<R: Read>(
    archive: &mut tar::Archive<R>,
    limits: &Limits,
    mut apply: impl FnMut(&mut tar::Entry<'_, R>) -> Result<(), LayerError>,
) -> Result<u64, LayerError> {
    let read_error = |source| LayerError::Read { source };
    let mut count = 0;
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        count += 1;
        if count > limits.max_entries {
            return Err(LayerError::TooManyEntries {
                max: limits.max_entries,
            });
        }
        apply(&mut entry)?;
    }
    Ok(count)
}

/// The state of one layer's extraction.
struct Unpacker {
    /// The root, as an `O_PATH` descriptor every lookup starts from.
    root: OwnedFd,
    mode: WhiteoutMode,
    /// Paths this layer wrote: its own whiteouts must not delete them.
    written: HashSet<PathBuf>,
    /// Directories and their mtimes, in archive order.
    dir_times: Vec<(PathBuf, i64)>,
}

fn refused(entry: &str, reason: &'static str) -> LayerError {
    LayerError::Refused {
        entry: entry.to_string(),
        reason,
    }
}

impl Unpacker {
    fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    // ANCHOR: unpack_entry
    /// Applies one entry.
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), LayerError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let path = normalise(&raw_path).map_err(|why| refused(&shown, why.reason()))?;
        let Some(name) = path.file_name().map(OsStr::to_os_string) else {
            return self.root_entry(entry, kind, &shown);
        };
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if self.mode != WhiteoutMode::Literal && under_aufs_meta(&path) {
            return Ok(());
        }
        let marker = match self.mode {
            WhiteoutMode::Literal => Marker::Plain,
            _ => classify(&name).map_err(|why| refused(&shown, why.reason()))?,
        };
        match marker {
            Marker::Whiteout(target) => {
                return whiteout::remove(
                    self.root(),
                    &dir,
                    target,
                    self.mode,
                    &self.written,
                    &shown,
                );
            }
            Marker::Opaque => {
                return whiteout::opaque(self.root(), &dir, self.mode, &self.written, &shown);
            }
            Marker::AufsMeta => return Ok(()),
            Marker::Plain => {}
        }
        let meta = read_meta(entry, &shown)?;
        let parent = open_parent(self.root(), &dir).map_err(sys(&shown, "open its directory"))?;
        let parent = parent.as_fd();
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let declared = entry.size();
                node::file(parent, &name, &meta, entry, declared, &shown)?
            }
            EntryType::Directory => {
                node::directory(parent, &name, &meta, &shown)?;
                self.dir_times.push((path.clone(), meta.mtime));
            }
            EntryType::Symlink => {
                let target = link_name(entry, &shown)?;
                node::symlink(parent, &name, OsStr::from_bytes(&target), &meta, &shown)?
            }
            EntryType::Link => self.hardlink(entry, parent, &name, &path, &shown)?,
            EntryType::Char | EntryType::Block => {
                let (major, minor) = device_numbers(entry, &shown)?;
                let special = if kind == EntryType::Char {
                    Special::Char(major, minor)
                } else {
                    Special::Block(major, minor)
                };
                node::special(parent, &name, special, &meta, &shown)?
            }
            EntryType::Fifo => node::special(parent, &name, Special::Fifo, &meta, &shown)?,
            other => {
                return Err(LayerError::UnsupportedType {
                    entry: shown,
                    kind: char::from(other.as_byte()),
                });
            }
        }
        self.written.insert(path);
        Ok(())
    }
    // ANCHOR_END: unpack_entry

    /// `./` itself: only a directory makes sense, and it updates the root.
    fn root_entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        kind: EntryType,
        shown: &str,
    ) -> Result<(), LayerError> {
        if kind != EntryType::Directory {
            return Err(refused(shown, "only a directory can stand for the root"));
        }
        let meta = read_meta(entry, shown)?;
        let root = resolve(
            self.root(),
            Path::new(""),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        )
        .map_err(sys(shown, "open the root"))?;
        node::set_dir_meta(&File::from(root), &meta, shown)?;
        self.dir_times.push((PathBuf::new(), meta.mtime));
        Ok(())
    }

    // ANCHOR: hardlink_source
    /// A hardlink's target is a path in the same root, normalised like an
    /// entry's own path: `/etc/shadow` means the root's etc/shadow, and
    /// `../../x` is refused.
    fn hardlink<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        path: &Path,
        shown: &str,
    ) -> Result<(), LayerError> {
        let raw_target = link_name(entry, shown)?;
        let escapes = || LayerError::LinkEscapes {
            entry: shown.to_string(),
            target: String::from_utf8_lossy(&raw_target).into_owned(),
        };
        let target = normalise(&raw_target).map_err(|_| escapes())?;
        let Some(source_name) = target.file_name() else {
            return Err(refused(shown, "a hardlink cannot point at the root"));
        };
        if target == path {
            return Err(refused(shown, "a hardlink cannot point at itself"));
        }
        let source_dir = target.parent().unwrap_or(Path::new(""));
        let source_parent = resolve(self.root(), source_dir, OFlag::O_PATH | OFlag::O_DIRECTORY)
            .map_err(sys(shown, "find the hardlink's target"))?;
        node::hardlink(parent, name, source_parent.as_fd(), source_name, shown)
    }
    // ANCHOR_END: hardlink_source

    /// Sets the directories' times, deepest last-written first, now that
    /// nothing more is created inside them. A directory that a later entry
    /// replaced by something else is skipped.
    fn set_dir_times(&self) -> Result<(), LayerError> {
        for (path, mtime) in self.dir_times.iter().rev() {
            let shown = path.to_string_lossy();
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
            match resolve(self.root(), path, flags) {
                Ok(dir) => node::set_dir_time(dir, *mtime, &shown)?,
                Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => {}
                Err(e) => return Err(sys(&shown, "open the directory")(e)),
            }
        }
        Ok(())
    }
}

/// Owner, mode, time and allowed xattrs from the header and PAX records.
fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>, shown: &str) -> Result<Meta, LayerError> {
    let header = entry.header();
    let old = header.as_old();
    let number = |parsed: io::Result<u64>, field: &[u8]| match parsed {
        Ok(n) => Ok(n),
        // Go's archive/tar (docker's) reads an empty field as 0; so does berth.
        Err(_) if field.iter().all(|b| matches!(b, 0 | b' ')) => Ok(0),
        Err(_) => Err(refused(shown, "its header has a malformed number")),
    };
    let uid = number(header.uid(), &old.uid)?;
    let gid = number(header.gid(), &old.gid)?;
    let mode = number(header.mode().map(u64::from), &old.mode)? as u32 & 0o7777;
    let mtime = number(header.mtime(), &old.mtime)?;
    let too_big = || refused(shown, "its owner or time does not fit");
    let meta = Meta {
        uid: u32::try_from(uid).map_err(|_| too_big())?,
        gid: u32::try_from(gid).map_err(|_| too_big())?,
        mode,
        mtime: i64::try_from(mtime).map_err(|_| too_big())?,
        xattrs: xattrs::from_entry(entry).map_err(|source| LayerError::Read { source })?,
    };
    Ok(meta)
}

/// The raw target of a symlink or hardlink.
fn link_name<R: Read>(entry: &tar::Entry<'_, R>, shown: &str) -> Result<Vec<u8>, LayerError> {
    match entry.link_name_bytes() {
        Some(target) if !target.is_empty() => Ok(target.into_owned()),
        _ => Err(refused(shown, "a link without a target")),
    }
}

fn device_numbers<R: Read>(
    entry: &tar::Entry<'_, R>,
    shown: &str,
) -> Result<(u32, u32), LayerError> {
    let header = entry.header();
    let bad = || refused(shown, "a device without valid numbers");
    let major = header.device_major().map_err(|_| bad())?.ok_or_else(bad)?;
    let minor = header.device_minor().map_err(|_| bad())?.ok_or_else(bad)?;
    Ok((major, minor))
}
