//! `cargo xtask demo|test|book|bench|doctor`.
fn main() -> anyhow::Result<()> {
    anyhow::bail!("usage: cargo xtask demo|test|book|bench|doctor")
}
