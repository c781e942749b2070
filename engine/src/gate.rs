//! Refusing what a later chapter teaches, and saying so in `--help`.

use std::ffi::OsString;

use clap::builder::Resettable;
use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, CommandFactory};

use crate::cli::{Cli, chapter_name, command_chapter, heading_chapter};
use crate::error::{Error, Result};

/// The whole CLI for `program`. Clap fills in each command's flags only when the
/// parser reaches it (see `cli.rs`); [`parse`] marks what is not taught.
pub fn declare(program: &'static str) -> clap::Command {
    Cli::command().name(program).bin_name(program)
}

// ANCHOR: gate_parse
/// Parses `args` with `cmd` from [`declare`]. On an error, and on `--help` and
/// `--version`, which clap reports as errors, the message comes from the CLI with
/// the commands and flags `program` does not teach marked.
pub fn parse(
    cmd: &mut clap::Command,
    args: &[OsString],
    program: &str,
    teaches: &dyn Fn(u8) -> bool,
) -> std::result::Result<ArgMatches, clap::Error> {
    cmd.try_get_matches_from_mut(args).or_else(|_| {
        // The help clap rendered shows the flags it filled in on the way, before
        // they could be marked: mark them, and let clap render it again.
        mark(cmd, program, teaches);
        cmd.try_get_matches_from_mut(args)
    })
}
// ANCHOR_END: gate_parse

/// Marks, in help text, the commands and the filled-in flags that `program` does
/// not teach. Marks add up: call it once per `cmd`.
pub fn mark(cmd: &mut clap::Command, program: &str, teaches: &dyn Fn(u8) -> bool) {
    let declared = Cli::command();
    mark_commands(cmd, &declared, &mut Vec::new(), program, teaches);
}

fn untaught_note(n: u8, program: &str) -> String {
    format!("[chapter {n:02} · {}: not in {program}]", chapter_name(n))
}

fn mark_commands<'d>(
    cmd: &mut clap::Command,
    declared: &'d clap::Command,
    path: &mut Vec<&'d str>,
    program: &str,
    teaches: &dyn Fn(u8) -> bool,
) {
    // When clap fills in a deferred command, its derive applies the doc comment of
    // the flags struct (`RunArgs`) as the about; the command's own is the declared one.
    let mut about = declared.get_about().cloned();
    if !path.is_empty() {
        let n = command_chapter(path);
        if !teaches(n) {
            let own = about.map(|a| a.to_string()).unwrap_or_default();
            about = Some(format!("{own} {}", untaught_note(n, program)).into());
        }
    }
    *cmd = std::mem::take(cmd)
        .about(Resettable::from(about))
        .long_about(Resettable::from(declared.get_long_about().cloned()))
        // In place: the parser has indexed the flags it filled in by position.
        .mut_args(|arg| mark_flag(arg, program, teaches));
    for sub in cmd.get_subcommands_mut() {
        // clap's own `help` subcommand is not declared and teaches nothing.
        let Some(declared) = declared.find_subcommand(sub.get_name()) else {
            continue;
        };
        path.push(declared.get_name());
        mark_commands(sub, declared, path, program, teaches);
        path.pop();
    }
}

/// Appends "(not in `program` yet)" to the heading of a flag of an untaught chapter.
fn mark_flag(arg: Arg, program: &str, teaches: &dyn Fn(u8) -> bool) -> Arg {
    let Some(heading) = arg.get_help_heading() else {
        return arg;
    };
    match heading_chapter(heading) {
        Some(n) if !teaches(n) => {
            let marked = format!("{heading} (not in {program} yet)");
            arg.help_heading(marked)
        }
        _ => arg,
    }
}

