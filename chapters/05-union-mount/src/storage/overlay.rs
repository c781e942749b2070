//! Mounting a container's overlay, and unmounting it.
//!
//! overlayfs merges directories: `lowerdir` (read-only, leftmost on top),
//! `upperdir` (where every change lands, copied up on the first write) and
//! `workdir` (overlayfs's scratch space, on the same file system as upper).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};
use nix::sys::wait::{WaitStatus, waitpid};

use super::error::StorageError;

/// mount(2) copies the options into one page; longer ones are refused.
pub const MAX_OPTIONS: usize = 4095;

// ANCHOR: overlay_options
/// The overlay's option string. `lowers` are top first; every path is relative
/// to the layers directory, where the mount is made from.
///
/// Three features are always off, because the container's upper directory must
/// be a plain record of its changes that `diff` and `commit` can read:
/// - `redirect_dir=off`: otherwise renaming a lower directory records only an
///   xattr pointing at the old name, and the directory's content is not in
///   upper: a committed layer would lose it;
/// - `metacopy=off`: otherwise a `chmod` copies up only the metadata, and the
///   file in upper is empty, its data still in the lower layer;
/// - `index=off`: the inode index ties upper to these exact lower directories
///   and refuses a later mount over different ones (after a layer was unpacked anew).
pub fn options(lowers: &[String], upper: &str, work: &str) -> Result<String, StorageError> {
    let options = format!(
        "lowerdir={},upperdir={upper},workdir={work},redirect_dir=off,metacopy=off,index=off",
        lowers.join(":")
    );
    if options.len() > MAX_OPTIONS {
        return Err(StorageError::OptionsTooLong {
            length: options.len(),
            max: MAX_OPTIONS,
        });
    }
    Ok(options)
}
// ANCHOR_END: overlay_options

// ANCHOR: mount_from
/// Mounts an overlay with `options` on `target`, in a child process whose
/// working directory is `from`, so the relative paths of the options (short
/// enough for 127 layers) resolve there. The child changes directory, not this
/// process, which may have threads (the supervisor).
///
/// The child is a `CLONE_VM | CLONE_VFORK` clone: it runs on a small stack of
/// its own in this process's memory, so no page table is copied (a fork of the
/// supervisor took 0.7 ms), and this process waits, suspended, until it exits.
/// It has its own working directory (no `CLONE_FS`), and it only makes the two
/// system calls, on strings made before the clone.
pub fn mount_from(from: &Path, options: &str, target: &Path) -> Result<(), StorageError> {
    let mount_error = |source| StorageError::Mount {
        target: target.to_path_buf(),
        source,
    };
    let c = |path: &Path| CString::new(path.as_os_str().as_bytes()).expect("a path has no NUL");
    let call = MountCall {
        from: c(from),
        target: c(target),
        options: CString::new(options).expect("options have no NUL"),
    };
    let mut stack = vec![0u8; CHILD_STACK];
    // The stack grows down: the child starts at the top, 16-byte aligned.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    // SAFETY: `mount_in_child` reads `call` and touches nothing else of ours;
    // `call` and `stack` outlive the child, because CLONE_VFORK suspends this
    // thread until the child has exited.
    let pid = unsafe {
        libc::clone(
            mount_in_child,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::from_ref(&call).cast_mut().cast(),
        )
    };
    let child = nix::unistd::Pid::from_raw(Errno::result(pid).map_err(mount_error)?);
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => return Ok(()),
            Ok(WaitStatus::Exited(_, errno)) => return Err(mount_error(Errno::from_raw(errno))),
            Ok(_) => return Err(mount_error(Errno::ECHILD)),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(mount_error(e)),
        }
    }
}

/// What the mounting child needs, prepared before the clone.
struct MountCall {
    from: CString,
    target: CString,
    options: CString,
}

/// The mounting child's stack: it makes two system calls.
const CHILD_STACK: usize = 64 * 1024;

/// The mounting child: changes directory and mounts; its exit code is 0 or the errno.
extern "C" fn mount_in_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `MountCall` that `mount_from` keeps alive until we exit.
    let call = unsafe { &*(arg as *const MountCall) };
    let overlay = c"overlay";
    // SAFETY: chdir and mount on NUL-terminated strings that outlive this call.
    unsafe {
        if libc::chdir(call.from.as_ptr()) != 0
            || libc::mount(
                overlay.as_ptr(),
                call.target.as_ptr(),
                overlay.as_ptr(),
                0,
                call.options.as_ptr().cast(),
            ) != 0
        {
            return *libc::__errno_location();
        }
    }
    0
}
// ANCHOR_END: mount_from

