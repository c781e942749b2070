//! The running container an `exec` enters, seen from the host: its init's
//! `/proc/PID` directory, held open so that a reused pid can never send us into
//! another process's namespaces, and the namespace files under it.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{OFlag, openat};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, fstat};

use super::ExecError;
use crate::runtime::error::RuntimeError;
use crate::runtime::record::parse_stat;

// ANCHOR: exec_namespaces
/// The namespaces an exec'd process joins, by their name under `/proc/PID/ns`.
/// `pid` is joined by the runtime itself (it applies to the next child); the
/// mount namespace comes last, because it changes `/` and the other files were
/// opened from the host's. The user namespace is not used by berth.
pub const JOINED: [(&str, CloneFlags); 5] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];
// ANCHOR_END: exec_namespaces

/// One namespace of the container, open.
#[derive(Debug)]
pub struct Namespace {
    /// Its name under `/proc/PID/ns`.
    pub name: &'static str,
    /// The flag setns checks it against.
    pub flag: CloneFlags,
    /// The open namespace file.
    pub file: OwnedFd,
}

/// The init of a running container, pinned by an open `/proc/PID`.
#[derive(Debug)]
pub struct Target {
    proc_dir: OwnedFd,
}

impl Target {
    // ANCHOR: pin_the_init
    /// Opens `/proc/PID` and checks, through that descriptor, that it is still
    /// the process that started at `start_time`. From then on every file opened
    /// under the descriptor belongs to that process or to none: if it dies,
    /// opening fails (ESRCH) even when the pid is given to someone else.
    pub fn open(id: &str, pid: i32, start_time: u64) -> Result<Self, ExecError> {
        let not_running = || ExecError::NotRunning { id: id.into() };
        let proc_dir = nix::fcntl::open(
            &PathBuf::from(format!("/proc/{pid}")),
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|_| not_running())?;
        let target = Target { proc_dir };
        let stat = target.read("stat").map_err(|_| not_running())?;
        match parse_stat(&stat) {
            Some((state, t)) if t == start_time && state != 'Z' && state != 'X' => Ok(target),
            _ => Err(not_running()),
        }
    }
    // ANCHOR_END: pin_the_init

    /// Reads a file of `/proc/PID`.
    pub fn read(&self, name: &str) -> nix::Result<String> {
        let fd = openat(
            &self.proc_dir,
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let mut text = String::new();
        std::fs::File::from(fd)
            .read_to_string(&mut text)
            .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        Ok(text)
    }

    /// Opens the init's namespace `name` (`ns/NAME`), or `None` when it is the
    /// one this process is in already: joining it would change nothing.
    pub fn namespace(
        &self,
        name: &'static str,
        flag: CloneFlags,
    ) -> Result<Option<Namespace>, ExecError> {
        let path = format!("ns/{name}");
        let file = openat(
            &self.proc_dir,
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(RuntimeError::sys(format!(
            "opening the container's {name} namespace"
        )))?;
        let theirs =
            fstat(&file).map_err(RuntimeError::sys(format!("stat of the {name} namespace")))?;
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}")).map_err(RuntimeError::io(
            format!("reading our own {name} namespace"),
        ))?;
        let same = theirs.st_dev as u64 == ours.dev() && theirs.st_ino as u64 == ours.ino();
        Ok((!same).then_some(Namespace { name, flag, file }))
    }

    /// Every namespace of [`JOINED`] that differs from ours, in that order.
    pub fn namespaces(&self) -> Result<Vec<Namespace>, ExecError> {
        let mut open = Vec::new();
        for (name, flag) in JOINED {
            open.extend(self.namespace(name, flag)?);
        }
        Ok(open)
    }

    /// Enters the init's pid namespace *for our children*: the next fork is born
    /// in it, while this process keeps its own pid and its host's view.
    pub fn join_pid_namespace_for_children(&self) -> Result<(), ExecError> {
        if let Some(ns) = self.namespace("pid", CloneFlags::CLONE_NEWPID)? {
            nix::sched::setns(ns.file.as_fd(), ns.flag)
                .map_err(RuntimeError::sys("joining the container's pid namespace"))?;
        }
        Ok(())
    }

    /// Whether the init is frozen by the cgroup freezer (`pause`).
    pub fn is_paused(&self) -> bool {
        let Ok(cgroups) = self.read("cgroup") else {
            return false;
        };
        let v2_root = match crate::spec::cgroup_v2_host() {
            true => Path::new("/sys/fs/cgroup"),
            false => Path::new("/sys/fs/cgroup/unified"),
        };
        freezer_files(&cgroups, Path::new("/sys/fs/cgroup"), v2_root)
            .into_iter()
            .any(|(file, frozen)| {
                std::fs::read_to_string(file).is_ok_and(|state| frozen.contains(&state.trim()))
            })
    }
}

// ANCHOR: freezer_files
/// Where the freezer keeps the state of the cgroups a `/proc/PID/cgroup` text
/// names, and the values that mean "paused": v1's `freezer.state` in the
/// freezer hierarchy, v2's `cgroup.freeze` in the unified tree.
pub fn freezer_files(
    cgroups: &str,
    v1_root: &Path,
    v2_root: &Path,
) -> Vec<(PathBuf, &'static [&'static str])> {
    cgroups
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
            let path = path.trim_start_matches('/');
            if controllers.is_empty() {
                Some((v2_root.join(path).join("cgroup.freeze"), &["1"][..]))
            } else if controllers.split(',').any(|c| c == "freezer") {
                let file = v1_root.join("freezer").join(path).join("freezer.state");
                Some((file, &["FROZEN", "FREEZING"][..]))
            } else {
                None
            }
        })
        .collect()
}
// ANCHOR_END: freezer_files

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezer_state_is_found_in_either_version() {
        let text = "12:freezer:/berth/c1\n11:memory:/berth/c1\n0::/berth/c1\n";
        let files = freezer_files(text, Path::new("/v1"), Path::new("/v2"));
        assert_eq!(
            files,
            [
                (
                    PathBuf::from("/v1/freezer/berth/c1/freezer.state"),
                    &["FROZEN", "FREEZING"][..]
                ),
                (PathBuf::from("/v2/berth/c1/cgroup.freeze"), &["1"][..]),
            ]
        );
    }

    #[test]
    fn our_own_process_is_a_target_and_its_namespaces_are_ours() {
        let me = std::process::id() as i32;
        let start = crate::runtime::record::start_time(me).unwrap();
        let target = Target::open("self", me, start).unwrap();
        assert!(
            target.namespaces().unwrap().is_empty(),
            "nothing to join in our own namespaces"
        );
        assert!(!target.is_paused());
        assert!(matches!(
            Target::open("self", me, start + 1),
            Err(ExecError::NotRunning { .. })
        ));
    }
}
