//! `cp SRC DEST`: files between a container and the host, either way, or as a
//! tar stream (`-`), for running and stopped containers.
//!
//! Nothing runs inside the container (docker's CVE-2019-14271 loaded the
//! container's own libraries into the copying process). A container path is
//! resolved with `openat2(RESOLVE_IN_ROOT)` from a descriptor of the
//! container's root, every time it is used: a container that swaps a directory
//! for a symlink to `/` while the copy runs (CVE-2018-15664) can only redirect
//! it to another place in its own root. Whatever arrives goes through a tar
//! stream and chapter 03's safe extractor, confined to the directory it lands in.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_engine::cli::CpArgs;
use berth_engine::{Engine, Error, Result};
use berth_images::layer::{Limits, WhiteoutMode, unpack_layer};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{FileStat, Mode, fstatat};
use tar::EntryType;

use super::container::{Scratch, Target};
use super::cp_place::{DestState, GivenPath, PlaceError, inside, place};
use super::merged::merged_view;
use super::tree::{self, Kind, Node, TreeError};
use super::tree_tar::{TarError, TreeTar, Whiteouts};

/// Why a copy was refused or failed, with docker's words where docker has them.
#[derive(Debug, thiserror::Error)]
pub enum CpError {
    /// Both sides on the host.
    #[error("must specify at least one container source")]
    NoContainer,
    /// Both sides in containers.
    #[error("copying between containers is not supported")]
    TwoContainers,
    /// A path in the container that is not there.
    #[error("Error response from daemon: Could not find the file {path} in container {container}")]
    NotInContainer {
        /// The path.
        path: String,
        /// The container as given.
        container: String,
    },
    /// A host path that is not there.
    #[error("lstat {}: no such file or directory", path.display())]
    NoLocalSource {
        /// The path, absolute.
        path: PathBuf,
    },
    /// The host destination's directory is missing.
    #[error("invalid output path: directory {:?} does not exist", path.display().to_string())]
    NoLocalParent {
        /// The directory, absolute.
        path: PathBuf,
    },
    /// A tar stream on standard input needs a directory to land in.
    #[error("destination \"{container}:{path}\" must be a directory")]
    StdinNeedsDirectory {
        /// The container as given.
        container: String,
        /// The path.
        path: String,
    },
    /// docker's path rules said no.
    #[error(transparent)]
    Place(#[from] PlaceError),
    /// An entry of the stream names a path outside the destination.
    #[error("refusing {name:?} in the archive: it climbs out of the destination")]
    Escapes {
        /// The name as written.
        name: String,
    },
    /// A file could not be examined.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: String,
        /// The system's error.
        source: io::Error,
    },
}

impl From<CpError> for Error {
    fn from(e: CpError) -> Self {
        let hint = match &e {
            CpError::NoContainer | CpError::TwoContainers => {
                "write the container side as CONTAINER:PATH, and the other side as a host path or -"
            }
            _ => return Error::failed(e.to_string()),
        };
        Error::failed(e.to_string()).hint(hint)
    }
}

fn io_error(action: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> CpError {
    let path = path.as_ref().display().to_string();
    move |source| CpError::Io {
        action,
        path,
        source,
    }
}

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// `-`: a tar stream on standard input or output.
    Stream,
    /// A host path.
    Host(String),
    /// `CONTAINER:PATH`.
    Container {
        /// The container as given.
        container: String,
        /// The path in it.
        path: String,
    },
}

impl Side {
    /// docker's reading: `-`; an absolute or `./` path is the host's; else
    /// `NAME:PATH` is a container's.
    pub fn parse(arg: &str) -> Side {
        if arg == "-" {
            return Side::Stream;
        }
        if arg.starts_with('/') || arg.starts_with('.') {
            return Side::Host(arg.to_string());
        }
        match arg.split_once(':') {
            Some((container, path)) if !container.is_empty() => Side::Container {
                container: container.to_string(),
                path: if path.is_empty() {
                    "/".into()
                } else {
                    path.to_string()
                },
            },
            _ => Side::Host(arg.to_string()),
        }
    }
}

