//! What the VM test needs from the machine it runs on: packages, paths, the `ch02` build.
//!
//! Self-contained on purpose: the VM test runs in CI on a fresh machine and should not
//! break when the rest of xtask changes.

use std::env;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail};

/// The Debian packages the VM test runs, each with a file that shows it is installed.
pub const PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86", "/usr/bin/qemu-system-x86_64"),
    ("busybox-static", "/bin/busybox"),
];

/// The workspace root (xtask's manifest sits one level below it).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// The directory cargo puts debug binaries in: the one this xtask binary was run from.
///
/// `cargo xtask` is `cargo run`, so the running executable sits next to anything else
/// the same cargo builds, whatever `CARGO_TARGET_DIR` says.
pub fn debug_dir() -> anyhow::Result<PathBuf> {
    let exe = env::current_exe().context("cannot find the running xtask binary")?;
    Ok(exe
        .parent()
        .context("the xtask binary has no parent directory")?
        .to_path_buf())
}

/// Where downloads and build products of the VM test are kept between runs.
pub fn cache_dir() -> anyhow::Result<PathBuf> {
    let debug = debug_dir()?;
    let target = debug
        .parent()
        .context("the debug directory has no parent")?;
    Ok(target.join("vm"))
}

/// Runs a command to completion, capturing its output; fails with its stderr when it fails.
pub fn capture(cmd: &mut Command) -> anyhow::Result<Output> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}): {}",
            describe(cmd),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Runs a command with its output shown, failing when it fails.
pub fn run_visible(cmd: &mut Command) -> anyhow::Result<()> {
    println!("vm-test: {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

/// The command line of `cmd`, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    format!("`{}`", words.join(" "))
}

/// Installs the packages of [`PACKAGES`] that are missing, with apt.
pub fn ensure_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(package, _)| !is_installed(package))
        .map(|(package, _)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "the VM test needs {}: run `apt-get install -y {}` as root",
            missing.join(", "),
            missing.join(" ")
        );
    }
    let install = || {
        let mut cmd = Command::new("apt-get");
        cmd.args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run_visible(&mut cmd)
    };
    // A fresh machine may have empty package lists: refresh them once and retry.
    if install().is_err() {
        run_visible(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    Ok(())
}

/// Whether dpkg knows `package` as installed; busybox-static and busybox both ship
/// /bin/busybox, so the file alone does not say which one is there.
fn is_installed(package: &str) -> bool {
    let files_present = PACKAGES
        .iter()
        .filter(|(p, _)| *p == package)
        .all(|(_, file)| Path::new(file).exists());
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .stderr(Stdio::null())
        .output();
    files_present
        && status
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
}

/// Whether this process runs as root (apt needs it): /proc/self belongs to the effective uid.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// Builds the `ch02` binary with the cargo running xtask and returns its path.
pub fn build_ch02() -> anyhow::Result<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .args(["build", "-p", "berth-resources", "--bin", "ch02"]);
    run_visible(&mut cmd)?;
    let binary = debug_dir()?.join("ch02");
    if !binary.is_file() {
        bail!("cargo built ch02 but {} is missing", binary.display());
    }
    Ok(binary)
}
