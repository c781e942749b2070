//! Chapter 05's rows: `run --rm IMAGE true` with the overlay driver (`berth`)
//! against chapter 04's copy (`ch04`) and docker, on a small and a big image.
//!
//! The small image is the bench root filesystem (busybox, a few MB); the big one
//! adds a layer of [`BIG_LAYER_MIB`] MiB of random data, written here, so nothing
//! is downloaded. An overlay mounts layers unpacked once, so its start should not
//! grow with the image; a copy unpacks every layer for every container, so it does.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;

use super::images::docker;
use super::lifecycle::{
    Berth, Row, Timed, output, print_rows, time_interleaved, time_runs, verdict_faster,
};
use super::{median, millis};

const SMALL: &str = "berth-bench/small:latest";
const BIG: &str = "berth-bench/big:latest";

/// The random layer of the big image: the issue asks for at least 200 MB.
const BIG_LAYER_MIB: u64 = 208;

/// Runs of chapter 04's copy on the big image: each unpacks the whole image,
/// so a median of five is enough to tell it from the overlay.
const COPY_BIG_RUNS: usize = 5;

/// Runs the section in `scratch`; `docker`: the oracle dockerd answers.
pub fn run(scratch: &Path, rootfs: &Path, runs: usize, docker_runs: bool) -> anyhow::Result<()> {
    let small = scratch.join("small-image.tar");
    berth_tests::oracle::write_docker_archive(&[rootfs.to_path_buf()], SMALL, &small);
    let big = scratch.join("big-image.tar");
    write_big_archive(scratch, rootfs, &big)?;
    let overlay = Berth::new(scratch, "union", "berth").with_env("BERTH_STORAGE_DRIVER", "overlay");
    let copy = Berth::new(scratch, "union-copy", "ch04");
    for berth in [&overlay, &copy] {
        for archive in [&small, &big] {
            berth.ok(&[
                "load".as_ref(),
                "-q".as_ref(),
                "-i".as_ref(),
                archive.as_os_str(),
            ])?;
        }
    }
    if docker_runs {
        for archive in [&small, &big] {
            output(docker(&["load", "-q", "-i", &archive.to_string_lossy()]))?;
        }
    }
    // berth's two images and docker's take turns, so that the two rows whose
    // ratio is a target (big / small, and each against docker) see the same
    // seconds of the machine; chapter 03's copy runs alone, after them.
    let start = |image: &'static str| ["run", "--rm", image, "true"];
    let mut tools: Vec<Timed> = Vec::new();
    for image in [SMALL, BIG] {
        let overlay = &overlay;
        tools.push((
            "berth (overlay)".into(),
            Box::new(move || overlay.ok(&start(image)).map(drop)),
        ));
        if docker_runs {
            tools.push((
                "docker".into(),
                Box::new(move || output(docker(&start(image))).map(drop)),
            ));
        }
    }
    let mut timed = time_interleaved(runs, tools)?.into_iter();
    let mut tables = Vec::new();
    for (image, copy_runs) in [(SMALL, runs), (BIG, COPY_BIG_RUNS)] {
        let mut rows: Vec<Row> = timed.by_ref().take(1 + usize::from(docker_runs)).collect();
        let copy_row = Row::new(
            format!("ch04 (copy), {copy_runs} runs"),
            time_runs(copy_runs, || copy.ok(&start(image)))?,
        );
        super::lifecycle::freed_many_inodes();
        rows.insert(1, copy_row);
        tables.push((image, rows));
    }
    check_nothing_left(scratch, &[&overlay, &copy])?;

    let big_mib = fs::metadata(&big)?.len() >> 20;
    println!("\ncontainer start by storage driver (chapter 05), {runs} runs each unless said:");
    println!("{:<32} {:>8} {:>10}", "", "min ms", "median ms");
    for (image, rows) in &tables {
        let what = match *image {
            SMALL => "run --rm IMAGE true, busybox".to_string(),
            _ => format!("run --rm IMAGE true, busybox + {big_mib} MiB"),
        };
        print_rows(&what, rows);
        verdict_faster(rows, "docker", 10.0);
    }
    let overlay_median = |rows: &[Row]| median(&rows[0].times);
    let (small_rows, big_rows) = (&tables[0].1, &tables[1].1);
    let growth = size_growth(overlay_median(small_rows), overlay_median(big_rows));
    println!(
        "  → berth (overlay) big / small = {:.2}× ({:.1} ms against {:.1} ms; target within 20%: {})",
        growth,
        millis(overlay_median(big_rows)),
        millis(overlay_median(small_rows)),
        super::lifecycle::met((growth - 1.0).abs() <= 0.2)
    );
    Ok(())
}

/// How many times the small image's start the big image's takes.
fn size_growth(small: Duration, big: Duration) -> f64 {
    big.as_secs_f64() / small.as_secs_f64()
}

/// The busybox layer, then one file of random data (random, so no tool wins by
/// compressing or deduplicating it).
fn write_big_archive(scratch: &Path, rootfs: &Path, archive: &Path) -> anyhow::Result<()> {
    let data = scratch.join("big-layer");
    fs::create_dir_all(&data)?;
    let mut file = fs::File::create(data.join("random.bin"))?;
    let mut random = fs::File::open("/dev/urandom")?;
    std::io::copy(&mut (&mut random).take(BIG_LAYER_MIB << 20), &mut file)?;
    file.flush()?;
    drop(file);
    let layers: [PathBuf; 2] = [rootfs.to_path_buf(), data.clone()];
    berth_tests::oracle::write_docker_archive(&layers, BIG, archive);
    fs::remove_dir_all(&data)?;
    Ok(())
}

/// No container is left in either state root and nothing is mounted under
/// `scratch` but the bench's own state tmpfs.
fn check_nothing_left(scratch: &Path, roots: &[&Berth]) -> anyhow::Result<()> {
    for berth in roots {
        let left = berth.ok(&["ps", "-aq"])?;
        if !left.trim().is_empty() {
            bail!("containers left after the storage rows: {left}");
        }
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
    let state = super::RunState::mount_point(scratch);
    let left = mountinfo.lines().find(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|point| Path::new(point).starts_with(scratch) && Path::new(point) != state)
    });
    if let Some(line) = left {
        bail!("a mount is left under {}: {line}", scratch.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_the_big_image_start_over_the_small_one() {
        let ms = Duration::from_millis;
        assert!((size_growth(ms(40), ms(44)) - 1.1).abs() < 1e-9);
        assert!((size_growth(ms(40), ms(40)) - 1.0).abs() < 1e-9);
    }
}
