//! Chapter 04's rows: a container's life driven from the CLI, berth against the
//! oracle dockerd and crun.
//!
//! - `run --rm IMAGE true`: `berth` (the whole tool: chapter 05's overlay) and
//!   `ch04` (chapter 03's copy of the image at each create) against `docker run
//!   --rm` and against `crun run` on the same root filesystem (the crun times of
//!   the first section); the targets are read off the first row, `berth`;
//! - `create` then `rm` of one container, timed together, the same tools;
//! - `ps -a` over [`PS_CONTAINERS`] created containers, berth's and docker's alike.
//!
//! berth and docker run the same image: the bench root filesystem as a one-layer
//! docker-archive, loaded into both. They take turns, run by run (see
//! [`time_interleaved`]); `ch04` is timed alone, after them. Every container
//! made here is removed here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::images::docker;
use super::{WARM_UP, median, millis};
use crate::util;

const IMAGE: &str = "berth-bench/busybox:latest";

/// The containers `ps -a` lists, for berth and for docker alike, as the issue asks.
const PS_CONTAINERS: usize = 1000;

/// Creations run at once while the `ps` sets are filled (untimed): docker takes
/// about 50 ms a container, so its thousand take about a quarter of a minute.
const PARALLEL: usize = 4;

/// The peers that answer, as the caller found them.
pub struct Peers<'a> {
    /// The oracle dockerd runs.
    pub docker: bool,
    /// crun's times from the first section: `true` on the same root filesystem.
    pub crun_start: Option<&'a [Duration]>,
}

/// One tool's times for one operation.
pub(super) struct Row {
    tool: String,
    pub(super) times: Vec<Duration>,
}

impl Row {
    pub(super) fn new(tool: impl Into<String>, times: Vec<Duration>) -> Self {
        Row {
            tool: tool.into(),
            times,
        }
    }
}

/// Runs the section in `scratch`; `rootfs` is the bench root filesystem.
pub fn run(scratch: &Path, rootfs: &Path, runs: usize, peers: &Peers) -> anyhow::Result<()> {
    let archive = scratch.join("busybox-image.tar");
    berth_tests::oracle::write_docker_archive(&[rootfs.to_path_buf()], IMAGE, &archive);
    let tools = [
        ("berth (overlay)", Berth::new(scratch, "lifecycle", "berth")),
        ("ch04 (copy)", Berth::new(scratch, "lifecycle-ch04", "ch04")),
    ];
    for (_, berth) in &tools {
        berth.ok(&[
            OsStr::new("load"),
            OsStr::new("-q"),
            OsStr::new("-i"),
            archive.as_os_str(),
        ])?;
    }
    if peers.docker {
        let archive = archive.to_string_lossy();
        output(docker(&["load", "-q", "-i", &archive]))?;
    }

    let (berth, copy) = (&tools[0].1, &tools[1].1);
    let start_once = |berth: &Berth| berth.ok(&["run", "--rm", IMAGE, "true"]).map(drop);
    let create_rm_once = |berth: &Berth| {
        let id = berth.ok(&["create", IMAGE, "true"])?;
        berth.ok(&["rm", id.trim()]).map(drop)
    };
    // berth and docker, whose ratio is the target, take turns; chapter 03's
    // copy runs alone, since each of its removals leaves a whole root
    // filesystem being deleted behind it.
    let mut start = with_docker(
        runs,
        peers.docker,
        (tools[0].0, || start_once(berth)),
        || output(docker(&["run", "--rm", IMAGE, "true"])).map(drop),
    )?;
    let mut create_rm = with_docker(
        runs,
        peers.docker,
        (tools[0].0, || create_rm_once(berth)),
        || {
            let id = output(docker(&["create", IMAGE, "true"]))?;
            output(docker(&["rm", id.trim()])).map(drop)
        },
    )?;
    // Last, so that the files its removals delete are not deleted while the
    // others are timed.
    let copy_start = time_runs(runs, || start_once(copy))?;
    start.insert(1, Row::new(tools[1].0, copy_start));
    freed_many_inodes();
    let copy_create_rm = time_runs(runs, || create_rm_once(copy))?;
    create_rm.insert(1, Row::new(tools[1].0, copy_create_rm));
    freed_many_inodes();
    if let Some(crun) = peers.crun_start {
        start.push(Row::new("crun run, same rootfs", crun.to_vec()));
    }
    for (tool, berth) in &tools {
        let left = berth.ok(&["ps", "-aq"])?;
        if !left.trim().is_empty() {
            bail!("{tool}: containers left after the start and create rows: {left}");
        }
    }
    let ps = ps_rows(scratch, rootfs, runs, peers.docker)?;

    println!("\ncontainer life (chapter 04), the busybox image, {runs} runs each:");
    println!("{:<32} {:>8} {:>10}", "", "min ms", "median ms");
    print_rows("run --rm IMAGE true", &start);
    verdict_faster(&start, "docker", 10.0);
    verdict_within(&start, "crun run, same rootfs", 2.0);
    print_rows("create + rm", &create_rm);
    verdict_faster(&create_rm, "docker", 10.0);
    print_rows("ps -a", &ps);
    let berth_ps = millis(median(&ps[0].times));
    println!(
        "  → berth's median {berth_ps:.1} ms (target ≤ 50 ms: {})",
        met(berth_ps <= 50.0)
    );
    verdict_faster(&ps, &ps_row_name("docker"), 10.0);
    Ok(())
}

