//! The OCI runtime: `create`, `start`, `state`, `kill`, `delete`, `run` on a bundle.

use berth_engine::cli::RuntimeCommand;
use berth_engine::{Engine, Error, Result};

/// Runs one `runtime` subcommand.
pub fn command(_engine: &Engine, _cmd: &RuntimeCommand) -> Result<i32> {
    Err(Error::usage("runtime: being written"))
}
