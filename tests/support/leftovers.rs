//! "Nothing left behind": after a container ends, no mount, runtime file, cgroup
//! or process of it may remain on the host.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env::{TestEnv, eventually};

/// Where cgroup file systems are mounted (v1 hierarchies below it, or v2 itself).
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// `name` in the cgroup root and in every hierarchy under it, where it exists.
pub fn cgroup_dirs_named(name: &str) -> Vec<PathBuf> {
    let root = Path::new(CGROUP_ROOT);
    let mut candidates = vec![root.join(name)];
    if let Ok(entries) = fs::read_dir(root) {
        candidates.extend(entries.flatten().map(|entry| entry.path().join(name)));
    }
    candidates.into_iter().filter(|dir| dir.is_dir()).collect()
}

/// Panics with a list of everything `env`'s containers left on the host.
pub fn assert_nothing_left(env: &TestEnv) {
    // The kernel ends a namespace's processes when its init exits, but reaping them
    // can trail the runtime's exit by a moment.
    let mut processes = Vec::new();
    eventually(Duration::from_secs(2), || {
        processes = processes_in(env.rootfs());
        processes.is_empty()
    });
    // A `--rm` supervisor deletes the container's files after telling its
    // client the exit code: give it a moment to finish and go.
    let mut supervisors = Vec::new();
    eventually(Duration::from_secs(5), || {
        supervisors = supervisors_of(env.state.path());
        supervisors.is_empty()
    });
    let mut problems: Vec<String> = processes
        .into_iter()
        .map(|p| format!("process left: {p}"))
        .chain(
            supervisors
                .into_iter()
                .map(|p| format!("supervisor left: pid {p}")),
        )
        .collect();
    problems.extend(
        mounts_naming(&env.own_dirs())
            .into_iter()
            .map(|m| format!("mount left: {m}")),
    );
    problems.extend(
        files_in(env.run.path())
            .into_iter()
            .map(|f| format!("file left in BERTH_RUN: {}", f.display())),
    );
    problems.extend(
        container_cgroups(&env.cgroup_parent)
            .into_iter()
            .map(|c| format!("cgroup left: {}", c.display())),
    );
    assert!(problems.is_empty(), "left behind:\n{}", problems.join("\n"));
}

/// Host mountinfo lines that mention any of `dirs`.
pub fn mounts_naming(dirs: &[&Path]) -> Vec<String> {
    let table = fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    table
        .lines()
        .filter(|line| {
            dirs.iter()
                .any(|dir| line.contains(&*dir.to_string_lossy()))
        })
        .map(String::from)
        .collect()
}

/// Every non-directory under `dir` (empty directories are allowed to stay).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => found.extend(files_in(&path)),
            _ => found.push(path),
        }
    }
    found
}

/// Container cgroups (sub-directories) under the parent `parent`, in any hierarchy.
pub fn container_cgroups(parent: &str) -> Vec<PathBuf> {
    cgroup_dirs_named(parent)
        .iter()
        .flat_map(|dir| fs::read_dir(dir).into_iter().flatten().flatten())
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect()
}

/// Processes whose root directory is `rootfs` (compared by inode, since a pivoted
/// root's path is not visible from the host) or whose cwd is inside it.
pub fn processes_in(rootfs: &Path) -> Vec<String> {
    let Ok(target) = fs::metadata(rootfs) else {
        return Vec::new();
    };
    let rootfs_text = rootfs.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("reading /proc").flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let proc_dir = entry.path();
        // stat follows the magic link to the process's root directory itself.
        let same_root = fs::metadata(proc_dir.join("root"))
            .is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino());
        let cwd_inside = fs::read_link(proc_dir.join("cwd"))
            .is_ok_and(|cwd| cwd.to_string_lossy().starts_with(&rootfs_text));
        if same_root || cwd_inside {
            let comm = fs::read_to_string(proc_dir.join("comm")).unwrap_or_default();
            found.push(format!("pid {pid} ({})", comm.trim()));
        }
    }
    found
}

/// Pids of the supervisors (`berth supervise`) whose environment names the
/// state root `state`.
pub fn supervisors_of(state: &Path) -> Vec<String> {
    let needle = format!("BERTH_ROOT={}", state.display());
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = fs::read(entry.path().join("environ")) else {
            continue;
        };
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let is_ours = environ.split(|&b| b == 0).any(|v| v == needle.as_bytes());
        if is_ours && String::from_utf8_lossy(&cmdline).contains("supervise") {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}
