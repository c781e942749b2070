//! docker's defaults, as chapter 01's edit of the OCI runtime spec.
//!
//! Everything the runtime does is written down here first, in `config.json`: which
//! namespaces, which mounts, which paths to hide, which capabilities, which
//! syscalls. The runtime only obeys the spec, so `runc run -b` can run the same
//! bundle.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use berth_engine::cli::RunArgs;
use berth_engine::error::Context;
use berth_engine::oci_spec::runtime::{
    LinuxBuilder, LinuxDeviceBuilder, LinuxDeviceType, LinuxNamespaceBuilder, LinuxNamespaceType,
    Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec, UserBuilder,
};
use berth_engine::{ContainerPlan, Engine, Error, Result};

use crate::security;
use crate::user;

/// `PATH` when the image sets none, as docker's.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where `--init` puts its init inside the container, as docker does.
pub const INIT_PATH: &str = "/sbin/docker-init";

// ANCHOR: masked_paths
/// Paths docker hides from the container: kernel state a container must not read.
/// A file becomes an empty read-write bind of /dev/null, a directory an empty
/// read-only tmpfs; the runtime skips those the kernel does not have.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the container may read but not write: kernel knobs that are not namespaced.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];
// ANCHOR_END: masked_paths

/// Chapter 01's spec edit: docker's defaults plus the flags of chapter 01.
///
/// It also writes the three files the container sees as `/etc/hostname`,
/// `/etc/hosts` and `/etc/resolv.conf` into the bundle, since the spec binds them.
pub fn edit(engine: &Engine, plan: &ContainerPlan, spec: &mut Spec) -> Result<()> {
    let args = plan.args;
    let hostname = args
        .hostname
        .clone()
        .unwrap_or_else(|| berth_engine::state::short_id(&plan.id).to_string());
    let exec_user = user::resolve(&plan.rootfs, args.user.as_deref())?;
    let opts = security::parse_security_opts(&args.security_opt)?;

    // ANCHOR: capabilities_edit
    let mut caps = security::capability_set(&args.cap_add, &args.cap_drop, args.privileged)?;
    // Without chapter 02's devices allow-list, CAP_MKNOD would let the container make
    // a node for the host's disk and open it. Chapter 02 gives it back.
    let mknod = security::parse_capability("MKNOD")?;
    if caps.remove(&mknod) && !engine.teaches(2) && asked_for_mknod(args) {
        eprintln!(
            "{}: CAP_MKNOD stays dropped: without chapter 02's devices allow-list a device node could open host disks",
            engine.program()
        );
    }
    let seccomp = match args.privileged {
        true => None,
        false => security::seccomp_profile(&opts.seccomp, &caps)?,
    };
    // ANCHOR_END: capabilities_edit

    let mut process_args = plan.process_args.clone();
    let mut mounts = default_mounts(args.privileged);
    mounts.extend(etc_file_mounts(&plan.bundle, &hostname)?);
    if args.init {
        mounts.push(bind(INIT_PATH, &find_init()?, &["rbind", "ro"])?);
        process_args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
    }

    let process = ProcessBuilder::default()
        .terminal(args.tty)
        .args(process_args)
        .env(environment(args, &hostname, &exec_user.home, &[])?)
        .cwd(args.workdir.clone().unwrap_or_else(|| "/".into()))
        .user(
            UserBuilder::default()
                .uid(exec_user.uid)
                .gid(exec_user.gid)
                .additional_gids(exec_user.additional_gids.clone())
                .build()
                .context(|| "building the process user".into())?,
        )
        .capabilities(security::linux_capabilities(&caps, exec_user.uid == 0))
        .no_new_privileges(opts.no_new_privileges)
        .build()
        .context(|| "building the process".into())?;
    validate_workdir(args.workdir.as_deref())?;

    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(args.cgroupns.as_deref())?)
        .devices(default_devices()?)
        .masked_paths(if args.privileged {
            vec![]
        } else {
            strings(MASKED_PATHS)
        })
        .readonly_paths(if args.privileged {
            vec![]
        } else {
            strings(READONLY_PATHS)
        })
        .build()
        .context(|| "building the linux section".into())?;
    linux.set_seccomp(seccomp);
    linux.set_resources(None);

    spec.set_version("1.0.2".to_string());
    spec.set_hostname(Some(hostname));
    spec.set_root(Some(
        RootBuilder::default()
            .path(plan.rootfs.clone())
            .readonly(args.read_only)
            .build()
            .context(|| "building the root".into())?,
    ));
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    spec.set_linux(Some(linux));
    spec.set_annotations(Some(HashMap::from([(
        "org.berth.id".to_string(),
        plan.id.clone(),
    )])));
    Ok(())
}

