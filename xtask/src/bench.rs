//! `cargo xtask bench [--runs N]`: how fast berth starts a container, next to runc and crun.
//!
//! Each tool runs `true` in a container from the same busybox root filesystem: berth
//! through `ch01 run --rootfs`, runc and crun through `run` on a bundle whose config.json
//! `runc spec` wrote. The figures are wall-clock times from spawn to exit; the table gives
//! the minimum, the median and the median's ratio to berth's. Nothing here asserts a time:
//! a slow CI machine should not fail a build.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{rootfs, util};

/// Fewer runs than this make a median too noisy to compare.
const MIN_RUNS: usize = 20;

/// Runs before measuring, so page cache and first-use costs are not counted.
const WARM_UP: usize = 2;

/// Runs `cargo xtask bench [--runs N]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let runs = parse_runs(args)?;
    util::require_root("the benchmark")?;
    util::build_release()?;
    let scratch = tempfile::Builder::new().prefix("berth-bench-").tempdir()?;
    let rootfs = scratch.path().join("rootfs");
    rootfs::build(&rootfs)?;
    // `runc spec` writes the peers' config.json, so runc is needed even to bench crun alone.
    util::require_tool("runc", "runc")?;
    let bundle = scratch.path().join("bundle");
    write_bundle(&bundle, &rootfs)?;

    let ch01 = util::built_binary("release", "ch01");
    let berth_root = scratch.path().join("berth-root");
    let mut berth = Command::new(&ch01);
    berth
        .arg("run")
        .arg("--rootfs")
        .arg(&rootfs)
        .arg("true")
        .env("BERTH_ROOT", &berth_root);

    let mut rows = vec![("berth (ch01)", measure(&mut berth, runs)?)];
    let mut moved_hugetlb = false;
    let peers = measure_peers(&bundle, runs, &mut moved_hugetlb);
    // Give hugetlb back to the v2 tree even when a peer failed.
    if moved_hugetlb {
        restore_hugetlb()?;
    }
    rows.extend(peers?);
    print_table(&rows, runs);
    Ok(())
}

/// Times crun and runc where installed; sets `moved_hugetlb` when crun needed it moved.
fn measure_peers(
    bundle: &Path,
    runs: usize,
    moved_hugetlb: &mut bool,
) -> anyhow::Result<Vec<(&'static str, Vec<Duration>)>> {
    let mut rows = Vec::new();
    for tool in ["crun", "runc"] {
        if util::find_on_path(tool).is_none() {
            println!("{tool}: not installed (apt-get install -y {tool}), skipped");
            continue;
        }
        let mut peer = PeerRun {
            tool: tool.to_string(),
            bundle: bundle.to_path_buf(),
        };
        if tool == "crun" && !succeeds(&mut peer) {
            *moved_hugetlb = move_hugetlb_to_v1()?;
        }
        rows.push((tool, measure(&mut peer, runs)?));
    }
    Ok(rows)
}

fn parse_runs(args: &[String]) -> anyhow::Result<usize> {
    match args {
        [] => Ok(MIN_RUNS),
        [flag, count] if flag == "--runs" => {
            let runs: usize = count
                .parse()
                .with_context(|| format!("--runs {count}: not a number"))?;
            if runs < MIN_RUNS {
                bail!("--runs {runs}: use at least {MIN_RUNS} for a median worth comparing");
            }
            Ok(runs)
        }
        _ => bail!("usage: cargo xtask bench [--runs N]  (N ≥ {MIN_RUNS})"),
    }
}

// ANCHOR: bench_bundle
/// Writes an OCI bundle for runc and crun: `runc spec`'s defaults, running `true` on `rootfs`.
fn write_bundle(bundle: &Path, rootfs: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(bundle)?;
    util::run(Command::new("runc").arg("spec").current_dir(bundle))?;
    let path = bundle.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path)?)?;
    // runc wants an absolute root path, and a real directory rather than a symlink to one.
    let root = fs::canonicalize(rootfs)?;
    config["root"]["path"] = root.to_string_lossy().into_owned().into();
    config["process"]["args"] = serde_json::json!(["true"]);
    config["process"]["terminal"] = false.into();
    fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    Ok(())
}
// ANCHOR_END: bench_bundle

/// Something `measure` can start again and again.
trait Start {
    fn start(&mut self, index: usize) -> Command;
}

