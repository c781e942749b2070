//! Seccomp profile files in docker's JSON format (`--security-opt seccomp=FILE`).
//!
//! docker's format is the OCI `LinuxSeccomp` plus a few fields that are resolved
//! when a container is created: `archMap` (which architectures go with the
//! machine's), and per rule `includes`/`excludes` (capabilities, architectures, a
//! minimum kernel). A plain OCI profile is docker's format without them, so one
//! parser reads both.

use std::path::Path;

use berth_engine::oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSyscall,
};
use serde::Deserialize;

use super::{Capabilities, SecurityError, parse_capability};

/// A profile file as docker reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerProfile {
    default_action: LinuxSeccompAction,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<Arch>>,
    arch_map: Option<Vec<ArchMap>>,
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    syscalls: Vec<DockerSyscall>,
}

/// "On this architecture, also filter these sub-architectures."
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: Arch,
    sub_architectures: Option<Vec<Arch>>,
}

/// One rule: OCI's `LinuxSyscall` plus its conditions.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerSyscall {
    /// The old single-name form.
    name: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    includes: Conditions,
    #[serde(default)]
    excludes: Conditions,
}

/// `includes`: the rule applies only if all of these hold;
/// `excludes`: the rule is dropped if any of these holds.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conditions {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    min_kernel: Option<String>,
}

/// This machine's architecture as Go (and so docker's profiles) names it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The architectures docker lists for this machine: the native one and those whose
/// programs it can also run (i386 and x32 on x86_64, arm on aarch64).
pub(super) fn native_architectures() -> Vec<Arch> {
    match std::env::consts::ARCH {
        "x86_64" => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "aarch64" => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        "riscv64" => vec![Arch::ScmpArchRiscv64],
        _ => vec![Arch::ScmpArchNative],
    }
}

/// Whether the running kernel is at least `major.minor`.
pub(super) fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_version(&release) >= (major, minor)
}

/// `6.18.44-fc` → (6, 18); anything unreadable → (0, 0).
fn parse_version(text: &str) -> (u32, u32) {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (next(), next())
}

impl Conditions {
    fn all_hold(&self, caps: &Capabilities) -> bool {
        let arch_ok = self.arches.is_empty() || self.arches.iter().any(|a| a == go_arch());
        let caps_ok = self
            .caps
            .iter()
            .all(|c| parse_capability(c).is_ok_and(|c| caps.contains(&c)));
        let kernel_ok = self.min_kernel.as_deref().is_none_or(|v| {
            let (major, minor) = parse_version(v);
            kernel_at_least(major, minor)
        });
        arch_ok && caps_ok && kernel_ok
    }

    fn any_holds(&self, caps: &Capabilities) -> bool {
        self.arches.iter().any(|a| a == go_arch())
            || self
                .caps
                .iter()
                .any(|c| parse_capability(c).is_ok_and(|c| caps.contains(&c)))
    }
}

/// Reads a profile file and resolves it for a container holding `caps`: the rules
/// whose `includes` hold and whose `excludes` do not, as an OCI `LinuxSeccomp`.
pub(super) fn load(path: &Path, caps: &Capabilities) -> Result<LinuxSeccomp, SecurityError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecurityError::ReadProfile {
        path: path.to_owned(),
        source,
    })?;
    let profile: DockerProfile =
        serde_json::from_str(&text).map_err(|source| SecurityError::ParseProfile {
            path: path.to_owned(),
            source,
        })?;
    resolve(profile, caps)
}

