//! The bundle: a directory with `config.json` and a root filesystem, checked
//! before anything is cloned so that a mistake is one clear line, exit 125.

use std::path::{Path, PathBuf};

use berth_engine::oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use super::error::RuntimeError;

/// A loaded, validated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory, absolute.
    pub dir: PathBuf,
    /// The parsed `config.json`.
    pub spec: Spec,
    /// The root filesystem, absolute and with symlinks resolved.
    pub rootfs: PathBuf,
}

impl Bundle {
    /// Reads `dir/config.json` and checks what the runtime relies on.
    pub fn load(dir: &Path) -> Result<Self, RuntimeError> {
        let dir =
            std::path::absolute(dir).map_err(RuntimeError::io("resolving the bundle path"))?;
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|source| RuntimeError::ReadConfig {
            path: path.clone(),
            source,
        })?;
        let spec: Spec =
            serde_json::from_str(&text).map_err(|source| RuntimeError::ParseConfig {
                path: path.clone(),
                source,
            })?;
        let invalid = |field, problem: String| RuntimeError::InvalidConfig {
            path: path.clone(),
            field,
            problem,
        };
        let root = spec.root().as_ref().ok_or_else(|| {
            invalid(
                "root",
                "is missing: set root.path to the root filesystem".into(),
            )
        })?;
        let rootfs = dir.join(root.path());
        if !rootfs.is_dir() {
            return Err(invalid(
                "root.path",
                format!(
                    "{} is not a directory: point it at a root filesystem",
                    rootfs.display()
                ),
            ));
        }
        let rootfs = rootfs
            .canonicalize()
            .map_err(RuntimeError::io(format!("resolving {}", rootfs.display())))?;
        validate(&spec).map_err(|(field, problem)| invalid(field, problem))?;
        Ok(Bundle { dir, spec, rootfs })
    }

    /// The process section (validated to exist).
    pub fn process(&self) -> &Process {
        self.spec
            .process()
            .as_ref()
            .expect("validated in Bundle::load")
    }

    /// Whether the spec asks for a new namespace of this type (listed without a path).
    pub fn creates_namespace(&self, typ: LinuxNamespaceType) -> bool {
        namespaces(&self.spec).any(|(t, path)| t == typ && path.is_none())
    }

    /// The namespaces to join: those listed with a path.
    pub fn namespaces_to_join(&self) -> Vec<(LinuxNamespaceType, PathBuf)> {
        namespaces(&self.spec)
            .filter_map(|(t, path)| path.map(|p| (t, p.to_path_buf())))
            .collect()
    }
}

fn namespaces(spec: &Spec) -> impl Iterator<Item = (LinuxNamespaceType, Option<&Path>)> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
        .map(|ns| (ns.typ(), ns.path().as_deref()))
}

/// Checks the fields of the spec that need no file system: returns the field and
/// what is wrong with it.
pub fn validate(spec: &Spec) -> Result<(), (&'static str, String)> {
    let process = spec.process().as_ref().ok_or((
        "process",
        "is missing: a container needs a process to run".to_string(),
    ))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(("process.args", "is empty: give the command to run".into()));
    }
    if !process.cwd().is_absolute() {
        return Err((
            "process.cwd",
            format!(
                "{:?} is not absolute: write it from the container's /",
                process.cwd()
            ),
        ));
    }
    for (typ, _) in namespaces(spec) {
        if matches!(typ, LinuxNamespaceType::User | LinuxNamespaceType::Time) {
            return Err((
                "linux.namespaces",
                format!(
                    "lists a {typ} namespace, which berth's runtime does not create: remove it"
                ),
            ));
        }
    }
    let has_uts = namespaces(spec).any(|(t, _)| t == LinuxNamespaceType::Uts);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has_uts {
        return Err((
            "hostname",
            "is set but linux.namespaces has no uts namespace: add one or drop the hostname".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap()
    }

    const GOOD: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
        "process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},
        "hostname":"box","linux":{"namespaces":[{"type":"uts"},{"type":"network","path":"/run/netns/x"}]}}"#;

    #[test]
    fn a_good_spec_passes_and_lists_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("rootfs")).unwrap();
        fs::write(dir.path().join("config.json"), GOOD).unwrap();
        let b = Bundle::load(dir.path()).unwrap();
        assert!(b.rootfs.ends_with("rootfs"));
        assert!(b.creates_namespace(LinuxNamespaceType::Uts));
        assert!(!b.creates_namespace(LinuxNamespaceType::Network));
        assert_eq!(
            b.namespaces_to_join(),
            vec![(LinuxNamespaceType::Network, PathBuf::from("/run/netns/x"))]
        );
    }

    #[test]
    fn empty_args_relative_cwd_and_user_namespaces_are_refused() {
        let bad_args = GOOD.replace(r#"["sh"]"#, "[]");
        assert_eq!(validate(&spec(&bad_args)).unwrap_err().0, "process.args");
        let bad_cwd = GOOD.replace(r#""cwd":"/""#, r#""cwd":"tmp""#);
        assert_eq!(validate(&spec(&bad_cwd)).unwrap_err().0, "process.cwd");
        let userns = GOOD.replace(r#"{"type":"uts"}"#, r#"{"type":"uts"},{"type":"user"}"#);
        assert_eq!(validate(&spec(&userns)).unwrap_err().0, "linux.namespaces");
        let no_uts = GOOD.replace(r#"{"type":"uts"},"#, "");
        assert_eq!(validate(&spec(&no_uts)).unwrap_err().0, "hostname");
    }

    #[test]
    fn a_missing_rootfs_names_the_field() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("config.json"), GOOD).unwrap();
        let e = Bundle::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("root.path") && e.contains("not a directory"),
            "{e}"
        );
        let e = Bundle::load(&dir.path().join("nowhere"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read"), "{e}");
    }
}
