//! `wait CONTAINER…`: block until each stops, print its exit code.

use berth_engine::cli::ContainersArgs;
use berth_engine::{Engine, Result};

use super::World;
use crate::supervisor::protocol::{self, Request};

/// `wait`: one exit code per line; exit 1 if any container was missing.
pub fn wait(engine: &Engine, args: &ContainersArgs) -> Result<i32> {
    let world = World::open(engine)?;
    let mut failed = false;
    for given in &args.containers {
        match world.find(given) {
            Ok(record) => {
                let code = match record.state.status.is_active() {
                    true => protocol::send(engine, &record.id, &Request::Wait)
                        .ok()
                        .and_then(|mut s| protocol::reply(&mut s, None).ok().flatten())
                        .and_then(|r| r.exit_code),
                    false => None,
                };
                let code = code.unwrap_or_else(|| {
                    world
                        .find(given)
                        .map_or(record.state.exit_code, |r| r.state.exit_code)
                });
                println!("{code}");
            }
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}
