//! docker's state machine: where a container is in its life, and what each
//! command does in each state — go ahead, do nothing, or refuse with docker's
//! words.

use serde::{Deserialize, Serialize};
use std::fmt;

// ANCHOR: container_status
/// Where a container is in its life, with docker's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made (bundle, root filesystem, record), never started or failed to start.
    Created,
    /// Its process runs under a supervisor.
    Running,
    /// Its processes are frozen.
    Paused,
    /// It exited and its restart policy will start it again after a back-off.
    Restarting,
    /// Its process ended; the record keeps the exit code.
    Exited,
    /// Removal failed half-way; only `rm -f` helps.
    Dead,
}
// ANCHOR_END: container_status

impl Status {
    /// Whether a process of the container may be alive (a supervisor watches it).
    pub fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Exited => "exited",
            Status::Dead => "dead",
        })
    }
}

/// A command that changes a container's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `start`.
    Start,
    /// `stop` (and the first half of `restart`).
    Stop,
    /// `kill`.
    Kill,
    /// `rm` without `-f`.
    Remove,
    /// `rm -f`.
    ForceRemove,
}

/// What a command does in a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Do it.
    Proceed,
    /// Nothing to do, and that is success (docker prints the name, exits 0).
    AlreadyDone,
    /// Refuse: docker's message (without the container's name), exit 1.
    Refuse(Refusal),
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `kill` of a container without a process.
    NotRunning,
    /// `start` of a paused container.
    Paused,
    /// `rm` of a live container without `-f`.
    StillRunning,
    /// `start` of a container whose removal failed half-way.
    Dead,
}

impl Refusal {
    /// docker's message for the container named `name` (as the user gave it)
    /// whose full id is `id`.
    pub fn message(self, name: &str, id: &str, status: Status) -> String {
        match self {
            Refusal::NotRunning => format!(
                "Error response from daemon: Cannot kill container: {name}: Container {id} is not running"
            ),
            Refusal::Paused => format!(
                "Error response from daemon: cannot start a paused container, try unpause instead ({name})"
            ),
            Refusal::Dead => format!(
                "Error response from daemon: container {name} is marked for removal and cannot be started"
            ),
            Refusal::StillRunning => format!(
                "Error response from daemon: You cannot remove a {status} container {name}. \
                 Stop the container before attempting removal or force remove"
            ),
        }
    }
}

// ANCHOR: state_machine
/// docker's answer to `action` on a container in `status`.
pub fn decide(action: Action, status: Status) -> Answer {
    use Action as A;
    use Status as S;
    match (action, status) {
        (A::Start, S::Created | S::Exited) => Answer::Proceed,
        (A::Start, S::Dead) => Answer::Refuse(Refusal::Dead),
        (A::Start, S::Running | S::Restarting) => Answer::AlreadyDone,
        (A::Start, S::Paused) => Answer::Refuse(Refusal::Paused),

        (A::Stop, S::Running | S::Paused | S::Restarting) => Answer::Proceed,
        (A::Stop, S::Created | S::Exited | S::Dead) => Answer::AlreadyDone,

        // A restarting container counts as running: a kill ends its restarts.
        (A::Kill, S::Running | S::Paused | S::Restarting) => Answer::Proceed,
        (A::Kill, _) => Answer::Refuse(Refusal::NotRunning),

        (A::Remove, S::Running | S::Paused | S::Restarting) => {
            Answer::Refuse(Refusal::StillRunning)
        }
        (A::Remove | A::ForceRemove, _) => Answer::Proceed,
    }
}
// ANCHOR_END: state_machine

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Status as S;

    #[test]
    fn every_action_in_every_state_answers_as_docker_does() {
        let proceed = Answer::Proceed;
        let done = Answer::AlreadyDone;
        let refuse = Answer::Refuse;
        #[rustfmt::skip]
        let table = [
            (A::Start, S::Created, proceed.clone()),
            (A::Start, S::Running, done.clone()),
            (A::Start, S::Paused, refuse(Refusal::Paused)),
            (A::Start, S::Restarting, done.clone()),
            (A::Start, S::Exited, proceed.clone()),
            (A::Start, S::Dead, refuse(Refusal::Dead)),
            (A::Stop, S::Created, done.clone()),
            (A::Stop, S::Running, proceed.clone()),
            (A::Stop, S::Paused, proceed.clone()),
            (A::Stop, S::Restarting, proceed.clone()),
            (A::Stop, S::Exited, done.clone()),
            (A::Stop, S::Dead, done.clone()),
            (A::Kill, S::Created, refuse(Refusal::NotRunning)),
            (A::Kill, S::Running, proceed.clone()),
            (A::Kill, S::Paused, proceed.clone()),
            (A::Kill, S::Restarting, proceed.clone()),
            (A::Kill, S::Exited, refuse(Refusal::NotRunning)),
            (A::Kill, S::Dead, refuse(Refusal::NotRunning)),
            (A::Remove, S::Created, proceed.clone()),
            (A::Remove, S::Running, refuse(Refusal::StillRunning)),
            (A::Remove, S::Paused, refuse(Refusal::StillRunning)),
            (A::Remove, S::Restarting, refuse(Refusal::StillRunning)),
            (A::Remove, S::Exited, proceed.clone()),
            (A::Remove, S::Dead, proceed.clone()),
            (A::ForceRemove, S::Running, proceed.clone()),
            (A::ForceRemove, S::Paused, proceed.clone()),
            (A::ForceRemove, S::Exited, proceed.clone()),
        ];
        for (action, status, expected) in table {
            assert_eq!(decide(action, status), expected, "{action:?} in {status:?}");
        }
    }

    #[test]
    fn refusals_use_docker_s_words() {
        assert_eq!(
            Refusal::NotRunning.message("web", "0123abcd", S::Exited),
            "Error response from daemon: Cannot kill container: web: Container 0123abcd is not running"
        );
        assert!(
            Refusal::StillRunning
                .message("web", "0123abcd", S::Running)
                .contains("You cannot remove a running container web. Stop the container")
        );
    }

    #[test]
    fn statuses_serialise_in_lower_case() {
        assert_eq!(
            serde_json::to_string(&S::Restarting).unwrap(),
            "\"restarting\""
        );
        assert!(S::Paused.is_active() && !S::Exited.is_active());
    }
}
