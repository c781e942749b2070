//! `diff CONTAINER`: the files a container added (`A`), changed (`C`) and
//! deleted (`D`), for a running or a stopped container.

use berth_engine::cli::ContainerArg;
use berth_engine::{Engine, Result};

use super::changes::{Change, Lowers, naive_changes, overlay_changes};
use super::container::Target;
use crate::storage::ContainerLayers;
use crate::storage::init_layer::is_init_path;

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
        ContainerLayers::Copy { rootfs, image } => naive_changes(rootfs, image, &is_init_path)?,
    })
}
// ANCHOR_END: container_changes
