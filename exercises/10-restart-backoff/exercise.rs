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
//! Edit the three functions marked `TODO`. Run `cargo xtask exercise 10`.

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
    // TODO: a user's stop or kill first (it beats every policy), then a
    // `match` on the policy. For on-failure, `restarts` counts the restarts
    // already done: with `max_restarts: 5`, is a sixth allowed? 0 means no limit.
    todo!()
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
        // TODO: the first delay is FIRST_DELAY; each next one is twice the
        // last, at most MAX_DELAY; a run of RESET_AFTER or more starts over at
        // FIRST_DELAY. Remember the delay you return in `self.last_delay`.
        todo!()
    }
}

/// The delays the engine waits between the runs in `endings` (each run's
/// ending and how long it lasted), stopping at the first run it does not
/// restart. One delay per restart.
pub fn restart_delays(policy: RestartPolicy, endings: &[(Ending, Duration)]) -> Vec<Duration> {
    // TODO: one Backoff for the whole life of the container. For each run,
    // ask `should_restart` (how many restarts so far?); stop at the first
    // `false`, or else push the back-off's next delay.
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