impl Start for Command {
    fn start(&mut self, _index: usize) -> Command {
        let mut copy = Command::new(self.get_program());
        copy.args(self.get_args());
        for (key, value) in self.get_envs() {
            match value {
                Some(value) => copy.env(key, value),
                None => copy.env_remove(key),
            };
        }
        copy
    }
}

/// A run of the bundle with runc or crun; each run gets a new container id, so a run that
/// left one behind cannot block the next.
struct PeerRun {
    tool: String,
    bundle: PathBuf,
}

impl Start for PeerRun {
    fn start(&mut self, index: usize) -> Command {
        let mut cmd = Command::new(&self.tool);
        let id = format!("berth-bench-{}-{index}", std::process::id());
        cmd.args(["run", "--bundle"]).arg(&self.bundle).arg(id);
        cmd
    }
}

fn succeeds(runner: &mut impl Start) -> bool {
    runner
        .start(usize::MAX)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Times `runs` runs after a warm-up; fails on the first run that does not exit 0.
fn measure(runner: &mut impl Start, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    for index in 0..WARM_UP + runs {
        let mut cmd = runner.start(index);
        let started = Instant::now();
        let output = cmd.stdin(Stdio::null()).stdout(Stdio::null()).output()?;
        let took = started.elapsed();
        if !output.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                util::describe(&cmd),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        if index >= WARM_UP {
            times.push(took);
        }
    }
    Ok(times)
}

const HUGETLB: &str = "/sys/fs/cgroup/hugetlb";

// ANCHOR: bench_hugetlb
/// crun refuses a hybrid layout whose v2 tree holds a controller (here: hugetlb). Mounting
/// hugetlb as a v1 hierarchy moves it out of the v2 tree; `restore_hugetlb` gives it back.
fn move_hugetlb_to_v1() -> anyhow::Result<bool> {
    if Path::new(HUGETLB).join("tasks").exists() {
        return Ok(false);
    }
    println!(
        "crun failed on this hybrid cgroup layout: mounting hugetlb at {HUGETLB} for the benchmark"
    );
    fs::create_dir_all(HUGETLB)?;
    util::run(Command::new("mount").args(["-t", "cgroup", "-o", "hugetlb", "cgroup", HUGETLB]))?;
    Ok(true)
}
// ANCHOR_END: bench_hugetlb

fn restore_hugetlb() -> anyhow::Result<()> {
    util::run(Command::new("umount").arg(HUGETLB))?;
    fs::remove_dir(HUGETLB)?;
    println!("unmounted {HUGETLB} again: hugetlb is back in the v2 tree");
    Ok(())
}

/// The median of `times` (the mean of the two middle values for an even count).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2
    } else {
        sorted[middle]
    }
}

fn millis(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}

fn print_table(rows: &[(&str, Vec<Duration>)], runs: usize) {
    let berth_median = median(&rows[0].1);
    println!("\ncontainer start, `true` on a busybox root filesystem, {runs} runs each:");
    println!(
        "{:<14} {:>8} {:>10} {:>10}",
        "tool", "min ms", "median ms", "vs berth"
    );
    for (tool, times) in rows {
        let low = times.iter().min().copied().unwrap_or_default();
        let mid = median(times);
        let ratio = mid.as_secs_f64() / berth_median.as_secs_f64();
        println!(
            "{tool:<14} {:>8.1} {:>10.1} {:>9.2}×",
            millis(low),
            millis(mid),
            ratio
        );
    }
    if let Some((_, crun)) = rows.iter().find(|(tool, _)| *tool == "crun") {
        let against_crun = berth_median.as_secs_f64() / median(crun).as_secs_f64();
        println!("berth / crun = {against_crun:.2}×");
    }
    println!("target: berth ≤ 1.5× crun");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        assert_eq!(median(&ms(&[9, 1, 5])), Duration::from_millis(5));
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&ms(&[4, 1, 2, 100])), Duration::from_millis(3));
    }

    #[test]
    fn runs_below_the_minimum_are_refused() {
        let args = ["--runs".to_string(), "5".to_string()];
        assert!(
            parse_runs(&args)
                .unwrap_err()
                .to_string()
                .contains("at least 20")
        );
        assert_eq!(parse_runs(&[]).unwrap(), MIN_RUNS);
    }
}
