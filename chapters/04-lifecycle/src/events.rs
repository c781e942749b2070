//! The events journal: one JSON line per container event in
//! `BERTH_ROOT/events.log`, shaped like the Docker API's events, for chapter
//! 10's `events` to serve. It is bounded, as docker's in-memory list is: past
//! [`ROTATE_AT`] bytes the file becomes `events.log.1` (replacing the one
//! before) and a new one starts, so that at most twice that is kept.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_engine::Engine;
use berth_engine::state::lock;
use serde_json::json;

use crate::record::ContainerRecord;

/// The size at which the journal starts a new file (about 2,500 events).
pub const ROTATE_AT: u64 = 1 << 20;

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
    let path = engine.paths.root.join("events.log");
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
    };
    let mut journal = open()?;
    if journal.metadata()?.len() >= ROTATE_AT {
        std::fs::rename(&path, engine.paths.root.join("events.log.1"))?;
        journal = open()?;
    }
    journal.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::state::Paths;

    #[test]
    fn a_full_journal_moves_aside_and_a_new_one_starts() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths {
            root: root.path().to_path_buf(),
            run: root.path().join("run"),
        };
        let engine = Engine::new("ch04", &[], paths);
        let record = crate::record::tests_support::sample(&"a".repeat(64), "x");
        emit(&engine, &record, "create", &[]);
        let journal = root.path().join("events.log");
        assert_eq!(
            std::fs::read_to_string(&journal).unwrap().lines().count(),
            1
        );
        let full = vec![b'\n'; ROTATE_AT as usize];
        std::fs::write(&journal, &full).unwrap();
        emit(&engine, &record, "start", &[("exitCode", "0".into())]);
        let old = std::fs::read(root.path().join("events.log.1")).unwrap();
        assert_eq!(old, full, "the full journal is kept as it was");
        let new = std::fs::read_to_string(&journal).unwrap();
        assert_eq!(new.lines().count(), 1);
        assert!(new.contains(r#""Action":"start""#), "{new}");
    }
}
