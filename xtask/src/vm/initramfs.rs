//! The VM's whole userland, as one initramfs: busybox, `ch02` with its shared libraries,
//! a container root filesystem and the scripts of `tests/vm/`.
//!
//! ```text
//! /init                     tests/vm/init (PID 1: moves to a tmpfs root, runs the checks)
//! /vmtest/checks.sh         tests/vm/checks.sh (the checks, run on the VM's host side)
//! /bin/busybox, /bin/sh …   busybox-static and a link per applet
//! /usr/local/bin/ch02       the binary under test, and the libraries `ldd` names
//! /dev/console              so that PID 1 starts with a console on stdin/stdout/stderr
//! /rootfs/…                 the containers' root: busybox again, /etc/passwd,
//!                           and tests/vm/container/*.sh under /rootfs/vmtest
//! ```

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::cpio::Archive;
use super::host;

/// Where the inputs of the initramfs come from.
pub struct Inputs<'a> {
    /// A statically linked busybox.
    pub busybox: &'a Path,
    /// The `ch02` binary under test.
    pub ch02: &'a Path,
    /// `tests/vm/` in the workspace.
    pub scripts: &'a Path,
}

/// Builds the uncompressed newc archive.
fn build(inputs: &Inputs<'_>) -> anyhow::Result<Vec<u8>> {
    let mut archive = Archive::new();
    archive.char_device("dev/console", 0o600, 5, 1)?;
    for mount_point in ["proc", "sys"] {
        archive.directory(mount_point, 0o755)?;
    }
    archive.file("init", 0o755, &read(&inputs.scripts.join("init"))?)?;
    archive.file(
        "vmtest/checks.sh",
        0o755,
        &read(&inputs.scripts.join("checks.sh"))?,
    )?;
    add_busybox(&mut archive, "", inputs.busybox)?;
    archive.file("usr/local/bin/ch02", 0o755, &read(inputs.ch02)?)?;
    for library in shared_libraries(inputs.ch02)? {
        // The libraries go where the dynamic loader and the binary's DT_NEEDED look for them.
        if !archive.contains(&library) {
            archive.file(&library, 0o755, &read(Path::new(&library))?)?;
        }
    }
    add_container_rootfs(&mut archive, inputs)?;
    Ok(archive.finish())
}

/// Builds the archive and writes it, gzip-compressed, to `path`.
pub fn write(inputs: &Inputs<'_>, path: &Path) -> anyhow::Result<()> {
    let compressed = gzip(build(inputs)?)?;
    fs::write(path, compressed).with_context(|| format!("cannot write {}", path.display()))
}

/// Compresses with the system's gzip (fast level: the guest decompresses under emulation).
fn gzip(data: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let mut child = Command::new("gzip")
        .args(["-1", "-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start gzip")?;
    let mut stdin = child.stdin.take().context("gzip's stdin is not piped")?;
    // Feed on a thread: gzip's stdout fills while we write, and we read it below.
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let output = child.wait_with_output().context("cannot wait for gzip")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the thread feeding gzip panicked"))??;
    if !output.status.success() {
        bail!("gzip failed ({})", output.status);
    }
    Ok(output.stdout)
}

/// busybox at `<root>/bin/busybox` and one symlink per applet, as `busybox --list-full` places them.
fn add_busybox(archive: &mut Archive, root: &str, busybox: &Path) -> anyhow::Result<()> {
    archive.file(&format!("{root}/bin/busybox"), 0o755, &read(busybox)?)?;
    let list = host::capture(Command::new(busybox).arg("--list-full"))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines().map(str::trim) {
        let path = format!("{root}/{applet}");
        if !applet.is_empty() && !archive.contains(&path) {
            archive.symlink(&path, "/bin/busybox")?;
        }
    }
    Ok(())
}

/// The root filesystem the checks start containers from.
fn add_container_rootfs(archive: &mut Archive, inputs: &Inputs<'_>) -> anyhow::Result<()> {
    add_busybox(archive, "rootfs", inputs.busybox)?;
    for dir in ["proc", "sys", "dev", "tmp", "etc", "root"] {
        archive.directory(&format!("rootfs/{dir}"), 0o755)?;
    }
    archive.file(
        "rootfs/etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\n",
    )?;
    archive.file("rootfs/etc/group", 0o644, b"root:x:0:\n")?;
    let container_scripts = inputs.scripts.join("container");
    let mut scripts: Vec<_> = fs::read_dir(&container_scripts)
        .with_context(|| format!("cannot read {}", container_scripts.display()))?
        .collect::<Result<_, _>>()?;
    scripts.sort_by_key(|entry| entry.file_name());
    for script in scripts {
        let name = script.file_name().to_string_lossy().into_owned();
        archive.file(
            &format!("rootfs/vmtest/{name}"),
            0o755,
            &read(&script.path())?,
        )?;
    }
    Ok(())
}

/// The absolute paths of the shared libraries (and the dynamic loader) `ldd` lists.
fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<String>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .context("cannot run ldd")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // ldd fails on a static binary, which is fine: it needs nothing.
    if !output.status.success()
        && !format!("{stdout}{}", String::from_utf8_lossy(&output.stderr))
            .contains("not a dynamic executable")
    {
        bail!(
            "ldd {} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_ldd(&stdout))
}

/// Picks the paths out of `ldd` output; the vDSO has no file and is skipped.
///
/// ```text
///     linux-vdso.so.1 (0x00007ffd…)
///     libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f…)
///     /lib64/ld-linux-x86-64.so.2 (0x00007f…)
/// ```
fn parse_ldd(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, resolved)) => resolved.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| path.to_string())
        })
        .collect()
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_paths_include_the_loader_but_not_the_vdso() {
        let output = "\tlinux-vdso.so.1 (0x00007ffc)\n\
                      \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f01)\n\
                      \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f02)\n\
                      \t/lib64/ld-linux-x86-64.so.2 (0x00007f03)\n";
        assert_eq!(
            parse_ldd(output),
            [
                "/lib/x86_64-linux-gnu/libgcc_s.so.1",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
        );
    }

    #[test]
    fn a_static_binary_needs_no_library() {
        assert!(parse_ldd("\tnot a dynamic executable\n").is_empty());
    }
}