// ANCHOR: cp
/// Runs `cp`.
pub fn cp(engine: &Engine, args: &CpArgs) -> Result<i32> {
    match (Side::parse(&args.source), Side::parse(&args.destination)) {
        (Side::Container { .. }, Side::Container { .. }) => Err(CpError::TwoContainers.into()),
        (Side::Container { container, path }, dest) => {
            let target = Target::find(engine, &container)?;
            copy_out(&target, &container, &path, &dest, args.follow_link)?;
            Ok(0)
        }
        (source, Side::Container { container, path }) => {
            let target = Target::find(engine, &container)?;
            copy_in(&target, &container, &path, &source, args)?;
            Ok(0)
        }
        _ => Err(CpError::NoContainer.into()),
    }
}
// ANCHOR_END: cp

// ANCHOR: resolve_in_container
/// Opens `path` in the container's root as its processes would see it
/// (symlinks followed inside the root, never out of it); the last component
/// is not followed unless `follow`. An `O_PATH` descriptor.
fn resolve(root: BorrowedFd<'_>, path: &Path, follow: bool) -> nix::Result<OwnedFd> {
    let relative = inside(path).unwrap_or_default();
    let relative = if relative.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        relative
    };
    let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match openat2(root, &relative, how) {
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            result => return result,
        }
    }
}
// ANCHOR_END: resolve_in_container

fn stat_fd(fd: &OwnedFd) -> nix::Result<FileStat> {
    fstatat(
        fd.as_fd(),
        "",
        AtFlags::AT_EMPTY_PATH | AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}

/// The file a copy reads: its directory and its name there.
struct Source {
    parent: OwnedFd,
    name: std::ffi::OsString,
    stat: FileStat,
}

impl Source {
    fn is_dir(&self) -> bool {
        Kind::of(self.stat.st_mode) == Kind::Dir
    }

    /// Writes the source as a tar under the name `top`: `x`, `x/a`… (docker
    /// writes `CONTAINER:/dir/.` as `./`, `./a`…, and `CONTAINER:/` as `/`,
    /// `/a`…).
    fn write(
        &self,
        top: &OsStr,
        out: impl Write,
        owner: Option<(u32, u32)>,
    ) -> Result<u64, TarError> {
        let mut tar = TreeTar::new(out, Whiteouts::None).with_owner(owner);
        let node = Node {
            parent: self.parent.as_fd(),
            name: &self.name,
            path: Path::new(&self.name),
            stat: self.stat,
        };
        tar.append_node(&node, Path::new(top))?;
        let prefix = PathBuf::from(top);
        if self.is_dir() {
            let dir = tree::open_dir(self.parent.as_fd(), &self.name)
                .map_err(TreeError::read("opening", Path::new(&self.name)))?;
            tar.append_tree(dir.as_fd(), &prefix, &|_| false)?;
        }
        let entries = tar.entries();
        tar.finish()?
            .flush()
            .map_err(|source| TarError::Write { source })?;
        Ok(entries)
    }
}

/// The source at `given` in the container, `-L` following a final symlink.
fn container_source(
    root: BorrowedFd<'_>,
    given: &GivenPath,
    container: &str,
    follow: bool,
) -> Result<Source> {
    let missing = || CpError::NotInContainer {
        path: given.path.display().to_string(),
        container: container.to_string(),
    };
    let mut path = given.path.clone();
    // A final symlink is followed by hand, one link at a time, each target
    // read as a path of the container's root.
    for _ in 0..40 {
        let parent_path = GivenPath::parse(&path.to_string_lossy()).parent();
        let name = GivenPath::parse(&path.to_string_lossy()).base();
        let parent = resolve(root, &parent_path, true).map_err(|_| missing())?;
        let stat = fstatat(
            parent.as_fd(),
            name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|_| missing())?;
        let is_link = Kind::of(stat.st_mode) == Kind::Symlink;
        if is_link && (follow || given.trailing_slash || given.contents) {
            let target = tree::link_target(parent.as_fd(), &name).map_err(|_| missing())?;
            path = match Path::new(&target).is_absolute() {
                true => PathBuf::from(&target),
                false => parent_path.join(&target),
            };
            continue;
        }
        if given.trailing_slash && Kind::of(stat.st_mode) != Kind::Dir {
            return Err(Error::failed(format!(
                "Error response from daemon: lstat {}/: not a directory",
                given.path.display()
            )));
        }
        return Ok(Source {
            parent: fd_for_at(parent)?,
            name,
            stat,
        });
    }
    Err(Error::failed(format!(
        "{}: too many levels of symbolic links",
        given.path.display()
    )))
}

/// An `O_PATH` descriptor reopened for reading, so directories can be listed.
fn fd_for_at(fd: OwnedFd) -> Result<OwnedFd> {
    nix::fcntl::openat(
        fd.as_fd(),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::failed(format!("opening a directory of the container: {e}")))
}

/// The source at `given` on the host (`-L`: the link's target).
fn host_source(given: &GivenPath, follow: bool) -> Result<Source> {
    let absolute = std::path::absolute(&given.path).unwrap_or_else(|_| given.path.clone());
    let missing = || CpError::NoLocalSource {
        path: absolute.clone(),
    };
    let resolved = match follow || given.contents || given.trailing_slash {
        true => std::fs::canonicalize(&absolute).map_err(|_| missing())?,
        false => absolute.clone(),
    };
    let parent_path = resolved.parent().unwrap_or(Path::new("/"));
    let name = resolved
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| ".".into());
    let parent = tree::open_root(parent_path).map_err(|_| missing())?;
    let stat = fstatat(
        parent.as_fd(),
        name.as_os_str(),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|_| missing())?;
    Ok(Source { parent, name, stat })
}

