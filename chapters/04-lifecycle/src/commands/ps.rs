//! `ps`: the containers, as docker's table (or ids, or a `--format` template).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::SystemTime;

use berth_engine::cli::PsArgs;
use berth_engine::format::{Format, FormatError, TABLE_PREFIX, headers};
use berth_engine::output::{age, align, human_duration};
use berth_engine::state::short_id;
use berth_engine::{Engine, Error, Result};
use serde_json::{Value, json};

use crate::record::{ContainerSummary, Containers, parse_time};
use crate::state::Status;

/// The table `ps` prints by default.
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// Every field a `--format` template can name, with its column title.
const TITLES: [(&str, &str); 13] = [
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
];

/// `ps`.
pub fn ps(engine: &Engine, args: &PsArgs) -> Result<i32> {
    let filters = args
        .filter
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let template = match args.format.as_deref() {
        Some(spec) if !args.quiet && !is_default_table(spec) => {
            Some(Format::parse(spec, DEFAULT_TABLE)?)
        }
        _ => None,
    };
    let listing = Containers::open(engine)?.listing()?;
    for id in &listing.unrecorded {
        super::rm::sweep_unrecorded(engine, id);
    }
    let mut containers = listing.containers;
    containers.sort_by(|a, b| b.created.cmp(&a.created));
    let last = if args.latest { 1 } else { args.last };
    let show_all = args.all
        || last > 0
        || filters
            .iter()
            .any(|f| matches!(f, Filter::Status(_) | Filter::Exited(_)));
    containers.retain(|r| {
        (show_all || r.state.status.is_active()) && filters.iter().all(|f| f.admits(r))
    });
    if last > 0 {
        containers.truncate(last as usize);
    }
    let now = SystemTime::now();
    let mut out = std::io::stdout().lock();
    match (args.quiet, template) {
        (true, _) => {
            let mut ids = String::new();
            for r in &containers {
                ids.push_str(shown_id(r, args.no_trunc));
                ids.push('\n');
            }
            out.write_all(ids.as_bytes()).map_err(FormatError::from)?;
        }
        (false, Some(template)) => {
            let rows: Vec<Value> = containers
                .iter()
                .map(|r| row(r, now, args.no_trunc))
                .collect();
            template.render(&rows, &headers(&TITLES), &mut out)?;
        }
        (false, None) => {
            let table =
                default_table(&containers, now, args.no_trunc).map_err(FormatError::from)?;
            out.write_all(&table).map_err(FormatError::from)?;
        }
    }
    Ok(0)
}

/// Whether `--format` asks for the default table, which [`default_table`] prints.
fn is_default_table(spec: &str) -> bool {
    let spec = spec.trim();
    spec == TABLE_PREFIX || spec == DEFAULT_TABLE
}

// ANCHOR: ps_default_table
/// The default table, written straight: the columns [`row`] gives a template,
/// without a JSON object and a template run for each of a thousand containers.
/// A test holds it to the template's output.
pub fn default_table(
    containers: &[ContainerSummary],
    now: SystemTime,
    no_trunc: bool,
) -> std::io::Result<Vec<u8>> {
    let mut lines = String::from("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n");
    for r in containers {
        // Writing to a String cannot fail.
        let _ = writeln!(
            lines,
            "{}\t{}\t{}\t{}\t{}\t\t{}",
            shown_id(r, no_trunc),
            r.image,
            shown_command(r, no_trunc),
            age(r.created_time(), now),
            status_text(r, now),
            r.name,
        );
    }
    align(&lines)
}
// ANCHOR_END: ps_default_table

