//! Refusing what a later chapter teaches, and saying so in `--help`.

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory};

use crate::cli::{Cli, chapter_name, command_chapter, heading_chapter};
use crate::error::{Error, Result};

/// The whole CLI for `program`, with untaught commands and flags marked in help.
pub fn declare(program: &'static str, teaches: &dyn Fn(u8) -> bool) -> clap::Command {
    let cmd = Cli::command().name(program).bin_name(program);
    mark(cmd, &mut Vec::new(), program, teaches)
}

fn untaught_note(n: u8, program: &str) -> String {
    format!("[chapter {n:02} · {}: not in {program}]", chapter_name(n))
}

fn mark(
    mut cmd: clap::Command,
    path: &mut Vec<String>,
    program: &str,
    teaches: &dyn Fn(u8) -> bool,
) -> clap::Command {
    if !path.is_empty() {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        let n = command_chapter(&names);
        if !teaches(n) {
            let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
            cmd = cmd.about(format!("{about} {}", untaught_note(n, program)));
        }
    }
    let untaught: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|arg| {
            let heading = arg.get_help_heading()?;
            let n = heading_chapter(heading)?;
            (!teaches(n)).then(|| {
                (
                    arg.get_id().to_string(),
                    format!("{heading} (not in {program} yet)"),
                )
            })
        })
        .collect();
    for (id, heading) in untaught {
        cmd = cmd.mut_arg(id, |a| a.help_heading(heading));
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        path.push(name.clone());
        cmd = cmd.mut_subcommand(&name, |sub| mark(sub, path, program, teaches));
        path.pop();
    }
    cmd
}

// ANCHOR: gate_check
/// Fails with exit 125 when the command line uses a command or flag of a chapter
/// this binary does not register.
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

    fn gate(args: &[&str], upto: u8) -> Result<()> {
        let teaches = move |n: u8| n <= upto;
        let cmd = declare("chNN", &teaches);
        let m = cmd.clone().try_get_matches_from(args).unwrap();
        check(&cmd, &m, &teaches)
    }

    #[test]
    fn a_later_flag_names_its_chapter() {
        let e = gate(&["x", "run", "-p", "80:80", "--rootfs", "/r", "true"], 2).unwrap_err();
        assert_eq!(
            e.message(),
            "-p/--publish is taught in chapter 07 (networking)"
        );
        assert_eq!(e.exit_code(), 125);
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
        let teaches = |n: u8| n <= 1;
        let mut cmd = declare("ch01", &teaches);
        let help = cmd
            .find_subcommand_mut("run")
            .unwrap()
            .render_help()
            .to_string();
        assert!(
            help.contains("Chapter 07 · networking (not in ch01 yet)"),
            "{help}"
        );
        assert!(help.contains("Chapter 01 · isolation:"), "{help}");
    }
}
