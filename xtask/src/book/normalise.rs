//! Turns captured command output into text that is the same on every run.
//!
//! Container ids, scratch paths and timestamps change each time a "try it" command runs;
//! they are replaced by placeholders so the files under `book/tryit/` only change when
//! berth's behaviour does. Pids, durations and sizes are replaced only when a command
//! asks for it, because elsewhere they are the point (PID 1 inside a container).

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

/// Values a command may flag as volatile in its manifest entry (`volatile = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Volatile {
    /// Process ids of 2 and above after `pid`, `PPid:` and the like, and in `/proc/N`.
    Pids,
    /// Durations such as `12ms` or `0.52s`.
    Times,
    /// Sizes such as `7.81MB` or `512 KiB`.
    Sizes,
    /// Namespace inode numbers such as `mnt:[4026531841]`.
    Inodes,
}

/// A literal replacement a manifest entry adds (`replace = [{ pattern = "…", with = "…" }]`).
#[derive(Debug, Clone, Deserialize)]
pub struct Replacement {
    /// A regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// What each match becomes; `$1` refers to a capture group.
    pub with: String,
}

/// The scratch paths of one run, each replaced by its name.
pub struct Scratch<'a> {
    /// The root filesystem, shown as `$ROOTFS`.
    pub rootfs: &'a Path,
    /// The state root, shown as `$BERTH_ROOT`.
    pub berth_root: &'a Path,
    /// The runtime directory, shown as `$BERTH_RUN`.
    pub berth_run: &'a Path,
}

// ANCHOR: normalise
/// Replaces every volatile value in `text`: always scratch paths, ids and timestamps,
/// and the `flagged` kinds and `extra` replacements the command asks for.
pub fn normalise(
    text: &str,
    scratch: &Scratch<'_>,
    flagged: &[Volatile],
    extra: &[Replacement],
) -> anyhow::Result<String> {
    let mut text = text.to_string();
    // Longest paths first, in case one scratch directory lies inside another.
    let mut paths = [
        (scratch.rootfs, "$ROOTFS"),
        (scratch.berth_root, "$BERTH_ROOT"),
        (scratch.berth_run, "$BERTH_RUN"),
    ];
    paths.sort_by_key(|(path, _)| std::cmp::Reverse(path.as_os_str().len()));
    for (path, name) in paths {
        text = text.replace(&*path.to_string_lossy(), name);
    }
    text = replace_all(&text, r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b", "<id>")?;
    text = replace_all(
        &text,
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?",
        "<time>",
    )?;
    for kind in flagged {
        let (pattern, with) = match kind {
            Volatile::Pids => (r"(?i)(\bp?pid:?\s*|/proc/)(\d{2,}|[2-9])\b", "${1}<pid>"),
            Volatile::Times => (r"\b\d+(\.\d+)?\s?(ns|µs|us|ms|s|m|h)\b", "<time>"),
            Volatile::Sizes => (r"\b\d+(\.\d+)?\s?([kKMGT]i?B|B)\b", "<size>"),
            Volatile::Inodes => (r"(\w+:)\[\d+\]", "${1}[<inode>]"),
        };
        text = replace_all(&text, pattern, with)?;
    }
    for replacement in extra {
        text = replace_all(&text, &replacement.pattern, &replacement.with)?;
    }
    Ok(text)
}
// ANCHOR_END: normalise

fn replace_all(text: &str, pattern: &str, with: &str) -> anyhow::Result<String> {
    let regex = Regex::new(pattern)
        .map_err(|err| anyhow::anyhow!("bad pattern `{pattern}` in a try-it manifest: {err}"))?;
    Ok(regex.replace_all(text, with).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> Scratch<'static> {
        Scratch {
            rootfs: Path::new("/tmp/tryit-ab12/rootfs"),
            berth_root: Path::new("/tmp/tryit-ab12/root"),
            berth_run: Path::new("/tmp/tryit-ab12/run"),
        }
    }

    fn plain(text: &str) -> String {
        normalise(text, &scratch(), &[], &[]).unwrap()
    }

    #[test]
    fn full_and_short_ids_become_placeholders() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(
            plain(&format!("{id}\nhost 0123456789ab\n")),
            "<id>\nhost <id>\n"
        );
    }

    #[test]
    fn capability_masks_are_not_mistaken_for_ids() {
        assert_eq!(
            plain("CapEff:\t00000000a80425fb\n"),
            "CapEff:\t00000000a80425fb\n"
        );
    }

    #[test]
    fn scratch_paths_are_named() {
        assert_eq!(
            plain("no such dir /tmp/tryit-ab12/rootfs/x, state in /tmp/tryit-ab12/root"),
            "no such dir $ROOTFS/x, state in $BERTH_ROOT"
        );
    }

    #[test]
    fn timestamps_are_always_replaced() {
        assert_eq!(plain("created 2026-11-23T12:09:01.123Z"), "created <time>");
    }

    #[test]
    fn pids_are_replaced_only_when_flagged_and_pid_1_stays() {
        let text = "PID 1\nPPid:\t4242\n/proc/77/status\n";
        assert_eq!(plain(text), text);
        let flagged = normalise(text, &scratch(), &[Volatile::Pids], &[]).unwrap();
        assert_eq!(flagged, "PID 1\nPPid:\t<pid>\n/proc/<pid>/status\n");
    }

    #[test]
    fn sizes_times_and_inodes_when_flagged() {
        let flagged = [Volatile::Sizes, Volatile::Times, Volatile::Inodes];
        let out = normalise(
            "7.81MB in 12ms, mnt:[4026531841]",
            &scratch(),
            &flagged,
            &[],
        )
        .unwrap();
        assert_eq!(out, "<size> in <time>, mnt:[<inode>]");
    }

    #[test]
    fn extra_replacements_apply_last_and_bad_patterns_fail() {
        let extra = [Replacement {
            pattern: r"uptime \d+".into(),
            with: "uptime N".into(),
        }];
        assert_eq!(
            normalise("uptime 93", &scratch(), &[], &extra).unwrap(),
            "uptime N"
        );
        let bad = [Replacement {
            pattern: "(".into(),
            with: String::new(),
        }];
        assert!(normalise("x", &scratch(), &[], &bad).is_err());
    }
}
