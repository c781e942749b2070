//! docker's defaults, as chapter 01's edit of the OCI runtime spec.

use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{ContainerPlan, Engine, Result};

/// Chapter 01's spec edit.
pub fn edit(_engine: &Engine, _plan: &ContainerPlan, _spec: &mut Spec) -> Result<()> {
    Ok(())
}
