//! `history IMAGE`: the build steps recorded in the image's config, newest first.
//!
//! Each `history` entry of the config is one step; those without
//! `empty_layer: true` made a layer, in order, so the n-th such entry is sized
//! by the n-th layer. Only the newest step is the image itself: docker names
//! the older ones `<missing>`, since their intermediate images are not stored.

use std::time::SystemTime;

use berth_engine::cli::HistoryArgs;
use berth_engine::format::{Format, headers};
use berth_engine::output::{self, Console};
use berth_engine::{Engine, Result};
use serde_json::{Value as Json, json};

use crate::commands::images::{LayerSizes, created_time, display_id};
use crate::store::{ImageRecord, Store};

/// docker's default `history` table.
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
/// What docker shows for a step whose image is not stored.
pub const MISSING: &str = "<missing>";
/// docker cuts CREATED BY to this many characters (the last one an ellipsis).
pub const CREATED_BY_WIDTH: usize = 45;

/// Runs `history`.
pub fn history(engine: &Engine, args: &HistoryArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    Console::with_std(|console| show(&store, args, console))
}

// ANCHOR: history_rows
/// Prints the history of `args.image` to `console.out`.
pub fn show(store: &Store, args: &HistoryArgs, console: &mut Console) -> Result<i32> {
    let image = store.resolve(&args.image)?;
    let rows = rows(store, &image, args, console.now)?;
    let format = match (&args.format, args.quiet) {
        (Some(format), _) => format.as_str(),
        (None, true) => "{{.ID}}",
        (None, false) => DEFAULT_TABLE,
    };
    Format::parse(format, DEFAULT_TABLE)?.render(&rows, &column_titles(), console.out)?;
    Ok(0)
}

/// One JSON object per step, newest first, with the fields docker's history
/// context offers.
fn rows(
    store: &Store,
    image: &ImageRecord,
    args: &HistoryArgs,
    now: SystemTime,
) -> Result<Vec<Json>> {
    let config: Json = serde_json::from_slice(&store.config_bytes(image)?).unwrap_or_default();
    let manifest = store.manifest(image)?;
    let mut layers = manifest.layers().iter().peekable();
    let mut sizes = LayerSizes::default();
    let mut rows = Vec::new();
    let steps = config["history"].as_array().cloned().unwrap_or_default();
    for step in &steps {
        // Only a step that made a layer takes the next one.
        let made_layer = !step["empty_layer"].as_bool().unwrap_or(false);
        let size = match layers.next_if(|_| made_layer) {
            Some(layer) => sizes.layer_size(store, layer.digest())?,
            None => 0,
        };
        let created = created_time(step["created"].as_str());
        let created_by = step["created_by"]
            .as_str()
            .unwrap_or_default()
            .replace('\t', " ");
        rows.push(json!({
            "ID": MISSING,
            "CreatedAt": output::rfc3339_utc(created),
            "CreatedSince": if args.human { output::age(created, now) } else { output::rfc3339_utc(created) },
            "CreatedBy": if args.no_trunc { created_by } else { ellipsis(&created_by, CREATED_BY_WIDTH) },
            "Size": if args.human { output::human_size(size) } else { size.to_string() },
            "Comment": step["comment"].as_str().unwrap_or_default(),
        }));
    }
    rows.reverse();
    if let Some(newest) = rows.first_mut() {
        newest["ID"] = Json::from(display_id(image.id.as_ref(), args.no_trunc));
    }
    Ok(rows)
}
// ANCHOR_END: history_rows

/// The column titles docker prints over each field.
fn column_titles() -> Json {
    headers(&[
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ])
}

/// `text` cut to `width` characters, the last one `…`, when it is longer.
pub fn ellipsis(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_commands_end_in_an_ellipsis() {
        assert_eq!(ellipsis("short", 45), "short");
        let long = "/bin/sh -c #(nop) ADD file:0123456789abcdef in / ";
        let cut = ellipsis(long, 45);
        assert_eq!(cut.chars().count(), 45);
        assert_eq!(cut, "/bin/sh -c #(nop) ADD file:0123456789abcdef …");
    }
}
