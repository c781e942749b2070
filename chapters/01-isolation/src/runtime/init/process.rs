//! The last steps before the container's command runs: its working directory,
//! its user, the program found through its own PATH, the descriptors it must
//! not inherit, and execve.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use berth_engine::oci_spec::runtime::Process;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::{AccessFlags, Gid, Uid};

use super::paths::{Kind, ensure_in_root, open_in_root};
use super::{InitFailure, Step};
use crate::runtime::error::FailureKind;
use crate::security::ProcessSecurity;

/// Creates `process.cwd` if missing, owned by the process's user, as docker
/// does for `-w`. Runs as root, before the user switch.
pub fn create_cwd(process: &Process) -> Result<(), InitFailure> {
    let root = std::fs::File::open("/").step(|| "opening /".into())?;
    let cwd = process.cwd();
    match open_in_root(&root, cwd, OFlag::O_DIRECTORY) {
        Err(Errno::ENOENT) => {}
        // Anything else (not a directory, a magic link) is reported by enter_cwd.
        _ => return Ok(()),
    }
    let dir = ensure_in_root(&root, cwd, Kind::Dir)
        .step(|| format!("creating the working directory {}", cwd.display()))?;
    let user = process.user();
    nix::unistd::fchownat(
        &dir,
        "",
        Some(Uid::from_raw(user.uid())),
        Some(Gid::from_raw(user.gid())),
        AtFlags::AT_EMPTY_PATH,
    )
    .step(|| format!("giving {} to the process's user", cwd.display()))
}

// ANCHOR: switch_user
/// Becomes the process's user. The order is the kernel's: capabilities that must
/// survive setuid are kept first (keepcaps), groups and gid change while we are
/// still root, setuid last, then the capability sets are cut to the spec's.
pub fn switch_user(process: &Process, security: &ProcessSecurity) -> Result<(), InitFailure> {
    let user = process.user();
    security
        .before_user_switch()
        .step(|| "preparing capabilities".into())?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|&g| Gid::from_raw(g))
        .collect();
    nix::unistd::setgroups(&groups).step(|| "setgroups".into())?;
    nix::unistd::setgid(Gid::from_raw(user.gid())).step(|| format!("setgid {}", user.gid()))?;
    nix::unistd::setuid(Uid::from_raw(user.uid())).step(|| format!("setuid {}", user.uid()))?;
    security
        .after_user_switch()
        .step(|| "applying capabilities".into())?;
    let umask = user.umask().unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    Ok(())
}
// ANCHOR_END: switch_user

// ANCHOR: enter_cwd
/// Enters `process.cwd`, resolved inside the root with magic links refused, then
/// checks where we landed. CVE-2024-21626: a cwd of `/proc/self/fd/N`, with N a
/// descriptor of the host leaked into the init, would put the process in a host
/// directory; `getcwd` then reports a path outside our root ("(unreachable)").
pub fn enter_cwd(process: &Process) -> Result<(), InitFailure> {
    let cwd = process.cwd();
    let root = std::fs::File::open("/").step(|| "opening /".into())?;
    let dir = open_in_root(&root, cwd, OFlag::O_DIRECTORY)
        .step(|| format!("the working directory {} cannot be used", cwd.display()))?;
    nix::unistd::fchdir(&dir).step(|| format!("entering {}", cwd.display()))?;
    match nix::unistd::getcwd() {
        Ok(now) if now.is_absolute() => Ok(()),
        Ok(now) => Err(InitFailure::setup(
            format!("the working directory {}", cwd.display()),
            format!("it lies outside the container ({})", now.display()),
        )),
        Err(e) => Err(InitFailure::setup(
            format!("the working directory {}", cwd.display()),
            e,
        )),
    }
}
// ANCHOR_END: enter_cwd

/// What a PATH search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// An executable file.
    Found(PathBuf),
    /// Files of that name, none executable by us.
    NotExecutable(PathBuf),
    /// Nothing of that name.
    Missing,
}

// ANCHOR: path_lookup
/// Finds `name` as a shell would: a name with a `/` is that file; otherwise
/// each directory of `path_var` (the container's PATH, not the runtime's) is
/// tried in order, skipping directories and files we may not execute. Checking
/// here, before the container starts, lets `create` report 126/127 at once, as
/// docker does, instead of a container that starts and dies.
pub fn lookup(name: &str, path_var: &str) -> Lookup {
    if name.contains('/') {
        return match std::fs::metadata(name) {
            Err(_) => Lookup::Missing,
            Ok(meta) if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 => {
                Lookup::NotExecutable(name.into())
            }
            Ok(_) => Lookup::Found(name.into()),
        };
    }
    let mut not_executable = None;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if meta.is_dir() {
            continue;
        }
        let executable = meta.permissions().mode() & 0o111 != 0
            && nix::unistd::access(&candidate, AccessFlags::X_OK).is_ok();
        match executable {
            true => return Lookup::Found(candidate),
            false => not_executable = not_executable.or(Some(candidate)),
        }
    }
    not_executable.map_or(Lookup::Missing, Lookup::NotExecutable)
}
// ANCHOR_END: path_lookup

