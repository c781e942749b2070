//! Chapter 01's command line end to end: docker's exit codes for usage errors and
//! the one-line message naming the chapter that teaches what is not here yet.

use berth_tests::{Binary, TestEnv, assert_nothing_left};

#[test]
fn a_command_of_a_later_chapter_exits_125_naming_it() {
    let Some(env) = TestEnv::new("a_command_of_a_later_chapter_exits_125_naming_it") else {
        return;
    };
    let out = env.run(Binary::Ch01, &["ps"]);
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(out.stderr, "ch01: ps is taught in chapter 04 (lifecycle)\n");
    assert_nothing_left(&env);
}

#[test]
fn a_flag_of_a_later_chapter_exits_125_naming_it() {
    let Some(env) = TestEnv::new("a_flag_of_a_later_chapter_exits_125_naming_it") else {
        return;
    };
    for (options, message) in [
        (
            &["-p", "80:80"][..],
            "ch01: -p/--publish is taught in chapter 07 (networking)\n",
        ),
        (
            &["--memory", "64m"],
            "ch01: -m/--memory is taught in chapter 02 (resources)\n",
        ),
    ] {
        let out = env.container(Binary::Ch01, options, &["true"]);
        assert_eq!(out.code, 125, "{options:?}: {out:#?}");
        assert_eq!(out.stderr, message);
    }
    assert_nothing_left(&env);
}

#[test]
fn an_unknown_flag_exits_125() {
    let Some(env) = TestEnv::new("an_unknown_flag_exits_125") else {
        return;
    };
    let out = env.run(Binary::Ch01, &["--bogus"]);
    assert_eq!(out.code, 125, "{out:#?}");
    let out = env.run(Binary::Ch01, &["run", "--rootfs"]);
    assert_eq!(out.code, 125, "a flag without its value: {out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn an_unknown_run_flag_before_the_command_exits_125_naming_it() {
    let Some(env) = TestEnv::new("an_unknown_run_flag_before_the_command_exits_125_naming_it")
    else {
        return;
    };
    let out = env.container(Binary::Ch01, &["--bogus"], &["true"]);
    assert_eq!(out.code, 125, "{out:#?}");
    assert!(out.stderr.contains("--bogus"), "{out:#?}");
    let rootfs = env.rootfs().to_string_lossy().into_owned();
    let out = env.run(
        Binary::Ch01,
        &["run", "--bogus", "--rootfs", &rootfs, "true"],
    );
    assert_eq!(out.code, 125, "{out:#?}");
    assert!(out.stderr.contains("--bogus"), "{out:#?}");
    assert_nothing_left(&env);
}

#[test]
fn help_exits_0_and_marks_what_is_not_taught_yet() {
    let Some(env) = TestEnv::new("help_exits_0_and_marks_what_is_not_taught_yet") else {
        return;
    };
    let out = env.run(Binary::Ch01, &["--help"]);
    assert_eq!(out.code, 0, "{out:#?}");
    let ps = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("ps "))
        .unwrap_or_else(|| panic!("no ps line: {}", out.stdout));
    assert!(ps.contains("chapter 04"), "{ps}");
    assert!(ps.contains("not in ch01"), "{ps}");
    let berth = env.run(Binary::Berth, &["--help"]);
    assert_eq!(berth.code, 0, "{berth:#?}");
    assert!(
        berth.stdout.contains("\n  ps "),
        "the whole surface: {}",
        berth.stdout
    );
    assert_nothing_left(&env);
}

#[test]
fn a_user_without_root_gets_one_line_and_nothing_is_made() {
    let Some(env) = TestEnv::new("a_user_without_root_gets_one_line_and_nothing_is_made") else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let mut command = env.container_command(Binary::Ch01, &[], &["true"]);
    command.uid(65534).gid(65534);
    let out = berth_tests::env::finish(berth_tests::env::spawn(&mut command));
    assert_eq!(out.code, 125, "{out:#?}");
    assert_eq!(
        out.stderr,
        "ch01: containers need root privileges (namespaces, mounts, cgroups); run this command as root, e.g. with sudo\n"
    );
    assert_eq!(
        std::fs::read_dir(env.own_dirs()[2]).unwrap().count(),
        0,
        "nothing was made under BERTH_RUN"
    );
    assert_nothing_left(&env);
}
