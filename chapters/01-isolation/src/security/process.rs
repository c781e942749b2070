//! The runtime side: applying capabilities, no_new_privs and seccomp inside the
//! container's init process, between clone and execve.
//!
//! # The order, and why
//!
//! The runtime calls, in the child:
//!
//! ```text
//! before_user_switch()   still root: shrink the bounding set, set KEEPCAPS
//! setgroups/setgid/setuid
//! after_user_switch()    capset the spec's sets, ambient, clear KEEPCAPS, no_new_privs
//! ... chdir, close fds, wait for `start` ...
//! install_seccomp()      load the filters, then give back a borrowed CAP_SYS_ADMIN
//! execve
//! ```
//!
//! - The bounding set can only shrink with CAP_SETPCAP, which a non-root user
//!   loses at setuid: so it is done first, as root.
//! - setuid from root clears the permitted and effective sets unless KEEPCAPS is
//!   set; KEEPCAPS keeps permitted so that `after_user_switch` can pick from it.
//! - Loading a seccomp filter is allowed to a process with no_new_privs set, or
//!   with CAP_SYS_ADMIN in its effective set (otherwise a setuid binary run under a
//!   filter could be tricked). docker does not set no_new_privs by default and
//!   gives no CAP_SYS_ADMIN, so neither holds at the end.
//!
//! runc solves the last point by loading the filter *before* dropping
//! capabilities and switching user when no_new_privs is off (and as late as
//! possible when it is on); the filter must then allow everything the runtime
//! still does afterwards (setgroups, setuid, capset, prctl, chdir, the exec fifo).
//! berth always loads the filters last, so that they see as few of the runtime's
//! own syscalls as possible and always the same ones: when no_new_privs is off and
//! the spec grants no CAP_SYS_ADMIN, `after_user_switch` keeps CAP_SYS_ADMIN in
//! the effective and permitted sets ("borrows" it; it is already out of the
//! bounding set, so execve could never bring it back), and `install_seccomp`
//! drops it right after loading. The filter must allow `capset` for that, which
//! docker's default profile does; a profile that denies it fails the start with a
//! clear error rather than leaving the capability in place.

use berth_engine::oci_spec::runtime::{Capability, Linux, LinuxCapabilities, Process};
use caps::{CapSet, CapsHashSet};

use super::capabilities::{engine_bounding_set, name, to_kernel};
use super::seccomp::{self, CompiledFilter, compile_filters};
use super::{Capabilities, SecurityError};

/// The five capability sets of the spec, as the kernel crate names them.
#[derive(Debug, Clone)]
struct KernelSets {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

/// Everything the container's process must apply to itself, compiled before clone
/// so that a bad profile or capability is reported by the parent.
#[derive(Debug, Clone)]
pub struct ProcessSecurity {
    /// `None` when the spec has no `process.capabilities`: the process keeps its
    /// capabilities, as runc does.
    caps: Option<KernelSets>,
    no_new_privileges: bool,
    filters: Vec<CompiledFilter>,
    seccomp_flags: libc::c_ulong,
    /// CAP_SYS_ADMIN is kept until the filters are loaded (see the module docs).
    borrow_sys_admin: bool,
}

/// Converts one OCI set, checking that the engine holds every capability in it.
fn kernel_set(
    set: Option<&Capabilities>,
    held: &Capabilities,
) -> Result<CapsHashSet, SecurityError> {
    set.into_iter()
        .flatten()
        .map(|cap| match held.contains(cap) {
            true => Ok(to_kernel(*cap)),
            false => Err(SecurityError::CapabilityNotHeld { name: name(*cap) }),
        })
        .collect()
}

impl KernelSets {
    fn from_spec(caps: &LinuxCapabilities) -> Result<Self, SecurityError> {
        let held = engine_bounding_set()?;
        Ok(Self {
            bounding: kernel_set(caps.bounding().as_ref(), &held)?,
            effective: kernel_set(caps.effective().as_ref(), &held)?,
            permitted: kernel_set(caps.permitted().as_ref(), &held)?,
            inheritable: kernel_set(caps.inheritable().as_ref(), &held)?,
            ambient: kernel_set(caps.ambient().as_ref(), &held)?,
        })
    }
}

/// Wraps a caps-crate error with what was being done.
fn caps_step(step: impl Into<String>) -> impl FnOnce(caps::errors::CapsError) -> SecurityError {
    let step = step.into();
    move |source| SecurityError::ApplyCapabilities { step, source }
}

impl ProcessSecurity {
    /// Compiles the capability sets and seccomp filters of a spec. Call it in the
    /// runtime before clone: errors surface in the parent, one line each.
    pub fn from_spec(process: &Process, linux: Option<&Linux>) -> Result<Self, SecurityError> {
        let caps = process
            .capabilities()
            .as_ref()
            .map(KernelSets::from_spec)
            .transpose()?;
        let no_new_privileges = process.no_new_privileges().unwrap_or(false);
        let profile = linux.and_then(|l| l.seccomp().as_ref());
        let filters = profile
            .map(compile_filters)
            .transpose()?
            .unwrap_or_default();
        let seccomp_flags = profile.map(seccomp::flags).unwrap_or(0);
        let sys_admin = to_kernel(Capability::SysAdmin);
        let borrow_sys_admin = !filters.is_empty()
            && !no_new_privileges
            && caps
                .as_ref()
                .is_some_and(|c| !c.effective.contains(&sys_admin));
        Ok(Self {
            caps,
            no_new_privileges,
            filters,
            seccomp_flags,
            borrow_sys_admin,
        })
    }

