use super::*;

const CRASH: Ending = Ending {
    exit_code: 1,
    stopped_by_user: false,
};
const SUCCESS: Ending = Ending {
    exit_code: 0,
    stopped_by_user: false,
};
/// `docker stop` ends a process with SIGTERM: 128 + 15.
const USER_STOP: Ending = Ending {
    exit_code: 143,
    stopped_by_user: true,
};
const QUICK: Duration = Duration::from_millis(50);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[test]
fn no_never_restarts_and_always_restarts_whatever_the_exit_code() {
    assert!(!should_restart(RestartPolicy::No, CRASH, 0));
    for policy in [RestartPolicy::Always, RestartPolicy::UnlessStopped] {
        assert!(should_restart(policy, CRASH, 0), "{policy:?}");
        assert!(should_restart(policy, SUCCESS, 1000), "{policy:?}");
    }
}

#[test]
fn a_user_stop_beats_every_policy() {
    for policy in [
        RestartPolicy::Always,
        RestartPolicy::UnlessStopped,
        RestartPolicy::OnFailure { max_restarts: 0 },
    ] {
        assert!(!should_restart(policy, USER_STOP, 0), "{policy:?}");
    }
}

#[test]
fn on_failure_restarts_only_after_a_non_zero_exit() {
    let policy = RestartPolicy::OnFailure { max_restarts: 0 };
    assert!(!should_restart(policy, SUCCESS, 0));
    assert!(should_restart(policy, CRASH, 0));
    // No N: no limit.
    assert!(should_restart(policy, CRASH, 10_000));
    // Killed by a signal is a failure too.
    let killed = Ending {
        exit_code: 137,
        stopped_by_user: false,
    };
    assert!(should_restart(policy, killed, 3));
}

#[test]
fn on_failure_5_means_five_restarts_and_six_runs() {
    let policy = RestartPolicy::OnFailure { max_restarts: 5 };
    assert!(should_restart(policy, CRASH, 4));
    assert!(!should_restart(policy, CRASH, 5));
    let always_crashing = vec![(CRASH, QUICK); 20];
    let delays = restart_delays(policy, &always_crashing);
    assert_eq!(delays.len(), 5, "restarts (RestartCount)");
    assert_eq!(delays.len() + 1, 6, "runs");
}

#[test]
fn delays_double_from_100_ms() {
    let mut backoff = Backoff::new();
    assert_eq!(backoff.last_delay(), None);
    let delays: Vec<Duration> = (0..6).map(|_| backoff.next_delay(QUICK)).collect();
    assert_eq!(
        delays,
        vec![ms(100), ms(200), ms(400), ms(800), ms(1600), ms(3200)]
    );
    assert_eq!(backoff.last_delay(), Some(ms(3200)));
}

#[test]
fn delays_stop_growing_at_one_minute() {
    let mut backoff = Backoff::new();
    let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay(QUICK)).collect();
    // 100 ms × 2⁹ = 51.2 s; twice that would be 102.4 s.
    assert_eq!(delays[9], ms(51_200));
    assert_eq!(delays[10], MAX_DELAY);
    assert_eq!(delays[11], MAX_DELAY);
}

#[test]
fn a_run_of_ten_seconds_starts_the_delays_over() {
    let mut backoff = Backoff::new();
    assert_eq!(backoff.next_delay(QUICK), ms(100));
    assert_eq!(backoff.next_delay(QUICK), ms(200));
    assert_eq!(backoff.next_delay(QUICK), ms(400));
    // Just under ten seconds is still a crash loop…
    assert_eq!(backoff.next_delay(ms(9_999)), ms(800));
    // …ten seconds is a real run.
    assert_eq!(backoff.next_delay(RESET_AFTER), ms(100));
    assert_eq!(backoff.next_delay(QUICK), ms(200));
}

#[test]
fn the_delays_end_at_the_first_run_that_is_not_restarted() {
    let runs = [
        (CRASH, QUICK),
        (CRASH, QUICK),
        (CRASH, Duration::from_secs(30)),
        (CRASH, QUICK),
        (SUCCESS, QUICK),
        (CRASH, QUICK),
    ];
    let policy = RestartPolicy::OnFailure { max_restarts: 0 };
    assert_eq!(
        restart_delays(policy, &runs),
        vec![ms(100), ms(200), ms(100), ms(200)]
    );
    let stopped = [(CRASH, QUICK), (USER_STOP, QUICK), (CRASH, QUICK)];
    assert_eq!(
        restart_delays(RestartPolicy::Always, &stopped),
        vec![ms(100)]
    );
    assert_eq!(restart_delays(RestartPolicy::No, &stopped), vec![]);
}
