//! `stats [--no-stream] [--no-trunc] [--format] [CONTAINER…]`: what each
//! container uses, from its cgroup: CPU, memory, block I/O, processes, and the
//! network traffic of its init's network namespace.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_engine::chapter::CgroupStats;
use berth_engine::cli::StatsArgs;
use berth_engine::format::{Format, headers};
use berth_engine::output::human_size_with_precision;
use berth_engine::state::short_id;
use berth_engine::{Engine, Result};
use serde_json::{Value, json};

use super::World;
use super::pause::{cgroups, container_spec};
use crate::record::ContainerRecord;
use crate::state::Status;

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// One reading of one container.
#[derive(Debug, Clone, Default)]
struct Sample {
    cgroup: CgroupStats,
    /// The host's CPU time (all CPUs, idle included) at the reading, in ns.
    system_ns: u64,
    net_rx: u64,
    net_tx: u64,
}

/// `stats`: one table after a second's sampling with `--no-stream`, else a
/// table every second until interrupted.
pub fn stats(engine: &Engine, args: &StatsArgs) -> Result<i32> {
    let world = World::open(engine)?;
    let format = Format::parse(
        args.format.as_deref().unwrap_or(DEFAULT_TABLE),
        DEFAULT_TABLE,
    )?;
    let chosen = || -> Result<Vec<ContainerRecord>> {
        match args.containers.is_empty() {
            true => Ok(world
                .containers
                .list()?
                .into_iter()
                .filter(|r| args.all || r.state.status == Status::Running)
                .collect()),
            false => args.containers.iter().map(|c| world.find(c)).collect(),
        }
    };
    let mut before = sample_all(&world, &chosen()?);
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let records = chosen()?;
        let after = sample_all(&world, &records);
        let rows: Vec<Value> = records
            .iter()
            .map(|r| row(r, before.get(&r.id), after.get(&r.id), args.no_trunc))
            .collect();
        let mut out = Vec::new();
        if !args.no_stream {
            // docker clears the screen and draws the table again each second.
            out.extend_from_slice(b"\x1b[2J\x1b[H");
        }
        format.render(&rows, &titles(), &mut out)?;
        std::io::Write::write_all(&mut std::io::stdout(), &out)
            .map_err(|e| berth_engine::Error::failed(format!("writing the table: {e}")))?;
        if args.no_stream {
            return Ok(0);
        }
        before = after;
    }
}

fn titles() -> Value {
    headers(&[
        ("Container", "CONTAINER"),
        ("ID", "CONTAINER ID"),
        ("Name", "NAME"),
        ("CPUPerc", "CPU %"),
        ("MemUsage", "MEM USAGE / LIMIT"),
        ("MemPerc", "MEM %"),
        ("NetIO", "NET I/O"),
        ("BlockIO", "BLOCK I/O"),
        ("PIDs", "PIDS"),
    ])
}

/// Readings of the containers that run; the others have none.
fn sample_all(world: &World, records: &[ContainerRecord]) -> BTreeMap<String, Sample> {
    let system_ns = host_cpu_ns();
    let mut samples = BTreeMap::new();
    for r in records {
        if !matches!(r.state.status, Status::Running | Status::Paused) {
            continue;
        }
        let Ok(spec) = container_spec(world, r) else {
            continue;
        };
        let Ok(cgroup) = cgroups(world.engine).and_then(|c| c.stats(&spec)) else {
            continue;
        };
        let (net_rx, net_tx) = net_bytes(r.state.pid);
        samples.insert(
            r.id.clone(),
            Sample {
                cgroup,
                system_ns,
                net_rx,
                net_tx,
            },
        );
    }
    samples
}

