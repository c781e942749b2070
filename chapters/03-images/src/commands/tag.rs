//! `tag SOURCE TARGET`: one more name for an image.

use berth_engine::cli::TagArgs;
use berth_engine::{Engine, Result};

use crate::reference::Reference;
use crate::store::{Store, StoreError};

/// Runs `tag`: nothing is printed on success, as in docker.
pub fn tag(engine: &Engine, args: &TagArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    tag_image(&store, args)
}

// ANCHOR: tag_command
/// Names the image `args.source` resolves to `args.target` (the name moves if
/// another image had it). The target is checked first, as docker's client does,
/// so `tag x UPPER` fails on the name even when `x` does not exist.
pub fn tag_image(store: &Store, args: &TagArgs) -> Result<i32> {
    let target = Reference::parse(&args.target)?;
    if target.digest.is_some() {
        return Err(StoreError::DigestName {
            name: args.target.clone(),
        }
        .into());
    }
    let image = store.resolve(&args.source)?;
    store.tag(&image.manifest, &target)?;
    Ok(0)
}
// ANCHOR_END: tag_command