/// Container → host or standard output.
fn copy_out(target: &Target, container: &str, path: &str, dest: &Side, follow: bool) -> Result<()> {
    let root_path = merged_view(target)?;
    let root = tree::open_root(&root_path)?;
    let given = GivenPath::parse(path);
    let source = container_source(root.as_fd(), &given, container, follow)?;
    if (given.contents || given.trailing_slash) && !source.is_dir() {
        return Err(CpError::Place(PlaceError::NotADirectory).into());
    }
    let dest = match dest {
        Side::Stream => {
            let top = match (given.contents, given.path == Path::new("/")) {
                (true, _) => OsString::from("."),
                (false, true) => OsString::from("/"),
                (false, false) => given.base(),
            };
            let stdout = io::stdout().lock();
            source.write(&top, BufWriter::with_capacity(1 << 20, stdout), None)?;
            return Ok(());
        }
        Side::Host(dest) => GivenPath::parse(dest),
        Side::Container { .. } => unreachable!("refused by cp"),
    };
    let absolute = std::path::absolute(&dest.path).unwrap_or_else(|_| dest.path.clone());
    let state = match std::fs::metadata(&absolute) {
        Ok(meta) if meta.is_dir() => DestState::Dir,
        Ok(_) => DestState::File,
        Err(_) => DestState::Missing,
    };
    let placement = place(&given, source.is_dir(), &dest, state).map_err(CpError::from)?;
    let into = match placement.into_parent {
        true => absolute.parent().unwrap_or(Path::new("/")).to_path_buf(),
        false => absolute.clone(),
    };
    if !into.is_dir() {
        return Err(CpError::NoLocalParent { path: into }.into());
    }
    let scratch = Scratch::new(target.engine(), &target.record.id)?;
    let tar_path = scratch.path().join("out.tar");
    let file = File::create(&tar_path).map_err(io_error("creating", &tar_path))?;
    // Copies on the host belong to whoever ran the copy, as with docker.
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    source.write(&placement.top_name(), BufWriter::new(file), Some(me))?;
    let tar = File::open(&tar_path).map_err(io_error("reading", &tar_path))?;
    land(tar, &into, Path::new(""), None, scratch.path())
}

