//! `cargo xtask bench [--runs N] [--only start|images|lifecycle|union]`: how fast berth is,
//! next to runc, crun, docker and skopeo, in one run.
//!
//! The first section is chapter 01's container start. Each tool runs `true` in a container from the same busybox root filesystem: berth
//! through `ch01 run --rootfs`, runc and crun through `run` on a bundle whose config.json
//! `runc spec` wrote. The figures are wall-clock times from spawn to exit; the table gives
//! the minimum, the median and the median's ratio to berth's. Nothing here asserts a time:
//! a slow CI machine should not fail a build.
//!
//! A second section times chapter 03's `load` and `save` of a multi-layer image against
//! `docker load`/`docker save` on the oracle dockerd and `skopeo copy` (see [`images`]);
//! a third, chapter 04's container life from the CLI against docker and crun (see
//! [`lifecycle`]); a fourth, chapter 05's overlay start against chapter 04's copy and
//! docker on a small and a big image (see [`union`]). One oracle dockerd serves them
//! all, started once and always stopped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{oracle, rootfs, util};

/// Fewer runs than this make a median too noisy to compare.
const MIN_RUNS: usize = 20;

/// Runs before measuring, so page cache and first-use costs are not counted.
const WARM_UP: usize = 2;

mod lifecycle;
mod union;

/// The parts of the benchmark `--only` can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Chapter 01: `run --rootfs` against crun and runc.
    Start,
    /// Chapter 03: `load` and `save` against docker and skopeo.
    Images,
    /// Chapter 04: `run --rm`, `create` + `rm` and `ps -a` against docker and crun.
    Lifecycle,
    /// Chapter 05: `run --rm` with the overlay against the copy and docker.
    Union,
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    runs: usize,
    /// `None`: every section.
    only: Option<Section>,
}

impl Options {
    fn wants(&self, section: Section) -> bool {
        self.only.is_none_or(|only| only == section)
    }
}

/// Runs `cargo xtask bench [--runs N] [--only SECTION]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse_args(args)?;
    let runs = options.runs;
    util::require_root("the benchmark")?;
    util::build_release()?;
    let scratch = tempfile::Builder::new().prefix("berth-bench-").tempdir()?;
    let _state = RunState::mount(scratch.path())?;
    let rootfs = scratch.path().join("rootfs");
    rootfs::build(&rootfs)?;
    // chapter 04 compares its start with crun's on the same root filesystem.
    let mut crun_start = None;
    if options.wants(Section::Start) || options.wants(Section::Lifecycle) {
        let rows = start_rows(scratch.path(), &rootfs, runs, options.wants(Section::Start))?;
        crun_start = rows
            .iter()
            .find(|(tool, _)| *tool == "crun")
            .map(|(_, times)| times.clone());
        if options.wants(Section::Start) {
            print_table(&rows, runs);
        }
    }
    let docker = match util::find_on_path("dockerd") {
        Some(_) => Some(oracle::start()?),
        None => {
            println!("docker: not installed (apt-get install -y docker.io), skipped");
            None
        }
    };
    let measured = (|| {
        if options.wants(Section::Images) {
            images::run(scratch.path(), docker.is_some())?;
        }
        if options.wants(Section::Lifecycle) {
            let peers = lifecycle::Peers {
                docker: docker.is_some(),
                crun_start: crun_start.as_deref(),
            };
            lifecycle::run(scratch.path(), &rootfs, runs, &peers)?;
        }
        if options.wants(Section::Union) {
            union::run(scratch.path(), &rootfs, runs, docker.is_some())?;
        }
        anyhow::Ok(())
    })();
    // The oracle is stopped even when a section failed.
    if let Some(daemon) = docker {
        daemon.stop()?;
    }
    measured
}

/// Chapter 01's start rows: berth (when `with_berth`), then crun and runc.
fn start_rows(
    scratch: &Path,
    rootfs: &Path,
    runs: usize,
    with_berth: bool,
) -> anyhow::Result<Vec<(&'static str, Vec<Duration>)>> {
    // `runc spec` writes the peers' config.json, so runc is needed even to bench crun alone.
    util::require_tool("runc", "runc")?;
    let bundle = scratch.join("bundle");
    write_bundle(&bundle, rootfs)?;
    let mut rows = Vec::new();
    if with_berth {
        let ch01 = util::built_binary("release", "ch01");
        let mut berth = Command::new(&ch01);
        berth
            .arg("run")
            .arg("--rootfs")
            .arg(rootfs)
            .arg("true")
            .env("BERTH_ROOT", scratch.join("berth-root"))
            .env("BERTH_RUN", RunState::dir(scratch, "ch01"));
        rows.push(("berth (ch01)", measure(&mut berth, runs)?));
    }
    let mut moved_hugetlb = false;
    let peers = measure_peers(scratch, &bundle, runs, &mut moved_hugetlb);
    // Give hugetlb back to the v2 tree even when a peer failed.
    if moved_hugetlb {
        restore_hugetlb()?;
    }
    rows.extend(peers?);
    Ok(rows)
}