/// Times berth's operation and, when the oracle answers, docker's, taking
/// turns: berth's row first, then docker's.
fn with_docker<'a>(
    runs: usize,
    docker: bool,
    (tool, berth): (&str, impl FnMut() -> anyhow::Result<()> + 'a),
    peer: impl FnMut() -> anyhow::Result<()> + 'a,
) -> anyhow::Result<Vec<Row>> {
    let mut tools: Vec<Timed> = vec![(tool.to_string(), Box::new(berth))];
    if docker {
        tools.push(("docker".to_string(), Box::new(peer)));
    }
    time_interleaved(runs, tools)
}

/// `ps -a` over [`PS_CONTAINERS`] created containers on each side, the two
/// taking turns: berth's made from `rootfs` (`--rootfs`, so no copy of the
/// image is made a thousand times), docker's from the image. Both sides'
/// containers are pruned once timed, also when the timing failed.
fn ps_rows(
    scratch: &Path,
    rootfs: &Path,
    runs: usize,
    with_docker: bool,
) -> anyhow::Result<Vec<Row>> {
    let berth = Berth::new(scratch, "lifecycle-ps", "ch04");
    let create = [
        OsStr::new("create"),
        OsStr::new("--rootfs"),
        rootfs.as_os_str(),
        OsStr::new("true"),
    ];
    let timed = (|| {
        create_many(PS_CONTAINERS, || berth.command(&create))?;
        expect_listed(&berth.ok(&["ps", "-aq"])?, "berth")?;
        let mut tools: Vec<Timed> = vec![(
            ps_row_name("berth (ch04)"),
            Box::new(|| berth.ok(&["ps", "-a"]).map(drop)),
        )];
        if with_docker {
            create_many(PS_CONTAINERS, || docker(&["create", IMAGE, "true"]))?;
            expect_listed(&output(docker(&["ps", "-aq"]))?, "docker")?;
            tools.push((
                ps_row_name("docker"),
                Box::new(|| output(docker(&["ps", "-a"])).map(drop)),
            ));
        }
        time_interleaved(runs, tools)
    })();
    // A created container holds only its directory: prune removes them all.
    berth.ok(&["container", "prune", "-f"])?;
    if with_docker {
        output(docker(&["container", "prune", "-f"]))?;
    }
    freed_many_inodes();
    timed
}

/// The name of `tool`'s `ps -a` row: both list the same number of containers.
fn ps_row_name(tool: &str) -> String {
    format!("{tool}, {PS_CONTAINERS} containers")
}

/// Fails unless `ps -aq` printed [`PS_CONTAINERS`] ids.
fn expect_listed(ids: &str, tool: &str) -> anyhow::Result<()> {
    let listed = ids.lines().count();
    if listed != PS_CONTAINERS {
        bail!("{tool}'s ps -aq listed {listed} containers, not {PS_CONTAINERS}");
    }
    Ok(())
}

/// A release binary of berth (`ch04`, `berth`…) on a state root and run
/// directory of its own.
pub(super) struct Berth {
    binary: PathBuf,
    root: PathBuf,
    run: PathBuf,
    env: Vec<(&'static str, &'static str)>,
}

impl Berth {
    /// `binary` with its state in `scratch/NAME-root` and `scratch/NAME-run`.
    pub(super) fn new(scratch: &Path, name: &str, binary: &str) -> Self {
        Berth {
            binary: util::built_binary("release", binary),
            root: scratch.join(format!("{name}-root")),
            run: super::RunState::dir(scratch, name),
            env: Vec::new(),
        }
    }

