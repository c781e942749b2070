//! `ps`: the containers, as docker's table (or ids, or a `--format` template).

use std::time::SystemTime;

use berth_engine::cli::PsArgs;
use berth_engine::format::{Format, headers};
use berth_engine::output::{age, human_duration};
use berth_engine::state::short_id;
use berth_engine::{Engine, Error, Result};
use serde_json::{Value, json};

use super::World;
use crate::record::{ContainerRecord, parse_time};
use crate::state::Status;

/// The table `ps` prints by default.
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// `ps`.
pub fn ps(engine: &Engine, args: &PsArgs) -> Result<i32> {
    let filters = args
        .filter
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let world = World::open(engine)?;
    let mut records = world.containers.list()?;
    records.sort_by(|a, b| b.created.cmp(&a.created));
    let last = if args.latest { 1 } else { args.last };
    let show_all = args.all
        || last > 0
        || filters
            .iter()
            .any(|f| matches!(f, Filter::Status(_) | Filter::Exited(_)));
    records.retain(|r| {
        (show_all || r.state.status.is_active()) && filters.iter().all(|f| f.admits(r))
    });
    if last > 0 {
        records.truncate(last as usize);
    }
    if args.quiet {
        for r in &records {
            println!(
                "{}",
                if args.no_trunc {
                    &r.id
                } else {
                    short_id(&r.id)
                }
            );
        }
        return Ok(0);
    }
    let now = SystemTime::now();
    let rows: Vec<Value> = records.iter().map(|r| row(r, now, args.no_trunc)).collect();
    let format = Format::parse(
        args.format.as_deref().unwrap_or(DEFAULT_TABLE),
        DEFAULT_TABLE,
    )?;
    let titles = headers(&[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("CreatedAt", "CREATED AT"),
        ("RunningFor", "CREATED"),
        ("Status", "STATUS"),
        ("State", "STATE"),
        ("Ports", "PORTS"),
        ("Names", "NAMES"),
        ("Labels", "LABELS"),
        ("Size", "SIZE"),
        ("Mounts", "MOUNTS"),
        ("Networks", "NETWORKS"),
    ]);
    let mut out = std::io::stdout().lock();
    format.render(&rows, &titles, &mut out)?;
    Ok(0)
}

// ANCHOR: ps_row
/// One container as `ps` shows it.
pub fn row(r: &ContainerRecord, now: SystemTime, no_trunc: bool) -> Value {
    let command = match no_trunc {
        true => r.command_line(),
        false => ellipsis(&r.command_line(), 20),
    };
    let labels: Vec<String> = r
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    json!({
        "ID": if no_trunc { r.id.as_str() } else { short_id(&r.id) },
        "Image": r.image,
        "Command": format!("{command:?}"),
        "CreatedAt": r.created,
        "RunningFor": age(r.created_time(), now),
        "Status": status_text(r, now),
        "State": r.state.status.to_string(),
        "Ports": "",
        "Names": r.name,
        "Labels": labels.join(","),
        "Size": "",
        "Mounts": "",
        "Networks": "",
    })
}

/// `Up 3 seconds`, `Exited (0) 2 minutes ago`, `Created`, as docker words it.
pub fn status_text(r: &ContainerRecord, now: SystemTime) -> String {
    let since = |t: &str| {
        let then = parse_time(t).unwrap_or(now);
        human_duration(now.duration_since(then).unwrap_or_default())
    };
    let s = &r.state;
    match s.status {
        Status::Created => "Created".into(),
        Status::Running => format!("Up {}", since(&s.started_at)),
        Status::Paused => format!("Up {} (Paused)", since(&s.started_at)),
        Status::Restarting => format!("Restarting ({}) {} ago", s.exit_code, since(&s.finished_at)),
        Status::Exited => format!("Exited ({}) {} ago", s.exit_code, since(&s.finished_at)),
        Status::Dead => "Dead".into(),
    }
}
// ANCHOR_END: ps_row

/// The first `max` characters, the last replaced by `…` when cut (Go's
/// `stringutils.Ellipsis`, which docker's COMMAND column uses).
pub fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{kept}…")
}

/// One `--filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `status=running`.
    Status(String),
    /// `name=part`.
    Name(String),
    /// `id=prefix`.
    Id(String),
    /// `label=key` or `label=key=value`.
    Label(String, Option<String>),
    /// `exited=N`.
    Exited(i32),
    /// `ancestor=image`.
    Ancestor(String),
}

