//! `rename CONTAINER NEW_NAME`: the same name rules and conflicts as `create`.

use berth_engine::cli::RenameArgs;
use berth_engine::{Engine, Error, Result};

use super::World;
use crate::events;
use crate::names::validate;

// ANCHOR: rename
/// Claims the new name first (so a conflict changes nothing), then writes the
/// record, then frees the old name.
pub fn rename(engine: &Engine, args: &RenameArgs) -> Result<i32> {
    let world = World::open(engine)?;
    let record = world.find(&args.container)?;
    let daemon = |e: String| Error::failed(format!("Error response from daemon: {e}"));
    let new = args.new_name.strip_prefix('/').unwrap_or(&args.new_name);
    validate(new).map_err(|e| daemon(e.to_string()))?;
    if new == record.name {
        return Err(daemon(
            "Renaming a container with the same name as its current name".into(),
        ));
    }
    world
        .names
        .reserve(Some(new), &record.id)
        .map_err(|e| daemon(e.to_string()))?;
    match world
        .containers
        .update(&record.id, |r| r.name = new.to_string())
    {
        Ok((renamed, ())) => {
            world.names.release(&record.name, &record.id);
            let old = format!("/{}", record.name);
            events::emit(engine, &renamed, "rename", &[("oldName", old)]);
            Ok(0)
        }
        Err(e) => {
            world.names.release(new, &record.id);
            Err(e.into())
        }
    }
}
// ANCHOR_END: rename