/// Times crun and runc where installed; sets `moved_hugetlb` when crun needed it moved.
fn measure_peers(
    scratch: &Path,
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
            state: RunState::dir(scratch, tool),
        };
        if tool == "crun" && !succeeds(&mut peer) {
            *moved_hugetlb = move_hugetlb_to_v1()?;
        }
        rows.push((tool, measure(&mut peer, runs)?));
    }
    Ok(rows)
}

const USAGE: &str = "usage: cargo xtask bench [--runs N] [--only start|images|lifecycle|union]";

fn parse_args(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        runs: MIN_RUNS,
        only: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            bail!("{flag} needs a value; {USAGE}");
        };
        match flag.as_str() {
            "--runs" => options.runs = parse_runs(value)?,
            "--only" => {
                options.only = Some(match value.as_str() {
                    "start" => Section::Start,
                    "images" => Section::Images,
                    "lifecycle" => Section::Lifecycle,
                    "union" => Section::Union,
                    other => bail!("--only {other}: not a section; {USAGE}"),
                })
            }
            other => bail!("{other}: unknown flag; {USAGE}"),
        }
    }
    Ok(options)
}

fn parse_runs(count: &str) -> anyhow::Result<usize> {
    let runs: usize = count
        .parse()
        .with_context(|| format!("--runs {count}: not a number"))?;
    if runs < MIN_RUNS {
        bail!("--runs {runs}: use at least {MIN_RUNS} for a median worth comparing");
    }
    Ok(runs)
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
    /// Its `--root`, on the state tmpfs.
    state: PathBuf,
}

impl Start for PeerRun {
    fn start(&mut self, index: usize) -> Command {
        let mut cmd = Command::new(&self.tool);
        let id = format!("berth-bench-{}-{index}", std::process::id());
        cmd.arg("--root").arg(&self.state);
        cmd.args(["run", "--bundle"]).arg(&self.bundle).arg(id);
        cmd
    }
}

/// A tmpfs for every tool's runtime state, as `/run` is on a real host (on some
/// machines, this one too, `/run` is on the root disk, and every pid file and
/// state file would then cost a disk inode): berth's `BERTH_RUN`, crun's and
/// runc's `--root`; the oracle dockerd's exec root is one too (see `oracle`).
struct RunState {
    mount: PathBuf,
}

impl RunState {
    fn mount(scratch: &Path) -> anyhow::Result<Self> {
        let mount = Self::mount_point(scratch);
        std::fs::create_dir_all(&mount)?;
        util::run(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", "mode=0700", "berth-bench"])
                .arg(&mount),
        )?;
        Ok(RunState { mount })
    }

    /// Where the tmpfs is mounted.
    fn mount_point(scratch: &Path) -> PathBuf {
        scratch.join("run")
    }

    /// The state directory of `tool` on the tmpfs.
    fn dir(scratch: &Path, tool: &str) -> PathBuf {
        Self::mount_point(scratch).join(tool)
    }
}

