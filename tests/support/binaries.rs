//! Where the chapter binaries are: next to the test executable, in cargo's
//! `target/<profile>/`, after `cargo build --workspace --bins`.
//!
//! Integration tests of this package cannot use `CARGO_BIN_EXE_*` for binaries of
//! other packages, so the path is derived from the running test's own location.

use std::path::PathBuf;

/// A binary under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// Chapter 01: isolation.
    Ch01,
    /// Chapter 02: isolation and resources.
    Ch02,
    /// Chapter 03: images.
    Ch03,
    /// The finished tool, every chapter registered.
    Berth,
}

impl Binary {
    /// The file name cargo gives the binary.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Ch01 => "ch01",
            Binary::Ch02 => "ch02",
            Binary::Ch03 => "ch03",
            Binary::Berth => "berth",
        }
    }

    /// The binary's path; panics with the command that builds it when it is missing.
    pub fn path(self) -> PathBuf {
        let dir = target_dir();
        let path = dir.join(self.name());
        assert!(
            path.is_file(),
            "{} is missing: run `cargo build --workspace --bins` (with the same \
             CARGO_TARGET_DIR and profile as the tests) before the end-to-end tests",
            path.display()
        );
        path
    }
}

/// `target/<profile>/`: the test executable lives in its `deps/` subdirectory.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable has a directory");
    match deps.file_name().and_then(|n| n.to_str()) {
        Some("deps") => deps.parent().expect("deps has a parent").to_path_buf(),
        _ => deps.to_path_buf(),
    }
}
