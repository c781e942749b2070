//! `logs [-f] [--tail N] [--since] [--until] [-t] CONTAINER`: the json-file log.

use std::io::Write;
use std::time::{Duration, SystemTime};

use berth_engine::cli::LogsArgs;
use berth_engine::{Engine, Error, Result};

use super::World;
use crate::logs::{LogLine, Selection, read};
use crate::record::parse_time;

/// `logs`.
pub fn logs(engine: &Engine, args: &LogsArgs) -> Result<i32> {
    let selection = Selection {
        tail: match args.tail.as_deref() {
            None | Some("all") => None,
            Some(n) => Some(n.parse().map_err(|_| {
                Error::usage(format!("invalid value \"{n}\" for --tail: a number or all"))
            })?),
        },
        since: args.since.as_deref().map(time_arg).transpose()?,
        until: args.until.as_deref().map(time_arg).transpose()?,
    };
    let world = World::open(engine)?;
    let record = world.find(&args.container)?;
    let path = world.containers.log_path(&record.id);
    let (lines, mut offset) = read(&path, &selection).map_err(|e| Error::failed(e.to_string()))?;
    print(&lines, args.timestamps);
    if !args.follow {
        return Ok(0);
    }
    // ANCHOR: follow
    // Follow: read what was added, until the container is no longer running
    // (and then once more, for its last words).
    let rest = Selection {
        tail: None,
        ..selection
    };
    loop {
        let running = world
            .containers
            .get(&record.id)
            .is_ok_and(|r| r.state.status.is_active());
        let (lines, end) = read_from(&path, offset, &rest)?;
        offset = end;
        print(&lines, args.timestamps);
        if !running {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // ANCHOR_END: follow
}

fn read_from(
    path: &std::path::Path,
    offset: u64,
    selection: &Selection,
) -> Result<(Vec<LogLine>, u64)> {
    use std::io::{BufRead, BufReader, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok((Vec::new(), offset));
    };
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::failed(e.to_string()))?;
    let mut reader = BufReader::new(file);
    let (mut lines, mut end, mut buf) = (Vec::new(), offset, Vec::new());
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::failed(e.to_string()))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        end += n as u64;
        if let Ok(line) = serde_json::from_slice::<LogLine>(&buf)
            && selection.admits(&line)
        {
            lines.push(line);
        }
    }
    Ok((lines, end))
}

fn print(lines: &[LogLine], timestamps: bool) {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    for line in lines {
        let sink: &mut dyn Write = match line.stream.as_str() {
            "stderr" => &mut err,
            _ => &mut out,
        };
        if timestamps {
            let _ = write!(sink, "{} ", line.time);
        }
        let _ = sink.write_all(line.log.as_bytes());
    }
    let _ = out.flush();
}

/// `--since`/`--until`: an RFC 3339 time, Unix seconds, or a duration ago (`42m`).
fn time_arg(text: &str) -> Result<SystemTime> {
    if let Some(t) = parse_time(text) {
        return Ok(t);
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(secs));
    }
    match humantime::parse_duration(text) {
        Ok(ago) => Ok(SystemTime::now() - ago),
        Err(_) => Err(Error::usage(format!("invalid time \"{text}\""))
            .hint("give an RFC 3339 time, Unix seconds, or a duration such as 10m")),
    }
}
