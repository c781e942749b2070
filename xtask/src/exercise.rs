//! `cargo xtask exercise`: work through the exercises, and prove in CI that they work.
//!
//! - `cargo xtask exercise`: the first exercise whose tests do not pass yet, with
//!   its first failure, its hint, and the file to edit;
//! - `cargo xtask exercise NN`: checks one exercise and, when it passes, names the next;
//! - `cargo xtask exercise list`: every exercise, passing or not;
//! - `cargo xtask exercise check-all` (CI): `exercises/info.toml` and the directories
//!   agree, and every exercise's tests all fail on its skeleton and all pass on its
//!   solution (rustlings learned the hard way that a shipped exercise can be solved
//!   already, or a solution can rot).
//!
//! The tests run through `cargo test -p berth-exercises`, filtered to the exercise's
//! module: with `--features checks` on the reader's skeletons, with
//! `--features solutions` on the reference solutions.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::util;

/// The feature that compiles the tests against the skeletons.
const SKELETON_FEATURE: &str = "checks";
/// The feature that swaps the reference solutions in.
const SOLUTION_FEATURE: &str = "solutions";
/// Fewer tests than this cannot pin down an exercise and its edge cases.
const MIN_TESTS: usize = 3;
/// How many lines of a failure or a compiler error to show a reader.
const SHOWN_LINES: usize = 12;

/// Runs `cargo xtask exercise [NN|list|check-all]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args {
        [] => next_unsolved(),
        [cmd] if cmd == "list" => list(),
        [cmd] if cmd == "check-all" => check_all(),
        [id] => check_one(id),
        _ => bail!("usage: cargo xtask exercise [NN|list|check-all]"),
    }
}

// ANCHOR: exercise_entry
/// One `[[exercises]]` entry of `exercises/info.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exercise {
    /// The directory name, `NN-name`.
    name: String,
    /// The book chapter it belongs to, `NN`.
    chapter: String,
    /// Shown when the tests fail; its last line names the book section to read.
    hint: String,
}

/// The whole of `exercises/info.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Info {
    exercises: Vec<Exercise>,
}

impl Exercise {
    /// The leading number, `01`: what a reader types.
    fn number(&self) -> &str {
        self.name.split('-').next().unwrap_or_default()
    }

    /// The module in `exercises/src/lib.rs`: `01-capability-mask` → `capability_mask`.
    fn module(&self) -> String {
        let without_number = self.name.split_once('-').map_or("", |(_, rest)| rest);
        without_number.replace('-', "_")
    }

    /// The file the reader edits, relative to the repository root.
    fn exercise_file(&self) -> String {
        format!("exercises/{}/exercise.rs", self.name)
    }
}
// ANCHOR_END: exercise_entry

/// Reads `exercises/info.toml`.
fn load_info(root: &Path) -> anyhow::Result<Vec<Exercise>> {
    let path = root.join("exercises/info.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let info: Info =
        toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
    Ok(info.exercises)
}

/// Finds an exercise by number (`1`, `01`) or name (`01-capability-mask`, `capability-mask`).
fn find<'a>(exercises: &'a [Exercise], id: &str) -> anyhow::Result<&'a Exercise> {
    let wanted_number = id.parse::<u32>().ok();
    exercises
        .iter()
        .find(|ex| {
            ex.name == id
                || ex.name.split_once('-').is_some_and(|(_, rest)| rest == id)
                || wanted_number.is_some() && ex.number().parse::<u32>().ok() == wanted_number
        })
        .with_context(|| format!("no exercise {id:?}: `cargo xtask exercise list` shows them all"))
}

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
}

/// What `cargo test` reported for one exercise.
#[derive(Debug, Default)]
struct TestRun {
    /// `false` when the crate did not compile; `compiler_errors` says why.
    compiled: bool,
    /// Each test's full name with its outcome, in the order tests.rs declares
    /// them, so that the first failure shown is the first thing to get right.
    tests: Vec<(String, Outcome)>,
    /// Each failing test's captured output (its panic message), by full name.
    failures: BTreeMap<String, String>,
    /// The first error cargo printed, when the crate did not compile.
    compiler_errors: String,
}