/// Whether `target` is the mount point of an overlay, in this mount namespace.
pub fn is_overlay_mount(target: &Path) -> Result<bool, StorageError> {
    let target = match fs::canonicalize(target) {
        Ok(path) => path,
        Err(_) => return Ok(false),
    };
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(StorageError::io("reading", "/proc/self/mountinfo"))?;
    Ok(mounts_at(&mountinfo, &target)
        .iter()
        .any(|fstype| fstype == "overlay"))
}

/// The file-system types mounted at `target`, as one mountinfo text lists them.
pub fn mounts_at(mountinfo: &str, target: &Path) -> Vec<String> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let point = unescape(fields.get(4)?);
            // After the optional fields, a lone "-" comes before the type.
            let dash = fields.iter().position(|f| *f == "-")?;
            let fstype = fields.get(dash + 1)?;
            (Path::new(&point) == target).then(|| fstype.to_string())
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ANCHOR: unmount
/// Unmounts `target`. Not mounted (EINVAL) or missing (ENOENT) is fine. A
/// busy mount is retried briefly, then detached: it goes once its last user does.
pub fn unmount(target: &Path) -> Result<(), StorageError> {
    for _ in 0..10 {
        match umount2(target, MntFlags::empty()) {
            Ok(()) | Err(Errno::EINVAL | Errno::ENOENT) => return Ok(()),
            Err(Errno::EBUSY) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => {
                return Err(StorageError::Unmount {
                    target: target.to_path_buf(),
                    source: e,
                });
            }
        }
    }
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL | Errno::ENOENT) => Ok(()),
        Err(source) => Err(StorageError::Unmount {
            target: target.to_path_buf(),
            source,
        }),
    }
}
// ANCHOR_END: unmount

/// `path` as the overlay's options name it: relative to the layers directory
/// when both are under the state root (short), absolute otherwise.
pub fn relative_to_layers(layers: &Path, path: &Path) -> PathBuf {
    match (layers.parent(), layers.file_name()) {
        (Some(state), Some(_)) => match path.strip_prefix(state) {
            Ok(rest) => Path::new("..").join(rest),
            Err(_) => path.to_path_buf(),
        },
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_name_lowers_top_first_and_turn_features_off() {
        let lowers = vec!["../c/init".to_string(), "l/B".into(), "l/A".into()];
        let text = options(&lowers, "../c/upper", "../c/work").unwrap();
        assert_eq!(
            text,
            "lowerdir=../c/init:l/B:l/A,upperdir=../c/upper,workdir=../c/work,\
             redirect_dir=off,metacopy=off,index=off"
        );
    }

    #[test]
    fn a_full_stack_of_short_names_fits_the_page() {
        let id = "f".repeat(64);
        let mut lowers = vec![format!("../containers/{id}/init")];
        lowers.extend((0..127).map(|_| format!("l/{}", "A".repeat(26))));
        let upper = format!("../containers/{id}/upper");
        let work = format!("../containers/{id}/work");
        assert!(options(&lowers, &upper, &work).is_ok());
        lowers.push(format!("l/{}", "A".repeat(26)));
        lowers.extend((0..10).map(|_| format!("l/{}", "A".repeat(26))));
        assert!(matches!(
            options(&lowers, &upper, &work),
            Err(StorageError::OptionsTooLong { .. })
        ));
    }

    #[test]
    fn mountinfo_points_are_unescaped() {
        let info = "36 35 98:0 / /mnt/a\\040b rw - overlay overlay rw,lowerdir=x\n\
                    37 35 98:0 / /mnt/c rw shared:1 - ext4 /dev/vda rw\n";
        assert_eq!(mounts_at(info, Path::new("/mnt/a b")), vec!["overlay"]);
        assert_eq!(mounts_at(info, Path::new("/mnt/c")), vec!["ext4"]);
        assert!(mounts_at(info, Path::new("/mnt")).is_empty());
    }

    #[test]
    fn paths_under_the_state_root_are_relative_to_layers() {
        let layers = Path::new("/var/lib/berth/layers");
        assert_eq!(
            relative_to_layers(layers, Path::new("/var/lib/berth/containers/x/init")),
            Path::new("../containers/x/init")
        );
        assert_eq!(
            relative_to_layers(layers, Path::new("/elsewhere/init")),
            Path::new("/elsewhere/init")
        );
    }
}
