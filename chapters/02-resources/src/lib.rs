//! # Chapter 02 — resources: cgroups
//!
//! Namespaces (chapter 01) decide what a container can *see*; control groups
//! decide how much it can *use*. A cgroup is a directory in a special
//! filesystem: make one, write limits into its files (`memory.max`,
//! `pids.max`, ...), write a process id into `cgroup.procs`, and the kernel
//! holds that process and all its children to the limits. This chapter adds
//! docker's resource flags and the devices allow-list that makes CAP_MKNOD safe.
//!
//! - [`units`], [`cpuset`], [`flags`]: reading `512m`, `1.5`, `0-1,3` as docker does;
//! - [`limits`]: checking the flags together and writing them into the OCI spec;
//! - [`devices`]: the allow-list and `--device`;
//! - [`caps`]: giving CAP_MKNOD back;
//! - [`spec_edit`]: this chapter's edit of the container's spec;
//! - [`cgroup`]: the drivers that make cgroups, for v1 and for v2 (with its
//!   BPF device program), chosen at run time.
//!
//! Read it in the book: chapter 02, "Resources".
#![deny(missing_docs)]

pub mod caps;
pub mod cgroup;
pub mod cpuset;
pub mod devices;
pub mod flags;
pub mod limits;
pub mod spec_edit;
pub mod units;

use berth_engine::oci_spec::runtime::Spec;
use berth_engine::{Cgroups, Chapter, ContainerPlan, Engine, Result};

/// Chapter 02 as a plug-in.
pub struct Resources;

/// The chapter value a binary registers.
pub static RESOURCES: Resources = Resources;

// ANCHOR: chapter_02
impl Chapter for Resources {
    fn number(&self) -> u8 {
        2
    }

    fn edit_spec(&self, _engine: &Engine, plan: &ContainerPlan, spec: &mut Spec) -> Result<()> {
        let host = spec_edit::HostFacts::probe()?;
        spec_edit::edit(plan, spec, &host)
    }

    fn cgroups(&self) -> Option<&dyn Cgroups> {
        Some(cgroup::system())
    }
}
// ANCHOR_END: chapter_02