impl TestRun {
    fn count(&self, outcome: Outcome) -> usize {
        self.tests.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// The first failing test, in file order, with its output.
    fn first_failure(&self) -> Option<(&str, &str)> {
        let (name, _) = self.tests.iter().find(|(_, o)| *o == Outcome::Failed)?;
        let output = self.failures.get(name).map_or("", String::as_str);
        Some((name, output))
    }

    /// Compiled, at least one test, and none failed.
    fn passes(&self) -> bool {
        self.compiled && !self.tests.is_empty() && self.count(Outcome::Failed) == 0
    }
}

// ANCHOR: test_run
/// Runs one exercise's tests, on the skeleton or on the solution.
fn run_tests(exercise: &Exercise, feature: &str) -> anyhow::Result<TestRun> {
    let filter = format!("{}::tests::", exercise.module());
    let output = util::cargo()
        .args(["test", "--color", "never", "-p", "berth-exercises", "--lib"])
        .args(["--features", feature, "--", "--color", "never", &filter])
        // A backtrace per `todo!()` would bury the one line that matters.
        .env("RUST_BACKTRACE", "0")
        .output()
        .context("running cargo test")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut run = parse_libtest(&stdout);
    let tests_rs = util::repo_root()
        .join("exercises")
        .join(&exercise.name)
        .join("tests.rs");
    let declared = declared_tests(&fs::read_to_string(tests_rs).unwrap_or_default());
    // libtest sorts by name; a stable sort by declaration order undoes that.
    run.tests.sort_by_key(|(name, _)| {
        let short = name.rsplit("::").next().unwrap_or(name);
        declared
            .iter()
            .position(|d| d == short)
            .unwrap_or(usize::MAX)
    });
    // libtest always prints a summary once the tests ran; without one, cargo
    // stopped before: a compile error.
    run.compiled = stdout.contains("test result:");
    if !run.compiled {
        run.compiler_errors = first_compiler_error(&stderr);
    }
    Ok(run)
}
// ANCHOR_END: test_run

/// Reads libtest's plain output: `test NAME ... ok|FAILED` lines and the
/// `---- NAME stdout ----` sections that hold each failure's output.
fn parse_libtest(stdout: &str) -> TestRun {
    let mut run = TestRun::default();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        if let Some(name) = rest.strip_suffix(" ... ok") {
            run.tests.push((name.to_string(), Outcome::Passed));
        } else if let Some(name) = rest.strip_suffix(" ... FAILED") {
            run.tests.push((name.to_string(), Outcome::Failed));
        }
    }
    // Each section starts with `---- NAME stdout ----` and runs to the next one,
    // or to the `failures:` list of names after the last.
    for section in stdout.split("\n---- ").skip(1) {
        let mut lines = section.lines();
        let header = lines.next().unwrap_or_default();
        let Some(name) = header.strip_suffix(" stdout ----") else {
            continue;
        };
        let body: Vec<&str> = lines
            .take_while(|line| !line.starts_with("failures:"))
            .filter_map(tidy_panic_line)
            .collect();
        run.failures
            .insert(name.to_string(), body.join("\n").trim().to_string());
    }
    run
}

/// A line of a test's panic output as a reader needs it: without the thread's
/// name and id, and without the advice to set `RUST_BACKTRACE`.
fn tidy_panic_line(line: &str) -> Option<&str> {
    if line.starts_with("note: run with `RUST_BACKTRACE=1`") {
        return None;
    }
    match line.find("panicked at ") {
        Some(start) if line.starts_with("thread '") => Some(&line[start..]),
        _ => Some(line),
    }
}

