//! A test world that removes its containers even when the test fails, so a
//! failed assertion leaves no supervisor, process or cgroup on the host.

use std::ops::Deref;
use std::time::{Duration, Instant};

use crate::common::World;

/// Owns a [`World`]; on a panic, removes every container it made.
pub struct Guarded(Option<World>);

impl Guarded {
    pub fn new(world: World) -> Guarded {
        Guarded(Some(world))
    }

    /// The normal end: remove everything, then check nothing is left.
    pub fn clean_up(mut self) {
        if let Some(world) = self.0.take() {
            world.clean_up();
        }
    }
}

impl Deref for Guarded {
    type Target = World;

    fn deref(&self) -> &World {
        self.0.as_ref().expect("the world until clean_up")
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let Some(world) = &self.0 else { return };
        if !std::thread::panicking() {
            return;
        }
        // No panic in here (a second one aborts): plain commands, bounded waits.
        let Ok(ids) = world.command(&["ps", "-aq"]).output() else {
            return;
        };
        let ids = String::from_utf8_lossy(&ids.stdout).into_owned();
        let mut args = vec!["rm", "-f"];
        args.extend(ids.split_whitespace());
        if args.len() > 2
            && let Ok(mut child) = world.command(&args).spawn()
        {
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
