//! `cargo xtask doctor`: does this kernel have what berth needs, and for which chapter?
//!
//! Each check reads what the kernel reports (`/proc`, `/sys`) or tries the feature in a
//! scratch network namespace, and prints one line: `ok` with what it found, or
//! `missing` with what to do. Only chapters 01–02 are required today; a missing feature
//! of a later chapter is shown but does not fail the command.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::bail;

use crate::util;

/// The highest chapter whose features are required for the command to succeed.
const REQUIRED_UP_TO: u8 = 2;

/// One feature and what the kernel said about it.
struct Finding {
    chapter: u8,
    feature: &'static str,
    /// `Ok(what was found)` or `Err(what to do)`.
    result: Result<String, String>,
}

/// Runs `cargo xtask doctor`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if !args.is_empty() {
        bail!("usage: cargo xtask doctor");
    }
    let findings = vec![
        finding(1, "root privileges", root),
        finding(1, "namespaces", namespaces),
        finding(1, "pivot_root", pivot_root),
        finding(1, "seccomp filters", seccomp),
        finding(2, "cgroups", cgroups),
        finding(5, "overlayfs", overlayfs),
        finding(7, "veth and bridge", veth_and_bridge),
        finding(7, "nftables", nftables),
    ];
    for finding in &findings {
        let (word, text) = match &finding.result {
            Ok(found) => ("ok", found),
            Err(fix) => ("missing", fix),
        };
        println!(
            "{word:<8} [{:02}] {}: {text}",
            finding.chapter, finding.feature
        );
    }
    let blocking = findings
        .iter()
        .filter(|finding| finding.chapter <= REQUIRED_UP_TO && finding.result.is_err())
        .count();
    if blocking > 0 {
        bail!("{blocking} feature(s) needed by chapters 01-02 are missing (see above)");
    }
    Ok(())
}

fn finding(chapter: u8, feature: &'static str, check: fn() -> Result<String, String>) -> Finding {
    Finding {
        chapter,
        feature,
        result: check(),
    }
}

fn root() -> Result<String, String> {
    if util::is_root() {
        Ok("running as uid 0".into())
    } else {
        Err("run as root (sudo): containers need namespaces, mounts and cgroups".into())
    }
}

// ANCHOR: doctor_namespaces
/// Each namespace kind the kernel supports shows up as a link in `/proc/self/ns`.
fn namespaces() -> Result<String, String> {
    let kinds = [
        ("mnt", "mount"),
        ("pid", "pid"),
        ("uts", "uts"),
        ("ipc", "ipc"),
        ("net", "net"),
        ("cgroup", "cgroup"),
        ("user", "user"),
    ];
    let missing: Vec<&str> = kinds
        .iter()
        .filter(|(file, _)| !Path::new("/proc/self/ns").join(file).exists())
        .map(|(_, name)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "no {} namespace: use a kernel built with CONFIG_{{MNT,PID,UTS,IPC,NET,CGROUP,USER}}_NS",
            missing.join(", ")
        ));
    }
    Ok("mount pid uts ipc net cgroup user".into())
}
// ANCHOR_END: doctor_namespaces

/// pivot_root cannot move away from an initramfs root (`rootfs`), the case in some VMs.
fn pivot_root() -> Result<String, String> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|err| format!("cannot read mountinfo: {err}"))?;
    let Some(fstype) = root_fstype(&mountinfo) else {
        return Err("no mount at / in /proc/self/mountinfo".into());
    };
    if fstype == "rootfs" {
        return Err(
            "/ is an initramfs (rootfs): switch_root to a tmpfs first, pivot_root cannot leave it"
                .into(),
        );
    }
    Ok(format!("/ is {fstype}, not an initramfs"))
}

/// The filesystem type of the mount at `/`, from mountinfo's `… - FSTYPE SOURCE OPTIONS`.
fn root_fstype(mountinfo: &str) -> Option<String> {
    mountinfo
        .lines()
        .rev()
        .filter(|line| line.split(' ').nth(4) == Some("/"))
        .filter_map(|line| {
            line.split(" - ")
                .nth(1)?
                .split(' ')
                .next()
                .map(String::from)
        })
        .next()
}

