//! `import FILE|URL|- [REPOSITORY[:TAG]]`: a file-system tarball becomes an image.

use std::fs::File;
use std::io::{BufReader, Read};

use berth_engine::cli::ImportArgs;
use berth_engine::{Engine, Error, Result};

use crate::archive::{self, ImportOptions};
use crate::changes::new_image_request;
use crate::layer::Limits;
use crate::store::Store;

/// Runs `import`: prints the new image's id, as docker does.
pub fn import(engine: &Engine, args: &ImportArgs) -> Result<i32> {
    let (name, config) = new_image_request(args.repository.as_deref(), &args.change)?;
    let is_url = args.source.starts_with("http://") || args.source.starts_with("https://");
    let input: Box<dyn Read> = match args.source.as_str() {
        "-" => Box::new(std::io::stdin()),
        url if is_url => download(url)?,
        path => Box::new(File::open(path).map_err(|e| Error::failed(format!("open {path}: {e}")))?),
    };
    // docker's CLI streams a local file as the request body, so a file and stdin
    // both read "Imported from -"; a URL is fetched by the engine and named.
    let from = if is_url { args.source.as_str() } else { "-" };
    let options = ImportOptions {
        comment: args
            .message
            .clone()
            .unwrap_or_else(|| format!("Imported from {from}")),
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

// ANCHOR: download
/// Streams the body of an http(s) URL: the tarball is stored as it arrives,
/// never held in memory whole. TLS is rustls with the system's certificates.
fn download(url: &str) -> Result<Box<dyn Read>> {
    // Installing the provider twice is harmless: the second call only reports it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let failed = |e: reqwest::Error| Error::failed(format!("import from {url}: {e}"));
    let client = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .map_err(failed)?;
    let response = client
        .get(url)
        .send()
        .and_then(|r| r.error_for_status())
        .map_err(failed)?;
    Ok(Box::new(response))
}
// ANCHOR_END: download
