//! `cargo xtask rootfs`.

/// Runs `cargo xtask rootfs`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask rootfs: not written yet")
}