/// The PATH of the process's environment (docker's default when it has none).
fn path_of(process: &Process) -> String {
    process
        .env()
        .iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string()
}

/// The program to exec for `process.args[0]`.
pub fn find_program(process: &Process) -> Result<PathBuf, InitFailure> {
    let name = &process.args().as_ref().expect("validated")[0];
    let path = path_of(process);
    match lookup(name, &path) {
        Lookup::Found(program) => Ok(program),
        Lookup::NotExecutable(file) => Err(InitFailure {
            kind: FailureKind::CannotExecute,
            message: format!(
                "exec {name:?}: permission denied ({} is not executable)",
                file.display()
            ),
        }),
        Lookup::Missing => Err(InitFailure {
            kind: FailureKind::NotFound,
            message: format!(
                "exec {name:?}: no such file or directory in the container's PATH ({path})"
            ),
        }),
    }
}

/// The exit code kind of a failed execve.
pub fn exec_failure_kind(errno: Errno) -> FailureKind {
    match errno {
        Errno::ENOENT | Errno::ENOTDIR => FailureKind::NotFound,
        _ => FailureKind::CannotExecute,
    }
}

// ANCHOR: close_fds
/// Marks every descriptor above 2 close-on-exec: whatever the runtime inherited
/// (a descriptor of a host directory would be a way out, CVE-2024-21626) is gone
/// in the container, while the channel still works until the exec itself.
pub fn close_inherited_fds() -> Result<(), InitFailure> {
    // SAFETY: close_range only changes flags of this process's descriptors.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    Errno::result(rc).map(drop).step(|| "close_range".into())
}
// ANCHOR_END: close_fds

/// Restores the signal state the command should start with, then execve.
pub fn exec(
    program: &Path,
    process: &Process,
    sigmask: &SigSet,
) -> Result<Infallible, InitFailure> {
    let cstring = |s: &[u8]| {
        CString::new(s).map_err(|_| InitFailure::setup("process.args/env", "contains a NUL byte"))
    };
    let args = process
        .args()
        .iter()
        .flatten()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let env = process
        .env()
        .iter()
        .flatten()
        .map(|e| cstring(e.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let program_c = cstring(program.as_os_str().as_bytes())?;
    // Ignored signals stay ignored across exec (Rust ignores SIGPIPE at start), and
    // the runtime blocked those it forwards: give the command a clean slate.
    for signal in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
        // SAFETY: installing SIG_DFL runs no code of ours.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(sigmask), None)
        .step(|| "restoring the signal mask".into())?;
    let errno = nix::unistd::execve(&program_c, &args, &env).unwrap_err();
    let name = &process.args().as_ref().expect("validated")[0];
    Err(InitFailure {
        kind: exec_failure_kind(errno),
        message: format!("exec {name:?}: {}", errno.desc().to_lowercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn path_lookup_skips_dirs_and_non_executables() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::create_dir_all(a.join("tool")).unwrap(); // a directory named like the program
        fs::create_dir_all(&b).unwrap();
        fs::write(b.join("tool"), "#!/bin/sh\n").unwrap();
        let path = format!("{}:{}", a.display(), b.display());
        assert_eq!(lookup("tool", &path), Lookup::NotExecutable(b.join("tool")));
        fs::set_permissions(b.join("tool"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(lookup("tool", &path), Lookup::Found(b.join("tool")));
        assert_eq!(lookup("nothing", &path), Lookup::Missing);
    }

    #[test]
    fn a_path_is_checked_as_it_is_before_the_container_starts() {
        let tmp = tempfile::tempdir().unwrap();
        let tool = tmp.path().join("tool");
        fs::write(&tool, "#!/bin/sh\n").unwrap();
        let tool_name = tool.to_str().unwrap();
        assert_eq!(lookup(tool_name, ""), Lookup::NotExecutable(tool.clone()));
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(lookup(tool_name, ""), Lookup::Found(tool.clone()));
        let dir = tmp.path().to_str().unwrap();
        assert_eq!(lookup(dir, ""), Lookup::NotExecutable(tmp.path().into()));
        assert_eq!(lookup("./no/such/x", ""), Lookup::Missing);
    }

    #[test]
    fn exec_errors_map_to_126_or_127() {
        assert_eq!(exec_failure_kind(Errno::ENOENT).exit_code(), 127);
        assert_eq!(exec_failure_kind(Errno::EACCES).exit_code(), 126);
        assert_eq!(exec_failure_kind(Errno::ENOEXEC).exit_code(), 126);
    }
}
