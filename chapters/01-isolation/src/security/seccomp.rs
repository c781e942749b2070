//! seccomp: a BPF program the kernel runs on every syscall of the container.
//!
//! A profile (OCI `LinuxSeccomp`) says "these syscalls, with these arguments, get
//! this action; every other one gets the default action". seccompiler builds BPF
//! programs with exactly one action on match and one on mismatch, so a profile
//! becomes several filters, one per action. The kernel runs every filter a process
//! has and keeps the strongest verdict (KILL > TRAP > ERRNO > TRACE > LOG > ALLOW),
//! which makes the split exact:
//!
//! - the *default filter* matches every syscall that any rule names (with the
//!   rule's argument conditions) and returns ALLOW for it, the default action for
//!   the rest;
//! - each other action gets a filter that returns it for its own rules, ALLOW
//!   otherwise.
//!
//! Between two ERRNO verdicts the kernel keeps the one of the newest filter, so the
//! ERRNO filters are installed last: their errno (e.g. ENOSYS for clone3) wins.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use berth_engine::oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::{
    Capabilities, SeccompChoice, SecurityError, default_profile, docker_profile, syscall_ranges,
};

/// The errno a rule's ERRNO action returns when the profile names none.
const EPERM: u32 = libc::EPERM as u32;

// ANCHOR: seccomp_profile
/// The OCI `linux.seccomp` of a container: none when unconfined, docker's default
/// profile resolved against `caps`, or a profile file resolved the same way.
pub fn seccomp_profile(
    choice: &SeccompChoice,
    caps: &Capabilities,
) -> Result<Option<LinuxSeccomp>, SecurityError> {
    match choice {
        SeccompChoice::Unconfined => Ok(None),
        SeccompChoice::Default => Ok(Some(default_profile::profile(caps))),
        SeccompChoice::File(path) => docker_profile::load(path, caps).map(Some),
    }
}
// ANCHOR_END: seccomp_profile

/// One BPF program, ready for seccomp(2), with the action it returns on a match.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    /// What the filter returns for the syscalls it matches.
    pub on_match: SeccompAction,
    /// What it returns for all others.
    pub on_mismatch: SeccompAction,
    /// The BPF instructions.
    pub program: BpfProgram,
}

/// The syscalls one filter matches: syscall number → the alternative argument
/// conditions (`None`: matches whatever the arguments).
#[derive(Debug, Default, Clone)]
struct Matches(BTreeMap<i64, Option<Vec<SeccompRule>>>);

impl Matches {
    fn add(&mut self, nr: i64, conditions: &[SeccompCondition]) -> Result<(), SecurityError> {
        let entry = self.0.entry(nr).or_insert_with(|| Some(Vec::new()));
        match (entry.as_mut(), conditions.is_empty()) {
            // An unconditional rule swallows every conditional one.
            (_, true) => *entry = None,
            (None, false) => {}
            (Some(rules), false) => rules.push(
                SeccompRule::new(conditions.to_vec())
                    .map_err(|source| SecurityError::CompileFilter { source })?,
            ),
        }
        Ok(())
    }

    /// How many syscalls are matched whatever their arguments.
    fn unconditional(&self) -> usize {
        self.0.values().filter(|rules| rules.is_none()).count()
    }

    /// The syscalls matched whatever their arguments, and the others.
    fn split(self) -> (BTreeSet<u32>, Matches) {
        let (unconditional, conditional): (BTreeMap<_, _>, BTreeMap<_, _>) =
            self.0.into_iter().partition(|(_, rules)| rules.is_none());
        let numbers = unconditional.into_keys().map(|nr| nr as u32).collect();
        (numbers, Matches(conditional))
    }

    fn into_rules(self) -> BTreeMap<i64, Vec<SeccompRule>> {
        // seccompiler reads an empty rule list as "match unconditionally".
        self.0
            .into_iter()
            .map(|(nr, rules)| (nr, rules.unwrap_or_default()))
            .collect()
    }
}

/// Compiles a profile into the filters to install, in installation order.
// ANCHOR: compile_filters
pub fn compile_filters(profile: &LinuxSeccomp) -> Result<Vec<CompiledFilter>, SecurityError> {
    let arch = this_arch()?;
    plan(profile)?
        .into_iter()
        .map(|(matches, on_mismatch, on_match)| build(matches, on_mismatch, on_match, arch))
        .collect()
}

