//! Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`) and
//! docker's back-off between restarts.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the supervisor does when the container's process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "Name", rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never restart.
    #[default]
    No,
    /// Always restart, unless a user stopped it.
    Always,
    /// As `always`; the two differ only when the engine itself starts (at boot).
    UnlessStopped,
    /// Restart after a non-zero exit, at most `max` times (0: no limit).
    OnFailure {
        /// The most restarts; 0 means no limit.
        #[serde(rename = "MaximumRetryCount")]
        max: u32,
    },
}

/// A `--restart` value that is not a policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid restart policy '{given}'")]
pub struct BadPolicy {
    /// What the user gave.
    pub given: String,
}

impl RestartPolicy {
    /// Parses docker's spellings.
    pub fn parse(text: &str) -> Result<Self, BadPolicy> {
        let bad = || BadPolicy { given: text.into() };
        let (name, count) = match text.split_once(':') {
            Some((name, count)) => (name, Some(count.parse::<u32>().map_err(|_| bad())?)),
            None => (text, None),
        };
        match (name, count) {
            ("" | "no", None) => Ok(RestartPolicy::No),
            ("always", None) => Ok(RestartPolicy::Always),
            ("unless-stopped", None) => Ok(RestartPolicy::UnlessStopped),
            ("on-failure", count) => Ok(RestartPolicy::OnFailure {
                max: count.unwrap_or(0),
            }),
            _ => Err(bad()),
        }
    }

    // ANCHOR: should_restart
    /// Whether a process that ended with `exit_code`, after `restart_count`
    /// restarts, starts again. A stop or kill by a user always wins.
    pub fn should_restart(self, exit_code: i32, restart_count: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure { max } => exit_code != 0 && (max == 0 || restart_count < max),
        }
    }
    // ANCHOR_END: should_restart
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
            RestartPolicy::OnFailure { max: 0 } => f.write_str("on-failure"),
            RestartPolicy::OnFailure { max } => write!(f, "on-failure:{max}"),
        }
    }
}

// ANCHOR: backoff
/// docker's delay before a restart: 100 ms, doubling each time, at most a
/// minute; a run that lasted 10 s or more starts the doubling over.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    last: Option<Duration>,
}

impl Backoff {
    /// The first delay.
    pub const FIRST: Duration = Duration::from_millis(100);
    /// The longest delay.
    pub const MAX: Duration = Duration::from_secs(60);
    /// A run at least this long resets the delay.
    pub const RESET_AFTER: Duration = Duration::from_secs(10);

    /// The delay before the next start, after a run that lasted `ran_for`.
    pub fn next(&mut self, ran_for: Duration) -> Duration {
        let delay = match self.last {
            Some(last) if ran_for < Self::RESET_AFTER => (last * 2).min(Self::MAX),
            _ => Self::FIRST,
        };
        self.last = Some(delay);
        delay
    }
}
// ANCHOR_END: backoff

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_in_docker_s_spellings() {
        assert_eq!(RestartPolicy::parse("no"), Ok(RestartPolicy::No));
        assert_eq!(RestartPolicy::parse("always"), Ok(RestartPolicy::Always));
        assert_eq!(
            RestartPolicy::parse("on-failure:5"),
            Ok(RestartPolicy::OnFailure { max: 5 })
        );
        assert_eq!(
            RestartPolicy::parse("on-failure"),
            Ok(RestartPolicy::OnFailure { max: 0 })
        );
        for bad in ["sometimes", "always:3", "on-failure:x", "on-failure:-1"] {
            assert!(RestartPolicy::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RestartPolicy::OnFailure { max: 5 }.to_string(),
            "on-failure:5"
        );
    }

    #[test]
    fn on_failure_5_means_six_runs() {
        let policy = RestartPolicy::OnFailure { max: 5 };
        let mut runs = 1;
        let mut restarts = 0;
        while policy.should_restart(1, restarts, false) {
            restarts += 1;
            runs += 1;
        }
        assert_eq!((runs, restarts), (6, 5));
        assert!(!policy.should_restart(0, 0, false));
    }

    #[test]
    fn a_user_stop_beats_every_policy() {
        for policy in [RestartPolicy::Always, RestartPolicy::UnlessStopped] {
            assert!(policy.should_restart(0, 100, false));
            assert!(!policy.should_restart(137, 0, true));
        }
        assert!(!RestartPolicy::No.should_restart(1, 0, false));
    }

    #[test]
    fn back_off_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        let quick = Duration::from_millis(50);
        let ms = |n| Duration::from_millis(n);
        assert_eq!(b.next(quick), ms(100));
        assert_eq!(b.next(quick), ms(200));
        assert_eq!(b.next(quick), ms(400));
        for _ in 0..20 {
            b.next(quick);
        }
        assert_eq!(b.next(quick), Backoff::MAX);
        assert_eq!(b.next(Duration::from_secs(10)), ms(100));
    }

    #[test]
    fn policies_serialise_as_docker_s_host_config() {
        let json = serde_json::to_value(RestartPolicy::OnFailure { max: 3 }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 3})
        );
    }
}
