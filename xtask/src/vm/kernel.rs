//! The guest kernel: Debian's cloud kernel, fetched with `apt-get download` and unpacked
//! with `dpkg-deb`, kept in the cache directory between runs.
//!
//! The cloud flavour boots quickly (few drivers) and has everything chapter 02 needs built
//! in: cgroup2 with the memory, cpu, cpuset and pids controllers, cgroup BPF for the
//! devices program, devtmpfs and the serial console.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::host;

/// The kernel package the VM test was first proven with; used whenever apt still offers it.
const PREFERRED: &str = "linux-image-6.1.0-50-cloud-amd64-unsigned";
const PREFIX: &str = "linux-image-";
const SUFFIX: &str = "-cloud-amd64-unsigned";

/// Returns the path of a vmlinuz, downloading and unpacking the package when not cached.
pub fn fetch(cache: &Path) -> anyhow::Result<PathBuf> {
    let kernels = cache.join("kernel");
    if let Some(vmlinuz) = unpacked_vmlinuz(&kernels.join(PREFERRED))? {
        return Ok(vmlinuz);
    }
    let package = choose(&available()?)?;
    let unpacked = kernels.join(&package);
    if let Some(vmlinuz) = unpacked_vmlinuz(&unpacked)? {
        return Ok(vmlinuz);
    }
    download(&package, &kernels, &unpacked)?;
    unpacked_vmlinuz(&unpacked)?.with_context(|| format!("{package} holds no boot/vmlinuz-*"))
}

/// The cloud kernel packages apt knows, refreshing the package lists once if it knows none.
fn available() -> anyhow::Result<Vec<String>> {
    let search = || -> anyhow::Result<Vec<String>> {
        let pattern = format!("^{PREFIX}.*{SUFFIX}$");
        let output =
            host::capture(Command::new("apt-cache").args(["search", "--names-only", &pattern]))?;
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_string)
            .collect())
    };
    let found = search()?;
    if !found.is_empty() {
        return Ok(found);
    }
    host::run_visible(Command::new("apt-get").arg("update"))?;
    search()
}

// ANCHOR: choose_kernel
/// The preferred package when offered, else the one with the highest version.
fn choose(packages: &[String]) -> anyhow::Result<String> {
    if packages.iter().any(|p| p == PREFERRED) {
        return Ok(PREFERRED.to_string());
    }
    packages
        .iter()
        .filter_map(|p| Some((version_numbers(p)?, p)))
        .max()
        .map(|(_, p)| p.clone())
        .with_context(|| {
            format!("apt offers no {PREFIX}*{SUFFIX} package: is this Debian on amd64?")
        })
}

/// The numbers in a package's version part, in order: `6.12.117+deb12` → [6, 12, 117, 12],
/// so that 6.12 sorts above 6.1.0.
fn version_numbers(package: &str) -> Option<Vec<u64>> {
    let version = package.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    Some(
        version
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .filter_map(|n| n.parse().ok())
            .collect(),
    )
}
// ANCHOR_END: choose_kernel

/// Downloads `package` into `kernels` and unpacks it into `unpacked`.
fn download(package: &str, kernels: &Path, unpacked: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(kernels).with_context(|| format!("cannot create {}", kernels.display()))?;
    // As root, apt downloads as the `_apt` user, which cannot write to a cache under
    // root's target directory: download as the caller instead of warning about it.
    let mut download = Command::new("apt-get");
    download
        .args(["download", "-o", "APT::Sandbox::User=root"])
        .arg(package)
        .current_dir(kernels);
    host::run_visible(&mut download)?;
    let deb = fs::read_dir(kernels)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
        })
        .with_context(|| {
            format!(
                "apt-get download left no {package}_*.deb in {}",
                kernels.display()
            )
        })?;
    // Unpack next to the final place, then rename: an interrupted run leaves no half tree.
    let partial = kernels.join(format!("{package}.partial"));
    if partial.exists() {
        fs::remove_dir_all(&partial)?;
    }
    host::capture(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial))?;
    fs::rename(&partial, unpacked)?;
    fs::remove_file(&deb)?;
    Ok(())
}

/// The `boot/vmlinuz-*` of an unpacked package, if it is there.
fn unpacked_vmlinuz(unpacked: &Path) -> anyhow::Result<Option<PathBuf>> {
    let boot = unpacked.join("boot");
    if !boot.is_dir() {
        return Ok(None);
    }
    for entry in fs::read_dir(&boot).with_context(|| format!("cannot read {}", boot.display()))? {
        let path = entry?.path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        {
            return Ok(Some(path));
        }
    }
    bail!(
        "{} has no vmlinuz-*: remove it so that the kernel is fetched again",
        boot.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_proven_kernel_wins_when_offered() {
        let offered = names(&[
            "linux-image-6.12.117+deb12-cloud-amd64-unsigned",
            "linux-image-6.1.0-50-cloud-amd64-unsigned",
        ]);
        assert_eq!(choose(&offered).unwrap(), PREFERRED);
    }

    #[test]
    fn otherwise_the_newest_version_wins() {
        let offered = names(&[
            "linux-image-6.1.0-56-cloud-amd64-unsigned",
            "linux-image-6.12.117+deb12-cloud-amd64-unsigned",
            "linux-image-6.12.9+deb12-cloud-amd64-unsigned",
        ]);
        assert_eq!(
            choose(&offered).unwrap(),
            "linux-image-6.12.117+deb12-cloud-amd64-unsigned"
        );
    }

    #[test]
    fn no_cloud_kernel_is_an_error() {
        assert!(choose(&names(&["linux-image-amd64"])).is_err());
        assert!(choose(&[]).is_err());
    }
}