// ANCHOR: gate_check
/// Fails with exit 125 when the command line uses a command or flag of a chapter
/// this binary does not register. `cmd` is the one that parsed `matches`: its
/// commands on the way hold their flags.
pub fn check(
    cmd: &clap::Command,
    matches: &ArgMatches,
    teaches: &dyn Fn(u8) -> bool,
) -> Result<()> {
    let (mut cmd, mut matches, mut path) = (cmd, matches, Vec::new());
    while let Some((name, sub_matches)) = matches.subcommand() {
        path.push(name);
        cmd = cmd
            .find_subcommand(name)
            .expect("clap matched a declared subcommand");
        matches = sub_matches;
    }
    let n = command_chapter(&path);
    if !teaches(n) {
        return Err(taught_in(&path.join(" "), n));
    }
    for arg in cmd.get_arguments() {
        let Some(n) = arg.get_help_heading().and_then(heading_chapter) else {
            continue;
        };
        let id = arg.get_id().as_str();
        if !teaches(n) && matches.value_source(id) == Some(ValueSource::CommandLine) {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("-{s}/--{l}"),
                (None, Some(l)) => format!("--{l}"),
                (Some(s), None) => format!("-{s}"),
                (None, None) => id.to_string(),
            };
            return Err(taught_in(&flag, n));
        }
    }
    Ok(())
}
// ANCHOR_END: gate_check

