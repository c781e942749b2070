//! Helpers every subcommand shares: where things are, running commands, installing packages.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The repository root (the directory holding the workspace `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    // xtask lives one level below the root, so its manifest directory's parent is the root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent directory")
        .to_path_buf()
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set, else `target/` in the repository.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        _ => repo_root().join("target"),
    }
}

/// A `cargo` command started in the repository root, using the cargo that runs xtask.
pub fn cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root());
    cmd
}

/// Runs `cmd` with inherited stdio after echoing it; fails naming it when it does not succeed.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    println!("+ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{}`", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// The command line of `cmd` as one string, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Whether the effective user is root; most subcommands need it for namespaces and cgroups.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Fails with a message naming `what` unless running as root.
pub fn require_root(what: &str) -> anyhow::Result<()> {
    if !is_root() {
        bail!("{what} needs root (namespaces, mounts, cgroups): run it with sudo or as root");
    }
    Ok(())
}

/// Finds `name` in the directories of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether the Debian package `name` is installed (`dpkg -s` succeeds).
pub fn package_installed(name: &str) -> bool {
    Command::new("dpkg")
        .args(["-s", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Installs the Debian packages among `names` that are missing, with one `apt-get update`.
pub fn apt_install(names: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !package_installed(name))
        .collect();
    if missing.is_empty() {
        println!("packages already installed: {}", names.join(" "));
        return Ok(());
    }
    require_root("installing packages with apt-get")?;
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Returns the `mdbook` binary, installing mdBook 0.5 with cargo when it is not present.
pub fn ensure_mdbook() -> anyhow::Result<PathBuf> {
    if let Some(found) = find_mdbook() {
        return Ok(found);
    }
    run(cargo().args([
        "install",
        "mdbook",
        "--locked",
        "--version",
        "^0.5",
        "--no-default-features",
        "--features",
        "search",
    ]))?;
    find_mdbook().context("`cargo install mdbook` finished but no mdbook binary was found")
}

fn find_mdbook() -> Option<PathBuf> {
    find_on_path("mdbook").or_else(|| {
        let home = env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
        Some(home.join("bin/mdbook")).filter(|path| path.is_file())
    })
}

/// `PATH` with `dir` in front, so freshly built binaries win over installed ones.
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    if let Some(path) = env::var_os("PATH") {
        dirs.extend(env::split_paths(&path));
    }
    env::join_paths(dirs).expect("target directories contain no ':'")
}

/// A release build of every binary, as `demo` and `bench` run them.
pub fn build_release() -> anyhow::Result<()> {
    run(cargo().args(["build", "--release", "--workspace", "--bins"]))
}

/// The target every binary is built for (`.cargo/config.toml` names it, so
/// that the static-linking flags stay off build scripts).
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Where the binaries of `profile` ("debug" or "release") land.
pub fn profile_dir(profile: &str) -> PathBuf {
    target_dir().join(TARGET).join(profile)
}

/// The path of the binary `name` built with `profile` ("debug" or "release").
pub fn built_binary(profile: &str, name: &str) -> PathBuf {
    profile_dir(profile).join(name)
}

/// Fails early, naming the package to install, when the command `name` is not on `PATH`.
pub fn require_tool(name: &str, package: &str) -> anyhow::Result<PathBuf> {
    find_on_path(name).with_context(|| {
        format!("`{name}` is missing: install it with `apt-get install -y {package}`")
    })
}
