//! The anchor check: every `{{#include file:anchor}}` in the book must show real code.
//!
//! mdBook renders an empty block when an anchor is missing, so a renamed or deleted
//! region would silently vanish from the book. This check makes that a CI failure.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// One include directive found on a page.
#[derive(Debug, PartialEq, Eq)]
pub struct Include {
    /// 1-based line of the page holding the directive.
    pub line: usize,
    /// The file named by the directive, as written (relative to the page's directory).
    pub file: String,
    /// The anchor name, when the directive selects a named region.
    pub anchor: Option<String>,
}

/// What is wrong with one include directive.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    /// The page holding the directive.
    pub page: PathBuf,
    /// 1-based line of the directive on the page.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.page.display(), self.line, self.message)
    }
}

/// Checks every `.md` file under `src_dir`, returning one problem per broken include.
pub fn check_book(src_dir: &Path) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for page in markdown_files(src_dir)? {
        let text = fs::read_to_string(&page)?;
        let base = page.parent().unwrap_or(src_dir);
        for include in find_includes(&text) {
            if let Some(message) = check_include(base, &include) {
                problems.push(Problem {
                    page: page.clone(),
                    line: include.line,
                    message,
                });
            }
        }
    }
    Ok(problems)
}

// ANCHOR: find_includes
/// Finds `{{#include …}}` and `{{#rustdoc_include …}}` directives in a page.
///
/// A directive escaped with a backslash is shown literally by mdBook and skipped here.
/// `file:10:20`-style line ranges carry no anchor: only the file is checked.
pub fn find_includes(page: &str) -> Vec<Include> {
    let mut found = Vec::new();
    for (index, line) in page.lines().enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("{{#") {
            let escaped = rest[..start].ends_with('\\');
            let after = &rest[start + 3..];
            let Some(end) = after.find("}}") else { break };
            let directive = &after[..end];
            rest = &after[end + 2..];
            let Some(target) = directive
                .strip_prefix("include ")
                .or_else(|| directive.strip_prefix("rustdoc_include "))
            else {
                continue;
            };
            if escaped {
                continue;
            }
            found.push(parse_target(index + 1, target.trim()));
        }
    }
    found
}
// ANCHOR_END: find_includes

fn parse_target(line: usize, target: &str) -> Include {
    let (file, selector) = match target.split_once(':') {
        Some((file, selector)) => (file, Some(selector)),
        None => (target, None),
    };
    let anchor = selector
        .filter(|selector| !selector.is_empty())
        .filter(|selector| {
            !selector
                .split(':')
                .all(|part| part.chars().all(|c| c.is_ascii_digit()))
        })
        .map(String::from);
    Include {
        line,
        file: file.to_string(),
        anchor,
    }
}

/// Returns what is wrong with `include`, if anything, resolving its file against `base`.
fn check_include(base: &Path, include: &Include) -> Option<String> {
    let path = base.join(&include.file);
    let Ok(source) = fs::read_to_string(&path) else {
        return Some(format!("included file `{}` does not exist", include.file));
    };
    let anchor = include.anchor.as_deref()?;
    match region(&source, anchor) {
        Region::Found { has_content: true } => None,
        Region::Found { has_content: false } => Some(format!(
            "anchor `{anchor}` in `{}` is empty: put code between its ANCHOR and ANCHOR_END lines",
            include.file
        )),
        Region::NoStart => Some(format!(
            "anchor `{anchor}` not found in `{}`: add `// ANCHOR: {anchor}` or fix the page",
            include.file
        )),
        Region::NoEnd => Some(format!(
            "anchor `{anchor}` in `{}` has no `ANCHOR_END: {anchor}` line after it",
            include.file
        )),
    }
}

/// What a source file holds for one anchor name.
#[derive(Debug, PartialEq, Eq)]
pub enum Region {
    /// Both marker lines exist; `has_content` says whether a non-blank line lies between.
    Found {
        /// At least one non-blank line that is not itself a marker lies between the markers.
        has_content: bool,
    },
    /// No `ANCHOR: name` line.
    NoStart,
    /// An `ANCHOR: name` line but no `ANCHOR_END: name` after it.
    NoEnd,
}

