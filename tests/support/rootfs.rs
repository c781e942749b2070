//! A small root filesystem for containers, made offline from Debian's `busybox-static`.
//!
//! Every end-to-end test and `cargo xtask rootfs|demo|bench|book` runs containers from
//! the same tree: one static busybox, a symlink per applet, the users docker images
//! usually carry (root, nobody, and `app` with uid 1000), and the empty directories the
//! runtime mounts over. Nothing is downloaded: the package is already on the machine.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's `busybox-static` package installs the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// The uid and gid of the unprivileged user `app` in the built root filesystem.
pub const APP_UID: u32 = 1000;

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
";

const GROUP: &str = "\
root:x:0:
nogroup:x:65534:
app:x:1000:
";

/// Builds the root filesystem into `dir` (created if missing; existing entries are replaced).
pub fn build(dir: &Path) -> io::Result<()> {
    let busybox = static_busybox()?;
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    install_busybox(dir, &busybox)?;
    make_directories(dir)?;
    write_etc(dir)?;
    Ok(())
}

/// Builds the root filesystem into a fresh temporary directory, removed when dropped.
pub fn build_temp() -> io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("berth-rootfs-").tempdir()?;
    build(dir.path())?;
    Ok(dir)
}

/// Returns the path of a statically linked busybox, or an error saying how to install it.
///
/// A dynamically linked busybox (Debian's `busybox` package) would not start inside a
/// root filesystem that has no C library, so it is refused here rather than at run time.
pub fn static_busybox() -> io::Result<PathBuf> {
    let path = PathBuf::from(BUSYBOX);
    if !path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{BUSYBOX} is missing: install it with `apt-get install -y busybox-static`"),
        ));
    }
    if has_interpreter(&path)? {
        return Err(io::Error::other(format!(
            "{BUSYBOX} is dynamically linked: install the static one with \
             `apt-get install -y busybox-static`"
        )));
    }
    Ok(path)
}

// ANCHOR: busybox_applets
/// Copies busybox to `bin/busybox` and links every applet it lists to it.
///
/// busybox picks the applet from the name it was started under (`argv[0]`), so one
/// binary and a few hundred symlinks make a complete userland.
fn install_busybox(dir: &Path, busybox: &Path) -> io::Result<()> {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin)?;
    replace_with(&bin.join("busybox"), |target| {
        fs::copy(busybox, target).map(drop)
    })?;
    for applet in applets(busybox)? {
        // A link named `busybox` would replace the binary itself with a loop.
        if applet == "busybox" {
            continue;
        }
        replace_with(&bin.join(&applet), |target| symlink("busybox", target))?;
    }
    Ok(())
}
// ANCHOR_END: busybox_applets

/// The applet names busybox was built with, one per line of `busybox --list`.
fn applets(busybox: &Path) -> io::Result<Vec<String>> {
    let output = Command::new(busybox).arg("--list").output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "`{} --list` failed with {}",
            busybox.display(),
            output.status
        )));
    }
    let list = String::from_utf8_lossy(&output.stdout);
    Ok(parse_applets(&list))
}

/// Splits `busybox --list` output into applet names, ignoring blank lines and anything
/// that could escape `bin/` (busybox never prints such names, but the list is external input).
fn parse_applets(list: &str) -> Vec<String> {
    list.lines()
        .map(str::trim)
        .filter(|name| !name.is_empty() && !name.contains('/') && *name != "." && *name != "..")
        .map(String::from)
        .collect()
}