/// Host or standard input → container.
fn copy_in(
    target: &Target,
    container: &str,
    path: &str,
    source: &Side,
    args: &CpArgs,
) -> Result<()> {
    let dest = GivenPath::parse(path);
    // Without -a the copy belongs to the container's root, as docker documents.
    let owner = match args.archive {
        true => None,
        false => Some((0, 0)),
    };
    let host = match source {
        Side::Host(text) => {
            let given = GivenPath::parse(text);
            Some((host_source(&given, args.follow_link)?, given))
        }
        _ => None,
    };
    let root_path = merged_view(target)?;
    let root = tree::open_root(&root_path)?;
    let not_found = |p: &Path| CpError::NotInContainer {
        path: p.display().to_string(),
        container: container.to_string(),
    };
    let state = match resolve(root.as_fd(), &dest.path, true) {
        Ok(fd) => match Kind::of(stat_fd(&fd).map_err(|_| not_found(&dest.path))?.st_mode) {
            Kind::Dir => DestState::Dir,
            _ => DestState::File,
        },
        Err(Errno::ENOENT) => match resolve(root.as_fd(), &dest.parent(), true) {
            Ok(_) => DestState::Missing,
            Err(_) => return Err(not_found(&dest.parent()).into()),
        },
        Err(_) => return Err(not_found(&dest.path).into()),
    };
    let scratch = Scratch::new(target.engine(), &target.record.id)?;
    let (stream, top_dir): (File, PathBuf) = match host {
        Some((source, given)) => {
            let placement = place(&given, source.is_dir(), &dest, state).map_err(CpError::from)?;
            let tar_path = scratch.path().join("in.tar");
            let file = File::create(&tar_path).map_err(io_error("creating", &tar_path))?;
            source.write(&placement.top_name(), BufWriter::new(file), None)?;
            let into = match placement.into_parent {
                true => dest.parent(),
                false => dest.path.clone(),
            };
            let tar = File::open(&tar_path).map_err(io_error("reading", &tar_path))?;
            (tar, into)
        }
        None => {
            if state != DestState::Dir {
                return Err(CpError::StdinNeedsDirectory {
                    container: container.to_string(),
                    path: path.to_string(),
                }
                .into());
            }
            let tar_path = scratch.path().join("stdin.tar");
            let mut file = File::options()
                .create_new(true)
                .read(true)
                .write(true)
                .open(&tar_path)
                .map_err(io_error("creating", &tar_path))?;
            io::copy(&mut io::stdin().lock(), &mut file).map_err(io_error("reading", "stdin"))?;
            file.rewind().map_err(io_error("reading", &tar_path))?;
            (file, dest.path.clone())
        }
    };
    let prefix = inside(&top_dir).unwrap_or_default();
    land(stream, &root_path, &prefix, owner, scratch.path())
}

// ANCHOR: land_copy
/// Checks and renames the entries of `stream` (under `prefix`, owned by
/// `owner` when given), then unpacks them onto `root` with chapter 03's
/// extractor, which resolves every name inside `root` and cannot leave it.
fn land(
    stream: impl Read,
    root: &Path,
    prefix: &Path,
    owner: Option<(u32, u32)>,
    scratch: &Path,
) -> Result<()> {
    let checked_path = scratch.join("checked.tar");
    let checked = File::create(&checked_path).map_err(io_error("creating", &checked_path))?;
    rewrite(stream, prefix, owner, BufWriter::new(checked))?;
    let checked = File::open(&checked_path).map_err(io_error("reading", &checked_path))?;
    // Not a layer: `.wh.x` is a file named so, as docker copies it.
    unpack_layer(root, checked, WhiteoutMode::Literal, &Limits::from_env()?)?;
    Ok(())
}
// ANCHOR_END: land_copy

