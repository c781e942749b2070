//! End-to-end tests of `top` and `stats` as root: what they show is what the
//! kernel says about the container's cgroup.

mod common;
mod guard;

use common::World;
use guard::Guarded;

#[test]
fn top_lists_the_container_s_processes_with_docker_s_columns() {
    let Some(w) = World::new("ch04 top") else {
        return;
    };
    let w = Guarded::new(w);
    let id = w.daemon(
        &["--name", "two"],
        &["sh", "-c", "sleep 1001 & exec sleep 1002"],
    );
    let pid = w.record(&id)["State"]["Pid"].as_i64().unwrap();
    let out = w.ch04(&["top", "two"]);
    out.assert_success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    let titles: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        titles,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(out.stdout.contains("sleep 1001") && out.stdout.contains("sleep 1002"));
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.split_whitespace().nth(1) == Some(&pid.to_string()))
    );
    // No host process slips in.
    assert!(!out.stdout.contains("supervise"), "{}", out.stdout);

    let out = w.ch04(&["top", "two", "-o", "pid,comm"]);
    out.assert_success();
    assert_eq!(
        out.stdout
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["PID", "COMMAND"]
    );
    assert_eq!(out.stdout.lines().count(), 3);

    let out = w.ch04(&["top", "two", "-o", "comm"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("Couldn't find PID field"),
        "{}",
        out.stderr
    );

    w.ch04(&["create", "--name", "idle", "busybox", "true"])
        .assert_success();
    let out = w.ch04(&["top", "idle"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not running"), "{}", out.stderr);
    w.clean_up();
}

#[test]
fn stats_shows_a_busy_core_the_memory_limit_and_the_pids() {
    let Some(w) = World::new("ch04 stats") else {
        return;
    };
    let w = Guarded::new(w);
    w.daemon(
        &["--name", "busy", "--memory", "64m"],
        &["sh", "-c", "sleep 1000 & while :; do :; done"],
    );
    w.daemon(&["--name", "calm"], &["sleep", "1000"]);
    let out = w.ch04(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}};{{.CPUPerc}};{{.MemUsage}};{{.MemPerc}};{{.PIDs}};{{.BlockIO}}",
    ]);
    out.assert_success();
    let rows: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split(';').collect()).collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    let busy = rows.iter().find(|r| r[0] == "busy").expect("busy's row");
    let calm = rows.iter().find(|r| r[0] == "calm").expect("calm's row");
    let percent = |text: &str| text.trim_end_matches('%').parse::<f64>().unwrap();
    // A whole core when the host is idle; other builds share it here.
    assert!(percent(busy[1]) > 10.0, "{busy:?}");
    assert!(percent(calm[1]) < 5.0, "{calm:?}");
    assert!(busy[2].ends_with(" / 64MiB"), "{busy:?}");
    assert!(
        !calm[2].ends_with(" / 64MiB") && calm[2].contains("iB / "),
        "{calm:?}"
    );
    // sh and its sleep: the loop is a builtin, no process of its own.
    assert_eq!((busy[4], calm[4]), ("2", "1"));

    let table = w.ch04(&["stats", "--no-stream", "calm"]);
    table.assert_success();
    let header: Vec<&str> = table
        .stdout
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    assert_eq!(table.stdout.lines().count(), 2);

    // Without --no-stream: the screen is drawn again every second.
    let mut child = w.command(&["stats", "calm"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2600));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.matches("\x1b[2J\x1b[H").count() >= 2, "{text:?}");
    assert!(text.matches("calm").count() >= 2, "{text:?}");
    w.clean_up();
}

#[test]
fn inspect_shows_path_args_entrypoint_and_cmd_as_docker_does() {
    let Some(w) = World::new("ch04 inspect entrypoint") else {
        return;
    };
    let w = Guarded::new(w);
    let tar = w.env.state.path().join("ep.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(w.env.rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    w.ch04(&[
        "import",
        "-c",
        r#"ENTRYPOINT ["/bin/echo","pre"]"#,
        "-c",
        r#"CMD ["a b","c"]"#,
        tar.to_str().unwrap(),
        "epimg",
    ])
    .assert_success();
    std::fs::remove_file(&tar).unwrap();
    let format = "{{json .Path}} {{json .Args}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}";
    // What docker 20.10 prints for the same image and flags.
    let cases: [(&[&str], &str); 5] = [
        (
            &["epimg"],
            r#""/bin/echo" ["pre","a b","c"] ["/bin/echo","pre"] ["a b","c"]"#,
        ),
        (
            &["epimg", "x", "y"],
            r#""/bin/echo" ["pre","x","y"] ["/bin/echo","pre"] ["x","y"]"#,
        ),
        (
            &["--entrypoint", "/bin/true", "epimg"],
            r#""/bin/true" [] ["/bin/true"] null"#,
        ),
        (
            &["--entrypoint=", "epimg", "echo", "hi"],
            r#""echo" ["hi"] null ["echo","hi"]"#,
        ),
        (
            &["busybox", "sh", "-c", "a b"],
            r#""sh" ["-c","a b"] null ["sh","-c","a b"]"#,
        ),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["create"];
        args.extend(flags);
        let created = w.ch04(&args);
        created.assert_success();
        let id = created.stdout.trim();
        let out = w.ch04(&["inspect", "-f", format, id]);
        out.assert_success();
        assert_eq!(out.stdout.trim(), expected, "create {flags:?}");
        w.ch04(&["rm", id]).assert_success();
    }
    w.clean_up();
}