// ANCHOR: cpu_percent
/// docker's CPU %: the container's share of all the host's CPU time between
/// two readings, scaled by the number of CPUs, so one busy core is 100%.
fn cpu_percent(before: &Sample, after: &Sample, cpus: u64) -> f64 {
    let used = after.cgroup.cpu_ns.saturating_sub(before.cgroup.cpu_ns) as f64;
    let total = after.system_ns.saturating_sub(before.system_ns) as f64;
    match total > 0.0 && used > 0.0 {
        true => used / total * cpus as f64 * 100.0,
        false => 0.0,
    }
}
// ANCHOR_END: cpu_percent

/// One line of the table, as the template's fields.
fn row(
    r: &ContainerRecord,
    before: Option<&Sample>,
    after: Option<&Sample>,
    no_trunc: bool,
) -> Value {
    let id = match no_trunc {
        true => r.id.as_str(),
        false => short_id(&r.id),
    };
    let Some(now) = after else {
        return json!({
            "Container": id, "ID": id, "Name": r.name,
            "CPUPerc": "0.00%", "MemUsage": "0B / 0B", "MemPerc": "0.00%",
            "NetIO": "0B / 0B", "BlockIO": "0B / 0B", "PIDs": "0",
        });
    };
    let cpu = before.map_or(0.0, |b| cpu_percent(b, now, online_cpus()));
    let c = &now.cgroup;
    let limit = c.memory_limit.unwrap_or_else(host_memory).max(1);
    let decimal = |n: u64| human_size_with_precision(n, 3);
    json!({
        "Container": id,
        "ID": id,
        "Name": r.name,
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(c.memory_usage), bytes_size(limit)),
        "MemPerc": format!("{:.2}%", c.memory_usage as f64 / limit as f64 * 100.0),
        "NetIO": format!("{} / {}", decimal(now.net_rx), decimal(now.net_tx)),
        "BlockIO": format!("{} / {}", decimal(c.blkio_read), decimal(c.blkio_write)),
        "PIDs": c.pids_current.to_string(),
    })
}

/// Memory as docker shows it: binary units, four significant digits, no
/// trailing zeros (Go's `%.4g`): `1.5MiB`, `7.657GiB`.
fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let digits_before_point = if value < 1.0 {
        1
    } else {
        value.log10().floor() as usize + 1
    };
    let text = format!("{value:.*}", 4usize.saturating_sub(digits_before_point));
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    };
    format!("{text}{}", UNITS[unit])
}

/// The host's CPU time so far, all CPUs and idle included, from `/proc/stat`'s
/// first line (user nice system idle iowait irq softirq), in ns.
fn host_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(7)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf only reads a constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * (1_000_000_000 / per_second)
}

fn online_cpus() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// `MemTotal` of `/proc/meminfo` in bytes: the limit of an unlimited container.
fn host_memory() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes received and sent by the interfaces of `pid`'s network namespace,
/// loopback left out (it is the container's talk with itself).
fn net_bytes(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
    parse_net_dev(&text)
}

fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut totals = (0, 0);
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        if fields.len() >= 9 {
            totals.0 += fields[0];
            totals.1 += fields[8];
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_read_as_docker_s() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1536 * 1024), "1.5MiB");
        assert_eq!(bytes_size(8_222_126_080), "7.657GiB");
        assert_eq!(bytes_size(100 * 1024 * 1024), "100MiB");
    }

    #[test]
    fn one_busy_core_of_two_is_a_hundred_percent() {
        let at = |cpu_ns, system_ns| Sample {
            cgroup: CgroupStats {
                cpu_ns,
                ..CgroupStats::default()
            },
            system_ns,
            ..Sample::default()
        };
        // One second of wall time on two CPUs is two seconds of host time.
        let percent = cpu_percent(&at(0, 0), &at(1_000_000_000, 2_000_000_000), 2);
        assert!((percent - 100.0).abs() < 1e-9, "{percent}");
        assert_eq!(cpu_percent(&at(5, 7), &at(5, 7), 2), 0.0);
    }

    #[test]
    fn loopback_is_not_counted() {
        let text = "Inter-|   Receive\n face |bytes\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 2048 3 0 0 0 0 0 0 512 2 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(text), (2048, 512));
    }
}
