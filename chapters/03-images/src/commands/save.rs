//! `save [-o FILE] IMAGE…`: images to one archive docker, podman and skopeo read.

use std::fs::{self, File};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use berth_engine::cli::SaveArgs;
use berth_engine::{Engine, Error, Result};

use crate::archive::{self, SaveItem};
use crate::reference::Reference;
use crate::store::Store;

/// Runs `save`. With `-o` the archive appears whole or not at all (written
/// beside the target, then renamed); `-o x.gz` is still a plain tar, as in docker.
pub fn save(engine: &Engine, args: &SaveArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    let mut items: Vec<SaveItem> = Vec::new();
    for wanted in &args.images {
        let image = store
            .resolve(wanted)
            .map_err(|_| Error::failed(format!("No such image: {wanted}")))?;
        // Names the user gave travel with the image; an id (or id prefix) carries none.
        let name = Reference::parse(wanted)
            .ok()
            .map(|r| r.with_default_tag())
            .filter(|r| image.names.contains(r));
        match items.iter_mut().find(|item| item.image.id == image.id) {
            Some(item) => item.names.extend(name),
            None => items.push(SaveItem {
                image,
                names: name.into_iter().collect(),
            }),
        }
    }
    match &args.output {
        Some(path) => save_to_file(&store, &items, Path::new(path))?,
        None if std::io::stdout().is_terminal() => {
            return Err(Error::failed("cowardly refusing to save to a terminal")
                .hint("use the -o flag or redirect"));
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            archive::save(&store, &items, &mut out)?;
            out.flush()
                .map_err(|e| Error::failed(format!("writing the archive: {e}")))?;
        }
    }
    Ok(0)
}

fn save_to_file(store: &Store, items: &[SaveItem], path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::failed(format!("{}: not a file name", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.berth-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> Result<()> {
        let file = File::create(&tmp)
            .map_err(|e| Error::failed(format!("creating {}: {e}", tmp.display())))?;
        let mut out = BufWriter::new(file);
        archive::save(store, items, &mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| Error::failed(format!("writing {}: {e}", tmp.display())))?;
        file.sync_all()
            .map_err(|e| Error::failed(format!("syncing {}: {e}", tmp.display())))?;
        fs::rename(&tmp, path)
            .map_err(|e| Error::failed(format!("renaming onto {}: {e}", path.display())))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}
