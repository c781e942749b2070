//! The events journal: one JSON line per container event in
//! `BERTH_ROOT/events.log`, shaped like the Docker API's events, for chapter
//! 10's `events` to serve.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_engine::Engine;
use berth_engine::state::lock;
use serde_json::json;

use crate::record::ContainerRecord;

/// Appends the event `action` (`create`, `start`, `die`, `oom`, `kill`, `stop`,
/// `destroy`, `restart`) of `record`, with extra attributes such as `exitCode`.
/// Losing an event is not worth failing a container's life for: errors are dropped.
pub fn emit(engine: &Engine, record: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
    let _ = append(engine, record, action, extra);
}

fn append(
    engine: &Engine,
    record: &ContainerRecord,
    action: &str,
    extra: &[(&str, String)],
) -> std::io::Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut attributes: BTreeMap<String, String> = record.config.labels.clone();
    attributes.insert("name".into(), record.name.clone());
    attributes.insert("image".into(), record.image.clone());
    for (key, value) in extra {
        attributes.insert((*key).into(), value.clone());
    }
    let event = json!({
        "status": action,
        "id": record.id,
        "from": record.image,
        "Type": "container",
        "Action": action,
        "Actor": {"ID": record.id, "Attributes": attributes},
        "scope": "local",
        "time": now.as_secs(),
        "timeNano": now.as_nanos() as u64,
    });
    let mut line = serde_json::to_vec(&event).expect("an event serialises");
    line.push(b'\n');
    engine.paths.root_dir(".")?;
    let _lock = lock(&engine.paths.root.join("events.lock"))?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(engine.paths.root.join("events.log"))?
        .write_all(&line)
}
