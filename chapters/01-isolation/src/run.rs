//! `ch01 run --rootfs DIR CMD…`: write a bundle and run it.

use berth_engine::cli::RunArgs;
use berth_engine::{Engine, Error, Result};

/// Runs `ch01 run`.
pub fn run(_engine: &Engine, _args: &RunArgs) -> Result<i32> {
    Err(Error::usage("run: being written"))
}
