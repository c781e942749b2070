//! `cargo xtask book [--update|--check]`: build the book, refresh or check its "try it" outputs.

mod anchors;
mod normalise;
mod tryit;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::bail;

use crate::util;

/// Runs `cargo xtask book`, `cargo xtask book --update` or `cargo xtask book --check`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args {
        [] => {
            let index = build()?;
            println!("the book is at {}", index.display());
            Ok(())
        }
        [flag] if flag == "--update" => update(),
        [flag] if flag == "--check" => check(),
        _ => bail!("usage: cargo xtask book [--update|--check]"),
    }
}

/// What CI checks: the book builds, every included anchor holds code, no output is stale.
pub fn check() -> anyhow::Result<()> {
    build()?;
    check_anchors()?;
    check_tryit()
}

/// Builds the book with mdBook into `target/book` and returns the path of its index page.
pub fn build() -> anyhow::Result<PathBuf> {
    let mdbook = util::ensure_mdbook()?;
    let book_dir = util::repo_root().join("book");
    util::run(Command::new(mdbook).arg("build").arg(&book_dir))?;
    // book.toml sets build-dir = "../target/book"; mdBook resolves it against book/.
    Ok(util::repo_root().join("target/book/index.html"))
}

fn check_anchors() -> anyhow::Result<()> {
    let problems = anchors::check_book(&util::repo_root().join("book/src"))?;
    if problems.is_empty() {
        println!("anchors: every include points at a region with code");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("{} broken include(s) in the book", problems.len())
}

/// Regenerates the outputs into a scratch directory and compares them with the committed ones.
fn check_tryit() -> anyhow::Result<()> {
    let manifests = tryit::read_manifests(&tryit::tryit_dir())?;
    let fresh = tempfile::Builder::new()
        .prefix("berth-tryit-check-")
        .tempdir()?;
    if tryit::has_commands(&manifests) {
        tryit::generate(&manifests, &fresh_binaries()?, fresh.path())?;
    }
    let problems = tryit::compare(&manifests, fresh.path(), &tryit::tryit_dir())?;
    if problems.is_empty() {
        let count: usize = manifests
            .iter()
            .map(|(_, manifest)| manifest.command.len())
            .sum();
        println!("try it: {count} output(s) up to date");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!(
        "{} \"try it\" output(s) out of date: run `cargo xtask book --update` and review the diff",
        problems.len()
    )
}

/// Reruns every "try it" command and rewrites `book/tryit/<id>.txt`.
fn update() -> anyhow::Result<()> {
    let dir = tryit::tryit_dir();
    let manifests = tryit::read_manifests(&dir)?;
    if !tryit::has_commands(&manifests) {
        println!("no \"try it\" commands in {}", dir.display());
        return Ok(());
    }
    tryit::generate(&manifests, &fresh_binaries()?, &dir)?;
    println!(
        "updated the outputs in {}: review them with `git diff {}`",
        dir.display(),
        relative(&dir)
    );
    Ok(())
}

/// Builds the chapter binaries and returns the directory holding them.
fn fresh_binaries() -> anyhow::Result<PathBuf> {
    util::run(util::cargo().args(["build", "--workspace", "--bins"]))?;
    Ok(util::profile_dir("debug"))
}

fn relative(path: &Path) -> String {
    let root = util::repo_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
