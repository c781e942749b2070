//! "Try it" outputs: the commands a chapter page shows, run for real, saved beside the book.
//!
//! `book/tryit/<chapter>.toml` lists the commands; each becomes `book/tryit/<id>.txt`
//! holding `$ command` and what it printed, normalised (see `normalise`). Pages include
//! these files, so the book shows what berth really prints, and `--check` fails CI when a
//! change to berth makes one stale.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::normalise::{Replacement, Scratch, Volatile, normalise};
use crate::util;

/// One `book/tryit/<chapter>.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The commands, run in order with one shared state directory and root filesystem.
    #[serde(default)]
    pub command: Vec<Entry>,
}

/// One command shown on a page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Names the output file `<id>.txt`; unique across all manifests.
    pub id: String,
    /// The command line as the reader types it; `$ROOTFS` is the test root filesystem.
    pub run: String,
    /// The exit status the command must end with (docker's codes: 125, 126, 127…).
    #[serde(default)]
    pub status: i32,
    /// Kinds of values to replace by placeholders beyond ids, paths and timestamps.
    #[serde(default)]
    pub volatile: Vec<Volatile>,
    /// Further replacements for values no kind covers.
    #[serde(default)]
    pub replace: Vec<Replacement>,
}

/// The directory holding the manifests and outputs.
pub fn tryit_dir() -> PathBuf {
    util::repo_root().join("book/tryit")
}

/// Reads every manifest in `dir`, refusing duplicate ids.
pub fn read_manifests(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Manifest)>> {
    let mut manifests = Vec::new();
    let mut seen = BTreeMap::new();
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    for path in paths
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
    {
        let text = fs::read_to_string(&path)?;
        let manifest: Manifest = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid manifest", path.display()))?;
        for entry in &manifest.command {
            if !is_safe_id(&entry.id) {
                bail!(
                    "{}: id `{}` must be letters, digits and `-`",
                    path.display(),
                    entry.id
                );
            }
            if let Some(other) = seen.insert(entry.id.clone(), path.clone()) {
                bail!(
                    "id `{}` appears in {} and {}",
                    entry.id,
                    other.display(),
                    path.display()
                );
            }
        }
        manifests.push((path, manifest));
    }
    Ok(manifests)
}

/// Whether any manifest lists a command (if none does, nothing needs building or running).
pub fn has_commands(manifests: &[(PathBuf, Manifest)]) -> bool {
    manifests
        .iter()
        .any(|(_, manifest)| !manifest.command.is_empty())
}

fn is_safe_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Runs every command of every manifest and writes `<id>.txt` files into `out_dir`.
///
/// `bin_dir` holds the freshly built chapter binaries; it goes first on `PATH`.
pub fn generate(
    manifests: &[(PathBuf, Manifest)],
    bin_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<()> {
    util::require_root("running the book's \"try it\" commands")?;
    for (path, manifest) in manifests {
        // One scratch area per chapter: later commands may use what earlier ones created.
        let scratch = tempfile::Builder::new().prefix("berth-tryit-").tempdir()?;
        let rootfs = scratch.path().join("rootfs");
        let berth_root = scratch.path().join("root");
        let berth_run = scratch.path().join("run");
        crate::rootfs::build(&rootfs)?;
        let names = Scratch {
            rootfs: &rootfs,
            berth_root: &berth_root,
            berth_run: &berth_run,
        };
        for entry in &manifest.command {
            let text = run_entry(entry, bin_dir, &names)
                .with_context(|| format!("{}: command `{}`", path.display(), entry.id))?;
            fs::write(out_dir.join(format!("{}.txt", entry.id)), text)?;
        }
    }
    Ok(())
}

// ANCHOR: run_tryit
/// Runs one command with `sh -c`, checks its exit status, and returns `$ command` followed
/// by its normalised output (stdout and stderr interleaved, as a terminal shows them).
fn run_entry(entry: &Entry, bin_dir: &Path, scratch: &Scratch<'_>) -> anyhow::Result<String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("exec 2>&1; {}", entry.run))
        .env("PATH", util::path_with(bin_dir))
        .env("ROOTFS", scratch.rootfs)
        .env("BERTH_ROOT", scratch.berth_root)
        .env("BERTH_RUN", scratch.berth_run)
        .stdin(Stdio::null())
        .output()?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let status = output.status.code().unwrap_or(-1);
    if status != entry.status {
        bail!(
            "exited with {status}, expected {} (set `status = {status}` if that is right); it printed:\n{printed}",
            entry.status
        );
    }
    let text = normalise(&printed, scratch, &entry.volatile, &entry.replace)?;
    Ok(format!("$ {}\n{text}", entry.run))
}
// ANCHOR_END: run_tryit

/// Compares freshly generated outputs in `fresh` with the committed ones in `committed`,
/// returning one message (with a diff) per stale, missing or orphaned file.
pub fn compare(
    manifests: &[(PathBuf, Manifest)],
    fresh: &Path,
    committed: &Path,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut expected = Vec::new();
    for entry in manifests.iter().flat_map(|(_, manifest)| &manifest.command) {
        let name = format!("{}.txt", entry.id);
        let new = fs::read_to_string(fresh.join(&name))?;
        let shown = committed.join(&name);
        match fs::read_to_string(&shown) {
            Ok(old) if old == new => {}
            Ok(old) => problems.push(format!(
                "{} is stale:\n{}",
                shown.display(),
                diff(&old, &new)
            )),
            Err(_) => problems.push(format!("{} is missing", shown.display())),
        }
        expected.push(name);
    }
    for entry in fs::read_dir(committed)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") && !expected.contains(&name) {
            problems.push(format!(
                "{} has no command in any manifest: remove it or add its command",
                committed.join(&name).display()
            ));
        }
    }
    Ok(problems)
}

