//! `container prune [-f] [--filter until=…|label=…]`: removes every stopped
//! container and says which, and how much space came back.

use std::path::Path;
use std::time::{Duration, SystemTime};

use berth_engine::cli::PruneArgs;
use berth_engine::output::{Console, human_size_with_precision, parse_rfc3339};
use berth_engine::{Engine, Error, Result};

use super::World;
use super::rm::remove_record;
use crate::record::ContainerRecord;

/// One `--filter` of `container prune`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PruneFilter {
    /// `until=24h` or `until=<RFC 3339 time>`: created before then.
    Until(SystemTime),
    /// `label=KEY[=VALUE]` (must have) or `label!=KEY[=VALUE]` (must not).
    Label {
        /// The label's key.
        key: String,
        /// Its value, when one is asked for.
        value: Option<String>,
        /// Whether the container must have it (`label=`) or not (`label!=`).
        wanted: bool,
    },
}

impl PruneFilter {
    /// Parses `KEY=VALUE` as docker does; `now` anchors relative times.
    pub fn parse(text: &str, now: SystemTime) -> Result<PruneFilter> {
        let invalid = || Error::usage(format!("Error: invalid filter '{text}'"));
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
                parse_rfc3339(value)
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
            _ => return Err(invalid()),
        })
    }

    /// Whether the filter lets `record` be pruned.
    pub fn admits(&self, record: &ContainerRecord) -> bool {
        match self {
            PruneFilter::Until(limit) => record.created_time() < *limit,
            PruneFilter::Label { key, value, wanted } => {
                let found = record.config.labels.get(key);
                let matches = match value {
                    Some(value) => found == Some(value),
                    None => found.is_some(),
                };
                matches == *wanted
            }
        }
    }
}

/// `container prune`.
pub fn prune(engine: &Engine, args: &PruneArgs) -> Result<i32> {
    Console::with_std(|console| prune_with(engine, args, console))
}

// ANCHOR: container_prune
/// Asks (without `-f`), removes each stopped container the filters admit, and
/// prints the ids and the space reclaimed as docker does.
pub fn prune_with(engine: &Engine, args: &PruneArgs, console: &mut Console) -> Result<i32> {
    let filters = args
        .filter
        .iter()
        .map(|f| PruneFilter::parse(f, console.now))
        .collect::<Result<Vec<_>>>()?;
    if !args.force && !confirmed(console)? {
        return Ok(0);
    }
    let world = World::open(engine)?;
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for record in world.containers.list()? {
        let stopped = !record.state.status.is_active();
        if !stopped || !filters.iter().all(|f| f.admits(&record)) {
            continue;
        }
        reclaimed += own_bytes(&world.containers.dir(&record.id));
        remove_record(engine, &record);
        deleted.push(record.id);
    }
    if !deleted.is_empty() {
        writeln!(console.out, "Deleted Containers:")?;
        for id in &deleted {
            writeln!(console.out, "{id}")?;
        }
        writeln!(console.out)?;
    }
    writeln!(
        console.out,
        "Total reclaimed space: {}",
        human_size_with_precision(reclaimed, 4)
    )?;
    Ok(0)
}
// ANCHOR_END: container_prune

fn confirmed(console: &mut Console) -> Result<bool> {
    write!(
        console.out,
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    )?;
    console.out.flush()?;
    let mut answer = String::new();
    console.input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

/// The bytes of a container's own files (record, bundle, log): its root
/// filesystem is a copy of the image's layers, not what it wrote.
fn own_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name() != "rootfs")
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests_support::sample;

    #[test]
    fn filters_admit_as_docker_s_do() {
        let now = SystemTime::now();
        let mut record = sample(&"a".repeat(64), "old");
        record.created = crate::record::rfc3339_nano(now - Duration::from_secs(7200));
        record.config.labels.insert("keep".into(), "yes".into());
        let until = |t: &str| PruneFilter::parse(&format!("until={t}"), now).unwrap();
        assert!(until("1h").admits(&record));
        assert!(!until("3h").admits(&record));
        let label = |t: &str| PruneFilter::parse(t, now).unwrap();
        assert!(label("label=keep").admits(&record));
        assert!(label("label=keep=yes").admits(&record));
        assert!(!label("label=keep=no").admits(&record));
        assert!(!label("label!=keep").admits(&record));
        assert!(PruneFilter::parse("until=soon", now).is_err());
        assert!(PruneFilter::parse("name=x", now).is_err());
    }
}