/// `Seccomp:` in /proc/self/status means CONFIG_SECCOMP; `actions_avail` means filters too.
fn seccomp() -> Result<String, String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    if !status.lines().any(|line| line.starts_with("Seccomp:")) {
        return Err("the kernel has no seccomp (CONFIG_SECCOMP)".into());
    }
    match fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
        Ok(actions) if actions.contains("errno") => Ok(format!("actions: {}", actions.trim())),
        _ => Err("the kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)".into()),
    }
}

const CONTROLLERS: [&str; 6] = ["memory", "cpu", "cpuset", "pids", "devices", "freezer"];

// ANCHOR: doctor_cgroups
/// cgroup v2 lists its controllers in one file; v1 mounts one hierarchy per controller.
fn cgroups() -> Result<String, String> {
    if let Ok(available) = fs::read_to_string("/sys/fs/cgroup/cgroup.controllers") {
        // On v2, devices is a BPF program and freezer is `cgroup.freeze`: not controllers.
        let missing = missing_words(&available, &CONTROLLERS[..4]);
        if !missing.is_empty() {
            return Err(format!(
                "cgroup v2 lacks {}: enable them in the kernel",
                missing.join(" ")
            ));
        }
        return Ok(format!("v2 with {}", available.trim()));
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mounted = v1_controllers(&mountinfo);
    let missing = missing_words(&mounted.join(" "), &CONTROLLERS);
    if !missing.is_empty() {
        return Err(format!(
            "cgroup v1 has no {} hierarchy: mount it under /sys/fs/cgroup",
            missing.join(", ")
        ));
    }
    // A hybrid layout also mounts an (often empty) v2 tree; berth then drives v1.
    let layout = if Path::new("/sys/fs/cgroup/unified").exists() {
        "v1 (hybrid)"
    } else {
        "v1"
    };
    Ok(format!("{layout} with {}", CONTROLLERS.join(" ")))
}
// ANCHOR_END: doctor_cgroups

/// The controllers of every cgroup v1 mount: the super options after the fs type `cgroup`.
fn v1_controllers(mountinfo: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in mountinfo.lines() {
        let Some(tail) = line.split(" - ").nth(1) else {
            continue;
        };
        let fields: Vec<&str> = tail.split(' ').collect();
        if let (Some(&"cgroup"), Some(options)) = (fields.first(), fields.get(2)) {
            found.extend(options.split(',').map(String::from));
        }
    }
    found
}

fn missing_words<'a>(text: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|word| !text.split_whitespace().any(|have| have == *word))
        .collect()
}

// ANCHOR: doctor_overlay
/// Which storage driver chapter 05 will use: overlay2 when the kernel has
/// overlayfs, the state root is not itself on an overlay, and a test mount with
/// berth's options works there; vfs (a full copy per container) otherwise.
fn overlayfs() -> Result<String, String> {
    const FALLBACK: &str = "berth will use the vfs driver (a full copy per container)";
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|line| line.split_whitespace().last() == Some("overlay"))
    {
        return Err(format!(
            "not in /proc/filesystems (`modprobe overlay`); {FALLBACK}"
        ));
    }
    let state = std::env::var_os("BERTH_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/lib/berth".into());
    let existing = state
        .ancestors()
        .find(|dir| dir.is_dir())
        .unwrap_or(Path::new("/"))
        .to_path_buf();
    if on_overlay(&existing) {
        return Err(format!(
            "{} is on an overlay, which cannot hold an upper directory; {FALLBACK}",
            existing.display()
        ));
    }
    if !util::is_root() {
        return Ok("listed in /proc/filesystems (run doctor as root to try a mount)".into());
    }
    let scratch = tempfile::Builder::new()
        .prefix(".berth-doctor-")
        .tempdir_in(&existing)
        .map_err(|err| format!("cannot make a scratch dir in {}: {err}", existing.display()))?;
    let dir = |name: &str| {
        let path = scratch.path().join(name);
        fs::create_dir(&path).map(|()| path.display().to_string())
    };
    let made =
        (|| Ok::<_, std::io::Error>((dir("lower")?, dir("upper")?, dir("work")?, dir("merged")?)))(
        );
    let (lower, upper, work, merged) =
        made.map_err(|err| format!("cannot make scratch dirs: {err}"))?;
    let options = format!(
        "lowerdir={lower},upperdir={upper},workdir={work},redirect_dir=off,metacopy=off,index=off"
    );
    quiet(&["mount", "-t", "overlay", "overlay", "-o", &options, &merged]).map_err(|err| {
        format!(
            "a test mount in {} failed ({err}); {FALLBACK}",
            existing.display()
        )
    })?;
    let _ = quiet(&["umount", &merged]);
    Ok(format!(
        "overlay2: a test mount in {} worked",
        existing.display()
    ))
}
// ANCHOR_END: doctor_overlay