/// The names of the functions in a tests.rs, in the order they are declared.
fn declared_tests(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("fn "))
        .filter_map(|rest| rest.split('(').next())
        .map(str::to_string)
        .collect()
}

/// The first `error…` block of cargo's output, up to the blank line that ends it.
fn first_compiler_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .skip_while(|line| !line.starts_with("error"))
        .take_while(|line| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        stderr.trim().to_string()
    } else {
        lines.join("\n")
    }
}

/// At most `SHOWN_LINES` lines of `text`, each indented, with paths made readable.
fn excerpt(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .take(SHOWN_LINES)
        // The exercise files are reached from src/ by `#[path]`; show them as a
        // reader would open them.
        .map(|line| format!("    {}", line.replace("src/../", "")))
        .collect();
    if text.lines().count() > SHOWN_LINES {
        lines.push("    …".to_string());
    }
    lines.join("\n")
}

/// Tells the reader what failed, where to edit, and the hint.
fn explain_failure(exercise: &Exercise, run: &TestRun) {
    if run.compiled {
        let failed = run.count(Outcome::Failed);
        println!(
            "✗ {}: {failed} of {} tests fail.",
            exercise.name,
            run.tests.len()
        );
        if let Some((name, output)) = run.first_failure() {
            println!("\n  First failure, {name}:\n{}", excerpt(output));
        }
    } else {
        println!(
            "✗ {}: the exercises do not compile.\n\n{}",
            exercise.name,
            excerpt(&run.compiler_errors)
        );
    }
    println!(
        "\n  Edit {} (look for `TODO`). Its tests are in tests.rs beside it.",
        exercise.exercise_file()
    );
    println!("\n  Hint:\n{}", excerpt(exercise.hint.trim()));
    println!(
        "\n  Check again with `cargo xtask exercise {}`.",
        exercise.number()
    );
}

/// `cargo xtask exercise`: the first exercise that does not pass yet.
fn next_unsolved() -> anyhow::Result<()> {
    let exercises = load_info(&util::repo_root())?;
    for exercise in &exercises {
        let run = run_tests(exercise, SKELETON_FEATURE)?;
        if !run.passes() {
            explain_failure(exercise, &run);
            bail!("{} does not pass yet", exercise.name);
        }
    }
    println!(
        "✓ All {} exercises pass. Compare yours with solution.rs beside each one.",
        exercises.len()
    );
    Ok(())
}

/// `cargo xtask exercise NN`: checks one, and names the next when it passes.
fn check_one(id: &str) -> anyhow::Result<()> {
    let exercises = load_info(&util::repo_root())?;
    let exercise = find(&exercises, id)?;
    let run = run_tests(exercise, SKELETON_FEATURE)?;
    if !run.passes() {
        explain_failure(exercise, &run);
        bail!("{} does not pass yet", exercise.name);
    }
    println!("✓ {} passes ({} tests).", exercise.name, run.tests.len());
    let position = exercises.iter().position(|ex| ex.name == exercise.name);
    match position.and_then(|i| exercises.get(i + 1)) {
        Some(next) => println!(
            "  Next: {} (chapter {}): `cargo xtask exercise {}`.",
            next.name,
            next.chapter,
            next.number()
        ),
        None => println!("  That was the last one. `cargo xtask exercise list` shows them all."),
    }
    Ok(())
}

/// `cargo xtask exercise list`: every exercise with pass or fail.
fn list() -> anyhow::Result<()> {
    let exercises = load_info(&util::repo_root())?;
    let mut solved = 0;
    for exercise in &exercises {
        let run = run_tests(exercise, SKELETON_FEATURE)?;
        let status = if !run.compiled {
            "does not compile".to_string()
        } else {
            format!(
                "{}/{} tests pass",
                run.count(Outcome::Passed),
                run.tests.len()
            )
        };
        let mark = if run.passes() { "✓" } else { "✗" };
        solved += usize::from(run.passes());
        println!(
            "{mark} {:<22} chapter {}  {status}",
            exercise.name, exercise.chapter
        );
    }
    println!("{solved} of {} solved.", exercises.len());
    Ok(())
}

