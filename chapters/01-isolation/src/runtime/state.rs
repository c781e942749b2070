//! `runtime state`: the OCI state of a container, as JSON on stdout.

use berth_engine::Engine;

use super::record::StateDir;

/// Prints the OCI state of container `id`.
pub fn state(engine: &Engine, id: &str) -> berth_engine::Result<i32> {
    let record = StateDir::open(engine, id)?.load()?;
    let json = serde_json::to_string_pretty(&record.oci_state()).expect("state serialises");
    println!("{json}");
    Ok(0)
}
