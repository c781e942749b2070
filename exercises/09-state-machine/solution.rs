//! # Exercise 09 — the state machine
//!
//! A container is a process with a life, and docker names six places in it:
//!
//! ```text
//! created ──start──► running ──pause──► paused ──unpause──► running
//!                      │
//!                      │ stop, kill, or its process ends
//!                      ▼
//!                    exited ──start──► running
//!
//! running ──its process ends, a restart policy──► restarting ──a delay──► running
//! created, exited, dead ──rm──► gone          (any state) ──rm -f──► gone
//! dead: a removal that failed half-way
//! ```
//!
//! Every command asks the same question first: *may I, in this state?* docker
//! gives one of three answers:
//!
//! - **go ahead**: the command does its work and the container moves on;
//! - **nothing to do**: the container is already where the command would put it.
//!   That is a success: `docker start` of a running container prints its name
//!   and exits 0, and so does `docker stop` of a created one;
//! - **refuse**: an error, exit 1 — `pause` of a paused container, `kill` of an
//!   exited one, `rm` of a running one without `-f`.
//!
//! Two of docker's rules are easy to miss. A *restarting* container counts as
//! running (its next start is already planned): `start` has nothing to do,
//! `stop` and `kill` cancel the restart, while `pause`, `exec` and `attach` are
//! told to wait. A *paused* container counts as running too, which is why `rm`
//! refuses it and `stop` works on it (docker thaws it and it ends with 137).
//!
//! This is the reference solution; the comments in the functions say why.

use std::fmt;

/// Where a container is in its life, with docker's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Made, never started.
    Created,
    /// Its process runs.
    Running,
    /// Its processes are frozen.
    Paused,
    /// It ended and its restart policy will start it again after a delay.
    Restarting,
    /// Its process ended.
    Exited,
    /// A removal failed half-way; only `rm` helps.
    Dead,
}

/// Every status, in the order of the story.
pub const ALL_STATUSES: [Status; 6] = [
    Status::Created,
    Status::Running,
    Status::Paused,
    Status::Restarting,
    Status::Exited,
    Status::Dead,
];

/// A command that asks about the container's state before it acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `docker start`.
    Start,
    /// `docker stop`: the stop signal, then SIGKILL.
    Stop,
    /// `docker kill` (SIGKILL).
    Kill,
    /// `docker pause`.
    Pause,
    /// `docker unpause`.
    Unpause,
    /// `docker rm`.
    Remove,
    /// `docker rm -f`.
    ForceRemove,
    /// `docker exec`.
    Exec,
    /// `docker attach`.
    Attach,
}

/// Why docker refuses a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The command needs a process and there is none.
    NotRunning,
    /// The command cannot act on frozen processes.
    Paused,
    /// `pause` of a paused container.
    AlreadyPaused,
    /// `unpause` of a container that is not paused.
    NotPaused,
    /// The command must wait until the restart is done.
    Restarting,
    /// `rm` without `-f` of a container that is (or may soon be) running.
    StillActive,
    /// `start` of a dead container.
    MarkedForRemoval,
}

/// docker's answer to a command in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Do it.
    GoAhead,
    /// Nothing to do; a success (docker prints the name, exits 0).
    NothingToDo,
    /// An error, exit 1.
    Refuse(Refusal),
}

impl Answer {
    /// The exit code docker's CLI ends with.
    pub fn exit_code(self) -> i32 {
        match self {
            Answer::GoAhead | Answer::NothingToDo => 0,
            Answer::Refuse(_) => 1,
        }
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

/// docker's answer to `command` on a container in `status`.
pub fn answer(command: Command, status: Status) -> Answer {
    use Answer::{GoAhead, NothingToDo, Refuse};
    use Command as C;
    use Status as S;
    // One arm per command, states grouped inside it: reading down a command's
    // arms gives its whole row of the table. No `_` for the status, so adding a
    // state makes the compiler point at every command that must decide.
    match (command, status) {
        (C::Start, S::Created | S::Exited) => GoAhead,
        // Restarting counts as running: the restart is already on its way.
        (C::Start, S::Running | S::Restarting) => NothingToDo,
        (C::Start, S::Paused) => Refuse(Refusal::Paused),
        (C::Start, S::Dead) => Refuse(Refusal::MarkedForRemoval),

        // A stop of a restarting container cancels the restart.
        (C::Stop, S::Running | S::Paused | S::Restarting) => GoAhead,
        (C::Stop, S::Created | S::Exited | S::Dead) => NothingToDo,

        // Unlike stop, kill has no "already done": no process is an error.
        (C::Kill, S::Running | S::Paused | S::Restarting) => GoAhead,
        (C::Kill, S::Created | S::Exited | S::Dead) => Refuse(Refusal::NotRunning),

        (C::Pause, S::Running) => GoAhead,
        (C::Pause, S::Paused) => Refuse(Refusal::AlreadyPaused),
        (C::Pause, S::Restarting) => Refuse(Refusal::Restarting),
        (C::Pause, S::Created | S::Exited | S::Dead) => Refuse(Refusal::NotRunning),

        (C::Unpause, S::Paused) => GoAhead,
        (C::Unpause, S::Created | S::Running | S::Restarting | S::Exited | S::Dead) => {
            Refuse(Refusal::NotPaused)
        }

        (C::Remove, S::Created | S::Exited | S::Dead) => GoAhead,
        (C::Remove, S::Running | S::Paused | S::Restarting) => Refuse(Refusal::StillActive),

        // `-f` is the answer to every refusal of `rm`.
        (C::ForceRemove, _) => GoAhead,

        // exec and attach share their rules; only docker's words differ.
        (C::Exec | C::Attach, S::Running) => GoAhead,
        (C::Exec | C::Attach, S::Paused) => Refuse(Refusal::Paused),
        (C::Exec | C::Attach, S::Restarting) => Refuse(Refusal::Restarting),
        (C::Exec | C::Attach, S::Created | S::Exited | S::Dead) => Refuse(Refusal::NotRunning),
    }
}

/// Where the container is once `command` has run on it in `status`: `None`
/// when it no longer exists.
pub fn status_after(command: Command, status: Status) -> Option<Status> {
    // Only a command that goes ahead moves the container; "nothing to do" and
    // a refusal leave it where it was.
    if answer(command, status) != Answer::GoAhead {
        return Some(status);
    }
    let next = match command {
        Command::Start | Command::Unpause => Status::Running,
        Command::Stop | Command::Kill => Status::Exited,
        Command::Pause => Status::Paused,
        Command::Remove | Command::ForceRemove => return None,
        // Another process in the container, or a terminal joined to it: the
        // container itself does not change.
        Command::Exec | Command::Attach => status,
    };
    Some(next)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
