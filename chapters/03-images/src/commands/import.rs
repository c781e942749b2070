//! `import FILE|URL|- [REPOSITORY[:TAG]]`: a file-system tarball becomes an image.

use std::fs::File;
use std::io::{BufReader, Read};

use berth_engine::cli::ImportArgs;
use berth_engine::{Engine, Error, Result};
use oci_spec::image::Config;

use crate::archive::{self, ImportOptions};
use crate::changes::apply_change;
use crate::layer::Limits;
use crate::reference::Reference;
use crate::store::Store;

/// Runs `import`: prints the new image's id, as docker does.
pub fn import(engine: &Engine, args: &ImportArgs) -> Result<i32> {
    let name = args
        .repository
        .as_deref()
        .map(Reference::parse)
        .transpose()?
        .map(|r| r.with_default_tag());
    let mut config = Config::default();
    for change in &args.change {
        apply_change(&mut config, change).map_err(|e| e.code(1))?;
    }
    if args.source.starts_with("http://") || args.source.starts_with("https://") {
        return Err(Error::failed(format!(
            "import from {}: importing from a URL is not supported yet",
            args.source
        ))
        .hint("download the file first and import it: import FILE"));
    }
    let input: Box<dyn Read> = match args.source.as_str() {
        "-" => Box::new(std::io::stdin()),
        path => Box::new(File::open(path).map_err(|e| Error::failed(format!("open {path}: {e}")))?),
    };
    let options = ImportOptions {
        // docker's CLI streams a local file as the request body, so both read "Imported from -".
        comment: args
            .message
            .clone()
            .unwrap_or_else(|| "Imported from -".into()),
        config: Some(config),
        name,
    };
    let store = Store::open(&engine.paths)?;
    let imported = archive::import(
        &store,
        BufReader::with_capacity(1 << 20, input),
        &options,
        &Limits::from_env()?,
    )?;
    println!("{}", imported.id);
    Ok(0)
}