fn resolve(profile: DockerProfile, caps: &Capabilities) -> Result<LinuxSeccomp, SecurityError> {
    let architectures = match (profile.architectures, profile.arch_map) {
        (Some(_), Some(_)) => {
            return Err(SecurityError::UnsupportedProfile {
                what: "use either 'architectures' or 'archMap', not both".into(),
            });
        }
        (Some(list), None) => Some(list),
        (None, Some(map)) => Some(
            map.into_iter()
                .filter(|m| native_architectures().first() == Some(&m.architecture))
                .flat_map(|m| {
                    std::iter::once(m.architecture).chain(m.sub_architectures.unwrap_or_default())
                })
                .collect(),
        ),
        (None, None) => None,
    };
    // ANCHOR: resolve_docker_profile
    let mut syscalls = Vec::new();
    for rule in profile.syscalls {
        if !rule.includes.all_hold(caps) || rule.excludes.any_holds(caps) {
            continue;
        }
        let names = match (rule.name, rule.names.is_empty()) {
            (Some(_), false) => {
                return Err(SecurityError::UnsupportedProfile {
                    what: "a rule has both 'name' and 'names'".into(),
                });
            }
            (Some(name), true) => vec![name],
            (None, _) => rule.names,
        };
        let mut syscall = LinuxSyscall::default();
        syscall.set_names(names);
        syscall.set_action(rule.action);
        syscall.set_errno_ret(rule.errno_ret);
        syscall.set_args(rule.args);
        syscalls.push(syscall);
    }
    // ANCHOR_END: resolve_docker_profile
    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(profile.default_action);
    seccomp.set_default_errno_ret(profile.default_errno_ret);
    seccomp.set_architectures(architectures);
    seccomp.set_flags(profile.flags);
    seccomp.set_syscalls(Some(syscalls));
    Ok(seccomp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::oci_spec::runtime::{Capability, LinuxSeccompOperator};

    fn resolve_text(text: &str, caps: &[Capability]) -> Result<LinuxSeccomp, SecurityError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.json");
        std::fs::write(&path, text).unwrap();
        load(&path, &caps.iter().copied().collect())
    }

    fn names(p: &LinuxSeccomp) -> Vec<String> {
        p.syscalls()
            .iter()
            .flatten()
            .flat_map(|s| s.names().clone())
            .collect()
    }

    const DOCKER_STYLE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "ignored"},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
            {"names": ["s390_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
            {"names": ["old_kernel"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["future_kernel"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
            {"name": "getpid", "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}
        ]
    }"#;

    #[test]
    fn includes_and_excludes_follow_the_capabilities() {
        let plain = resolve_text(DOCKER_STYLE, &[]).unwrap();
        let admin = resolve_text(DOCKER_STYLE, &[Capability::SysAdmin]).unwrap();
        assert!(!names(&plain).contains(&"mount".into()));
        assert!(names(&plain).contains(&"clone3".into()));
        assert!(names(&admin).contains(&"mount".into()));
        assert!(!names(&admin).contains(&"clone3".into()));
        let clone3 = plain
            .syscalls()
            .iter()
            .flatten()
            .find(|s| s.names() == &["clone3"])
            .unwrap();
        assert_eq!(clone3.errno_ret(), Some(38));
    }

    #[test]
    fn arches_kernel_and_single_name_rules() {
        let p = resolve_text(DOCKER_STYLE, &[]).unwrap();
        let n = names(&p);
        assert_eq!(
            n.contains(&"arch_prctl".into()),
            std::env::consts::ARCH == "x86_64"
        );
        assert!(!n.contains(&"s390_only".into()));
        assert!(n.contains(&"old_kernel".into()));
        assert!(!n.contains(&"future_kernel".into()));
        assert!(n.contains(&"getpid".into()));
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(p.architectures().as_ref().unwrap(), &native_architectures());
        }
        let clone = p
            .syscalls()
            .iter()
            .flatten()
            .find(|s| s.names() == &["clone"])
            .unwrap();
        let arg = clone.args().as_ref().unwrap()[0];
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(arg.value(), 0x7E020000);
        assert_eq!(p.default_errno_ret(), Some(1));
    }

    #[test]
    fn a_plain_oci_profile_is_accepted() {
        let p = resolve_text(
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}"#,
            &[],
        )
        .unwrap();
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert_eq!(p.architectures().as_ref().unwrap(), &[Arch::ScmpArchX86_64]);
        assert_eq!(
            p.flags().as_ref().unwrap(),
            &[LinuxSeccompFilterFlag::SeccompFilterFlagLog]
        );
        assert_eq!(names(&p), ["getppid"]);
    }

    #[test]
    fn bad_profiles_are_errors_naming_the_file() {
        let e = resolve_text("{not json", &[]).unwrap_err();
        assert!(matches!(e, SecurityError::ParseProfile { .. }));
        assert!(e.to_string().contains("profile.json"), "{e}");
        let e = resolve_text(r#"{"defaultAction": "SCMP_ACT_MAYBE"}"#, &[]).unwrap_err();
        assert!(matches!(e, SecurityError::ParseProfile { .. }), "{e}");
        let both = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": [],
                       "archMap": [], "syscalls": []}"#;
        assert!(matches!(
            resolve_text(both, &[]).unwrap_err(),
            SecurityError::UnsupportedProfile { .. }
        ));
        let missing = load(Path::new("/nonexistent/p.json"), &Capabilities::new()).unwrap_err();
        assert!(matches!(missing, SecurityError::ReadProfile { .. }));
    }

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(parse_version("6.18.44-fc-v669"), (6, 18));
        assert_eq!(parse_version("4.8"), (4, 8));
        assert_eq!(parse_version("junk"), (0, 0));
        assert!(kernel_at_least(3, 0));
    }
}
