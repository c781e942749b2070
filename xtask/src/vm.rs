//! `cargo xtask vm`.

/// Runs `cargo xtask vm`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask vm: not written yet")
}
