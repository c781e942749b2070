//! # berth-engine: the seam every chapter plugs into
//!
//! The engine holds what every chapter needs and nothing a chapter teaches:
//!
//! - [`cli`]: the whole docker-compatible command line, declared once, with the
//!   chapter that teaches each command and flag;
//! - [`gate`]: refusing, with exit 125, what this binary's chapters do not teach;
//! - [`chapter`]: the [`Chapter`] trait, its slots, and the [`Engine`] that asks
//!   the registered chapters in order;
//! - [`state`]: the state root, atomic writes, locks, ids;
//! - [`error`]: the one error type, with docker's exit codes;
//! - [`output`]: tables and sizes as docker prints them.
//!
//! A chapter binary is three lines: `berth_engine::main("ch02", &[&ISOLATION, &RESOURCES])`.
//! The book's "Architecture" page walks through this crate.
#![deny(missing_docs)]

pub mod chapter;
pub mod cli;
pub mod error;
pub mod format;
pub mod gate;
pub mod output;
pub mod prune;
pub mod state;

pub use chapter::{
    Cgroups, Chapter, ContainerPlan, Engine, Placement, ReferenceHolder, RootFilesystem,
};
pub use error::{Error, Result};
pub use oci_spec;

use clap::FromArgMatches;
use clap::error::ErrorKind;

/// Runs the binary `program` with `chapters` registered and exits with the
/// command's exit code.
pub fn main(program: &'static str, chapters: &[&'static dyn Chapter]) -> ! {
    // Rust ignores SIGPIPE; a command-line tool should die quietly when the reader
    // of its output goes away (`berth images | head -1`), as docker does.
    // SAFETY: setting a signal's disposition to its default before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let code = run(program, chapters, std::env::args_os());
    std::process::exit(code)
}

// ANCHOR: engine_run
/// Parses `args`, refuses untaught commands and flags, and dispatches to the
/// highest chapter that handles the command. Returns the exit code.
pub fn run(
    program: &'static str,
    chapters: &[&'static dyn Chapter],
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> i32 {
    let engine = Engine::new(program, chapters, state::Paths::from_env());
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    if let Some(command) = cli::Internal::parse_hidden(&args) {
        return match engine.dispatch(&command) {
            Ok(code) => code,
            Err(e) => {
                report(program, &e);
                e.exit_code()
            }
        };
    }
    let teaches = |n: u8| engine.teaches(n);
    let mut cmd = gate::declare(program);
    let matches = match gate::parse(&mut cmd, &args, program, &teaches) {
        Ok(matches) => matches,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                // docker exits 125 on every usage error; clap's default is 2.
                _ => error::exit::USAGE,
            };
        }
    };
    let result = gate::check(&cmd, &matches, &teaches)
        .and_then(|()| {
            cli::Cli::from_arg_matches(&matches).map_err(|e| Error::usage(e.to_string()))
        })
        .and_then(|cli| engine.dispatch(&cli.command));
    match result {
        Ok(code) => code,
        Err(e) => {
            report(program, &e);
            e.exit_code()
        }
    }
}
// ANCHOR_END: engine_run

/// Prints an error as one line on stderr: `program: message; hint`.
pub fn report(program: &str, error: &Error) {
    eprintln!("{program}: {error}");
}