// ANCHOR: check_all
/// CI's check: the index and the directories agree, every skeleton fails every
/// one of its tests, and every solution passes them all.
pub fn check_all() -> anyhow::Result<()> {
    let root = util::repo_root();
    let exercises = load_info(&root)?;
    let mut problems = layout_problems(&root, &exercises)?;
    for exercise in &exercises {
        let skeleton = run_tests(exercise, SKELETON_FEATURE)?;
        let solution = run_tests(exercise, SOLUTION_FEATURE)?;
        let found = both_ways_problems(exercise, &skeleton, &solution);
        if found.is_empty() {
            println!(
                "✓ {}: {} tests fail on the skeleton and pass on the solution",
                exercise.name,
                solution.tests.len()
            );
        } else {
            println!("✗ {}", exercise.name);
        }
        problems.extend(found);
    }
    if !problems.is_empty() {
        for problem in &problems {
            println!("  - {problem}");
        }
        bail!("{} exercise problem(s)", problems.len());
    }
    Ok(())
}
// ANCHOR_END: check_all

/// What is wrong with one exercise's two runs.
fn both_ways_problems(exercise: &Exercise, skeleton: &TestRun, solution: &TestRun) -> Vec<String> {
    let name = &exercise.name;
    let mut problems = Vec::new();
    if !skeleton.compiled {
        problems.push(format!(
            "{name}: the skeletons do not compile with --features {SKELETON_FEATURE}:\n{}",
            excerpt(&skeleton.compiler_errors)
        ));
    } else if skeleton.count(Outcome::Passed) > 0 {
        let passing: Vec<&str> = (skeleton.tests.iter())
            .filter(|(_, o)| *o == Outcome::Passed)
            .map(|(test, _)| test.as_str())
            .collect();
        problems.push(format!(
            "{name}: these tests pass on the skeleton, so they check nothing the reader writes: {}",
            passing.join(", ")
        ));
    }
    if !solution.compiled {
        problems.push(format!(
            "{name}: the solutions do not compile with --features {SOLUTION_FEATURE}:\n{}",
            excerpt(&solution.compiler_errors)
        ));
    } else if solution.count(Outcome::Failed) > 0 {
        problems.push(format!(
            "{name}: {} test(s) fail on the solution:\n{}",
            solution.count(Outcome::Failed),
            excerpt(solution.first_failure().map_or("", |(_, output)| output))
        ));
    }
    if solution.compiled && solution.tests.len() < MIN_TESTS {
        problems.push(format!(
            "{name}: {} test(s) in module {}::tests; an exercise needs at least {MIN_TESTS}",
            solution.tests.len(),
            exercise.module()
        ));
    }
    if skeleton.compiled && solution.compiled && skeleton.tests.len() != solution.tests.len() {
        problems.push(format!(
            "{name}: {} tests on the skeleton but {} on the solution; they must share tests.rs",
            skeleton.tests.len(),
            solution.tests.len()
        ));
    }
    problems
}

/// What is wrong between `info.toml`, the exercise directories, `src/lib.rs` and the book.
fn layout_problems(root: &Path, exercises: &[Exercise]) -> anyhow::Result<Vec<String>> {
    let dir = root.join("exercises");
    let mut problems = Vec::new();
    let on_disk = exercise_dirs(&dir)?;
    let listed: BTreeSet<String> = exercises.iter().map(|ex| ex.name.clone()).collect();
    for missing in on_disk.difference(&listed) {
        problems.push(format!(
            "exercises/{missing}/ has no entry in exercises/info.toml"
        ));
    }
    for missing in listed.difference(&on_disk) {
        problems.push(format!(
            "exercises/info.toml lists {missing}, but exercises/{missing}/ does not exist"
        ));
    }
    let numbers: Vec<u32> = exercises
        .iter()
        .filter_map(|ex| ex.number().parse().ok())
        .collect();
    let expected: Vec<u32> = (1..=exercises.len() as u32).collect();
    if numbers != expected {
        problems.push(
            "exercises/info.toml must list the exercises as 01, 02, 03…, in that order".into(),
        );
    }
    let lib = fs::read_to_string(dir.join("src/lib.rs")).context("reading exercises/src/lib.rs")?;
    for exercise in exercises {
        problems.extend(exercise_file_problems(root, &lib, exercise));
        if let Err(problem) = check_book_link(root, &exercise.hint) {
            problems.push(format!("{}: {problem}", exercise.name));
        }
    }
    Ok(problems)
}