/// Whether `dir` is on an overlay file system (statfs's magic number).
fn on_overlay(dir: &Path) -> bool {
    const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct it is given, nothing else.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    let found = unsafe { libc::statfs(path.as_ptr(), &mut stat) } == 0;
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between architectures
    let magic = stat.f_type as i64;
    found && magic == OVERLAYFS_SUPER_MAGIC
}

/// Creates a veth pair and a bridge in a scratch network namespace, then deletes it all.
fn veth_and_bridge() -> Result<String, String> {
    if util::find_on_path("ip").is_none() {
        return Err("`ip` is missing: apt-get install -y iproute2".into());
    }
    if !util::is_root() {
        return Err("needs root to try (run doctor as root)".into());
    }
    with_scratch_netns(|netns| {
        quiet(&[
            "ip", "-n", netns, "link", "add", "doctor0", "type", "veth", "peer", "name", "doctor1",
        ])
        .map_err(|err| format!("cannot create a veth pair ({err}): modprobe veth"))?;
        quiet(&[
            "ip", "-n", netns, "link", "add", "doctorbr", "type", "bridge",
        ])
        .map_err(|err| format!("cannot create a bridge ({err}): modprobe bridge"))?;
        Ok("created and removed a veth pair and a bridge in a scratch netns".into())
    })
}

fn nftables() -> Result<String, String> {
    if util::find_on_path("nft").is_none() {
        return Err("`nft` is missing: apt-get install -y nftables".into());
    }
    if !util::is_root() {
        return Err("needs root to try (run doctor as root)".into());
    }
    with_scratch_netns(|netns| {
        quiet(&[
            "ip", "netns", "exec", netns, "nft", "add", "table", "inet", "doctor",
        ])
        .map_err(|err| format!("cannot add a table ({err}): modprobe nf_tables"))?;
        Ok("added a table in a scratch netns".into())
    })
}

/// Runs `probe` with a fresh named network namespace, deleted afterwards with all it holds.
fn with_scratch_netns(
    probe: impl FnOnce(&str) -> Result<String, String>,
) -> Result<String, String> {
    let netns = format!("berth-doctor-{}", std::process::id());
    quiet(&["ip", "netns", "add", &netns])
        .map_err(|err| format!("cannot create a network namespace: {err}"))?;
    let result = probe(&netns);
    // Deleting the namespace destroys the links and tables made inside it.
    let cleanup = quiet(&["ip", "netns", "delete", &netns]);
    match (result, cleanup) {
        (Ok(_), Err(err)) => Err(format!(
            "cannot delete the scratch namespace {netns}: {err}"
        )),
        (result, _) => result,
    }
}

/// Runs a command without showing its output; `Err` holds its first stderr line.
fn quiet(argv: &[&str]) -> Result<(), String> {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", argv[0]))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(stderr.lines().next().unwrap_or("failed").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_fstype_takes_the_last_mount_on_slash() {
        let mountinfo = "1 0 0:2 / / rw - rootfs rootfs rw\n\
                         22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                         23 22 0:5 / /proc rw - proc proc rw\n";
        assert_eq!(root_fstype(mountinfo).as_deref(), Some("ext4"));
    }

    #[test]
    fn v1_controllers_come_from_cgroup_super_options() {
        let mountinfo = "30 25 0:26 / /sys/fs/cgroup/memory rw shared:9 - cgroup cgroup rw,memory\n\
                         31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                         32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        let found = v1_controllers(mountinfo);
        assert_eq!(
            missing_words(&found.join(" "), &["memory", "cpu", "pids"]),
            ["pids"]
        );
    }

    #[test]
    fn missing_words_matches_whole_words() {
        // `cpuset` present must not count as `cpu` present.
        assert_eq!(missing_words("cpuset memory", &["cpu", "memory"]), ["cpu"]);
    }
}