    /// Sets `key` to `value` for every command.
    pub(super) fn with_env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }

    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.args(args)
            .env("BERTH_ROOT", &self.root)
            .env("BERTH_RUN", &self.run)
            .envs(self.env.iter().copied());
        cmd
    }

    /// Runs the binary with `args`; its standard output, or why it failed.
    pub(super) fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> anyhow::Result<String> {
        output(self.command(args))
    }
}

/// Runs `cmd` with no input; its standard output, or an error with its stderr.
pub(super) fn output(mut cmd: Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{}`", util::describe(&cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            util::describe(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ANCHOR: bench_time_runs
/// Times `runs` calls of `once`, after [`WARM_UP`] untimed ones.
pub(super) fn time_runs<T>(
    runs: usize,
    mut once: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(runs);
    // What the preparation and the rows before wrote (an image of 200 MiB
    // unpacked, a copy per start) is flushed first, so that its writeback does
    // not land in this row's times.
    // SAFETY: sync has no arguments and cannot fail.
    unsafe { libc::sync() };
    wait_until_quiet();
    for index in 0..WARM_UP + runs {
        let started = Instant::now();
        once()?;
        if index >= WARM_UP {
            times.push(started.elapsed());
        }
    }
    Ok(times)
}
// ANCHOR_END: bench_time_runs

// ANCHOR: bench_time_interleaved
/// A tool's name and the operation to time, for [`time_interleaved`].
pub(super) type Timed<'a> = (String, Box<dyn FnMut() -> anyhow::Result<()> + 'a>);

/// Times `runs` calls of each tool's operation (after [`WARM_UP`] untimed
/// rounds), the tools taking turns: in order on even rounds, in reverse on odd
/// ones, so each tool follows every other as often as it precedes it.
///
/// Rows timed one after the other compare different machines: berth's row of
/// `run --rm` takes about a third of a second and docker's about four, and a
/// short row catches whatever the host is doing in its third of a second.
/// Taken in turns, each tool's times spread over the same seconds; and each
/// turn starts once the machine is quiet again, so that no tool pays for the
/// work another left going on.
pub(super) fn time_interleaved(runs: usize, mut tools: Vec<Timed>) -> anyhow::Result<Vec<Row>> {
    let mut times = vec![Vec::with_capacity(runs); tools.len()];
    // SAFETY: sync has no arguments and cannot fail.
    unsafe { libc::sync() };
    wait_until_quiet();
    for round in 0..WARM_UP + runs {
        for index in turn_order(round, tools.len()) {
            settle_before_turn();
            let started = Instant::now();
            (tools[index].1)()?;
            if round >= WARM_UP {
                times[index].push(started.elapsed());
            }
        }
    }
    Ok(tools
        .into_iter()
        .zip(times)
        .map(|((tool, _), times)| Row::new(tool, times))
        .collect())
}

/// The order in which `tools` tools take their turns in round `round`.
fn turn_order(round: usize, tools: usize) -> Vec<usize> {
    match round % 2 {
        0 => (0..tools).collect(),
        _ => (0..tools).rev().collect(),
    }
}
// ANCHOR_END: bench_time_interleaved

/// At most this share of the CPUs' time may be busy for the machine to count as quiet.
const QUIET: f64 = 0.10;

/// Waits (at most 20 s) until the CPUs and every disk are quiet over a
/// quarter of a second: a peer may go on working after its command returned
/// (dockerd and containerd after loading an image, say), and so may the
/// disk, and that work would otherwise be charged to whichever tool's row
/// comes next.
fn wait_until_quiet() {
    if !cfg!(test) {
        let_freed_inodes_age();
    }
    wait_for_quiet(Duration::from_millis(250), Duration::from_secs(20));
}

/// When the bench last deleted many files at once (a thousand containers
/// pruned, a copied root filesystem per run).
static MANY_FREED: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Notes that many files were just deleted: see [`let_freed_inodes_age`].
pub(super) fn freed_many_inodes() {
    *MANY_FREED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
}

/// Sleeps until the inodes the bench freed last are no longer recent. An ext4
/// without a journal (this machine's) will not hand out an inode freed in the
/// last `dirty_expire_centisecs` (30 s) plus 5 s: it walks the block group's
/// bitmap from its start, looking up every freed inode it passes. After a
/// thousand containers are pruned, every file the next row creates in that
/// group pays for that walk; a row would be timed against what the previous
/// one deleted.
fn let_freed_inodes_age() {
    let Some(freed) = *MANY_FREED.lock().unwrap_or_else(|e| e.into_inner()) else {
        return;
    };
    let expire = std::fs::read_to_string("/proc/sys/vm/dirty_expire_centisecs")
        .ok()
        .and_then(|c| c.trim().parse::<u64>().ok())
        .unwrap_or(3000);
    let recent = Duration::from_millis(expire * 10) + Duration::from_secs(6);
    if let Some(left) = recent.checked_sub(freed.elapsed()) {
        println!(
            "(waiting {:.0} s for the inodes freed by the last removals to age)",
            left.as_secs_f64()
        );
        std::thread::sleep(left);
    }
}

/// Waits (at most 2 s) until the CPUs and every disk are quiet over 50 ms:
/// after its command returned, each tool still has work going on (berth's
/// supervisor releases the cgroup, `rm` deletes files in the background,
/// dockerd and containerd tidy up), and the next turn, often the other
/// tool's, would pay for it.
fn settle_before_turn() {
    wait_for_quiet(Duration::from_millis(50), Duration::from_secs(2));
}

/// Waits (at most `limit`) until at most [`QUIET`] of the CPUs' and of each
/// disk's time was busy over one `window`.
fn wait_for_quiet(window: Duration, limit: Duration) {
    if cfg!(test) {
        return; // the unit tests of the timing loop run beside other tests
    }
    let started = Instant::now();
    while started.elapsed() < limit {
        let (Some(before), disks_before) = (cpu_times(), disk_io_ticks()) else {
            return;
        };
        std::thread::sleep(window);
        let (Some(after), disks_after) = (cpu_times(), disk_io_ticks()) else {
            return;
        };
        let disk_busy =
            busiest_disk(&disks_before, &disks_after) as f64 / window.as_millis() as f64;
        if busy_share(before, after) <= QUIET && disk_busy <= QUIET {
            return;
        }
    }
}

/// Each block device's milliseconds spent doing I/O (the 13th field of
/// /proc/diskstats).
fn disk_io_ticks() -> Vec<(String, u64)> {
    let stats = std::fs::read_to_string("/proc/diskstats").unwrap_or_default();
    stats.lines().filter_map(disk_io_ticks_of).collect()
}

/// (device, I/O milliseconds) from one line of /proc/diskstats.
fn disk_io_ticks_of(line: &str) -> Option<(String, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    Some((fields.get(2)?.to_string(), fields.get(12)?.parse().ok()?))
}

/// The most milliseconds of I/O any one device did between two samples.
fn busiest_disk(before: &[(String, u64)], after: &[(String, u64)]) -> u64 {
    after
        .iter()
        .filter_map(|(name, ticks)| {
            let (_, earlier) = before.iter().find(|(n, _)| n == name)?;
            Some(ticks.saturating_sub(*earlier))
        })
        .max()
        .unwrap_or(0)
}

/// (busy, total) jiffies of all CPUs, from the first line of /proc/stat.
fn cpu_times() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    cpu_times_of(stat.lines().next()?)
}

/// (busy, total) from a `cpu  user nice system idle iowait irq softirq …` line.
/// Only idle is quiet: time waiting for the disk means writeback is still
/// going on, which every fsync of the next row would wait behind.
fn cpu_times_of(line: &str) -> Option<(u64, u64)> {
    let fields: Vec<u64> = line
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = fields.iter().sum();
    let idle = *fields.get(3)?;
    Some((total - idle, total))
}

/// The share of the time between two samples that the CPUs were busy.
fn busy_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let total = after.1.saturating_sub(before.1);
    match total {
        0 => 0.0,
        _ => after.0.saturating_sub(before.0) as f64 / total as f64,
    }
}

/// Runs `count` commands that `make` returns, [`PARALLEL`] at a time.
fn create_many(count: usize, make: impl Fn() -> Command) -> anyhow::Result<()> {
    let mut left = count;
    while left > 0 {
        let wave = left.min(PARALLEL);
        let children: Vec<_> = (0..wave)
            .map(|_| {
                let mut cmd = make();
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                cmd.spawn()
                    .with_context(|| format!("cannot start `{}`", util::describe(&cmd)))
            })
            .collect::<anyhow::Result<_>>()?;
        for child in children {
            let out = child.wait_with_output()?;
            if !out.status.success() {
                bail!(
                    "a creation failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        left -= wave;
    }
    Ok(())
}

pub(super) fn print_rows(operation: &str, rows: &[Row]) {
    println!("{operation}");
    for row in rows {
        let low = row.times.iter().min().copied().unwrap_or_default();
        println!(
            "  {:<30} {:>8.1} {:>10.1}",
            row.tool,
            millis(low),
            millis(median(&row.times))
        );
    }
}

pub(super) fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "missed" }
}

/// The median of the row of `tool`, when it was measured.
fn median_of(rows: &[Row], tool: &str) -> Option<f64> {
    let row = rows.iter().find(|row| row.tool == tool)?;
    Some(median(&row.times).as_secs_f64())
}

/// "berth is N× faster than `peer`", against a target of `at_least`.
pub(super) fn verdict_faster(rows: &[Row], peer: &str, at_least: f64) {
    let berth = median(&rows[0].times).as_secs_f64();
    if let Some(theirs) = median_of(rows, peer) {
        let ratio = theirs / berth;
        println!(
            "  → {peer} / berth = {ratio:.1}× (target ≥ {at_least}×: {})",
            met(ratio >= at_least)
        );
    }
}

/// "berth takes N× `peer`'s time", against a target of `at_most`.
fn verdict_within(rows: &[Row], peer: &str, at_most: f64) {
    let berth = median(&rows[0].times).as_secs_f64();
    if let Some(theirs) = median_of(rows, peer) {
        let ratio = berth / theirs;
        println!(
            "  → berth / {peer} = {ratio:.2}× (target ≤ {at_most}×: {})",
            met(ratio <= at_most)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tool: &str, ms: &[u64]) -> Row {
        Row::new(tool, ms.iter().map(|v| Duration::from_millis(*v)).collect())
    }

    #[test]
    fn a_row_is_found_by_its_tool_and_a_missing_one_is_none() {
        let rows = [row("berth (ch04)", &[10, 12, 11]), row("docker", &[300])];
        assert_eq!(median_of(&rows, "docker"), Some(0.3));
        assert_eq!(median_of(&rows, "crun"), None);
    }

    #[test]
    fn interleaved_tools_take_turns_forward_then_backward() {
        assert_eq!(turn_order(0, 3), [0, 1, 2]);
        assert_eq!(turn_order(1, 3), [2, 1, 0]);
        let calls = std::cell::RefCell::new(Vec::new());
        let tool = |name: &'static str| -> Timed {
            let calls = &calls;
            (
                name.to_string(),
                Box::new(move || {
                    calls.borrow_mut().push(name);
                    Ok(())
                }),
            )
        };
        let rows = time_interleaved(3, vec![tool("a"), tool("b")]).unwrap();
        let rounds = WARM_UP + 3;
        let expected: Vec<&str> = (0..rounds)
            .flat_map(|round| {
                if round % 2 == 0 {
                    ["a", "b"]
                } else {
                    ["b", "a"]
                }
            })
            .collect();
        assert_eq!(*calls.borrow(), expected);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].tool.as_str(), rows[0].times.len()), ("a", 3));
        assert_eq!((rows[1].tool.as_str(), rows[1].times.len()), ("b", 3));
    }

    #[test]
    fn a_failing_turn_stops_the_timing() {
        let failing: Timed = ("f".into(), Box::new(|| anyhow::bail!("no")));
        assert!(time_interleaved(2, vec![failing]).is_err());
    }

    #[test]
    fn cpu_lines_give_busy_and_total_time() {
        assert_eq!(cpu_times_of("cpu  10 0 5 80 5 0 0 0 0 0"), Some((20, 100)));
        assert_eq!(cpu_times_of("cpu0 1 2 3 4"), None, "one CPU's line");
        assert_eq!(busy_share((15, 100), (45, 200)), 0.3);
        assert_eq!(busy_share((15, 100), (15, 100)), 0.0);
    }

    #[test]
    fn the_busiest_disk_is_the_one_that_did_the_most_io() {
        let line = " 254       0 vda 100 0 800 50 200 0 1600 70 0 120 130 0 0 0 0 0 0";
        assert_eq!(disk_io_ticks_of(line), Some(("vda".into(), 120)));
        assert_eq!(disk_io_ticks_of("254 0 vda 1 2"), None);
        let before = [("vda".to_string(), 120), ("vdb".to_string(), 5)];
        let after = [
            ("vda".to_string(), 130),
            ("vdb".to_string(), 65),
            ("new".to_string(), 500),
        ];
        assert_eq!(
            busiest_disk(&before, &after),
            60,
            "a new device has no delta"
        );
    }

    #[test]
    fn timed_runs_skip_the_warm_up_and_stop_at_the_first_failure() {
        let mut calls = 0;
        let times = time_runs(3, || {
            calls += 1;
            anyhow::Ok(())
        })
        .unwrap();
        assert_eq!((times.len(), calls), (3, 3 + WARM_UP));
        let mut calls = 0;
        let failed = time_runs(3, || {
            calls += 1;
            match calls {
                2 => bail!("second run failed"),
                _ => anyhow::Ok(()),
            }
        });
        assert!(failed.is_err());
        assert_eq!(calls, 2);
    }
}
