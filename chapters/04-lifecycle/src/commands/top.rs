//! `top CONTAINER [ps OPTIONS]`: the host's `ps`, cut down to the container's
//! processes. The kernel knows them: every pid in the container's cgroup.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;

use berth_engine::cli::TopArgs;
use berth_engine::{Engine, Error, Result};

use super::World;
use super::pause::{cgroups, container_spec};
use crate::record::ContainerRecord;

/// What keeps `top` from listing a container's processes.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// The container has no processes.
    #[error("Error response from daemon: Container {id} is not running")]
    NotRunning {
        /// The container's id.
        id: String,
    },
    /// `ps` could not be run or failed.
    #[error("Error response from daemon: ps: {reason}")]
    Ps {
        /// What `ps` said, or why it did not start.
        reason: String,
    },
    /// The options left `ps` without a PID column, so nothing can be matched.
    #[error("Error response from daemon: Couldn't find PID field in ps output")]
    NoPidColumn,
    /// A line's PID column is not a number.
    #[error("Error response from daemon: Unexpected pid '{field}'")]
    BadPid {
        /// The field found in the PID column.
        field: String,
    },
}

impl From<TopError> for Error {
    fn from(e: TopError) -> Self {
        match e {
            TopError::NoPidColumn => Error::failed(e.to_string()).hint("add -o pid to the options"),
            _ => Error::failed(e.to_string()),
        }
    }
}

/// `top`: prints docker's table of the container's processes.
pub fn top(engine: &Engine, args: &TopArgs) -> Result<i32> {
    let world = World::open(engine)?;
    let record = world.find(&args.args[0])?;
    if !record.state.status.is_active() || record.state.pid == 0 {
        return Err(TopError::NotRunning { id: record.id }.into());
    }
    let pids = container_pids(&world, &record)?;
    let options: Vec<&str> = match args.args.len() {
        1 => vec!["-ef"],
        _ => args.args[1..].iter().map(String::as_str).collect(),
    };
    let output = Command::new("ps")
        .args(&options)
        .output()
        .map_err(|e| TopError::Ps {
            reason: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(TopError::Ps {
            reason: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }
        .into());
    }
    let (titles, rows) = filter_ps(&String::from_utf8_lossy(&output.stdout), &pids)?;
    let mut out = std::io::stdout();
    out.write_all(&table(&titles, &rows)?)
        .map_err(|e| Error::failed(format!("writing the table: {e}")))?;
    Ok(0)
}

/// Every process in the container's cgroups (all hierarchies on v1).
fn container_pids(world: &World, record: &ContainerRecord) -> Result<BTreeSet<i32>> {
    let spec = container_spec(world, record)?;
    let mut pids = BTreeSet::new();
    for (_, dir) in cgroups(world.engine)?.mounts(&spec)? {
        pids.extend(berth_resources::cgroup::pids(&dir)?);
    }
    Ok(pids)
}

// ANCHOR: filter_ps
/// Splits `ps`'s output into titles and the rows whose PID is in `pids`. The
/// last column (the command) may hold spaces, so a row's extra fields are
/// joined into it, as docker does.
pub fn filter_ps(
    output: &str,
    pids: &BTreeSet<i32>,
) -> std::result::Result<(Vec<String>, Vec<Vec<String>>), TopError> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_at = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or(TopError::NoPidColumn)?;
    let mut rows = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let pid: i32 = fields[pid_at].parse().map_err(|_| TopError::BadPid {
            field: fields[pid_at].to_string(),
        })?;
        if !pids.contains(&pid) {
            continue;
        }
        let last = titles.len() - 1;
        let mut row: Vec<String> = fields[..last].iter().map(|f| f.to_string()).collect();
        row.push(fields[last..].join(" "));
        rows.push(row);
    }
    Ok((titles, rows))
}
// ANCHOR_END: filter_ps

/// docker's layout for `top`: Go's tabwriter with cells at least 20 wide,
/// padding 3 included (the Rust crate adds padding after the minimum).
fn table(titles: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut text = titles.join("\t") + "\n";
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    let mut tw = tabwriter::TabWriter::new(Vec::new())
        .minwidth(20 - 3)
        .padding(3);
    let fail = |e: String| Error::failed(format!("aligning the table: {e}"));
    tw.write_all(text.as_bytes())
        .and_then(|()| tw.flush())
        .map_err(|e| fail(e.to_string()))?;
    tw.into_inner().map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 12:00 ?        00:00:01 /sbin/init splash
root        4242    4240  0 12:01 pts/0    00:00:00 sleep 100
root        4243    4242  0 12:01 ?        00:00:00 sh -c echo a  b
";

    #[test]
    fn only_the_container_s_rows_stay_with_the_command_whole() {
        let pids = BTreeSet::from([4242, 4243]);
        let (titles, rows) = filter_ps(PS, &pids).unwrap();
        assert_eq!(titles.len(), 8);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][1], "4242");
        assert_eq!(rows[1][7], "sh -c echo a b");
    }

    #[test]
    fn options_without_a_pid_column_are_refused() {
        let err = filter_ps("USER COMMAND\nroot sleep\n", &BTreeSet::new()).unwrap_err();
        assert!(matches!(err, TopError::NoPidColumn));
        let bad = filter_ps("PID CMD\nx sleep\n", &BTreeSet::new()).unwrap_err();
        assert!(matches!(bad, TopError::BadPid { .. }));
    }

    #[test]
    fn cells_are_twenty_wide_as_in_docker() {
        let titles = vec!["PID".to_string(), "CMD".to_string()];
        let rows = vec![vec!["7".to_string(), "sleep 1".to_string()]];
        let text = String::from_utf8(table(&titles, &rows).unwrap()).unwrap();
        assert_eq!(
            text,
            format!("PID{}CMD\n7{}sleep 1\n", " ".repeat(17), " ".repeat(19))
        );
    }
}