/// Copies the entries of `input` to `out`, each name put under `prefix`,
/// refusing names that climb out.
fn rewrite(
    input: impl Read,
    prefix: &Path,
    owner: Option<(u32, u32)>,
    out: impl Write,
) -> Result<()> {
    let read_error = |source: io::Error| CpError::Io {
        action: "reading",
        path: "the archive".into(),
        source,
    };
    let write_error = |source| TarError::Write { source };
    let mut archive = tar::Archive::new(input);
    let mut builder = tar::Builder::new(out);
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let written = entry.path().map_err(read_error)?.into_owned();
        let shown = written.display().to_string();
        let clean = inside(&written).ok_or(CpError::Escapes {
            name: shown.clone(),
        })?;
        let name = prefix.join(&clean);
        if name.as_os_str().is_empty() {
            // `./` itself: the destination directory is already there.
            continue;
        }
        let mut header = entry.header().clone();
        header.set_size(entry.size());
        if let Some((uid, gid)) = owner {
            header.set_uid(u64::from(uid));
            header.set_gid(u64::from(gid));
        }
        match header.entry_type() {
            EntryType::Link => {
                let link = entry.link_name().map_err(read_error)?.unwrap_or_default();
                let target = inside(&link).ok_or(CpError::Escapes { name: shown })?;
                builder
                    .append_link(&mut header, &name, prefix.join(target))
                    .map_err(write_error)?;
            }
            EntryType::Symlink => {
                let link = entry.link_name().map_err(read_error)?.unwrap_or_default();
                builder
                    .append_link(&mut header, &name, link.as_ref())
                    .map_err(write_error)?;
            }
            _ => builder
                .append_data(&mut header, &name, &mut entry)
                .map_err(write_error)?,
        }
    }
    builder
        .into_inner()
        .and_then(|mut out| out.flush())
        .map_err(write_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_are_read_as_docker_reads_them() {
        assert_eq!(Side::parse("-"), Side::Stream);
        assert_eq!(Side::parse("/a:b"), Side::Host("/a:b".into()));
        assert_eq!(Side::parse("./a:b"), Side::Host("./a:b".into()));
        assert_eq!(Side::parse("file"), Side::Host("file".into()));
        assert_eq!(
            Side::parse("web:/tmp/"),
            Side::Container {
                container: "web".into(),
                path: "/tmp/".into()
            }
        );
    }

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_uid(1000);
            header.set_cksum();
            // Written raw, so that hostile names reach the rewrite as given.
            header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn names(bytes: &[u8]) -> Vec<(String, u64)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().uid().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn streams_are_put_under_the_destination_and_owned_by_root() {
        let input = tar_of(&[("./a", b"x"), ("b/c", b"y")]);
        let mut out = Vec::new();
        rewrite(&input[..], Path::new("tmp/in"), Some((0, 0)), &mut out).unwrap();
        assert_eq!(
            names(&out),
            [("tmp/in/a".to_string(), 0), ("tmp/in/b/c".to_string(), 0)]
        );
    }

    #[test]
    fn climbing_names_are_refused_and_whiteout_names_kept() {
        let mut out = Vec::new();
        let e = rewrite(
            &tar_of(&[("../../etc/x", b"")])[..],
            Path::new("d"),
            None,
            &mut out,
        )
        .unwrap_err();
        assert!(e.message().contains("climbs out"), "{e}");
        let mut out = Vec::new();
        rewrite(
            &tar_of(&[("d/.wh.passwd", b""), (".wh..wh..opq", b"")])[..],
            Path::new(""),
            None,
            &mut out,
        )
        .unwrap();
        let kept: Vec<_> = names(&out).into_iter().map(|(name, _)| name).collect();
        assert_eq!(kept, ["d/.wh.passwd", ".wh..wh..opq"]);
    }
}
