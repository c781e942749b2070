//! Boots the VM under qemu with software emulation and streams its serial console.
//!
//! TCG (`-accel tcg`) rather than KVM: it works on any CI machine, nested or not, and the
//! cloud kernel with an initramfs boots in a few seconds even emulated.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context;

/// The kernel command line.
///
/// `panic=-1` with qemu's `-no-reboot` turns a dying init into a qemu exit instead of a hang;
/// `cgroup_no_v1=all` makes sure nothing can mount a v1 hierarchy, so the tree is pure v2;
/// `loglevel=3` keeps kernel warnings (the OOM killer's report) off the console, where they
/// would interleave with the check lines — they stay readable with `dmesg` in the guest.
pub const KERNEL_COMMAND_LINE: &str = "console=ttyS0 panic=-1 quiet loglevel=3 cgroup_no_v1=all";

/// What to boot.
pub struct Machine<'a> {
    /// The kernel image (`vmlinuz`).
    pub kernel: &'a Path,
    /// The initramfs.
    pub initrd: &'a Path,
    /// How long the VM may run before it is killed.
    pub timeout: Duration,
}

/// What the VM printed, and how it ended.
pub struct Console {
    /// Every console line, without line endings.
    pub lines: Vec<String>,
    /// True when the VM had to be killed at the timeout.
    pub timed_out: bool,
    /// qemu's exit status.
    pub status: ExitStatus,
    /// What qemu itself printed on stderr (its own errors, not the guest's).
    pub qemu_errors: String,
}

// ANCHOR: qemu_command
/// The qemu command line for `machine`.
fn command(machine: &Machine<'_>) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-accel", "tcg", "-m", "1024", "-smp", "1"])
        // No default devices (VGA, network card), no monitor: only the serial console on stdio.
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-monitor",
            "none",
        ])
        .args(["-serial", "stdio", "-no-reboot"])
        .arg("-kernel")
        .arg(machine.kernel)
        .arg("-initrd")
        .arg(machine.initrd)
        .args(["-append", KERNEL_COMMAND_LINE]);
    cmd
}
// ANCHOR_END: qemu_command

/// Boots `machine`, calling `on_line` with each console line and the time since qemu started.
pub fn boot(
    machine: &Machine<'_>,
    mut on_line: impl FnMut(&str, Duration),
) -> anyhow::Result<Console> {
    let mut cmd = command(machine);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .context("cannot start qemu-system-x86_64 (apt package qemu-system-x86)")?;
    let lines = spawn_line_reader(&mut child)?;
    let errors = spawn_text_reader(&mut child)?;

    let deadline = started + machine.timeout;
    let mut console = Vec::new();
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                on_line(&line, started.elapsed());
                console.push(line);
            }
            // qemu closed its stdout: it has exited or is about to.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                child.kill().context("cannot kill qemu after the timeout")?;
                break;
            }
        }
    }
    let status = child.wait().context("cannot wait for qemu")?;
    let qemu_errors = errors.join().unwrap_or_default();
    Ok(Console {
        lines: console,
        timed_out,
        status,
        qemu_errors,
    })
}

/// Reads the console line by line on a thread, so the caller can wait with a deadline.
fn spawn_line_reader(child: &mut Child) -> anyhow::Result<mpsc::Receiver<String>> {
    let stdout = child.stdout.take().context("qemu's stdout is not piped")?;
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut raw = Vec::new();
        // The guest may print bytes that are not UTF-8; a lossy line is still worth showing.
        while reader.read_until(b'\n', &mut raw).is_ok_and(|n| n > 0) {
            let line = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            if sender.send(line).is_err() {
                break;
            }
            raw.clear();
        }
    });
    Ok(receiver)
}

/// Collects qemu's stderr on a thread, so a full pipe never blocks it.
fn spawn_text_reader(child: &mut Child) -> anyhow::Result<thread::JoinHandle<String>> {
    let mut stderr = child.stderr.take().context("qemu's stderr is not piped")?;
    Ok(thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    }))
}
