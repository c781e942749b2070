use super::*;

const HELLO: &str =
    r#"{"log":"hello world\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}"#;
const OOPS: &str = r#"{"log":"oops\n","stream":"stderr","time":"2026-01-02T03:04:05.5Z"}"#;
const BYE: &str = r#"{"log":"bye\n","stream":"stdout","time":"2026-01-02T03:04:06Z"}"#;

/// A log of `lines`, each ended by a newline as the writer leaves them.
fn log_of(lines: &[&str]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

fn logs(entries: &[LogEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.log.as_str()).collect()
}

#[test]
fn an_entry_has_its_log_stream_and_time() {
    assert_eq!(
        parse_entry(1, OOPS),
        Ok(LogEntry {
            log: "oops\n".into(),
            stream: "stderr".into(),
            time: "2026-01-02T03:04:05.5Z".into(),
        })
    );
}

#[test]
fn json_escapes_are_decoded() {
    let line = r#"{"log":"\u003cb\u003e \"quoted\"\ttab\n","stream":"stdout","time":"2026-01-02T03:04:05Z"}"#;
    assert_eq!(parse_entry(1, line).unwrap().log, "<b> \"quoted\"\ttab\n");
}

#[test]
fn a_line_that_is_not_an_entry_is_an_error_with_its_number() {
    for bad in [
        "not json",
        r#"{"log":"x\n","stream":"stdout"}"#,
        r#"{"log":7,"stream":"stdout","time":"2026-01-02T03:04:05Z"}"#,
        r#"["log","stream","time"]"#,
    ] {
        let err = parse_entry(4, bad).unwrap_err();
        assert_eq!(err.line, 4, "{bad}");
        assert!(!err.reason.is_empty(), "{bad}");
    }
    let content = log_of(&[HELLO, "{oops", BYE]);
    assert_eq!(last_entries(&content, Tail::All).unwrap_err().line, 2);
}

#[test]
fn tail_gives_the_last_n_entries_oldest_first() {
    let content = log_of(&[HELLO, OOPS, BYE]);
    assert_eq!(
        logs(&last_entries(&content, Tail::Last(2)).unwrap()),
        ["oops\n", "bye\n"]
    );
    assert_eq!(
        logs(&last_entries(&content, Tail::All).unwrap()),
        ["hello world\n", "oops\n", "bye\n"]
    );
}

#[test]
fn tail_zero_gives_nothing_and_a_large_tail_gives_everything() {
    let content = log_of(&[HELLO, OOPS, BYE]);
    assert_eq!(last_entries(&content, Tail::Last(0)), Ok(vec![]));
    assert_eq!(last_entries(&content, Tail::Last(100)).unwrap().len(), 3);
    assert_eq!(last_entries("", Tail::All), Ok(vec![]));
}

#[test]
fn a_torn_last_line_is_skipped() {
    let mut content = log_of(&[HELLO, OOPS]);
    content.push_str(r#"{"log":"half a li"#);
    assert_eq!(
        logs(&last_entries(&content, Tail::Last(1)).unwrap()),
        ["oops\n"]
    );
    // Even a whole object is not an entry until its newline is written.
    let unfinished = format!("{HELLO}\n{BYE}");
    assert_eq!(
        logs(&last_entries(&unfinished, Tail::All).unwrap()),
        ["hello world\n"]
    );
    assert_eq!(last_entries(HELLO, Tail::All), Ok(vec![]));
}

#[test]
fn timestamps_always_have_nine_digits_of_fraction() {
    assert_eq!(
        fixed_nanos("2026-01-02T03:04:05.123456789Z"),
        "2026-01-02T03:04:05.123456789Z"
    );
    assert_eq!(
        fixed_nanos("2026-01-02T03:04:05.5Z"),
        "2026-01-02T03:04:05.500000000Z"
    );
    assert_eq!(
        fixed_nanos("2026-01-02T03:04:05.00012Z"),
        "2026-01-02T03:04:05.000120000Z"
    );
    assert_eq!(
        fixed_nanos("2026-01-02T03:04:05Z"),
        "2026-01-02T03:04:05.000000000Z"
    );
    assert_eq!(
        fixed_nanos("2026-01-02T03:04:05+01:00"),
        "2026-01-02T03:04:05+01:00"
    );
}

#[test]
fn logs_print_the_log_alone_or_after_its_time() {
    let content = log_of(&[HELLO, OOPS, BYE]);
    let entries = last_entries(&content, Tail::Last(2)).unwrap();
    let plain: String = entries.iter().map(|e| format_entry(e, false)).collect();
    assert_eq!(plain, "oops\nbye\n");
    let stamped: String = entries.iter().map(|e| format_entry(e, true)).collect();
    assert_eq!(
        stamped,
        "2026-01-02T03:04:05.500000000Z oops\n2026-01-02T03:04:06.000000000Z bye\n"
    );
}