fn this_arch() -> Result<TargetArch, SecurityError> {
    TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|source| SecurityError::CompileFilter { source })
}

/// What each filter matches and returns, in installation order.
type Plan = Vec<(Matches, SeccompAction, SeccompAction)>;

/// The filters a profile needs, before they are compiled.
fn plan(profile: &LinuxSeccomp) -> Result<Plan, SecurityError> {
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let mut every_rule = Matches::default();
    let mut by_action: Vec<(SeccompAction, Matches)> = Vec::new();
    for syscall in profile.syscalls().iter().flatten() {
        let act = action(syscall.action(), syscall.errno_ret())?;
        if act == default {
            continue; // the default does it already (runc skips these too)
        }
        let conditions = conditions(syscall.args().as_deref().unwrap_or_default())?;
        let index = match by_action.iter().position(|(a, _)| *a == act) {
            Some(i) => i,
            None => {
                by_action.push((act.clone(), Matches::default()));
                by_action.len() - 1
            }
        };
        // Names this kernel's architecture lacks (the 32-bit `*64` variants, other
        // CPUs' calls) are skipped, as runc does: no program can make them here.
        for nr in syscall.names().iter().filter_map(|name| number(name)) {
            every_rule.add(nr, &conditions)?;
            by_action[index].1.add(nr, &conditions)?;
        }
    }
    let mut filters = Vec::new();
    if default != SeccompAction::Allow {
        filters.push((every_rule, default, SeccompAction::Allow));
    }
    // ERRNO last: among equal verdicts the newest filter's errno is the one returned.
    by_action.sort_by_key(|(a, _)| matches!(a, SeccompAction::Errno(_)));
    for (act, matches) in by_action {
        // ALLOW rules are in the default filter; a filter matching nothing is dead weight.
        if act != SeccompAction::Allow && !matches.0.is_empty() {
            filters.push((matches, SeccompAction::Allow, act));
        }
    }
    Ok(filters)
}
// ANCHOR_END: compile_filters

/// Below this many syscalls without conditions, a linear list is as short.
const FRONT_PAYS_FROM: usize = 16;

/// One filter: the syscalls `matches` names without conditions go to the
/// range front (see [`syscall_ranges`]), the others to seccompiler's program.
fn build(
    matches: Matches,
    on_mismatch: SeccompAction,
    on_match: SeccompAction,
    arch: TargetArch,
) -> Result<CompiledFilter, SecurityError> {
    let program = match matches.unconditional() < FRONT_PAYS_FROM {
        true => linear(matches, on_mismatch.clone(), on_match.clone(), arch)?,
        false => {
            let (unconditional, conditional) = matches.split();
            let rest = linear(conditional, on_mismatch.clone(), on_match.clone(), arch)?;
            let verdict = u32::from(on_match.clone());
            syscall_ranges::with_front(&unconditional, verdict, audit_arch(arch), rest)
        }
    };
    Ok(CompiledFilter {
        on_match,
        on_mismatch,
        program,
    })
}

/// seccompiler's program for `matches`: one test after another.
fn linear(
    matches: Matches,
    on_mismatch: SeccompAction,
    on_match: SeccompAction,
    arch: TargetArch,
) -> Result<BpfProgram, SecurityError> {
    let filter = SeccompFilter::new(matches.into_rules(), on_mismatch, on_match, arch)
        .map_err(|source| SecurityError::CompileFilter { source })?;
    BpfProgram::try_from(filter).map_err(|source| SecurityError::CompileFilter { source })
}

/// The kernel's name for an architecture in `seccomp_data.arch` (`AUDIT_ARCH_*`).
fn audit_arch(arch: TargetArch) -> u32 {
    const AUDIT_64BIT_LITTLE_ENDIAN: u32 = 0x8000_0000 | 0x4000_0000;
    AUDIT_64BIT_LITTLE_ENDIAN
        | match arch {
            TargetArch::x86_64 => 62,
            TargetArch::aarch64 => 183,
            TargetArch::riscv64 => 243,
        }
}

/// The syscall number of `name` on this machine's architecture.
fn number(name: &str) -> Option<i64> {
    syscalls::Sysno::from_str(name).ok().map(|s| s.id() as i64)
}

