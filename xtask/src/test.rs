//! `cargo xtask test`: everything CI runs, on a fresh Debian 12 machine as root.
//!
//! The steps run in order and all of them run even when one fails, so a single CI run
//! shows every problem; the summary at the end gives each step's time and result.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::{book, exercise, oracle, util, vm};

/// Debian packages the tests use: the test root filesystem, `--init`, the peers the
/// compatibility tests compare against, netlink tooling, and the VM test's emulator.
pub const PACKAGES: &[&str] = &[
    "busybox-static",
    "tini",
    "runc",
    "crun",
    "iproute2",
    "qemu-system-x86",
    "cpio",
    "docker.io",
    "skopeo",
    "umoci",
    "podman",
];

/// One named step of the CI run.
struct Step {
    name: &'static str,
    action: fn() -> anyhow::Result<()>,
}

const STEPS: &[Step] = &[
    Step {
        name: "packages",
        action: install_packages,
    },
    Step {
        name: "fmt",
        action: fmt,
    },
    Step {
        name: "clippy",
        action: clippy,
    },
    Step {
        name: "doc",
        action: doc,
    },
    Step {
        name: "build",
        action: build,
    },
    Step {
        name: "test",
        action: test,
    },
    Step {
        name: "exercises",
        action: exercises,
    },
    Step {
        name: "book",
        action: book::check,
    },
    Step {
        name: "vm-test",
        action: vm_test,
    },
];

/// Runs `cargo xtask test [--skip STEP]…`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let skipped = parse_skips(args)?;
    let mut results = Vec::new();
    for step in STEPS {
        if skipped.contains(&step.name) {
            results.push((step.name, Duration::ZERO, Outcome::Skipped));
            continue;
        }
        println!("\n=== {} ===", step.name);
        let started = Instant::now();
        let outcome = match (step.action)() {
            Ok(()) => Outcome::Passed,
            Err(err) => {
                eprintln!("{}: {err:#}", step.name);
                Outcome::Failed
            }
        };
        results.push((step.name, started.elapsed(), outcome));
    }
    print_summary(&results);
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, _, outcome)| *outcome == Outcome::Failed)
        .map(|(name, _, _)| *name)
        .collect();
    if !failed.is_empty() {
        bail!("failed steps: {}", failed.join(", "));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// Reads `--skip STEP` pairs, refusing a step name that does not exist.
fn parse_skips(args: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let mut skipped = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (Some(name), "--skip") = (rest.next(), arg.as_str()) else {
            bail!(
                "usage: cargo xtask test [--skip STEP]… (steps: {})",
                step_names()
            );
        };
        let Some(step) = STEPS.iter().find(|step| step.name == name) else {
            bail!("no step named `{name}` (steps: {})", step_names());
        };
        skipped.push(step.name);
    }
    Ok(skipped)
}

fn step_names() -> String {
    STEPS
        .iter()
        .map(|step| step.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_summary(results: &[(&str, Duration, Outcome)]) {
    println!("\n=== summary ===");
    let mut total = Duration::ZERO;
    for (name, took, outcome) in results {
        total += *took;
        let word = match outcome {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Skipped => "skipped",
        };
        println!("{name:<10} {word:<8} {:>7.1}s", took.as_secs_f64());
    }
    println!("{:<10} {:<8} {:>7.1}s", "total", "", total.as_secs_f64());
}

fn install_packages() -> anyhow::Result<()> {
    util::apt_install(PACKAGES)?;
    util::ensure_mdbook().map(drop)
}

fn fmt() -> anyhow::Result<()> {
    util::run(util::cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> anyhow::Result<()> {
    util::run(util::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// The API documentation, with its links checked: each public item's doc
/// comment says what it is for, and a link that leads nowhere fails.
fn doc() -> anyhow::Result<()> {
    let mut cargo = util::cargo();
    cargo
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    util::run(&mut cargo)
}

fn build() -> anyhow::Result<()> {
    util::run(util::cargo().args(["build", "--workspace", "--all-targets"]))
}

/// How long the test step may take before it is killed: a hung container test
/// must fail the run, not hold CI until its own limit.
const TEST_TIME_LIMIT: &str = "20m";

fn test() -> anyhow::Result<()> {
    // Tests that need root fail instead of skipping, so CI cannot pass by skipping them.
    // `timeout` signals its whole process group, so the test binaries and the
    // containers they started go too.
    let cargo = util::cargo();
    let mut cmd = std::process::Command::new("timeout");
    cmd.args(["--kill-after=30s", TEST_TIME_LIMIT])
        .arg(cargo.get_program())
        // Every failing test binary is reported, not only the first.
        .args(["test", "--workspace", "--no-fail-fast"])
        .current_dir(util::repo_root())
        .env("BERTH_REQUIRE_ROOT", "1")
        // Without an oracle the comparison tests fail and say why, rather than skip.
        .env("BERTH_REQUIRE_ORACLE", "1");
    let oracle = match oracle::start() {
        Ok(oracle) => {
            cmd.env("BERTH_ORACLE_DOCKER", oracle::HOST);
            Some(oracle)
        }
        Err(err) => {
            eprintln!("no oracle dockerd for the comparison tests: {err:#}");
            None
        }
    };
    let tested = util::run(&mut cmd);
    // The oracle goes even when the tests failed.
    let stopped = oracle.map_or(Ok(()), oracle::Oracle::stop);
    tested.and(stopped)
}

fn exercises() -> anyhow::Result<()> {
    exercise::check_all()
}

fn vm_test() -> anyhow::Result<()> {
    vm::run(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn skip_names_known_steps() {
        let skipped = parse_skips(&strings(&["--skip", "vm-test", "--skip", "fmt"])).unwrap();
        assert_eq!(skipped, ["vm-test", "fmt"]);
    }

    #[test]
    fn skip_of_unknown_step_is_refused_with_the_step_list() {
        let err = parse_skips(&strings(&["--skip", "lint"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`lint`") && err.contains("vm-test"), "{err}");
    }

    #[test]
    fn skip_without_a_name_is_a_usage_error() {
        let err = parse_skips(&strings(&["--skip"])).unwrap_err().to_string();
        assert!(err.starts_with("usage:"), "{err}");
    }
}
