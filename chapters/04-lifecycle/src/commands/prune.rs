//! `container prune [-f] [--filter until=…|label=…]`: removes every stopped
//! container and says which, and how much space came back.

use std::path::Path;

use berth_engine::cli::PruneArgs;
use berth_engine::output::{Console, human_size_with_precision};
use berth_engine::prune::{PruneFilter, confirmed};
use berth_engine::{Engine, Error, Result};

use super::World;
use super::rm::remove_record;
use crate::record::ContainerRecord;

/// Whether `filter` lets `record` be pruned: its creation time and its labels.
fn admits(filter: &PruneFilter, record: &ContainerRecord) -> bool {
    filter.admits(record.created_time(), |key| {
        record.config.labels.get(key).cloned()
    })
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
        .map(|f| {
            PruneFilter::parse(f, console.now)
                .ok_or_else(|| Error::usage(format!("Error: invalid filter '{f}'")))
        })
        .collect::<Result<Vec<_>>>()?;
    if !args.force && !confirmed(console, "WARNING! This will remove all stopped containers.")? {
        return Ok(0);
    }
    let world = World::open(engine)?;
    super::rm::sweep_trash(engine);
    let mut deleted = Vec::new();
    let mut reclaimed = 0;
    for record in world.containers.list()? {
        let stopped = !record.state.status.is_active();
        if !stopped || !filters.iter().all(|f| admits(f, &record)) {
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
    use std::time::{Duration, SystemTime};

    #[test]
    fn filters_admit_as_docker_s_do() {
        let now = SystemTime::now();
        let mut record = sample(&"a".repeat(64), "old");
        record.created = crate::record::rfc3339_nano(now - Duration::from_secs(7200));
        record.config.labels.insert("keep".into(), "yes".into());
        let until = |t: &str| PruneFilter::parse(&format!("until={t}"), now).unwrap();
        assert!(admits(&until("1h"), &record));
        assert!(!admits(&until("3h"), &record));
        let label = |t: &str| PruneFilter::parse(t, now).unwrap();
        assert!(admits(&label("label=keep"), &record));
        assert!(admits(&label("label=keep=yes"), &record));
        assert!(!admits(&label("label=keep=no"), &record));
        assert!(!admits(&label("label!=keep"), &record));
        assert!(PruneFilter::parse("until=soon", now).is_none());
        assert!(PruneFilter::parse("name=x", now).is_none());
    }
}