/// An OCI action as seccompiler names it.
fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<SeccompAction, SecurityError> {
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => SeccompAction::Allow,
        LinuxSeccompAction::ScmpActErrno => SeccompAction::Errno(errno.unwrap_or(EPERM)),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            SeccompAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => SeccompAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => SeccompAction::Trap,
        LinuxSeccompAction::ScmpActTrace => SeccompAction::Trace(errno.unwrap_or(0)),
        LinuxSeccompAction::ScmpActLog => SeccompAction::Log,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SecurityError::UnsupportedProfile {
                what: "SCMP_ACT_NOTIFY needs a seccomp agent, which berth does not have".into(),
            });
        }
    })
}

/// The argument conditions of one rule (all must hold). Arguments are compared
/// as 64-bit values, as libseccomp does on 64-bit machines.
fn conditions(args: &[LinuxSeccompArg]) -> Result<Vec<SeccompCondition>, SecurityError> {
    args.iter()
        .map(|arg| {
            let (op, value) = match arg.op() {
                LinuxSeccompOperator::ScmpCmpNe => (SeccompCmpOp::Ne, arg.value()),
                LinuxSeccompOperator::ScmpCmpLt => (SeccompCmpOp::Lt, arg.value()),
                LinuxSeccompOperator::ScmpCmpLe => (SeccompCmpOp::Le, arg.value()),
                LinuxSeccompOperator::ScmpCmpEq => (SeccompCmpOp::Eq, arg.value()),
                LinuxSeccompOperator::ScmpCmpGe => (SeccompCmpOp::Ge, arg.value()),
                LinuxSeccompOperator::ScmpCmpGt => (SeccompCmpOp::Gt, arg.value()),
                // OCI: `value` is the mask, `valueTwo` what the masked argument must equal.
                LinuxSeccompOperator::ScmpCmpMaskedEq => (
                    SeccompCmpOp::MaskedEq(arg.value()),
                    arg.value_two().unwrap_or(0),
                ),
            };
            let index =
                u8::try_from(arg.index()).map_err(|_| SecurityError::UnsupportedProfile {
                    what: format!("argument index {} (a syscall has 6)", arg.index()),
                })?;
            SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value)
                .map_err(|source| SecurityError::CompileFilter { source })
        })
        .collect()
}

/// The seccomp(2) flags a profile asks for.
pub(super) fn flags(profile: &LinuxSeccomp) -> libc::c_ulong {
    profile.flags().iter().flatten().fold(0, |flags, flag| {
        flags
            | match flag {
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
                LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                    libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
                }
                // Only meaningful with a notify listener, which berth never creates.
                LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
            }
    })
}