/// A line diff good enough for short outputs: the common prefix and suffix are dropped
/// and the differing middle is shown as `-` (in the book) and `+` (printed now) lines.
pub fn diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = String::new();
    for line in &old[prefix..old.len() - suffix] {
        out.push_str(&format!("  -{line}\n"));
    }
    for line in &new[prefix..new.len() - suffix] {
        out.push_str(&format!("  +{line}\n"));
    }
    if out.is_empty() {
        out.push_str("  (only line endings differ)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_only_the_changed_lines() {
        let shown = diff(
            "$ ch01 run\nuid=0\nPID 1\nend\n",
            "$ ch01 run\nuid=1000\nPID 1\nend\n",
        );
        assert_eq!(shown, "  -uid=0\n  +uid=1000\n");
    }

    #[test]
    fn diff_of_added_trailing_line() {
        assert_eq!(diff("a\n", "a\nb\n"), "  +b\n");
    }

    #[test]
    fn manifests_parse_with_defaults_and_refuse_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("ch01.toml"),
            "[[command]]\nid = \"ch01-hostname\"\nrun = \"ch01 run --rootfs $ROOTFS hostname\"\n\
             volatile = [\"pids\"]\n",
        )
        .unwrap();
        let manifests = read_manifests(dir.path()).unwrap();
        let entry = &manifests[0].1.command[0];
        assert_eq!(
            (entry.status, entry.volatile.as_slice()),
            (0, &[Volatile::Pids][..])
        );
        fs::write(
            dir.path().join("ch02.toml"),
            "[[command]]\nid = \"ch01-hostname\"\nrun = \"true\"\n",
        )
        .unwrap();
        let err = read_manifests(dir.path()).unwrap_err().to_string();
        assert!(err.contains("`ch01-hostname` appears in"), "{err}");
    }

    #[test]
    fn ids_that_could_name_other_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("x.toml"),
            "[[command]]\nid = \"../x\"\nrun = \"true\"\n",
        )
        .unwrap();
        assert!(read_manifests(dir.path()).is_err());
    }

    #[test]
    fn compare_reports_stale_missing_and_orphaned_files() {
        let fresh = tempfile::tempdir().unwrap();
        let committed = tempfile::tempdir().unwrap();
        let manifest: Manifest = toml::from_str(
            "[[command]]\nid = \"a\"\nrun = \"true\"\n[[command]]\nid = \"b\"\nrun = \"true\"\n",
        )
        .unwrap();
        fs::write(fresh.path().join("a.txt"), "$ true\nnew\n").unwrap();
        fs::write(fresh.path().join("b.txt"), "$ true\n").unwrap();
        fs::write(committed.path().join("a.txt"), "$ true\nold\n").unwrap();
        fs::write(committed.path().join("old.txt"), "$ gone\n").unwrap();
        let problems = compare(
            &[(PathBuf::from("m.toml"), manifest)],
            fresh.path(),
            committed.path(),
        )
        .unwrap();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("a.txt is stale") && problems[0].contains("  -old\n  +new"));
        assert!(problems[1].ends_with("b.txt is missing"));
        assert!(problems[2].contains("old.txt has no command"));
    }
}