/// The `NN-name` directories under `exercises/`.
fn exercise_dirs(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let numbered = name.split_once('-').is_some_and(|(number, _)| {
            !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
        });
        if numbered && entry.file_type()?.is_dir() {
            names.insert(name);
        }
    }
    Ok(names)
}

/// Problems with one exercise's three files and its declaration in `src/lib.rs`.
fn exercise_file_problems(root: &Path, lib: &str, exercise: &Exercise) -> Vec<String> {
    let name = &exercise.name;
    let dir = root.join("exercises").join(name);
    let mut problems = Vec::new();
    let read = |file: &str| fs::read_to_string(dir.join(file)).ok();
    match read("exercise.rs") {
        Some(text) if text.contains("todo!()") && text.contains("// TODO") => {}
        Some(_) => problems.push(format!(
            "{name}/exercise.rs needs `// TODO:` comments and `todo!()` bodies"
        )),
        None => problems.push(format!("{name}/exercise.rs is missing")),
    }
    match read("solution.rs") {
        Some(text) if text.contains("todo!(") || text.contains("// TODO") => {
            problems.push(format!("{name}/solution.rs still has a TODO or todo!()"))
        }
        Some(_) => {}
        None => problems.push(format!("{name}/solution.rs is missing")),
    }
    if read("tests.rs").is_none() {
        problems.push(format!("{name}/tests.rs is missing"));
    }
    let module = exercise.module();
    for file in ["exercise.rs", "solution.rs"] {
        let path_attr = format!("path = \"../{name}/{file}\"");
        if !lib.contains(&path_attr) {
            problems.push(format!(
                "exercises/src/lib.rs does not load {name}/{file} (`{path_attr}`)"
            ));
        }
    }
    if !lib.contains(&format!("pub mod {module};")) {
        problems.push(format!(
            "exercises/src/lib.rs does not declare `pub mod {module};` for {name}"
        ));
    }
    if exercise.chapter.len() != 2 || !exercise.chapter.chars().all(|c| c.is_ascii_digit()) {
        problems.push(format!(
            "{name}: chapter {:?} is not a two-digit chapter number",
            exercise.chapter
        ));
    }
    problems
}

// ANCHOR: book_link
/// Checks that a hint ends with `book/src/PAGE.md#SECTION` and that the page has
/// a heading with that id, so a renamed section cannot leave hints pointing nowhere.
fn check_book_link(root: &Path, hint: &str) -> Result<(), String> {
    let last_word = hint.split_whitespace().last().unwrap_or_default();
    let Some((page, section)) = last_word.split_once('#') else {
        return Err(format!(
            "the hint must end with a book link like book/src/ch01-isolation.md#capabilities, not {last_word:?}"
        ));
    };
    if !page.starts_with("book/src/") || !page.ends_with(".md") || section.is_empty() {
        return Err(format!(
            "the hint's last word {last_word:?} is not a link like book/src/PAGE.md#SECTION"
        ));
    }
    let text = fs::read_to_string(root.join(page))
        .map_err(|_| format!("the hint links {page}, which does not exist"))?;
    if markdown_heading_ids(&text).iter().any(|id| id == section) {
        Ok(())
    } else {
        Err(format!(
            "the hint links {last_word}, but {page} has no heading with id {section:?}"
        ))
    }
}
// ANCHOR_END: book_link

