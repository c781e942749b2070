//! `diff CONTAINER`: the files a container added (`A`), changed (`C`) and
//! deleted (`D`), for a running or a stopped container.

use std::path::Path;

use berth_engine::cli::ContainerArg;
use berth_engine::{Engine, Result};

use super::changes::{Change, Lowers, naive_changes, overlay_changes};
use super::container::Target;
use crate::storage::ContainerLayers;

/// What the engine adds to every container's root and a plain copy therefore
/// shows beside the image's files: the mount points of `/proc`, `/dev`,
/// `/sys` and the files bind-mounted over `/etc`. docker keeps them in its init
/// layer and leaves them out of `diff`; so does berth.
pub const ENGINE_ENTRIES: &[&str] = &[
    ".dockerenv",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/mtab",
    "dev",
    "proc",
    "sys",
];

/// Whether `path` (relative) is one of [`ENGINE_ENTRIES`] or below one.
pub fn added_by_engine(path: &Path) -> bool {
    ENGINE_ENTRIES.iter().any(|entry| path.starts_with(entry))
}

/// Runs `diff`: one line per change, sorted by path.
pub fn diff(engine: &Engine, args: &ContainerArg) -> Result<i32> {
    let target = Target::find(engine, &args.container)?;
    for change in container_changes(&target)? {
        println!("{change}");
    }
    Ok(0)
}

// ANCHOR: container_changes
/// The changes of a container, from its upper directory (overlay) or by
/// comparing its tree with its image's (copy).
pub fn container_changes(target: &Target) -> Result<Vec<Change>> {
    let layers = target.layers()?;
    Ok(match &layers.layers {
        ContainerLayers::Overlay {
            upper,
            init,
            lowers,
        } => {
            // The init layer is below the container's own, as in docker: what
            // it holds is not the container's doing.
            let below: Vec<_> = std::iter::once(init.clone())
                .chain(lowers.iter().cloned())
                .collect();
            overlay_changes(upper, &Lowers::open(&below)?)?
        }
        ContainerLayers::Copy { rootfs, image } => naive_changes(rootfs, image, &added_by_engine)?,
    })
}
// ANCHOR_END: container_changes