fn asked_for_mknod(args: &RunArgs) -> bool {
    args.privileged
        || args.cap_add.iter().any(|c| {
            let c = c.to_ascii_uppercase();
            c == "ALL" || c.trim_start_matches("CAP_") == "MKNOD"
        })
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ANCHOR: default_mounts
/// The file systems every container gets, as docker mounts them.
fn default_mounts(privileged: bool) -> Vec<Mount> {
    let ro_unless_privileged = if privileged { "rw" } else { "ro" };
    let table: [(&str, &str, &str, Vec<&str>); 7] = [
        ("/proc", "proc", "proc", vec!["nosuid", "noexec", "nodev"]),
        (
            "/dev",
            "tmpfs",
            "tmpfs",
            vec!["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        (
            "/dev/pts",
            "devpts",
            "devpts",
            vec![
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        (
            "/sys",
            "sysfs",
            "sysfs",
            vec!["nosuid", "noexec", "nodev", ro_unless_privileged],
        ),
        (
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            vec![
                "nosuid",
                "noexec",
                "nodev",
                "relatime",
                ro_unless_privileged,
            ],
        ),
        (
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            vec!["nosuid", "noexec", "nodev"],
        ),
        (
            "/dev/shm",
            "tmpfs",
            "shm",
            vec!["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        ),
    ];
    table
        .into_iter()
        .map(|(destination, typ, source, options)| {
            MountBuilder::default()
                .destination(destination)
                .typ(typ)
                .source(source)
                .options(strings(&options))
                .build()
                .expect("a mount with every field set")
        })
        .collect()
}
// ANCHOR_END: default_mounts

fn bind(destination: &str, source: &Path, options: &[&str]) -> Result<Mount> {
    MountBuilder::default()
        .destination(destination)
        .typ("bind")
        .source(source)
        .options(strings(options))
        .build()
        .context(|| format!("building the bind mount of {destination}"))
}

// ANCHOR: etc_files
/// Writes the container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` into
/// the bundle and returns the bind mounts that put them in place. They are files
/// of their own so the image is never written to.
fn etc_file_mounts(bundle: &Path, hostname: &str) -> Result<Vec<Mount>> {
    let hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
        .to_string();
    let files = [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts),
        (
            "resolv.conf",
            resolv_conf(&fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
        ),
    ];
    let mut mounts = Vec::new();
    for (name, content) in files {
        let path = bundle.join(name);
        fs::write(&path, content).context(|| format!("writing {}", path.display()))?;
        mounts.push(bind(
            &format!("/etc/{name}"),
            &path,
            &["rbind", "rprivate"],
        )?);
    }
    Ok(mounts)
}
// ANCHOR_END: etc_files

/// The host's resolv.conf without loopback name servers, which would point at the
/// container's own loopback (docker filters them the same way).
pub fn resolv_conf(host: &str) -> String {
    host.lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            !(words.next() == Some("nameserver")
                && words
                    .next()
                    .is_some_and(|ip| ip.starts_with("127.") || ip == "::1"))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

// ANCHOR: environment
/// The process environment, in docker's order: PATH, HOSTNAME, TERM (with `-t`),
/// the image's `Env` (chapter 03), `--env-file` then `-e` (a later value replaces
/// an earlier one in place), HOME last unless given.
pub fn environment(
    args: &RunArgs,
    hostname: &str,
    home: &str,
    image_env: &[String],
) -> Result<Vec<String>> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if args.tty {
        env.push("TERM=xterm".into());
    }
    for item in image_env {
        set_env(&mut env, item)?;
    }
    for file in &args.env_file {
        let text = fs::read_to_string(file).map_err(|e| {
            Error::usage(format!("open {file}: {e}"))
                .hint("--env-file takes a file of KEY=VALUE lines")
        })?;
        for line in text
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            set_env(&mut env, line)?;
        }
    }
    for item in &args.env {
        set_env(&mut env, item)?;
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    Ok(env)
}

/// Adds or replaces one `KEY=VALUE`; a bare `KEY` takes the host's value, or is
/// dropped when the host has none (docker's rule).
fn set_env(env: &mut Vec<String>, item: &str) -> Result<()> {
    let (key, value) = match item.split_once('=') {
        Some((k, v)) => (k, Some(v.to_string())),
        None => (item.trim_end(), std::env::var(item.trim_end()).ok()),
    };
    if key.is_empty() {
        return Err(
            Error::usage(format!("invalid environment variable: {item}")).hint("write KEY=VALUE"),
        );
    }
    if key.contains(char::is_whitespace) {
        return Err(
            Error::usage(format!("variable '{key}' contains whitespaces")).hint("write KEY=VALUE"),
        );
    }
    let Some(value) = value else { return Ok(()) };
    let item = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(existing) => *existing = item,
        None => env.push(item),
    }
    Ok(())
}
// ANCHOR_END: environment

fn validate_workdir(workdir: Option<&str>) -> Result<()> {
    match workdir {
        Some(w) if !w.starts_with('/') => Err(Error::usage(format!(
            "the working directory '{w}' is invalid, it needs to be an absolute path"
        ))
        .hint("pass -w /some/dir")),
        _ => Ok(()),
    }
}

// ANCHOR: namespaces
/// The namespaces of a container: mount, pid, uts, ipc, network; and cgroup when
/// private (docker's default on cgroup v2, `--cgroupns private` on v1).
pub fn namespaces(
    cgroupns: Option<&str>,
) -> Result<Vec<berth_engine::oci_spec::runtime::LinuxNamespace>> {
    let private_cgroupns = match cgroupns {
        None => cgroup_v2_host(),
        Some("private") => true,
        Some("host") => false,
        Some(other) => {
            return Err(Error::usage(format!("invalid --cgroupns value {other:?}"))
                .hint("use host or private"));
        }
    };
    let mut kinds = vec![
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Network,
    ];
    if private_cgroupns {
        kinds.push(LinuxNamespaceType::Cgroup);
    }
    kinds
        .into_iter()
        .map(|typ| {
            LinuxNamespaceBuilder::default()
                .typ(typ)
                .build()
                .context(|| "building a namespace".into())
        })
        .collect()
}
// ANCHOR_END: namespaces

/// Whether the host mounts cgroup v2 alone at /sys/fs/cgroup.
pub fn cgroup_v2_host() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The device nodes every container gets in its /dev, as docker's.
fn default_devices() -> Result<Vec<berth_engine::oci_spec::runtime::LinuxDevice>> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(path, major, minor)| {
        LinuxDeviceBuilder::default()
            .path(PathBuf::from(path))
            .typ(LinuxDeviceType::C)
            .major(major)
            .minor(minor)
            .file_mode(0o666u32)
            .uid(0u32)
            .gid(0u32)
            .build()
            .context(|| format!("building the device {path}"))
    })
    .collect()
}

/// The static tini that `--init` runs as PID 1 (apt's `tini` ships `tini-static`).
fn find_init() -> Result<PathBuf> {
    [
        "/usr/bin/tini-static",
        "/usr/local/bin/tini-static",
        "/usr/bin/docker-init",
        "/usr/libexec/docker/docker-init",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
    .ok_or_else(|| {
        Error::usage("--init needs a static tini on the host, and none was found")
            .hint("apt-get install tini (it ships /usr/bin/tini-static)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            args: vec!["true".into()],
            ..Default::default()
        }
    }

    #[test]
    fn environment_follows_docker() {
        let mut a = args();
        a.tty = true;
        a.env = vec!["A=1".into(), "A=2".into(), "PATH=/x".into(), "B=".into()];
        let env = environment(&a, "box", "/root", &[]).unwrap();
        assert_eq!(
            env,
            [
                "PATH=/x",
                "HOSTNAME=box",
                "TERM=xterm",
                "A=2",
                "B=",
                "HOME=/root"
            ]
        );
    }

    #[test]
    fn bare_env_takes_the_hosts_value_or_nothing() {
        let mut a = args();
        a.env = vec!["BERTH_SURELY_UNSET_VAR".into(), "HOME".into()];
        let env = environment(&a, "h", "/", &[]).unwrap();
        assert!(!env.iter().any(|e| e.starts_with("BERTH_SURELY_UNSET_VAR")));
        assert!(env.iter().any(|e| e.starts_with("HOME=")));
    }

    #[test]
    fn env_with_spaces_in_the_name_is_refused() {
        let mut a = args();
        a.env = vec!["A B=1".into()];
        assert!(
            environment(&a, "h", "/", &[])
                .unwrap_err()
                .to_string()
                .contains("whitespaces")
        );
    }

    #[test]
    fn env_file_lines_apply_before_e() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        fs::write(&f, "# comment\n\nX=file\nY=file\n").unwrap();
        let mut a = args();
        a.env_file = vec![f.display().to_string()];
        a.env = vec!["Y=flag".into()];
        let env = environment(&a, "h", "/", &[]).unwrap();
        assert!(env.contains(&"X=file".to_string()) && env.contains(&"Y=flag".to_string()));
        a.env_file = vec!["/nonexistent/env".into()];
        assert!(environment(&a, "h", "/", &[]).is_err());
    }

    #[test]
    fn resolv_conf_drops_loopback_servers() {
        let host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch lan\n";
        assert_eq!(resolv_conf(host), "nameserver 10.0.0.2\nsearch lan\n");
    }

    #[test]
    fn workdir_must_be_absolute() {
        assert!(validate_workdir(Some("rel")).is_err());
        assert!(validate_workdir(Some("/abs")).is_ok());
    }

    #[test]
    fn namespaces_default_and_cgroupns() {
        let host = namespaces(Some("host")).unwrap();
        assert_eq!(host.len(), 5);
        assert_eq!(namespaces(Some("private")).unwrap().len(), 6);
        assert!(namespaces(Some("bogus")).is_err());
    }
}