// ANCHOR: load_filter
/// Hands one filter to the kernel: seccomp(SECCOMP_SET_MODE_FILTER). From now on
/// it runs on every syscall of this thread and of everything it executes; it can
/// never be removed.
pub(super) fn load(filter: &CompiledFilter, flags: libc::c_ulong) -> std::io::Result<()> {
    let program = libc::sock_fprog {
        len: filter.program.len() as libc::c_ushort,
        // seccompiler's sock_filter has the kernel's layout (repr(C), same fields).
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `program` points at `len` valid instructions that outlive the call;
    // the kernel copies them before returning.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &program as *const libc::sock_fprog,
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}
// ANCHOR_END: load_filter

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::capability_set;
    use berth_engine::oci_spec::runtime::Capability;

    fn docker_default(caps: &Capabilities) -> LinuxSeccomp {
        seccomp_profile(&SeccompChoice::Default, caps)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_range_front_gives_every_verdict_the_linear_program_gives() {
        let caps = capability_set(&[], &[], false).unwrap();
        let arch = this_arch().unwrap();
        let other_arch = 0x4000_0003; // i386
        let values: [u64; 7] = [
            0,
            8,
            0x20008,
            0xffff_ffff,
            0x7e02_0000,
            0x1000_0000,
            0x0200_0000,
        ];
        for (matches, on_mismatch, on_match) in plan(&docker_default(&caps)).unwrap() {
            let reference =
                linear(matches.clone(), on_mismatch.clone(), on_match.clone(), arch).unwrap();
            let fast = build(matches, on_mismatch, on_match, arch).unwrap().program;
            assert!(
                fast.len() <= reference.len()
                    && (reference.len() < 100 || fast.len() * 3 < reference.len()),
                "{} instructions where the linear program has {}",
                fast.len(),
                reference.len()
            );
            for nr in (0..600).chain([0x4000_0000, 0x4000_0038, u32::MAX]) {
                for value in values {
                    let args = [value, value, 0, 0, 0, 0];
                    for arch in [audit_arch(arch), other_arch] {
                        assert_eq!(
                            syscall_ranges::run_program(&fast, arch, nr, args),
                            syscall_ranges::run_program(&reference, arch, nr, args),
                            "syscall {nr}, arguments {value:#x}, arch {arch:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn unconfined_has_no_profile() {
        assert!(
            seccomp_profile(&SeccompChoice::Unconfined, &Capabilities::new())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn default_profile_splits_into_allow_list_then_enosys_filter() {
        let filters =
            compile_filters(&docker_default(&capability_set(&[], &[], false).unwrap())).unwrap();
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].on_mismatch, SeccompAction::Errno(1));
        assert_eq!(filters[0].on_match, SeccompAction::Allow);
        assert_eq!(filters[1].on_match, SeccompAction::Errno(38));
        assert_eq!(filters[1].on_mismatch, SeccompAction::Allow);
        for f in &filters {
            assert!(
                f.program.len() <= 4096,
                "BPF_MAXINSNS exceeded: {}",
                f.program.len()
            );
        }
    }

    #[test]
    fn with_sys_admin_the_default_profile_is_one_filter() {
        let caps: Capabilities = [Capability::SysAdmin].into_iter().collect();
        let filters = compile_filters(&docker_default(&caps)).unwrap();
        assert_eq!(filters.len(), 1);
    }

    #[test]
    fn one_filter_per_action_and_errno_filters_last() {
        let profile: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                  {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                  {"names": ["acct"], "action": "SCMP_ACT_KILL_PROCESS"},
                  {"names": ["getpgrp"], "action": "SCMP_ACT_ERRNO"},
                  {"names": ["sync"], "action": "SCMP_ACT_LOG"},
                  {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["no_such_syscall"], "action": "SCMP_ACT_TRAP"}
                ]}"#,
        )
        .unwrap();
        let filters = compile_filters(&profile).unwrap();
        let on_match: Vec<_> = filters.iter().map(|f| f.on_match.clone()).collect();
        // Default ALLOW: no default filter, no filter for the ALLOW rule, none for
        // the TRAP rule, which names nothing this machine has.
        assert_eq!(
            on_match,
            [
                SeccompAction::KillProcess,
                SeccompAction::Log,
                SeccompAction::Errno(13),
                SeccompAction::Errno(1),
            ]
        );
        assert!(
            filters
                .iter()
                .all(|f| f.on_mismatch == SeccompAction::Allow)
        );
    }

    #[test]
    fn notify_is_refused() {
        let profile: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_NOTIFY"}]}"#,
        )
        .unwrap();
        assert!(matches!(
            compile_filters(&profile).unwrap_err(),
            SecurityError::UnsupportedProfile { .. }
        ));
    }

    #[test]
    fn unconditional_rule_swallows_conditional_ones() {
        let mut m = Matches::default();
        let cond = SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, 1).unwrap();
        m.add(1, std::slice::from_ref(&cond)).unwrap();
        m.add(1, &[]).unwrap();
        m.add(1, std::slice::from_ref(&cond)).unwrap();
        m.add(2, std::slice::from_ref(&cond)).unwrap();
        let rules = m.into_rules();
        assert!(rules[&1].is_empty());
        assert_eq!(rules[&2].len(), 1);
    }

    #[test]
    fn syscall_names_resolve_on_this_machine() {
        assert_eq!(number("getpid"), Some(libc::SYS_getpid));
        assert_eq!(number("unshare"), Some(libc::SYS_unshare));
        assert_eq!(number("no_such_syscall"), None);
    }

    #[test]
    fn flags_map_to_the_kernels() {
        let profile: LinuxSeccomp = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#,
        )
        .unwrap();
        assert_eq!(
            flags(&profile),
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
    }
}
