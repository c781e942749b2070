//! `cargo xtask book`.

/// Runs `cargo xtask book`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask book: not written yet")
}
