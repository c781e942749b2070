//! What every `prune` shares: docker's `--filter until=|label=|label!=` and the
//! "Are you sure?" prompt. Images (chapter 03), containers (04), volumes (06) and
//! networks (07) each say what "created" and "labels" mean for their objects.

use std::time::{Duration, SystemTime};

use crate::output::{Console, parse_rfc3339};

/// One `--filter` of a `prune` command.
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
        /// Whether the object must have it (`label=`) or not (`label!=`).
        wanted: bool,
    },
}

impl PruneFilter {
    /// Parses `KEY=VALUE` as docker does; `now` anchors relative times. `None`
    /// for a filter docker would refuse (each command words its own error).
    pub fn parse(text: &str, now: SystemTime) -> Option<PruneFilter> {
        let (key, value) = text.split_once('=')?;
        let label = |wanted: bool| {
            let (key, value) = match value.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (value.to_string(), None),
            };
            PruneFilter::Label { key, value, wanted }
        };
        Some(match key {
            "until" => PruneFilter::Until(parse_rfc3339(value).or_else(|| {
                humantime::parse_duration(value)
                    .ok()
                    .and_then(|ago: Duration| now.checked_sub(ago))
            })?),
            "label" => label(true),
            // `label!=k` splits at its `=`, leaving the `!` on the key.
            "label!" => label(false),
            _ => return None,
        })
    }

    /// Whether an object created at `created`, whose label `k` is `label(k)`,
    /// may be pruned.
    pub fn admits(&self, created: SystemTime, label: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            PruneFilter::Until(limit) => created < *limit,
            PruneFilter::Label { key, value, wanted } => {
                let found = label(key);
                let matches = match value {
                    Some(value) => found.as_deref() == Some(value.as_str()),
                    None => found.is_some(),
                };
                matches == *wanted
            }
        }
    }
}

/// docker's confirmation: the warning, then `Are you sure you want to continue?
/// [y/N]`; only `y` goes on.
pub fn confirmed(console: &mut Console, warning: &str) -> std::io::Result<bool> {
    write!(
        console.out,
        "{warning}\nAre you sure you want to continue? [y/N] "
    )?;
    console.out.flush()?;
    let mut answer = String::new();
    console.input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_docker_writes_them() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            PruneFilter::parse("until=1h", now),
            Some(PruneFilter::Until(now - Duration::from_secs(3600)))
        );
        assert_eq!(
            PruneFilter::parse("label!=a=b", now),
            Some(PruneFilter::Label {
                key: "a".into(),
                value: Some("b".into()),
                wanted: false
            })
        );
        assert_eq!(PruneFilter::parse("dangling=true", now), None);
        assert_eq!(PruneFilter::parse("until=soon", now), None);
    }

    #[test]
    fn label_filters_admit_by_presence_and_value() {
        let now = SystemTime::UNIX_EPOCH;
        let labels = |k: &str| (k == "tier").then(|| "web".to_string());
        let admits = |f: &str| PruneFilter::parse(f, now).unwrap().admits(now, labels);
        assert!(admits("label=tier") && admits("label=tier=web"));
        assert!(!admits("label=tier=db") && !admits("label!=tier"));
        assert!(admits("label!=other"));
    }
}
