//! `image prune [-a] [-f]`: delete dangling images, or with `-a` every image
//! no container uses, and say how much space that gave back.

use std::time::{Duration, SystemTime};

use berth_engine::cli::ImagePruneArgs;
use berth_engine::output::{self, Console};
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
        .map(|f| PruneFilter::parse(f, console.now))
        .collect::<Result<Vec<_>>>()?;
    if !args.force && !confirmed(args.all, console)? {
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
        if !filters.iter().all(|f| f.keeps(store, &image)) {
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

/// Prints docker's warning and question; true only for an answer of `y`.
fn confirmed(all: bool, console: &mut Console) -> Result<bool> {
    let warning = if all { ALL_WARNING } else { DANGLING_WARNING };
    write!(
        console.out,
        "{warning}\nAre you sure you want to continue? [y/N] "
    )?;
    console.out.flush()?;
    let mut answer = String::new();
    console.input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

/// One `--filter` of `image prune`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PruneFilter {
    /// `until=24h` or `until=<RFC 3339 time>`: created before then.
    Until(SystemTime),
    /// `label=KEY[=VALUE]` (must have) or `label!=KEY[=VALUE]` (must not).
    Label {
        key: String,
        value: Option<String>,
        wanted: bool,
    },
}

impl PruneFilter {
    fn parse(text: &str, now: SystemTime) -> Result<PruneFilter> {
        let invalid = || ImagesError::InvalidFilter {
            filter: text.to_string(),
        };
        let (key, value) = text.split_once('=').ok_or_else(invalid)?;
        let label = |wanted: bool| {
            let (key, value) = match value.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (value.to_string(), None),
            };
            PruneFilter::Label { key, value, wanted }
        };
        Ok(match key {
            "until" => PruneFilter::Until(
                output::parse_rfc3339(value)
                    .or_else(|| {
                        humantime::parse_duration(value)
                            .ok()
                            .and_then(|ago: Duration| now.checked_sub(ago))
                    })
                    .ok_or_else(invalid)?,
            ),
            "label" => label(true),
            // `label!=k` splits at its `=`, leaving the `!` on the key.
            "label!" => label(false),
            _ => return Err(invalid().into()),
        })
    }

    fn keeps(&self, store: &Store, image: &ImageRecord) -> bool {
        match self {
            PruneFilter::Until(limit) => created_time(image.created.as_deref()) < *limit,
            PruneFilter::Label { key, value, wanted } => {
                let config: serde_json::Value = store
                    .config_bytes(image)
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .unwrap_or_default();
                let found = &config["config"]["Labels"][key];
                let matches = match value {
                    Some(value) => found.as_str() == Some(value.as_str()),
                    None => !found.is_null(),
                };
                matches == *wanted
            }
        }
    }
}