impl Filter {
    /// Parses `key=value`.
    pub fn parse(text: &str) -> Result<Filter> {
        let bad = || Error::usage(format!("invalid filter '{text}'"));
        let (key, value) = text.split_once('=').ok_or_else(bad)?;
        let value = value.to_string();
        Ok(match key {
            "status" => {
                let known = [
                    "created",
                    "restarting",
                    "running",
                    "removing",
                    "paused",
                    "exited",
                    "dead",
                ];
                if !known.contains(&value.as_str()) {
                    return Err(Error::usage(format!("invalid filter 'status={value}'"))
                        .hint(format!("status is one of {}", known.join(", "))));
                }
                Filter::Status(value)
            }
            "name" => Filter::Name(value),
            "id" => Filter::Id(value),
            "label" => match value.split_once('=') {
                Some((k, v)) => Filter::Label(k.into(), Some(v.into())),
                None => Filter::Label(value, None),
            },
            "exited" => Filter::Exited(value.parse().map_err(|_| bad())?),
            "ancestor" => Filter::Ancestor(value),
            _ => return Err(Error::usage(format!("invalid filter '{key}'"))),
        })
    }

    /// Whether the container passes.
    pub fn admits(&self, r: &ContainerRecord) -> bool {
        match self {
            Filter::Status(s) => r.state.status.to_string() == *s,
            Filter::Name(n) => r.name.contains(n.trim_start_matches('/')),
            Filter::Id(prefix) => r.id.starts_with(prefix.as_str()),
            Filter::Label(k, v) => match (r.config.labels.get(k), v) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            },
            Filter::Exited(code) => r.state.status == Status::Exited && r.state.exit_code == *code,
            Filter::Ancestor(image) => {
                let with_tag = match image.contains(':') {
                    true => image.clone(),
                    false => format!("{image}:latest"),
                };
                let given = match r.image.contains(':') {
                    true => r.image.clone(),
                    false => format!("{}:latest", r.image),
                };
                given == with_tag
                    || r.image_id.as_deref().is_some_and(|id| {
                        id == image || id.trim_start_matches("sha256:").starts_with(image.as_str())
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests_support::sample;
    use std::time::Duration;

    #[test]
    fn commands_are_cut_and_quoted_as_docker_shows_them() {
        let cut = ellipsis("sh -c 'while true; do echo hello world; sleep 1; done'", 20);
        assert_eq!(cut, "sh -c 'while true; …");
        assert_eq!(format!("{:?}", ellipsis("echo out", 20)), "\"echo out\"");
        let record = sample(&"a".repeat(64), "x");
        assert_eq!(record.command_line(), "sh -c 'echo hi'");
    }

    #[test]
    fn status_words_follow_docker() {
        let now = SystemTime::now();
        let mut r = sample(&"a".repeat(64), "x");
        assert_eq!(status_text(&r, now), "Created");
        r.state.status = Status::Running;
        r.state.started_at = crate::record::rfc3339_nano(now - Duration::from_secs(3));
        assert_eq!(status_text(&r, now), "Up 3 seconds");
        r.state.status = Status::Exited;
        r.state.exit_code = 137;
        r.state.finished_at = crate::record::rfc3339_nano(now - Duration::from_secs(120));
        assert_eq!(status_text(&r, now), "Exited (137) 2 minutes ago");
    }

    #[test]
    fn filters_select_as_docker_s_do() {
        let mut r = sample(&"ab".repeat(32), "web_1");
        r.config.labels.insert("tier".into(), "front".into());
        r.state.status = Status::Exited;
        r.state.exit_code = 1;
        let admits = |f: &str| Filter::parse(f).unwrap().admits(&r);
        assert!(admits("status=exited") && !admits("status=running"));
        assert!(admits("name=web") && !admits("name=db"));
        assert!(admits("id=abab") && !admits("id=ba"));
        assert!(admits("label=tier") && admits("label=tier=front") && !admits("label=tier=back"));
        assert!(admits("exited=1") && !admits("exited=0"));
        assert!(admits("ancestor=busybox") && admits("ancestor=busybox:latest"));
        assert!(Filter::parse("status=sleeping").is_err());
        assert!(Filter::parse("colour=red").is_err());
    }
}
