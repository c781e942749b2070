//! `cargo xtask doctor`.

/// Runs `cargo xtask doctor`.
pub fn run(_args: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask doctor: not written yet")
}
