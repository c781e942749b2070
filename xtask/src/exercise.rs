//! `cargo xtask exercise`.

/// Runs `cargo xtask exercise`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask exercise: not written yet")
}
