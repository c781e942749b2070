//! `load [-i FILE] [-q]`: images from a docker-archive or OCI layout archive.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read};

use berth_engine::cli::LoadArgs;
use berth_engine::{Engine, Error, Result};

use crate::archive;
use crate::layer::Limits;
use crate::store::Store;

// ANCHOR: load_command
/// Runs `load`: reads the archive, stores its images, prints docker's lines.
pub fn load(engine: &Engine, args: &LoadArgs) -> Result<i32> {
    let input: Box<dyn Read> = match &args.input {
        Some(path) => {
            Box::new(File::open(path).map_err(|e| Error::failed(format!("open {path}: {e}")))?)
        }
        None if std::io::stdin().is_terminal() => {
            return Err(
                Error::failed("requested load from stdin, but stdin is empty")
                    .hint("pass -i FILE or redirect an archive: load < image.tar"),
            );
        }
        None => Box::new(std::io::stdin()),
    };
    let store = Store::open(&engine.paths)?;
    let report = archive::load(
        &store,
        BufReader::with_capacity(1 << 20, input),
        &Limits::from_env()?,
    )?;
    if args.quiet {
        return Ok(0);
    }
    for moved in &report.replaced {
        println!(
            "The image {} already exists, renaming the old one with ID {} to empty string",
            moved.name.familiar(),
            moved.old_id
        );
    }
    for image in &report.images {
        if image.names.is_empty() {
            println!("Loaded image ID: {}", image.id);
        }
        for name in &image.names {
            println!("Loaded image: {}", name.familiar());
        }
    }
    Ok(0)
}
// ANCHOR_END: load_command