/// The ids mdBook gives the page's headings: an explicit `{#id}`, or the text
/// lower-cased, spaces turned into `-`, and everything but letters, digits, `-`
/// and `_` dropped. Headings inside fenced code blocks are not headings.
fn markdown_heading_ids(markdown: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            continue;
        }
        if in_code || !trimmed.starts_with('#') {
            continue;
        }
        let text = trimmed.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue; // `#hashtag`, not a heading
        }
        let text = text.trim();
        if let Some((_, explicit)) = text.rsplit_once("{#") {
            ids.push(explicit.trim_end_matches('}').to_string());
            continue;
        }
        let id: String = text
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        ids.push(id);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(name: &str) -> Exercise {
        Exercise {
            name: name.to_string(),
            chapter: "01".to_string(),
            hint: "Look closer.\nRead: book/src/ch01-isolation.md#capabilities".to_string(),
        }
    }

    #[test]
    fn an_exercise_name_gives_its_number_and_module() {
        let ex = exercise("01-capability-mask");
        assert_eq!(ex.number(), "01");
        assert_eq!(ex.module(), "capability_mask");
        assert_eq!(
            ex.exercise_file(),
            "exercises/01-capability-mask/exercise.rs"
        );
    }

    #[test]
    fn an_exercise_is_found_by_number_or_name() {
        let all = [exercise("01-capability-mask"), exercise("02-exit-status")];
        assert_eq!(find(&all, "2").unwrap().name, "02-exit-status");
        assert_eq!(find(&all, "02").unwrap().name, "02-exit-status");
        assert_eq!(find(&all, "exit-status").unwrap().name, "02-exit-status");
        assert_eq!(
            find(&all, "01-capability-mask").unwrap().name,
            "01-capability-mask"
        );
        assert!(find(&all, "7").is_err());
    }

    #[test]
    fn libtest_output_gives_each_outcome_and_the_first_failure() {
        let stdout = "\nrunning 3 tests\n\
            test m::tests::a ... ok\n\
            test m::tests::b ... FAILED\n\
            test m::tests::c ... FAILED\n\n\
            failures:\n\n\
            ---- m::tests::b stdout ----\n\
            thread 'm::tests::b' (4242) panicked at exercises/src/../01-x/exercise.rs:9:5:\n\
            not yet implemented\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\
            ---- m::tests::c stdout ----\n\
            other\n\n\
            failures:\n    m::tests::b\n    m::tests::c\n\n\
            test result: FAILED. 1 passed; 2 failed; 0 ignored\n";
        let run = parse_libtest(stdout);
        assert_eq!(
            run.tests,
            vec![
                ("m::tests::a".to_string(), Outcome::Passed),
                ("m::tests::b".to_string(), Outcome::Failed),
                ("m::tests::c".to_string(), Outcome::Failed),
            ]
        );
        assert_eq!(
            run.first_failure(),
            Some((
                "m::tests::b",
                "panicked at exercises/src/../01-x/exercise.rs:9:5:\nnot yet implemented"
            ))
        );
        assert_eq!(run.failures["m::tests::c"], "other");
    }

    #[test]
    fn tests_are_listed_in_the_order_tests_rs_declares_them() {
        let source = "use super::*;\n\n#[test]\nfn zeta() {}\n\n/// Helper.\nfn helper(x: u8) {}\n#[test]\nfn alpha() {}\n";
        assert_eq!(declared_tests(source), vec!["zeta", "helper", "alpha"]);
    }

    #[test]
    fn a_run_without_tests_does_not_pass() {
        let run = TestRun {
            compiled: true,
            ..TestRun::default()
        };
        assert!(!run.passes());
    }

    #[test]
    fn the_first_compiler_error_stops_at_its_blank_line() {
        let stderr =
            "   Compiling x\nerror[E0308]: mismatched types\n --> a.rs:1:1\n\nerror: aborting\n";
        assert_eq!(
            first_compiler_error(stderr),
            "error[E0308]: mismatched types\n --> a.rs:1:1"
        );
    }

    #[test]
    fn excerpts_are_short_and_show_paths_as_readers_open_them() {
        let long: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let shown = excerpt(&long);
        assert_eq!(shown.lines().count(), SHOWN_LINES + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(
            excerpt("at exercises/src/../01-x/exercise.rs:9:5"),
            "    at exercises/01-x/exercise.rs:9:5"
        );
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        let page = "# 01 Isolation\n## PID 1 and exit status\n### Masked and read-only paths\n\
            ```sh\n# not a heading\n```\n## Custom {#my-id}\n#hashtag\n";
        assert_eq!(
            markdown_heading_ids(page),
            vec![
                "01-isolation",
                "pid-1-and-exit-status",
                "masked-and-read-only-paths",
                "my-id"
            ]
        );
    }

    #[test]
    fn skeleton_passes_and_solution_failures_are_both_reported() {
        let ex = exercise("01-capability-mask");
        let skeleton = TestRun {
            compiled: true,
            tests: vec![
                ("a".into(), Outcome::Passed),
                ("b".into(), Outcome::Failed),
                ("c".into(), Outcome::Failed),
            ],
            ..TestRun::default()
        };
        let solution = TestRun {
            compiled: true,
            tests: vec![
                ("a".into(), Outcome::Passed),
                ("b".into(), Outcome::Passed),
                ("c".into(), Outcome::Failed),
            ],
            failures: BTreeMap::from([("c".into(), "assertion failed".into())]),
            ..TestRun::default()
        };
        let problems = both_ways_problems(&ex, &skeleton, &solution);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("pass on the skeleton") && problems[0].contains('a'));
        assert!(problems[1].contains("1 test(s) fail on the solution"));
    }

    #[test]
    fn too_few_tests_are_reported() {
        let ex = exercise("01-capability-mask");
        let run = |outcome| TestRun {
            compiled: true,
            tests: vec![("a".into(), outcome), ("b".into(), outcome)],
            ..TestRun::default()
        };
        let problems = both_ways_problems(&ex, &run(Outcome::Failed), &run(Outcome::Passed));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("at least 3"));
    }

    #[test]
    fn book_links_must_name_an_existing_heading() {
        let root =
            std::env::temp_dir().join(format!("berth-xtask-exercise-{}", std::process::id()));
        fs::create_dir_all(root.join("book/src")).unwrap();
        fs::write(root.join("book/src/ch01.md"), "# 01\n## Capabilities\n").unwrap();
        let result = (
            check_book_link(&root, "Read: book/src/ch01.md#capabilities"),
            check_book_link(&root, "Read: book/src/ch01.md#seccomp"),
            check_book_link(&root, "Read: book/src/ch09.md#capabilities"),
            check_book_link(&root, "no link at the end"),
        );
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(result.0, Ok(()));
        assert!(
            result
                .1
                .unwrap_err()
                .contains("no heading with id \"seccomp\"")
        );
        assert!(result.2.unwrap_err().contains("does not exist"));
        assert!(result.3.unwrap_err().contains("must end with a book link"));
    }

    #[test]
    fn the_real_index_and_directories_agree() {
        let root = util::repo_root();
        let exercises = load_info(&root).unwrap();
        assert!(exercises.len() >= 3);
        let on_disk = exercise_dirs(&root.join("exercises")).unwrap();
        let lib = fs::read_to_string(root.join("exercises/src/lib.rs")).unwrap();
        for ex in &exercises {
            assert!(on_disk.contains(&ex.name), "{} has no directory", ex.name);
            let problems = exercise_file_problems(&root, &lib, ex);
            assert!(problems.is_empty(), "{problems:?}");
        }
    }
}
