//! `cargo xtask rootfs DIR`: a busybox root filesystem for trying containers by hand.

use std::path::Path;

use anyhow::{Context, bail};
use berth_tests::rootfs;

use crate::util;

/// Runs `cargo xtask rootfs DIR`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let [dir] = args else {
        bail!("usage: cargo xtask rootfs DIR");
    };
    build(Path::new(dir))?;
    println!("root filesystem ready in {dir}: try `ch01 run --rootfs {dir} sh`");
    Ok(())
}

/// Installs busybox-static when it is missing, then builds the root filesystem into `dir`.
pub fn build(dir: &Path) -> anyhow::Result<()> {
    if !Path::new(rootfs::BUSYBOX).exists() {
        util::apt_install(&["busybox-static"])?;
    }
    rootfs::build(dir)
        .with_context(|| format!("cannot build a root filesystem in {}", dir.display()))
}