// ANCHOR: ps_row
/// One container as a `--format` template sees it.
pub fn row(r: &ContainerSummary, now: SystemTime, no_trunc: bool) -> Value {
    let labels: Vec<String> = r
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    json!({
        "ID": shown_id(r, no_trunc),
        "Image": r.image,
        "Command": shown_command(r, no_trunc),
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
pub fn status_text(r: &ContainerSummary, now: SystemTime) -> String {
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

/// The id as the ID column shows it: 12 digits, or all 64 with `--no-trunc`.
fn shown_id(r: &ContainerSummary, no_trunc: bool) -> &str {
    match no_trunc {
        true => &r.id,
        false => short_id(&r.id),
    }
}

/// The COMMAND column: quoted, cut to 20 characters unless `--no-trunc`.
fn shown_command(r: &ContainerSummary, no_trunc: bool) -> String {
    let command = match no_trunc {
        true => r.command_line(),
        false => ellipsis(&r.command_line(), 20),
    };
    format!("{command:?}")
}

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
    pub fn admits(&self, r: &ContainerSummary) -> bool {
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
    use crate::record::{ContainerRecord, rfc3339_nano};
    use std::time::Duration;

    fn summary(id: &str, name: &str) -> ContainerSummary {
        ContainerSummary::from(&sample(id, name))
    }

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
        let mut r = summary(&"a".repeat(64), "x");
        assert_eq!(status_text(&r, now), "Created");
        r.state.status = Status::Running;
        r.state.started_at = rfc3339_nano(now - Duration::from_secs(3));
        assert_eq!(status_text(&r, now), "Up 3 seconds");
        r.state.status = Status::Exited;
        r.state.exit_code = 137;
        r.state.finished_at = rfc3339_nano(now - Duration::from_secs(120));
        assert_eq!(status_text(&r, now), "Exited (137) 2 minutes ago");
    }

    #[test]
    fn filters_select_as_docker_s_do() {
        let mut r = summary(&"ab".repeat(32), "web_1");
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

    /// Containers in every shape the table shows: each status, a long command
    /// with quotes and characters an HTML template would escape, a label.
    fn assorted(now: SystemTime) -> Vec<ContainerSummary> {
        let ago = |seconds| rfc3339_nano(now - Duration::from_secs(seconds));
        let mut made = Vec::new();
        for (digit, status) in ["1", "2", "3", "4", "5", "6"].iter().zip([
            Status::Created,
            Status::Running,
            Status::Paused,
            Status::Restarting,
            Status::Exited,
            Status::Dead,
        ]) {
            let mut record: ContainerRecord = sample(&digit.repeat(64), &format!("box_{digit}"));
            record.created = ago(7200);
            record.state.status = status;
            record.state.started_at = ago(30);
            record.state.finished_at = ago(90);
            record.state.exit_code = 137;
            made.push(ContainerSummary::from(&record));
        }
        made[0].args = vec!["-c".into(), "echo \"<a & b>\" 'é' ; sleep 1000".into()];
        made[1].config.labels.insert("tier".into(), "front".into());
        made[2].image = "registry.example/some/long-image-name:1.2.3".into();
        made
    }

    #[test]
    fn the_default_table_is_the_template_s_table() {
        let now = SystemTime::now();
        let containers = assorted(now);
        for no_trunc in [false, true] {
            let rows: Vec<Value> = containers.iter().map(|r| row(r, now, no_trunc)).collect();
            let mut by_template = Vec::new();
            Format::parse(DEFAULT_TABLE, DEFAULT_TABLE)
                .unwrap()
                .render(&rows, &headers(&TITLES), &mut by_template)
                .unwrap();
            let straight = default_table(&containers, now, no_trunc).unwrap();
            assert_eq!(
                String::from_utf8(straight).unwrap(),
                String::from_utf8(by_template).unwrap(),
                "--no-trunc: {no_trunc}"
            );
        }
        let empty = default_table(&[], now, false).unwrap();
        assert_eq!(
            String::from_utf8(empty).unwrap().trim_end(),
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES"
        );
    }

    #[test]
    fn only_the_default_table_skips_the_template() {
        assert!(is_default_table(DEFAULT_TABLE) && is_default_table(" table "));
        assert!(!is_default_table("{{.ID}}") && !is_default_table("table {{.Names}}"));
    }
}