/// Locates the region `anchor` in `source` the way mdBook does: by marker lines.
pub fn region(source: &str, anchor: &str) -> Region {
    let lines: Vec<&str> = source.lines().collect();
    let Some(start) = lines.iter().position(|line| marks(line, "ANCHOR:", anchor)) else {
        return Region::NoStart;
    };
    let Some(length) = lines[start + 1..]
        .iter()
        .position(|line| marks(line, "ANCHOR_END:", anchor))
    else {
        return Region::NoEnd;
    };
    // Marker lines of nested anchors are dropped by mdBook, so they do not count as content.
    let has_content = lines[start + 1..start + 1 + length].iter().any(|line| {
        !line.trim().is_empty() && !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:")
    });
    Region::Found { has_content }
}

/// Whether `line` holds `keyword` followed by exactly the anchor name `name`.
fn marks(line: &str, keyword: &str, name: &str) -> bool {
    line.match_indices(keyword).any(|(at, _)| {
        let rest = line[at + keyword.len()..].trim_start();
        rest.strip_prefix(name).is_some_and(|after| {
            !after.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
        })
    })
}

fn markdown_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_anchored_plain_and_ranged_includes() {
        let page = "intro\n{{#include ../../a.rs:pivot_root}}\n\
                    x {{#include ../tryit/id.txt}} and {{#rustdoc_include b.rs:10:20}}\n";
        let found = find_includes(page);
        assert_eq!(
            found,
            [
                Include {
                    line: 2,
                    file: "../../a.rs".into(),
                    anchor: Some("pivot_root".into())
                },
                Include {
                    line: 3,
                    file: "../tryit/id.txt".into(),
                    anchor: None
                },
                Include {
                    line: 3,
                    file: "b.rs".into(),
                    anchor: None
                },
            ]
        );
    }

    #[test]
    fn escaped_and_unrelated_directives_are_skipped() {
        let page = "\\{{#include a.rs:x}} {{#title Hello}} {{#playground p.rs}}";
        assert!(find_includes(page).is_empty());
    }

    #[test]
    fn region_with_code_is_found() {
        let src = "// ANCHOR: mount\nfn mount() {}\n// ANCHOR_END: mount\n";
        assert_eq!(region(src, "mount"), Region::Found { has_content: true });
    }

    #[test]
    fn region_with_only_blank_lines_is_empty() {
        let src = "// ANCHOR: mount\n\n   \n// ANCHOR_END: mount\n";
        assert_eq!(region(src, "mount"), Region::Found { has_content: false });
    }

    #[test]
    fn anchor_names_match_whole_words_only() {
        // `mount_proc` must not satisfy a request for `mount`.
        let src = "// ANCHOR: mount_proc\nx\n// ANCHOR_END: mount_proc\n";
        assert_eq!(region(src, "mount"), Region::NoStart);
    }

    #[test]
    fn region_without_end_is_reported() {
        assert_eq!(region("// ANCHOR: a\ncode\n", "a"), Region::NoEnd);
    }

    #[test]
    fn nested_markers_are_not_content() {
        let src =
            "// ANCHOR: outer\n// ANCHOR: inner\n// ANCHOR_END: inner\n// ANCHOR_END: outer\n";
        assert_eq!(region(src, "outer"), Region::Found { has_content: false });
    }

    #[test]
    fn check_book_names_page_line_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(
            dir.path().join("code.rs"),
            "// ANCHOR: good\nfn a() {}\n// ANCHOR_END: good\n",
        )
        .unwrap();
        fs::write(
            src.join("page.md"),
            "# Page\n{{#include ../code.rs:good}}\n{{#include ../code.rs:gone}}\n{{#include ../none.rs}}\n",
        )
        .unwrap();
        let problems = check_book(&src).unwrap();
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].ends_with("page.md:3: anchor `gone` not found in `../code.rs`: add `// ANCHOR: gone` or fix the page"), "{}", shown[0]);
        assert!(
            shown[1].contains("page.md:4: included file `../none.rs` does not exist"),
            "{}",
            shown[1]
        );
    }
}
