//! `rmi` / `image rm`: untag, and delete an image once nothing names or uses it.
//!
//! docker's rules, in the order it applies them:
//!
//! - by **name**: the name goes (`Untagged: busybox:latest`); if other names
//!   remain, that is all. The last name of an image a container uses is kept
//!   unless `-f`, and with `-f` only the name goes: the image stays, untagged,
//!   for its container.
//! - by **id** (or a unique prefix): an image with several names is refused
//!   unless `-f`; one that a container uses is refused, and with `-f` loses its
//!   names but stays.
//! - an image left with no name and no user is deleted (`Deleted: sha256:…`),
//!   and then so are the layers no other image shares.

use std::collections::HashSet;

use berth_engine::cli::RmiArgs;
use berth_engine::output::Console;
use berth_engine::{Engine, Error, Result};
use oci_spec::image::{Digest, ImageConfiguration};

use crate::commands::images::display_id;
use crate::reference::{NameOrId, Reference};
use crate::store::{ImageRecord, Store, digest_of};

/// Runs `rmi`: every argument is tried; exit 1 if any failed.
pub fn rmi(engine: &Engine, args: &RmiArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    Console::with_std(|console| remove(engine, &store, args, console))
}

// ANCHOR: rmi_command
/// Removes each image of `args.images`, printing docker's `Untagged:` and
/// `Deleted:` lines; a failure is printed as `Error: …` and the next
/// argument is still tried.
pub fn remove(
    engine: &Engine,
    store: &Store,
    args: &RmiArgs,
    console: &mut Console,
) -> Result<i32> {
    let mut failed = false;
    for arg in &args.images {
        let mut lines = Vec::new();
        let result = remove_one(engine, store, arg, args.force, &mut lines);
        for line in lines {
            writeln!(console.out, "{line}")?;
        }
        if let Err(e) = result {
            writeln!(console.err, "Error: {}", e.message())?;
            failed = true;
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn remove_one(
    engine: &Engine,
    store: &Store,
    arg: &str,
    force: bool,
    lines: &mut Vec<String>,
) -> Result<()> {
    let image = store.resolve(arg)?;
    let short = display_id(image.id.as_ref(), false);
    let users = engine.image_users(image.id.as_ref())?;
    match name_given(arg, &image) {
        Some(name) => {
            let last = image.names.len() == 1;
            if last
                && !force
                && let Some(user) = users.first()
            {
                return Err(Error::failed(format!(
                    "conflict: unable to remove repository reference \"{arg}\" (must force) - \
                     {user} is using its referenced image {short}"
                )));
            }
            store.untag(&name)?;
            lines.push(format!("Untagged: {}", name.familiar()));
            if !last || !users.is_empty() {
                return Ok(());
            }
        }
        None => {
            if let Some(user) = users.first() {
                if !force {
                    return Err(Error::failed(format!(
                        "conflict: unable to delete {short} (must be forced) - \
                         image is being used by {user}"
                    )));
                }
                untag_all(store, &image, lines)?;
                return Ok(());
            }
            if image.names.len() > 1 && !force {
                return Err(Error::failed(format!(
                    "conflict: unable to delete {short} (must be forced) - \
                     image is referenced in multiple repositories"
                )));
            }
            untag_all(store, &image, lines)?;
        }
    }
    for id in delete(store, &image)?.ids {
        lines.push(format!("Deleted: {id}"));
    }
    if let Some(driver) = engine.root_filesystem() {
        driver.collect(engine)?;
    }
    Ok(())
}
// ANCHOR_END: rmi_command

/// The name `arg` means, when it names the image (rather than being its id).
fn name_given(arg: &str, image: &ImageRecord) -> Option<Reference> {
    if let NameOrId::Id(_) = NameOrId::classify(arg) {
        return None;
    }
    let name = Reference::parse(arg).ok()?;
    if name.digest.is_some() {
        return None;
    }
    let name = name.with_default_tag();
    image.names.contains(&name).then_some(name)
}

fn untag_all(store: &Store, image: &ImageRecord, lines: &mut Vec<String>) -> Result<()> {
    for name in &image.names {
        store.untag(name)?;
        lines.push(format!("Untagged: {}", name.familiar()));
    }
    Ok(())
}

// ANCHOR: rmi_delete
/// What deleting one image removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// The image id, then the chain id of each layer that went, top first.
    pub ids: Vec<String>,
    /// Bytes of blobs freed.
    pub bytes: u64,
}

/// Forgets the image and collects the blobs nothing needs any more. Reports
/// the image id and then, top layer first, the chain id of each layer that
/// went, as docker does.
pub fn delete(store: &Store, image: &ImageRecord) -> Result<Deleted> {
    let manifest = store.manifest(image)?;
    let config = store.config(image)?;
    store.remove_image(&image.id)?;
    let mut deleted = Deleted {
        ids: vec![image.id.to_string()],
        bytes: 0,
    };
    let collected = store.garbage_collect()?;
    deleted.bytes = collected.bytes;
    let gone: HashSet<&str> = collected.blobs.iter().map(String::as_str).collect();
    let chain = chain_ids(&config);
    for (layer, chain_id) in manifest.layers().iter().zip(&chain).rev() {
        let chain_id = chain_id.to_string();
        if gone.contains(layer.digest().as_ref()) && !deleted.ids.contains(&chain_id) {
            deleted.ids.push(chain_id);
        }
    }
    Ok(deleted)
}
// ANCHOR_END: rmi_delete

/// Chain ids of an image's layers: the first is its diff id, each next one the
/// digest of "`<previous chain id> <diff id>`" (OCI image spec, config.md).
pub fn chain_ids(config: &ImageConfiguration) -> Vec<Digest> {
    let mut chain: Vec<Digest> = Vec::new();
    for diff_id in config.rootfs().diff_ids() {
        let next = match chain.last() {
            None => Digest::try_from(diff_id.as_str()).ok(),
            Some(previous) => digest_of(format!("{previous} {diff_id}").as_bytes())
                .ok()
                .map(|blob| blob.digest),
        };
        match next {
            Some(digest) => chain.push(digest),
            None => break,
        }
    }
    chain
}
