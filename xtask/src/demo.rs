//! `cargo xtask demo`: from a fresh Debian 12 machine to a running container, explained.
//!
//! It installs what it needs, builds berth, makes a busybox root filesystem offline, and
//! runs one container with limits whose script shows, line by line, what makes it a
//! container: PID 1, its own hostname, docker's capability set, its own namespaces and a
//! memory limit enforced by a cgroup.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::{rootfs, util};

/// What the demo needs from apt: the root filesystem, and a C toolchain for linking Rust.
const PACKAGES: &[&str] = &["busybox-static", "gcc", "libc6-dev"];

/// The namespaces shown side by side, container and host.
const NAMESPACES: &[&str] = &["mnt", "pid", "uts", "ipc", "net", "cgroup"];

// ANCHOR: demo_script
/// The script run inside the container; each `echo` says what the next line shows.
const SCRIPT: &str = r#"
echo "1. My PID. I am the first process of a new pid namespace, so I am PID 1:"
echo "   $$"
echo "2. My hostname, set in my own UTS namespace without touching the host's:"
echo "   $(hostname)"
echo "3. My capabilities: docker's default set (CapEff a80425fb), not all of root's:"
grep Cap /proc/self/status | sed 's/^/   /'
echo "4. My namespaces (compared with the host's below):"
for ns in mnt pid uts ipc net cgroup; do echo "   ns $ns $(readlink /proc/self/ns/$ns)"; done
echo "5. My memory limit, written by berth into my cgroup (64m = 67108864 bytes):"
if [ -e /sys/fs/cgroup/memory.max ]; then
  echo "   memory.max = $(cat /sys/fs/cgroup/memory.max)"
else
  echo "   memory.limit_in_bytes = $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
fi
"#;
// ANCHOR_END: demo_script

/// Runs `cargo xtask demo`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if !args.is_empty() {
        bail!("usage: cargo xtask demo");
    }
    util::require_root("the demo")?;
    say("Installing what the demo needs (only what is missing).");
    util::apt_install(PACKAGES)?;
    say("Building berth in release mode: one binary per chapter (ch01, ch02, …, berth).");
    util::build_release()?;

    let demo_dir = util::target_dir().join("demo");
    let rootfs = demo_dir.join("rootfs");
    say(&format!(
        "Making a small root filesystem from busybox-static in {}.",
        rootfs.display()
    ));
    rootfs::build(&rootfs)?;

    let ch02 = util::built_binary("release", "ch02");
    say("Running a container: its own PID, hostname, capabilities, namespaces, and limits.");
    let mut cmd = Command::new(&ch02);
    cmd.arg("run")
        .arg("--rootfs")
        .arg(&rootfs)
        .args([
            "--hostname",
            "demo",
            "--memory",
            "64m",
            "--pids-limit",
            "32",
        ])
        .args(["sh", "-c", SCRIPT])
        // Keep the demo's container records beside the build, not in /var/lib/berth.
        .env("BERTH_ROOT", demo_dir.join("state"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    println!(
        "$ ch02 run --rootfs {} --hostname demo --memory 64m --pids-limit 32 sh -c '…'\n",
        rootfs.display()
    );
    let output = cmd
        .output()
        .with_context(|| format!("cannot start {}", ch02.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    print!("{printed}");
    if !output.status.success() {
        bail!(
            "the container failed ({}); `cargo xtask doctor` checks what the kernel offers",
            output.status
        );
    }
    compare_namespaces(&printed)?;
    say("Done. Try it yourself:");
    println!(
        "   {} run --rootfs {} -t sh",
        ch02.display(),
        rootfs.display()
    );
    Ok(())
}

/// Prints each namespace of the container next to the host's and whether they differ.
fn compare_namespaces(container_output: &str) -> anyhow::Result<()> {
    let inside = namespace_links(container_output);
    println!(
        "\n   {:<10} {:<20} {:<20} shared?",
        "namespace", "container", "host"
    );
    for ns in NAMESPACES {
        let host = fs::read_link(format!("/proc/self/ns/{ns}"))?
            .display()
            .to_string();
        let container = inside.get(*ns).map_or("?", String::as_str);
        let verdict = match (container == host, *ns) {
            // docker keeps the host's cgroup namespace on cgroup v1, and so does berth.
            (true, "cgroup") => "shared with the host (docker's choice on cgroup v1)",
            (true, _) => "shared with the host",
            (false, _) => "its own",
        };
        println!("   {ns:<10} {container:<20} {host:<20} {verdict}");
    }
    Ok(())
}

/// Reads the `ns NAME LINK` lines the script prints into a map from name to link.
fn namespace_links(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("ns"), Some(name), Some(link)) => Some((name.to_string(), link.to_string())),
                _ => None,
            }
        })
        .collect()
}

fn say(line: &str) {
    println!("\n>>> {line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_lines_are_read_and_other_lines_ignored() {
        let output = "1. My PID\n   1\n   ns mnt mnt:[4026532200]\n   ns net net:[4026532203]\n";
        let links = namespace_links(output);
        assert_eq!(links.len(), 2);
        assert_eq!(links["mnt"], "mnt:[4026532200]");
    }

    #[test]
    fn script_asks_for_every_compared_namespace() {
        for ns in NAMESPACES {
            assert!(
                SCRIPT.contains(&format!(" {ns}")),
                "the script does not print {ns}"
            );
        }
    }
}
