//! Giving CAP_MKNOD back.
//!
//! Chapter 01 drops CAP_MKNOD: without a devices allow-list, a root process
//! that can make device nodes can make one for the host's disk and read it.
//! Chapter 02 installs the allow-list, which lets a node be *made* but not
//! *opened*, so the capability is safe again and docker's default set returns.
//! The user's own `--cap-drop mknod` (or `ALL`) still wins, as in docker.

use berth_engine::cli::RunArgs;
use berth_engine::oci_spec::runtime::{Capabilities, Capability, Spec};

/// A capability name as the user wrote it, in docker's canonical form (`MKNOD`, `ALL`).
fn normalise(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

// ANCHOR: mknod_wanted
/// Whether the container should hold CAP_MKNOD, following docker's rules for
/// `--cap-add`/`--cap-drop`: `--privileged` has every capability; adding `ALL`
/// keeps all but the named drops; dropping `ALL` keeps only the named adds;
/// otherwise the default set (which has MKNOD) minus drops plus adds.
pub fn mknod_wanted(args: &RunArgs) -> bool {
    if args.privileged {
        return true;
    }
    let names = |list: &[String]| list.iter().map(|c| normalise(c)).collect::<Vec<_>>();
    let adds = names(&args.cap_add);
    let drops = names(&args.cap_drop);
    let named = |list: &[String], cap: &str| list.iter().any(|c| c == cap);
    if named(&adds, "ALL") {
        !named(&drops, "MKNOD")
    } else if named(&drops, "ALL") {
        named(&adds, "MKNOD")
    } else {
        named(&adds, "MKNOD") || !named(&drops, "MKNOD")
    }
}
// ANCHOR_END: mknod_wanted

// ANCHOR: restore_mknod
/// Adds CAP_MKNOD to the process's bounding set, and to its effective and
/// permitted sets where chapter 01 gave the process capabilities at all (a
/// non-root user starts with those empty, and keeps them empty).
pub fn restore_mknod(spec: &mut Spec) {
    let Some(process) = spec.process_mut().as_mut() else {
        return;
    };
    // oci-spec offers no mutable access to a process's capabilities: edit a copy.
    let Some(mut caps) = process.capabilities().clone() else {
        return;
    };
    let mut bounding = caps.bounding().clone().unwrap_or_default();
    bounding.insert(Capability::Mknod);
    caps.set_bounding(Some(bounding));
    // A non-root user's effective and permitted sets stay empty.
    let with_mknod = |set: &Option<Capabilities>| {
        set.clone().map(|mut set| {
            if !set.is_empty() {
                set.insert(Capability::Mknod);
            }
            set
        })
    };
    caps.set_effective(with_mknod(caps.effective()));
    caps.set_permitted(with_mknod(caps.permitted()));
    process.set_capabilities(Some(caps));
}
// ANCHOR_END: restore_mknod

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::oci_spec::runtime::{LinuxCapabilities, Process};

    fn args(add: &[&str], drop: &[&str]) -> RunArgs {
        RunArgs {
            cap_add: add.iter().map(|s| s.to_string()).collect(),
            cap_drop: drop.iter().map(|s| s.to_string()).collect(),
            ..RunArgs::default()
        }
    }

    #[test]
    fn default_keeps_mknod() {
        assert!(mknod_wanted(&args(&[], &[])));
        assert!(mknod_wanted(&args(&[], &["NET_RAW"])));
    }

    #[test]
    fn user_drop_wins_in_any_spelling() {
        for spelling in [
            "mknod",
            "MKNOD",
            "cap_mknod",
            "CAP_MKNOD",
            "Cap_Mknod",
            "all",
            "ALL",
        ] {
            assert!(!mknod_wanted(&args(&[], &[spelling])), "{spelling}");
        }
    }

    #[test]
    fn adds_follow_dockers_rules() {
        assert!(mknod_wanted(&args(&["mknod"], &["ALL"])));
        assert!(mknod_wanted(&args(&["ALL"], &["NET_RAW"])));
        assert!(!mknod_wanted(&args(&["ALL"], &["mknod"])));
        assert!(mknod_wanted(&args(&["mknod"], &["mknod"])));
        let privileged = RunArgs {
            privileged: true,
            cap_drop: vec!["ALL".into()],
            ..RunArgs::default()
        };
        assert!(mknod_wanted(&privileged));
    }

    fn spec_with(effective: &[Capability]) -> Spec {
        let set: Capabilities = effective.iter().copied().collect();
        let mut caps = LinuxCapabilities::default();
        caps.set_bounding(Some([Capability::Chown].into_iter().collect()));
        caps.set_effective(Some(set.clone()));
        caps.set_permitted(Some(set));
        caps.set_inheritable(Some(Capabilities::new()));
        let mut process = Process::default();
        process.set_capabilities(Some(caps));
        let mut spec = Spec::default();
        spec.set_process(Some(process));
        spec
    }

    fn sets(spec: &Spec) -> [bool; 4] {
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        let has =
            |s: &Option<Capabilities>| s.as_ref().is_some_and(|s| s.contains(&Capability::Mknod));
        [
            has(caps.bounding()),
            has(caps.effective()),
            has(caps.permitted()),
            has(caps.inheritable()),
        ]
    }

    #[test]
    fn restores_root_sets_but_not_inheritable() {
        let mut spec = spec_with(&[Capability::Chown]);
        restore_mknod(&mut spec);
        assert_eq!(sets(&spec), [true, true, true, false]);
    }

    #[test]
    fn non_root_only_gets_it_bounded() {
        let mut spec = spec_with(&[]);
        restore_mknod(&mut spec);
        assert_eq!(sets(&spec), [true, false, false, false]);
    }
}
