use super::*;

use Answer::{GoAhead, NothingToDo, Refuse};
use Command as C;
use Status as S;

/// docker's answer for every command in every state, one row per command in the
/// order of ALL_STATUSES: created, running, paused, restarting, exited, dead.
fn docker_table() -> Vec<(Command, [Answer; 6])> {
    let not_running = Refuse(Refusal::NotRunning);
    let paused = Refuse(Refusal::Paused);
    let restarting = Refuse(Refusal::Restarting);
    let active = Refuse(Refusal::StillActive);
    let not_paused = Refuse(Refusal::NotPaused);
    #[rustfmt::skip]
    let table = vec![
        (C::Start, [GoAhead, NothingToDo, paused, NothingToDo, GoAhead, Refuse(Refusal::MarkedForRemoval)]),
        (C::Stop, [NothingToDo, GoAhead, GoAhead, GoAhead, NothingToDo, NothingToDo]),
        (C::Kill, [not_running, GoAhead, GoAhead, GoAhead, not_running, not_running]),
        (C::Pause, [not_running, GoAhead, Refuse(Refusal::AlreadyPaused), restarting, not_running, not_running]),
        (C::Unpause, [not_paused, not_paused, GoAhead, not_paused, not_paused, not_paused]),
        (C::Remove, [GoAhead, active, active, active, GoAhead, GoAhead]),
        (C::ForceRemove, [GoAhead; 6]),
        (C::Exec, [not_running, GoAhead, paused, restarting, not_running, not_running]),
        (C::Attach, [not_running, GoAhead, paused, restarting, not_running, not_running]),
    ];
    table
}

#[test]
fn start_of_a_running_container_has_nothing_to_do_and_exits_0() {
    assert_eq!(answer(C::Start, S::Running), NothingToDo);
    assert_eq!(answer(C::Start, S::Running).exit_code(), 0);
}

#[test]
fn stop_of_a_created_container_succeeds_without_doing_anything() {
    assert_eq!(answer(C::Stop, S::Created), NothingToDo);
    assert_eq!(status_after(C::Stop, S::Created), Some(S::Created));
}

#[test]
fn pause_of_a_paused_container_is_an_error() {
    let refused = answer(C::Pause, S::Paused);
    assert_eq!(refused, Refuse(Refusal::AlreadyPaused));
    assert_eq!(refused.exit_code(), 1);
}

#[test]
fn a_restarting_container_counts_as_running() {
    assert_eq!(answer(C::Start, S::Restarting), NothingToDo);
    assert_eq!(answer(C::Stop, S::Restarting), GoAhead);
    assert_eq!(
        answer(C::Remove, S::Restarting),
        Refuse(Refusal::StillActive)
    );
    // …but nothing may join or freeze a process that is not there yet.
    assert_eq!(answer(C::Exec, S::Restarting), Refuse(Refusal::Restarting));
    assert_eq!(answer(C::Pause, S::Restarting), Refuse(Refusal::Restarting));
}

#[test]
fn every_command_in_every_state_answers_as_docker_does() {
    for (command, row) in docker_table() {
        for (status, expected) in ALL_STATUSES.into_iter().zip(row) {
            assert_eq!(answer(command, status), expected, "{command:?} in {status}");
        }
    }
}

#[test]
fn commands_that_go_ahead_move_the_container_on() {
    assert_eq!(status_after(C::Start, S::Created), Some(S::Running));
    assert_eq!(status_after(C::Start, S::Exited), Some(S::Running));
    assert_eq!(status_after(C::Pause, S::Running), Some(S::Paused));
    assert_eq!(status_after(C::Unpause, S::Paused), Some(S::Running));
    assert_eq!(status_after(C::Stop, S::Paused), Some(S::Exited));
    assert_eq!(status_after(C::Kill, S::Restarting), Some(S::Exited));
    assert_eq!(status_after(C::Exec, S::Running), Some(S::Running));
    assert_eq!(status_after(C::Remove, S::Exited), None);
    assert_eq!(status_after(C::ForceRemove, S::Running), None);
}

#[test]
fn a_refused_command_leaves_the_container_where_it_was() {
    for (command, row) in docker_table() {
        for (status, expected) in ALL_STATUSES.into_iter().zip(row) {
            if expected != GoAhead {
                assert_eq!(
                    status_after(command, status),
                    Some(status),
                    "{command:?} in {status}"
                );
            }
        }
    }
}