/// Creates the directories a container expects, with the modes a Debian system gives them.
fn make_directories(dir: &Path) -> io::Result<()> {
    // /tmp is world-writable with the sticky bit, /root is private to root.
    let modes = [
        ("etc", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("dev", 0o755),
        ("tmp", 0o1777),
        ("root", 0o700),
        ("home", 0o755),
        ("home/app", 0o755),
    ];
    for (name, mode) in modes {
        let path = dir.join(name);
        fs::create_dir_all(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
    }
    // Only root can give a directory away; an unprivileged build keeps the caller's ids.
    if is_root() {
        std::os::unix::fs::chown(dir.join("home/app"), Some(APP_UID), Some(APP_UID))?;
    }
    Ok(())
}

/// Writes the users, groups and the hostname placeholder the runtime bind-mounts over.
fn write_etc(dir: &Path) -> io::Result<()> {
    let etc = dir.join("etc");
    fs::write(etc.join("passwd"), PASSWD)?;
    fs::write(etc.join("group"), GROUP)?;
    fs::write(etc.join("hostname"), "localhost\n")?;
    Ok(())
}

/// Removes whatever is at `path` (without following a symlink) and creates it anew.
fn replace_with(path: &Path, create: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path)?,
        Ok(_) => fs::remove_file(path)?,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    create(path)
}

/// Whether the ELF file at `path` names a program interpreter, i.e. is dynamically linked.
fn has_interpreter(path: &Path) -> io::Result<bool> {
    let mut bytes = Vec::new();
    // The program headers of busybox sit right after the 64-byte ELF header.
    fs::File::open(path)?.take(4096).read_to_end(&mut bytes)?;
    elf_has_interpreter(&bytes).ok_or_else(|| {
        io::Error::other(format!(
            "{} is not a 64-bit little-endian ELF file",
            path.display()
        ))
    })
}

/// Reads the program header table of a 64-bit little-endian ELF image and reports
/// whether one entry is `PT_INTERP`. `None` when the bytes are not such an image.
fn elf_has_interpreter(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let table = usize::try_from(u64_at(0x20)?).ok()?;
    let entry_size = usize::from(u16_at(0x36)?);
    let entries = usize::from(u16_at(0x38)?);
    for index in 0..entries {
        let at = table + index * entry_size;
        let kind = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        if kind == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applet_list_skips_blank_lines_and_paths() {
        let names = parse_applets("sh\n\n ls \n../evil\nbusybox\n");
        assert_eq!(names, ["sh", "ls", "busybox"]);
    }

    #[test]
    fn elf_check_rejects_non_elf_bytes() {
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn elf_check_tells_static_from_dynamic_binaries() {
        // The host's shell is dynamically linked against the C library; this
        // test binary is static, as every binary of the workspace is
        // (.cargo/config.toml).
        assert!(has_interpreter(Path::new("/bin/sh")).unwrap());
        let me = std::env::current_exe().unwrap();
        assert!(!has_interpreter(&me).unwrap());
        if let Ok(busybox) = static_busybox() {
            assert!(!has_interpreter(&busybox).unwrap());
        }
    }

    #[test]
    fn built_tree_has_applets_users_and_sticky_tmp() {
        if static_busybox().is_err() {
            eprintln!("skipped: {BUSYBOX} (busybox-static) is not installed");
            return;
        }
        let root = build_temp().unwrap();
        let dir = root.path();
        assert!(dir.join("bin/busybox").is_file());
        assert_eq!(
            fs::read_link(dir.join("bin/sh")).unwrap(),
            Path::new("busybox")
        );
        assert!(
            fs::symlink_metadata(dir.join("bin/busybox"))
                .unwrap()
                .is_file()
        );
        let passwd = fs::read_to_string(dir.join("etc/passwd")).unwrap();
        assert!(passwd.contains("app:x:1000:1000:"));
        let tmp = fs::metadata(dir.join("tmp")).unwrap().permissions().mode();
        assert_eq!(tmp & 0o7777, 0o1777);
        assert!(dir.join("etc/hostname").is_file());
        // Building again over the same tree must succeed and change nothing visible.
        build(dir).unwrap();
        assert_eq!(
            fs::read_link(dir.join("bin/ls")).unwrap(),
            Path::new("busybox")
        );
    }
}
