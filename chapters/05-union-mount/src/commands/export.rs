//! `export [-o FILE] CONTAINER`: the container's whole tree as one tar, the
//! image's layers and the container's changes flattened together.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};

use berth_engine::cli::ExportArgs;
use berth_engine::{Engine, Error, Result};

use super::container::Target;
use super::merged::merged_view;
use super::tree_tar::write_tree;

/// Why an export was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No `-o` and standard output is a terminal.
    #[error("cowardly refusing to save to a terminal. Use the -o flag or redirect")]
    Terminal,
    /// The output file could not be made.
    #[error("failed to export container: {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

impl From<ExportError> for Error {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Terminal => Error::failed(e.to_string()),
            ExportError::Output { .. } => {
                Error::failed(e.to_string()).hint("check that the directory exists and is writable")
            }
        }
    }
}

// ANCHOR: export
/// Runs `export`: the tar goes to `-o FILE` (written beside it, then renamed,
/// so a failed export leaves no half file) or to standard output.
pub fn export(engine: &Engine, args: &ExportArgs) -> Result<i32> {
    if args.output.is_none() && io::stdout().is_terminal() {
        return Err(ExportError::Terminal.into());
    }
    let target = Target::find(engine, &args.container)?;
    let root = merged_view(&target)?;
    match &args.output {
        None => {
            let stdout = io::stdout().lock();
            write_tree(&root, BufWriter::with_capacity(1 << 20, stdout), &|_| false)?;
        }
        Some(path) => write_file(Path::new(path), |out| {
            write_tree(&root, out, &|_| false).map(|_| ())?;
            Ok(())
        })?,
    }
    Ok(0)
}
// ANCHOR_END: export

/// Writes `path` through a temp file in its directory, renamed on success.
pub fn write_file(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let output_error = |source| ExportError::Output {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(
        ".{name}.{}.tmp",
        berth_engine::state::short_id(&berth_engine::state::new_id())
    ));
    let file = File::create(&tmp).map_err(output_error)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let written = write(&mut out).and_then(|()| {
        let file = out.into_inner().map_err(|e| output_error(e.into_error()))?;
        file.sync_all().map_err(output_error)?;
        fs::rename(&tmp, path).map_err(output_error)?;
        Ok(())
    });
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}
