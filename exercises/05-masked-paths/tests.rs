use super::*;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

/// A scratch directory, removed when the test ends (even when it fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("berth-exercise-05-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn files_directories_and_missing_paths_are_told_apart() {
    let scratch = Scratch::new("kinds");
    fs::write(scratch.0.join("keys"), "").unwrap();
    fs::create_dir(scratch.0.join("acpi")).unwrap();
    assert_eq!(kind_of(&scratch.0.join("keys")).unwrap(), PathKind::File);
    assert_eq!(
        kind_of(&scratch.0.join("acpi")).unwrap(),
        PathKind::Directory
    );
    assert_eq!(
        kind_of(&scratch.0.join("kcore")).unwrap(),
        PathKind::Missing
    );
}

#[test]
fn symlinks_are_followed_and_a_dangling_one_is_missing() {
    let scratch = Scratch::new("links");
    fs::create_dir(scratch.0.join("real")).unwrap();
    std::os::unix::fs::symlink("real", scratch.0.join("to-dir")).unwrap();
    std::os::unix::fs::symlink("nowhere", scratch.0.join("dangling")).unwrap();
    assert_eq!(
        kind_of(&scratch.0.join("to-dir")).unwrap(),
        PathKind::Directory
    );
    assert_eq!(
        kind_of(&scratch.0.join("dangling")).unwrap(),
        PathKind::Missing
    );
}

#[test]
fn a_device_node_counts_as_a_file() {
    assert_eq!(kind_of(Path::new("/dev/null")).unwrap(), PathKind::File);
}

#[test]
fn a_path_through_a_file_is_an_error_not_missing() {
    // "/dev/null/x": the kernel answers ENOTDIR, which is not "not found".
    assert!(kind_of(Path::new("/dev/null/x")).is_err());
}

#[test]
fn each_kind_gets_its_own_action_in_list_order() {
    let kinds = HashMap::from([
        ("/proc/acpi", PathKind::Directory),
        ("/proc/keys", PathKind::File),
        ("/proc/kcore", PathKind::Missing),
    ]);
    let actions = mask_actions(&["/proc/acpi", "/proc/keys", "/proc/kcore"], |path| {
        kinds[path]
    });
    assert_eq!(
        actions,
        vec![
            MaskAction::ReadOnlyTmpfs("/proc/acpi".into()),
            MaskAction::BindDevNull("/proc/keys".into()),
            MaskAction::Skip("/proc/kcore".into()),
        ]
    );
}

#[test]
fn an_empty_list_needs_no_action() {
    assert!(mask_actions(&[], |_| PathKind::File).is_empty());
}

#[test]
fn dockers_list_on_a_kernel_without_these_paths_is_all_skipped() {
    let actions = mask_actions(&DOCKER_MASKED_PATHS, |_| PathKind::Missing);
    assert_eq!(actions.len(), DOCKER_MASKED_PATHS.len());
    assert!(
        actions
            .iter()
            .all(|action| matches!(action, MaskAction::Skip(_)))
    );
}
