//! Which driver makes new containers' roots: overlay where it works, vfs
//! (a full copy) where it does not, or what `BERTH_STORAGE_DRIVER` forces.
//!
//! The choice is made once per process and cheaply: no test mount, only what
//! the kernel lists (`/proc/filesystems`) and what the state root sits on
//! (overlayfs cannot use an overlay as its upper layer).

use std::path::Path;
use std::sync::OnceLock;

use super::DriverKind;
use super::error::StorageError;

/// The variable that forces a driver: `overlay` (or `overlay2`) or `vfs`.
pub const DRIVER_ENV: &str = "BERTH_STORAGE_DRIVER";

// ANCHOR: select_driver
/// The driver for new containers under the state root `root`. The first call
/// decides (and warns once on stderr if overlay is not available); later
/// calls in the same process return the same answer.
pub fn selected(program: &str, root: &Path) -> berth_engine::Result<DriverKind> {
    static CHOICE: OnceLock<berth_engine::Result<DriverKind>> = OnceLock::new();
    CHOICE
        .get_or_init(|| {
            let forced = std::env::var(DRIVER_ENV).ok();
            let (kind, passed_over) = choose(forced.as_deref(), || overlay_available(root))?;
            if let Some(why) = passed_over {
                eprintln!(
                    "{program}: overlay is not available here ({why}); \
                     using vfs (a full copy per container)"
                );
            }
            Ok(kind)
        })
        .clone()
}

/// The decision itself, given the variable's value and a probe of overlay:
/// the driver, and the reason overlay was passed over when it was.
pub fn choose(
    forced: Option<&str>,
    probe: impl FnOnce() -> Result<(), String>,
) -> Result<(DriverKind, Option<String>), StorageError> {
    match forced.map(str::trim) {
        None | Some("") => match probe() {
            Ok(()) => Ok((DriverKind::Overlay, None)),
            Err(why) => Ok((DriverKind::Vfs, Some(why))),
        },
        Some("overlay" | "overlay2") => match probe() {
            Ok(()) => Ok((DriverKind::Overlay, None)),
            Err(reason) => Err(StorageError::OverlayUnavailable { reason }),
        },
        Some("vfs") => Ok((DriverKind::Vfs, None)),
        Some(other) => Err(StorageError::UnknownDriver {
            value: other.to_string(),
        }),
    }
}
// ANCHOR_END: select_driver

/// Whether overlay can work for a state root at `root`: the kernel knows the
/// file system, and the root is not itself on an overlay.
pub fn overlay_available(root: &Path) -> Result<(), String> {
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|line| line.split_whitespace().last() == Some("overlay"))
    {
        return Err("the kernel does not list overlay in /proc/filesystems".into());
    }
    let existing = root
        .ancestors()
        .find(|dir| dir.exists())
        .unwrap_or(Path::new("/"));
    match nix::sys::statfs::statfs(existing) {
        Ok(stat) if stat.filesystem_type() == nix::sys::statfs::OVERLAYFS_SUPER_MAGIC => Err(
            format!("{} is on an overlay file system", existing.display()),
        ),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("statfs {}: {e}", existing.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_when_it_works_vfs_with_a_reason_when_not() {
        assert_eq!(
            choose(None, || Ok(())).unwrap(),
            (DriverKind::Overlay, None)
        );
        assert_eq!(
            choose(None, || Err("no".into())).unwrap(),
            (DriverKind::Vfs, Some("no".into()))
        );
    }

    #[test]
    fn the_variable_forces_a_driver() {
        assert_eq!(choose(Some("vfs"), || Ok(())).unwrap().0, DriverKind::Vfs);
        assert_eq!(
            choose(Some("overlay2"), || Ok(())).unwrap().0,
            DriverKind::Overlay
        );
        assert!(matches!(
            choose(Some("overlay"), || Err("no".into())),
            Err(StorageError::OverlayUnavailable { .. })
        ));
        assert!(matches!(
            choose(Some("zfs"), || Ok(())),
            Err(StorageError::UnknownDriver { .. })
        ));
    }
}
