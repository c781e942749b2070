//! # Exercise 10 — restart policies and their back-off
//!
//! `docker run --restart POLICY` tells the engine what to do when a container's
//! process ends:
//!
//! | policy           | starts it again…                                       |
//! |------------------|--------------------------------------------------------|
//! | `no`             | never (the default)                                    |
//! | `always`         | whatever the exit code                                 |
//! | `unless-stopped` | whatever the exit code                                 |
//! | `on-failure[:N]` | after a non-zero exit code, at most N times (no N: no limit) |
//!
//! `on-failure:5` is five *restarts*, so six runs in all, and the container's
//! RestartCount ends at 5. A process that a user ended with `docker stop` or
//! `docker kill` is never brought back, whatever the policy: a restart policy
//! is there for crashes, not to fight the person at the keyboard. `always` and
//! `unless-stopped` differ only when the engine itself starts (at boot):
//! `always` then starts even a container a user had stopped.
//!
//! A container that crashes at once would be restarted in a tight loop, so the
//! engine waits before each restart, and waits longer each time:
//!
//! ```text
//! 100 ms, 200 ms, 400 ms, 800 ms, 1.6 s, … doubling, never more than 1 minute
//! ```
//!
//! A run that lasted 10 seconds or more was a real run, not a crash loop: the
//! next delay goes back to 100 ms.
//!
//! This is the reference solution; the comments in the functions say why.

use std::time::Duration;

/// What to do when the container's process ends (`--restart`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// `no`: never restart.
    No,
    /// `always`.
    Always,
    /// `unless-stopped`.
    UnlessStopped,
    /// `on-failure[:N]`: restart after a non-zero exit, at most `max_restarts`
    /// times; 0 means no limit.
    OnFailure {
        /// N, or 0 when no N was given.
        max_restarts: u32,
    },
}

/// How a run of the container ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ending {
    /// The exit code (128 + the signal for a process killed by a signal).
    pub exit_code: i32,
    /// Whether a user's `stop` or `kill` ended it.
    pub stopped_by_user: bool,
}

/// The first delay before a restart.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest delay before a restart.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long starts the delays over.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// Whether a container whose run ended with `ending`, after `restarts` restarts
/// so far, is started again.
pub fn should_restart(policy: RestartPolicy, ending: Ending, restarts: u32) -> bool {
    // Checked before the policy, because it beats every policy.
    if ending.stopped_by_user {
        return false;
    }
    match policy {
        RestartPolicy::No => false,
        RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        // `restarts < max` counts restarts, not runs: with max 5, restarts
        // 0 to 4 are allowed, so the fifth restart is the last, and six runs.
        RestartPolicy::OnFailure { max_restarts } => {
            ending.exit_code != 0 && (max_restarts == 0 || restarts < max_restarts)
        }
    }
}

/// The delays between restarts: it remembers the last one.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    last_delay: Option<Duration>,
}

impl Backoff {
    /// No restart yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The delay returned last; `None` before the first restart.
    pub fn last_delay(&self) -> Option<Duration> {
        self.last_delay
    }

    /// The delay before the next start, after a run that lasted `ran_for`.
    pub fn next_delay(&mut self, ran_for: Duration) -> Duration {
        // `Option` says "no restart yet" without a magic zero; a long run goes
        // back to that same first case.
        let delay = match self.last_delay {
            Some(last) if ran_for < RESET_AFTER => (last * 2).min(MAX_DELAY),
            _ => FIRST_DELAY,
        };
        self.last_delay = Some(delay);
        delay
    }
}

/// The delays the engine waits between the runs in `endings` (each run's
/// ending and how long it lasted), stopping at the first run it does not
/// restart. One delay per restart.
pub fn restart_delays(policy: RestartPolicy, endings: &[(Ending, Duration)]) -> Vec<Duration> {
    let mut backoff = Backoff::new();
    let mut delays = Vec::new();
    for &(ending, ran_for) in endings {
        // The number of delays so far is the number of restarts so far.
        let restarts = delays.len() as u32;
        if !should_restart(policy, ending, restarts) {
            break;
        }
        delays.push(backoff.next_delay(ran_for));
    }
    delays
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