    /// How many seccomp filters `install_seccomp` will load (0: unconfined).
    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }

    // ANCHOR: before_user_switch
    /// In the child, still root, before setgroups/setgid/setuid: drops from the
    /// bounding set every capability the spec does not list (PR_CAPBSET_DROP needs
    /// CAP_SETPCAP, which the user switch may take away), and sets KEEPCAPS so the
    /// permitted set survives setuid.
    pub fn before_user_switch(&self) -> Result<(), SecurityError> {
        let Some(sets) = &self.caps else {
            return Ok(());
        };
        let current =
            caps::read(None, CapSet::Bounding).map_err(caps_step("read the bounding set"))?;
        for cap in current.difference(&sets.bounding) {
            caps::drop(None, CapSet::Bounding, *cap)
                .map_err(caps_step(format!("drop {cap} from the bounding set")))?;
        }
        nix::sys::prctl::set_keepcaps(true).map_err(|source| SecurityError::Prctl {
            step: "set PR_SET_KEEPCAPS",
            source,
        })
    }
    // ANCHOR_END: before_user_switch

    // ANCHOR: after_user_switch
    /// After the user switch: sets effective, permitted and inheritable exactly as
    /// the spec says (keeping CAP_SYS_ADMIN for `install_seccomp` if it must load
    /// filters without no_new_privs), clears ambient and raises the spec's ambient
    /// capabilities, clears KEEPCAPS, and sets no_new_privs when asked.
    pub fn after_user_switch(&self) -> Result<(), SecurityError> {
        if let Some(sets) = &self.caps {
            let mut effective = sets.effective.clone();
            let mut permitted = sets.permitted.clone();
            if self.borrow_sys_admin {
                effective.insert(caps::Capability::CAP_SYS_ADMIN);
                permitted.insert(caps::Capability::CAP_SYS_ADMIN);
            }
            // Effective first: the kernel wants effective ⊆ permitted after every
            // capset, and the old effective set may hold more than the new permitted.
            caps::set(None, CapSet::Effective, &effective)
                .map_err(caps_step("set the effective capabilities"))?;
            caps::set(None, CapSet::Permitted, &permitted)
                .map_err(caps_step("set the permitted capabilities"))?;
            caps::set(None, CapSet::Inheritable, &sets.inheritable)
                .map_err(caps_step("set the inheritable capabilities"))?;
            // An ambient capability must be permitted and inheritable already; one
            // that is not cannot be raised, and runc skips it the same way (`runc
            // spec` lists ambient capabilities without inheritable ones).
            caps::clear(None, CapSet::Ambient).map_err(caps_step("clear the ambient set"))?;
            let raisable =
                |cap: &&caps::Capability| sets.inheritable.contains(cap) && permitted.contains(cap);
            for cap in sets.ambient.iter().filter(raisable) {
                caps::raise(None, CapSet::Ambient, *cap)
                    .map_err(caps_step(format!("raise ambient {cap}")))?;
            }
            nix::sys::prctl::set_keepcaps(false).map_err(|source| SecurityError::Prctl {
                step: "clear PR_SET_KEEPCAPS",
                source,
            })?;
        }
        if self.no_new_privileges {
            nix::sys::prctl::set_no_new_privs().map_err(|source| SecurityError::Prctl {
                step: "set PR_SET_NO_NEW_PRIVS",
                source,
            })?;
        }
        Ok(())
    }
    // ANCHOR_END: after_user_switch

    // ANCHOR: install_seccomp
    /// The very last step before execve: loads the filters (the default filter
    /// first, ERRNO filters last so their errno wins), then gives back the
    /// CAP_SYS_ADMIN that `after_user_switch` kept for this.
    pub fn install_seccomp(&self) -> Result<(), SecurityError> {
        let count = self.filters.len();
        for (i, filter) in self.filters.iter().enumerate() {
            seccomp::load(filter, self.seccomp_flags).map_err(|source| {
                SecurityError::LoadFilter {
                    index: i + 1,
                    count,
                    source,
                }
            })?;
        }
        if self.borrow_sys_admin {
            let step = "drop CAP_SYS_ADMIN after loading seccomp (does the profile deny capset?)";
            caps::drop(None, CapSet::Effective, caps::Capability::CAP_SYS_ADMIN)
                .map_err(caps_step(step))?;
            caps::drop(None, CapSet::Permitted, caps::Capability::CAP_SYS_ADMIN)
                .map_err(caps_step(step))?;
        }
        Ok(())
    }
    // ANCHOR_END: install_seccomp
}

#[cfg(test)]
mod tests;