impl Drop for RunState {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
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
    let mut index = 0;
    lifecycle::time_runs(runs, || {
        let mut cmd = runner.start(index);
        index += 1;
        let output = cmd.stdin(Stdio::null()).stdout(Stdio::null()).output()?;
        if !output.status.success() {
            bail!(
                "`{}` failed ({}): {}",
                util::describe(&cmd),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    })
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

/// `load` and `save` of one big image, berth against docker and skopeo.
///
/// The image is a docker-archive of four layers of 32 MiB of random data (random so no
/// tool wins by compressing), written by hand so no registry is needed. Each run of a
/// load starts from an empty store: a fresh `BERTH_ROOT`, an `rmi` in docker, a fresh
/// OCI directory for skopeo; the emptying is not timed.
mod images {
    use std::fs;
    use std::io::{Read, Write};
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use anyhow::{Context, bail};

    use super::median;
    use crate::{oracle, util};

    /// A median of five is the least that shrugs off one slow run.
    const RUNS: usize = 5;
    const LAYERS: usize = 4;
    const LAYER_BYTES: u64 = 32 << 20;
    const NAME: &str = "berth-bench:big";

    /// One tool's timed runs of one operation.
    struct Row {
        tool: &'static str,
        times: Vec<Duration>,
    }

    /// Runs the section in `scratch`; `docker`: the oracle dockerd answers.
    pub fn run(scratch: &Path, docker: bool) -> anyhow::Result<()> {
        let archive = scratch.join("big-image.tar");
        write_archive(scratch, &archive)?;
        let size = fs::metadata(&archive)?.len();
        let ch03 = util::built_binary("release", "ch03");
        let mut load = vec![Row {
            tool: "berth (ch03)",
            times: berth_load(&ch03, &archive, scratch)?,
        }];
        let saved_store = scratch.join("berth-saved-store");
        let mut save = vec![Row {
            tool: "berth (ch03)",
            times: berth_save(&ch03, &archive, &saved_store, scratch)?,
        }];
        if docker {
            let (docker_load, docker_save) = docker_rows(&archive, scratch)?;
            load.push(docker_load);
            save.push(docker_save);
        }
        match util::find_on_path("skopeo") {
            None => println!("skopeo: not installed (apt-get install -y skopeo), skipped"),
            Some(_) => {
                let (skopeo_load, skopeo_save) = skopeo_rows(&archive, scratch)?;
                load.push(skopeo_load);
                save.push(skopeo_save);
            }
        }
        let what = format!(
            "{LAYERS} layers of {} MiB random data, {:.0} MiB archive",
            LAYER_BYTES >> 20,
            size as f64 / f64::from(1 << 20)
        );
        print_rows(&format!("image load ({what})"), &load);
        print_rows(&format!("image save ({what})"), &save);
        println!("target: berth at least as fast as the fastest peer");
        Ok(())
    }

    /// The bench image as a docker-archive, written with `tar` and `sha256sum`.
    fn write_archive(scratch: &Path, archive: &Path) -> anyhow::Result<()> {
        let mut layers = Vec::new();
        let mut random = fs::File::open("/dev/urandom")?;
        for index in 0..LAYERS {
            let dir = scratch.join(format!("bench-layer-{index}"));
            fs::create_dir_all(&dir)?;
            let mut file = fs::File::create(dir.join(format!("data-{index}")))?;
            std::io::copy(&mut (&mut random).take(LAYER_BYTES), &mut file)?;
            file.flush()?;
            layers.push(dir);
        }
        berth_tests::oracle::write_docker_archive(&layers, NAME, archive);
        for dir in layers {
            fs::remove_dir_all(dir)?;
        }
        Ok(())
    }

    fn berth_load(ch03: &Path, archive: &Path, scratch: &Path) -> anyhow::Result<Vec<Duration>> {
        let root = scratch.join("berth-load-store");
        timed(
            || {
                let _ = fs::remove_dir_all(&root);
                let mut cmd = Command::new(ch03);
                cmd.args(["load", "-q", "-i"])
                    .arg(archive)
                    .env("BERTH_ROOT", &root);
                Ok(cmd)
            },
            || Ok(fs::remove_dir_all(&root)?),
        )
    }

    fn berth_save(
        ch03: &Path,
        archive: &Path,
        root: &Path,
        scratch: &Path,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut load = Command::new(ch03);
        load.args(["load", "-q", "-i"])
            .arg(archive)
            .env("BERTH_ROOT", root);
        util::run(&mut load)?;
        let out = scratch.join("berth-save.tar");
        let times = timed(
            || {
                let mut cmd = Command::new(ch03);
                cmd.args(["save", "-o"])
                    .arg(&out)
                    .arg(NAME)
                    .env("BERTH_ROOT", root);
                Ok(cmd)
            },
            || Ok(fs::remove_file(&out)?),
        );
        fs::remove_dir_all(root)?;
        times
    }

    /// A docker client command talking to the oracle.
    pub(super) fn docker(args: &[&str]) -> Command {
        let mut cmd = Command::new(oracle::docker_client());
        cmd.args(["-H", oracle::HOST]).args(args);
        cmd
    }

    fn quietly(mut cmd: Command) -> anyhow::Result<()> {
        let output = cmd.stdout(Stdio::null()).output()?;
        if !output.status.success() {
            bail!(
                "`{}` failed: {}",
                util::describe(&cmd),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    fn docker_rows(archive: &Path, scratch: &Path) -> anyhow::Result<(Row, Row)> {
        let archive_arg = archive.to_string_lossy().into_owned();
        let load = timed(
            || Ok(docker(&["load", "-q", "-i", &archive_arg])),
            || quietly(docker(&["rmi", "-f", NAME])),
        )?;
        quietly(docker(&["load", "-q", "-i", &archive_arg]))?;
        let out = scratch.join("docker-save.tar");
        let out_arg = out.to_string_lossy().into_owned();
        let save = timed(
            || Ok(docker(&["save", "-o", &out_arg, NAME])),
            || Ok(fs::remove_file(&out)?),
        )?;
        quietly(docker(&["rmi", "-f", NAME]))?;
        Ok((
            Row {
                tool: "docker",
                times: load,
            },
            Row {
                tool: "docker",
                times: save,
            },
        ))
    }

    fn skopeo_rows(archive: &Path, scratch: &Path) -> anyhow::Result<(Row, Row)> {
        let layout = scratch.join("skopeo-oci");
        let source = format!("docker-archive:{}", archive.display());
        let target = format!("oci:{}:{NAME}", layout.display());
        let copy = |from: &str, to: &str| {
            let mut cmd = Command::new("skopeo");
            cmd.args(["copy", "-q", from, to]);
            cmd
        };
        let load = timed(
            || {
                let _ = fs::remove_dir_all(&layout);
                Ok(copy(&source, &target))
            },
            || Ok(fs::remove_dir_all(&layout)?),
        )?;
        quietly(copy(&source, &target))?;
        let out = scratch.join("skopeo-save.tar");
        let save_target = format!("docker-archive:{}:{NAME}", out.display());
        let save = timed(
            || Ok(copy(&target, &save_target)),
            || Ok(fs::remove_file(&out)?),
        )?;
        fs::remove_dir_all(&layout)?;
        Ok((
            Row {
                tool: "skopeo copy",
                times: load,
            },
            Row {
                tool: "skopeo copy",
                times: save,
            },
        ))
    }

    // ANCHOR: bench_timed
    /// One untimed warm-up (the archive into the page cache), then [`RUNS`] timed runs of
    /// the command `prepare` makes, each followed by `reset`, which puts the store back.
    fn timed(
        mut prepare: impl FnMut() -> anyhow::Result<Command>,
        mut reset: impl FnMut() -> anyhow::Result<()>,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(RUNS);
        for index in 0..=RUNS {
            let mut cmd = prepare()?;
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
            reset().with_context(|| format!("resetting after `{}`", util::describe(&cmd)))?;
            if index > 0 {
                times.push(took);
            }
        }
        Ok(times)
    }
    // ANCHOR_END: bench_timed

    fn print_rows(title: &str, rows: &[Row]) {
        let berth = median(&rows[0].times).as_secs_f64();
        println!("\n{title}, {RUNS} runs each:");
        println!(
            "{:<14} {:>8} {:>9} {:>9}",
            "tool", "min s", "median s", "vs berth"
        );
        for row in rows {
            let low = row.times.iter().min().copied().unwrap_or_default();
            let mid = median(&row.times).as_secs_f64();
            println!(
                "{:<14} {:>8.3} {:>9.3} {:>8.2}×",
                row.tool,
                low.as_secs_f64(),
                mid,
                mid / berth
            );
        }
        let fastest_peer = rows[1..]
            .iter()
            .map(|row| median(&row.times).as_secs_f64())
            .fold(f64::INFINITY, f64::min);
        if fastest_peer.is_finite() {
            println!("berth / fastest peer = {:.2}×", berth / fastest_peer);
        }
    }
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

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn runs_below_the_minimum_are_refused() {
        let error = parse_args(&args(&["--runs", "5"])).unwrap_err();
        assert!(error.to_string().contains("at least 20"), "{error}");
        assert_eq!(parse_args(&[]).unwrap().runs, MIN_RUNS);
    }

    #[test]
    fn only_picks_one_section_and_every_section_runs_without_it() {
        let options = parse_args(&args(&["--only", "lifecycle", "--runs", "30"])).unwrap();
        assert_eq!(
            options,
            Options {
                runs: 30,
                only: Some(Section::Lifecycle)
            }
        );
        assert!(options.wants(Section::Lifecycle) && !options.wants(Section::Images));
        let all = parse_args(&[]).unwrap();
        assert!(all.wants(Section::Start) && all.wants(Section::Images));
    }

    #[test]
    fn unknown_sections_flags_and_missing_values_are_refused() {
        for bad in [&["--only", "speed"][..], &["--fast", "1"], &["--runs"]] {
            let error = parse_args(&args(bad)).unwrap_err().to_string();
            assert!(
                error.contains("usage: cargo xtask bench"),
                "{bad:?}: {error}"
            );
        }
    }
}