/// "`what` is taught in chapter NN (name)", exit 125.
pub fn taught_in(what: &str, n: u8) -> Error {
    Error::usage(format!(
        "{what} is taught in chapter {n:02} ({})",
        chapter_name(n)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn gate(args: &[&str], upto: u8) -> Result<()> {
        let teaches = move |n: u8| n <= upto;
        let mut cmd = declare("chNN");
        let m = parse(&mut cmd, &os(args), "chNN", &teaches).unwrap();
        check(&cmd, &m, &teaches)
    }

    /// What `program` makes of `args`, as `run` does: a fresh CLI, [`parse`], [`check`].
    fn printed(program: &'static str, upto: u8, args: &[&str]) -> String {
        let mut cmd = declare(program);
        let parsed = parse(&mut cmd, &os(args), program, &|n| n <= upto);
        outcome(&cmd, parsed, upto)
    }

    /// Clap's error kind and its message with its styles, the gate's refusal, or
    /// "accepted".
    fn outcome(
        cmd: &clap::Command,
        parsed: std::result::Result<ArgMatches, clap::Error>,
        upto: u8,
    ) -> String {
        match parsed.map(|matches| check(cmd, &matches, &|n| n <= upto)) {
            Ok(Ok(())) => "accepted".to_string(),
            Ok(Err(refusal)) => format!("refused: {refusal}"),
            Err(e) => format!("{:?}\n{}", e.kind(), e.render().ansi()),
        }
    }

    #[test]
    fn a_later_flag_names_its_chapter() {
        let e = gate(&["x", "run", "-p", "80:80", "--rootfs", "/r", "true"], 2).unwrap_err();
        assert_eq!(
            e.message(),
            "-p/--publish is taught in chapter 07 (networking)"
        );
        assert_eq!(e.exit_code(), 125);
        let e = gate(&["x", "container", "create", "--dns", "1.1.1.1", "img"], 4).unwrap_err();
        assert_eq!(e.message(), "--dns is taught in chapter 07 (networking)");
    }

    #[test]
    fn a_later_command_names_its_chapter() {
        let e = gate(&["x", "ps"], 1).unwrap_err();
        assert_eq!(e.message(), "ps is taught in chapter 04 (lifecycle)");
        let e = gate(&["x", "image", "pull", "busybox"], 3).unwrap_err();
        assert_eq!(e.message(), "image pull is taught in chapter 08 (registry)");
    }

    #[test]
    fn taught_flags_pass() {
        gate(&["x", "run", "--memory", "1g", "--rootfs", "/r", "true"], 2).unwrap();
        gate(&["x", "run", "-it", "--rootfs", "/r", "sh"], 1).unwrap();
    }

    #[test]
    fn help_marks_what_is_not_taught() {
        let help = printed("ch01", 1, &["ch01", "run", "--help"]);
        assert!(
            help.contains("Chapter 07 · networking (not in ch01 yet)"),
            "{help}"
        );
        assert!(help.contains("Chapter 01 · isolation:"), "{help}");
        let help = printed("ch01", 1, &["ch01", "--help"]);
        assert!(
            help.contains("[chapter 04 · lifecycle: not in ch01]"),
            "{help}"
        );
        let help = printed("ch03", 3, &["ch03", "container", "ls", "--help"]);
        assert!(
            help.contains("List containers [chapter 04 · lifecycle: not in ch03]"),
            "{help}"
        );
    }

    #[test]
    fn only_the_invoked_command_has_its_flags_filled_in() {
        let mut cmd = declare("chNN");
        parse(&mut cmd, &os(&["chNN", "ps", "-a"]), "chNN", &|_| true).unwrap();
        let flags = |path: &[&str]| {
            let mut cmd = &cmd;
            for name in path {
                cmd = cmd.find_subcommand(name).unwrap();
            }
            cmd.get_arguments().count()
        };
        assert!(flags(&["ps"]) > 0);
        assert_eq!(flags(&["run"]), 0);
        assert_eq!(flags(&["container", "ls"]), 0);
    }

    #[test]
    fn a_filled_in_command_keeps_its_own_about_not_its_flags_struct_doc() {
        for (command, about) in [
            ("stop", "Stop one or more running containers\n"),
            ("restart", "Restart one or more containers\n"),
            ("create", "Create a new container\n"),
        ] {
            let help = printed("berth", 10, &["berth", command, "--help"]);
            assert!(help.starts_with(&format!("DisplayHelp\n{about}")), "{help}");
        }
    }

    /// A long about would change clap's `--help` line ("see more with '--help'"), which
    /// clap decides when it fills a command in, before [`mark`] restores the about.
    #[test]
    fn no_command_has_a_long_about() {
        fn walk(cmd: &clap::Command) {
            assert!(
                cmd.get_long_about().is_none(),
                "{}: one paragraph of doc comment",
                cmd.get_name()
            );
            cmd.get_subcommands().for_each(walk);
        }
        walk(&Cli::command());
    }

    /// The CLI built in full, as before its commands were deferred: every command
    /// filled in up front, then marked.
    fn full_build(program: &'static str, upto: u8) -> clap::Command {
        let mut cmd = declare(program);
        cmd.build();
        mark(&mut cmd, program, &|n| n <= upto);
        cmd
    }

    /// Every command line worth comparing: for each command (by name and by alias)
    /// its help, its usage errors, and for groups an unknown or misspelled command.
    fn command_lines(cmd: &clap::Command, path: &mut Vec<String>, lines: &mut Vec<Vec<String>>) {
        let with = |path: &[String], rest: &[&str]| {
            let mut line = path.to_vec();
            line.extend(rest.iter().map(|s| s.to_string()));
            line
        };
        for rest in [
            &["--help"][..],
            &["-h"],
            &["--bogus"],
            &[],
            &["x"],
            &["x", "y", "z"],
        ] {
            lines.push(with(path, rest));
        }
        if cmd.has_subcommands() {
            for rest in [&["bogus"][..], &["help"], &["--version"], &["-V"]] {
                lines.push(with(path, rest));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = sub.get_name().to_string();
            lines.push(with(path, &[&format!("{name}x")]));
            lines.push(with(path, &["help", &name]));
            for alias in sub.get_all_aliases() {
                lines.push(with(path, &[alias, "--help"]));
            }
            path.push(name);
            command_lines(sub, path, lines);
            path.pop();
        }
    }

    #[test]
    fn every_command_prints_what_the_full_build_prints() {
        for (program, upto) in [("ch03", 3), ("berth", 5), ("berth", 10)] {
            let mut full = full_build(program, upto);
            let mut lines = Vec::new();
            command_lines(&full, &mut vec![program.to_string()], &mut lines);
            assert!(lines.len() > 500, "{} command lines", lines.len());
            for line in &lines {
                let args: Vec<&str> = line.iter().map(String::as_str).collect();
                let parsed = full.try_get_matches_from_mut(&args);
                let expected = outcome(&full, parsed, upto);
                assert_eq!(
                    printed(program, upto, &args),
                    expected,
                    "{program} up to {upto}: {args:?}"
                );
            }
        }
    }
}
