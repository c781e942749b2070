//! Resolving `-u NAME|UID[:GROUP|GID]` in the container's /etc/passwd and /etc/group.
//!
//! The names mean what the *container's* files say, not the host's: user 1000 may be
//! `app` inside and someone else outside. The files are read through
//! [`open_in_root`], so a hostile image whose `/etc/passwd` is a symlink to the
//! host's `/etc/shadow` reads its own root's file, never the host's.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

/// Why a `-u` value could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    /// A name that the container's passwd file does not list.
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UnknownUser {
        /// The name asked for.
        name: String,
    },
    /// A group name that the container's group file does not list.
    #[error("unable to find group {name}: no matching entries in group file")]
    UnknownGroup {
        /// The name asked for.
        name: String,
    },
    /// An empty user part (`-u :1000`).
    #[error("invalid user {spec:?}: the user part is empty")]
    Empty {
        /// The whole `-u` value.
        spec: String,
    },
}

impl From<UserError> for berth_engine::Error {
    fn from(e: UserError) -> Self {
        berth_engine::Error::usage(e.to_string())
            .hint("use a name or uid from the container's /etc/passwd, or a number")
    }
}

/// The identity a container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups: every group of /etc/group that lists the user.
    pub additional_gids: Vec<u32>,
    /// The home directory, for `HOME` (`/` when the user has no passwd entry).
    pub home: String,
}

/// Opens `path` for reading as if `root` were `/`: `..` and symlinks, absolute
/// ones too, cannot leave `root`, and `/proc` magic links are refused.
pub fn open_in_root(root: &Path, path: &str) -> std::io::Result<File> {
    let root_fd: OwnedFd = File::open(root)?.into();
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .mode(Mode::empty())
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(&root_fd, path, how)?;
    Ok(File::from(fd))
}

fn read_in_root(root: &Path, path: &str) -> String {
    let mut text = String::new();
    // A missing or unreadable file is an image without that file: numeric ids still work.
    if let Ok(mut f) = open_in_root(root, path) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

// ANCHOR: resolve_user
/// Resolves a `-u` value against the container's own passwd and group files.
/// `None` means docker's default: root, with root's home.
pub fn resolve(root: &Path, spec: Option<&str>) -> Result<ExecUser, UserError> {
    let passwd = read_in_root(root, "/etc/passwd");
    let group = read_in_root(root, "/etc/group");
    resolve_in(&passwd, &group, spec.unwrap_or("0"))
}

/// [`resolve`] on the files' contents: pure, so it is tested without a root filesystem.
pub fn resolve_in(passwd: &str, group: &str, spec: &str) -> Result<ExecUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user_part.is_empty() {
        return Err(UserError::Empty {
            spec: spec.to_string(),
        });
    }
    let entry =
        passwd_entries(passwd).find(|e| e.name == user_part || e.uid.to_string() == user_part);
    let (uid, mut gid, home, name) = match (entry, user_part.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, e.home.to_string(), Some(e.name)),
        // A number that passwd does not list is fine: docker runs it with gid 0.
        (None, Ok(uid)) => (uid, 0, "/".to_string(), None),
        (None, Err(_)) => {
            return Err(UserError::UnknownUser {
                name: user_part.to_string(),
            });
        }
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match group_entries(group).find(|e| e.name == g || e.gid.to_string() == g) {
            Some(e) => e.gid,
            None => g.parse().map_err(|_| UserError::UnknownGroup {
                name: g.to_string(),
            })?,
        };
    }
    // An explicit group replaces the supplementary groups, as in docker.
    let additional_gids = match (name, group_part) {
        (Some(name), None) => group_entries(group)
            .filter(|e| e.members.split(',').any(|m| m == name) && e.gid != gid)
            .map(|e| e.gid)
            .collect(),
        _ => Vec::new(),
    };
    Ok(ExecUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}
// ANCHOR_END: resolve_user

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: &'a str,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 6 && !line.starts_with('#')).then_some(())?;
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 4 && !line.starts_with('#')).then_some(())?;
        Some(GroupEntry {
            name: f[0],
            gid: f[2].parse().ok()?,
            members: f[3],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n";

    #[test]
    fn default_is_root_with_roots_home() {
        let u = resolve_in(PASSWD, GROUP, "0").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
    }

    #[test]
    fn a_name_gets_its_groups() {
        let u = resolve_in(PASSWD, GROUP, "app").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        assert_eq!(u.additional_gids, vec![10, 29]);
        assert_eq!(u.home, "/home/app");
    }

    #[test]
    fn an_unlisted_number_runs_with_gid_zero() {
        let u = resolve_in(PASSWD, GROUP, "4242").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (4242, 0, "/"));
    }

    #[test]
    fn an_explicit_group_replaces_supplementary_groups() {
        let u = resolve_in(PASSWD, GROUP, "app:wheel").unwrap();
        assert_eq!((u.uid, u.gid), (1000, 10));
        assert!(u.additional_gids.is_empty());
        assert_eq!(resolve_in(PASSWD, GROUP, "1000:77").unwrap().gid, 77);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            resolve_in(PASSWD, GROUP, "nobody").unwrap_err(),
            UserError::UnknownUser {
                name: "nobody".into()
            }
        );
        assert!(matches!(
            resolve_in(PASSWD, GROUP, "app:nogroup"),
            Err(UserError::UnknownGroup { .. })
        ));
        assert!(matches!(
            resolve_in(PASSWD, GROUP, ":1"),
            Err(UserError::Empty { .. })
        ));
    }

    #[test]
    fn passwd_symlinked_out_of_the_root_reads_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("inner/etc")).unwrap();
        std::fs::write(root.join("inner/etc/passwd"), "evil:x:7:7::/e:/bin/sh\n").unwrap();
        // An absolute symlink resolves against the container's root, not the host's.
        std::os::unix::fs::symlink("/inner/etc/passwd", root.join("etc/passwd")).unwrap();
        let u = resolve(root, Some("evil")).unwrap();
        assert_eq!(u.uid, 7);
        std::fs::remove_file(root.join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("../../../../../../etc/passwd", root.join("etc/passwd"))
            .unwrap();
        // `..` stops at the root: the host's passwd (which lists root) is not read.
        assert!(resolve(root, Some("root")).is_err());
    }
}
