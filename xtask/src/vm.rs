//! `cargo xtask vm-test`: chapter 02's limits checked on a pure cgroup2 kernel, in a VM.
//!
//! The machines berth is developed on may be cgroup v1; chapter 02 must work on v2 as
//! well, so this command boots Debian's cloud kernel under qemu (software emulation, no
//! KVM needed) with an initramfs holding busybox, `ch02` and the scripts of `tests/vm/`.
//! The guest mounts a cgroup2-only tree, runs containers with limits and prints one
//! `VMTEST PASS|FAIL name` line per check; this side echoes them and fails unless every
//! check passed and the guest reported `VMTEST DONE`.
//!
//! Downloads and the built initramfs live in `target/vm/`; the last console output is
//! kept there as `console.log`. `--ch02 PATH` tests a given binary instead of building
//! the workspace's; `--timeout SECONDS` bounds the VM's run (180 s by default).

mod cpio;
mod host;
mod initramfs;
mod kernel;
mod qemu;
mod report;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use report::{Event, Summary};

/// How long the VM may run when `--timeout` is not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

/// How many console lines to show when the run failed.
const CONSOLE_TAIL: usize = 40;

/// The command's options.
struct Options {
    /// How long the VM may run.
    timeout: Duration,
    /// A `ch02` binary to test instead of building the workspace's.
    ch02: Option<PathBuf>,
}

/// How to call the command, for option errors.
const USAGE: &str = "usage: cargo xtask vm-test [--timeout SECONDS] [--ch02 PATH]";

/// Runs `cargo xtask vm-test [--timeout SECONDS] [--ch02 PATH]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse_options(args)?;
    let started = Instant::now();
    let cache = host::cache_dir()?;
    fs::create_dir_all(&cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let (vmlinuz, initrd) = prepare(&options, &cache)?;
    println!(
        "vm-test: booting {} (timeout {} s)",
        vmlinuz.display(),
        options.timeout.as_secs()
    );
    let machine = qemu::Machine {
        kernel: &vmlinuz,
        initrd: &initrd,
        timeout: options.timeout,
    };
    let mut summary = Summary::default();
    let console = qemu::boot(&machine, |line, elapsed| {
        if let Some(event) = report::parse_line(line) {
            show(&event, elapsed);
            summary.record(&event);
        }
    })?;
    let log = cache.join("console.log");
    fs::write(&log, console.lines.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", log.display()))?;
    println!(
        "vm-test: {} passed, {} failed, in {:.1} s in all",
        summary.passed.len(),
        summary.failed.len(),
        started.elapsed().as_secs_f64()
    );
    verdict(&summary, &console, &log, options.timeout)
}

/// Everything the VM boots from: packages, the `ch02` binary, the kernel, the initramfs.
fn prepare(options: &Options, cache: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    host::ensure_packages()?;
    let ch02 = match &options.ch02 {
        Some(path) => path.clone(),
        None => host::build_ch02()?,
    };
    let vmlinuz = kernel::fetch(cache)?;
    let scripts = host::workspace_root().join("tests/vm");
    let inputs = initramfs::Inputs {
        busybox: Path::new("/bin/busybox"),
        ch02: &ch02,
        scripts: &scripts,
    };
    let initrd = cache.join("initramfs.cpio.gz");
    initramfs::write(&inputs, &initrd)?;
    Ok((vmlinuz, initrd))
}

/// Success only when every check passed and the guest said it was done; otherwise an
/// error naming what went wrong, after showing the end of the console.
fn verdict(
    summary: &Summary,
    console: &qemu::Console,
    log: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    if summary.succeeded() {
        return Ok(());
    }
    show_console_tail(&console.lines, log);
    if !console.qemu_errors.trim().is_empty() {
        println!("vm-test: qemu said: {}", console.qemu_errors.trim());
    }
    if console.timed_out {
        bail!(
            "the VM did not finish within {} s (console in {})",
            timeout.as_secs(),
            log.display()
        );
    }
    if !summary.done {
        bail!(
            "the VM stopped ({}) before its checks were done (console in {})",
            console.status,
            log.display()
        );
    }
    let names: Vec<&str> = summary
        .failed
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    if names.is_empty() {
        bail!("the VM ran no check (console in {})", log.display());
    }
    bail!("{} VM check(s) failed: {}", names.len(), names.join(", "))
}

/// Reads `--timeout SECONDS` and `--ch02 PATH`.
fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        timeout: DEFAULT_TIMEOUT,
        ch02: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        if flag != "--timeout" && flag != "--ch02" {
            bail!("unknown option `{flag}`; {USAGE}");
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value; {USAGE}"))?;
        if flag == "--timeout" {
            let seconds: u64 = value
                .parse()
                .with_context(|| format!("--timeout wants whole seconds, not `{value}`"))?;
            options.timeout = Duration::from_secs(seconds);
        } else {
            options.ch02 = Some(PathBuf::from(value));
        }
    }
    Ok(options)
}

/// Prints one event as it arrives, with the time since qemu started.
fn show(event: &Event, elapsed: Duration) {
    let at = elapsed.as_secs_f64();
    match event {
        Event::Init(uptime) => {
            println!("vm-test: booted in {at:.1} s (init started at guest uptime {uptime} s)")
        }
        Event::Pass { name, detail } if detail.is_empty() => println!("  [{at:6.1} s] PASS {name}"),
        Event::Pass { name, detail } => println!("  [{at:6.1} s] PASS {name}: {detail}"),
        Event::Fail { name, detail } => println!("  [{at:6.1} s] FAIL {name}: {detail}"),
        Event::Done => println!("  [{at:6.1} s] DONE"),
    }
}

/// The last console lines that are not check lines, to explain a failed run.
fn show_console_tail(lines: &[String], log: &Path) {
    let others: Vec<&String> = lines
        .iter()
        .filter(|line| report::parse_line(line).is_none())
        .collect();
    if others.is_empty() {
        return;
    }
    let tail = &others[others.len().saturating_sub(CONSOLE_TAIL)..];
    println!(
        "vm-test: last console lines (all of them in {}):",
        log.display()
    );
    for line in tail {
        println!("  | {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn options_default_to_three_minutes_and_a_fresh_build() {
        let options = parse_options(&[]).unwrap();
        assert_eq!(options.timeout, Duration::from_secs(180));
        assert_eq!(options.ch02, None);
    }

    #[test]
    fn options_are_read_in_any_order() {
        let options = parse_options(&strings(&["--ch02", "/tmp/ch02", "--timeout", "60"])).unwrap();
        assert_eq!(options.timeout, Duration::from_secs(60));
        assert_eq!(options.ch02, Some(PathBuf::from("/tmp/ch02")));
    }

    #[test]
    fn bad_options_are_named() {
        let unknown = parse_options(&strings(&["--bogus"]))
            .err()
            .unwrap()
            .to_string();
        assert!(unknown.contains("unknown option `--bogus`"), "{unknown}");
        let missing = parse_options(&strings(&["--timeout"]))
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("--timeout needs a value"), "{missing}");
        let not_a_number = parse_options(&strings(&["--timeout", "1m"]))
            .err()
            .unwrap()
            .to_string();
        assert!(not_a_number.contains("whole seconds"), "{not_a_number}");
    }
}
