//! `image prune [-a] [-f]`: delete dangling images, or with `-a` every image
//! no container uses, and say how much space that gave back.

use berth_engine::cli::ImagePruneArgs;
use berth_engine::output::{self, Console};
use berth_engine::prune::{PruneFilter, confirmed};
use berth_engine::{Engine, Result};

use crate::commands::images::{ImagesError, created_time};
use crate::commands::rmi::delete;
use crate::store::{ImageRecord, Store};

/// The question docker asks before pruning dangling images.
pub const DANGLING_WARNING: &str = "WARNING! This will remove all dangling images.";
/// The question docker asks before `prune -a`.
pub const ALL_WARNING: &str =
    "WARNING! This will remove all images without at least one container associated to them.";

/// Runs `image prune`.
pub fn prune(engine: &Engine, args: &ImagePruneArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    Console::with_std(|console| prune_images(engine, &store, args, console))
}

// ANCHOR: image_prune
/// Asks (unless `-f`), deletes what qualifies, and prints docker's report.
pub fn prune_images(
    engine: &Engine,
    store: &Store,
    args: &ImagePruneArgs,
    console: &mut Console,
) -> Result<i32> {
    let filters = args
        .filter
        .iter()
        .map(|f| {
            PruneFilter::parse(f, console.now).ok_or_else(|| ImagesError::InvalidFilter {
                filter: f.to_string(),
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let warning = if args.all {
        ALL_WARNING
    } else {
        DANGLING_WARNING
    };
    if !args.force && !confirmed(console, warning)? {
        writeln!(console.out, "Total reclaimed space: 0B")?;
        return Ok(0);
    }
    let mut lines = Vec::new();
    let mut reclaimed = 0;
    for image in store.images()? {
        let unnamed = image.names.is_empty();
        if (!unnamed && !args.all) || !engine.image_users(image.id.as_ref())?.is_empty() {
            continue;
        }
        let created = created_time(image.created.as_deref());
        if !filters
            .iter()
            .all(|f| f.admits(created, |k| image_label(store, &image, k)))
        {
            continue;
        }
        for name in &image.names {
            store.untag(name)?;
            lines.push(format!("untagged: {}", name.familiar()));
        }
        let deleted = delete(store, &image)?;
        lines.extend(deleted.ids.iter().map(|id| format!("deleted: {id}")));
        reclaimed += deleted.bytes;
    }
    if let Some(driver) = engine.root_filesystem() {
        reclaimed += driver.collect(engine)?;
    }
    if !lines.is_empty() {
        writeln!(console.out, "Deleted Images:\n{}\n", lines.join("\n"))?;
    }
    writeln!(
        console.out,
        "Total reclaimed space: {}",
        output::human_size_with_precision(reclaimed, 4)
    )?;
    Ok(0)
}
// ANCHOR_END: image_prune

/// The labels of an image's config, for `label=` filters.
fn image_label(store: &Store, image: &ImageRecord, key: &str) -> Option<String> {
    let config: serde_json::Value = store
        .config_bytes(image)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
    config["config"]["Labels"][key].as_str().map(str::to_string)
}
