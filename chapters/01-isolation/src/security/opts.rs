//! `--security-opt`: which seccomp profile, and whether setuid binaries may gain privileges.

use std::path::PathBuf;

use super::SecurityError;

/// The parsed `--security-opt` values of one container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityOpts {
    /// Which seccomp profile the container runs under.
    pub seccomp: SeccompChoice,
    /// `no-new-privileges`: execve can never raise privileges (setuid bits, file caps).
    pub no_new_privileges: bool,
}

/// Which seccomp profile a container runs under.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SeccompChoice {
    /// docker's default profile, resolved against the container's capabilities.
    #[default]
    Default,
    /// No filter at all (`seccomp=unconfined`).
    Unconfined,
    /// A profile file in docker's JSON format (or a plain OCI `LinuxSeccomp`).
    File(PathBuf),
}

// ANCHOR: parse_security_opts
/// Parses `--security-opt` values as docker does: `key=value`, or the older
/// `key:value`; a later value of the same key wins.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts, SecurityError> {
    let mut parsed = SecurityOpts::default();
    for opt in opts {
        let (key, value) = split(opt);
        match (key, value) {
            ("no-new-privileges", None) => parsed.no_new_privileges = true,
            ("no-new-privileges", Some(v)) => {
                parsed.no_new_privileges = parse_go_bool(v)
                    .ok_or_else(|| SecurityError::BadNoNewPrivileges { value: v.into() })?
            }
            ("seccomp", Some("unconfined")) => parsed.seccomp = SeccompChoice::Unconfined,
            ("seccomp", Some(path)) if !path.is_empty() => {
                parsed.seccomp = SeccompChoice::File(PathBuf::from(path))
            }
            ("label" | "apparmor", _) => {
                return Err(SecurityError::LsmNotSupported { opt: opt.clone() });
            }
            _ => return Err(SecurityError::UnknownSecurityOpt { opt: opt.clone() }),
        }
    }
    Ok(parsed)
}
// ANCHOR_END: parse_security_opts

/// Splits at the first `=`, or else at the first `:` (docker's legacy separator).
fn split(opt: &str) -> (&str, Option<&str>) {
    let at = opt.find('=').or_else(|| opt.find(':'));
    match at {
        Some(i) => (&opt[..i], Some(&opt[i + 1..])),
        None => (opt, None),
    }
}

/// Booleans as Go's `strconv.ParseBool` reads them, since that is what docker uses.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> Result<SecurityOpts, SecurityError> {
        parse_security_opts(&opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn nothing_means_default_profile_and_privileges_may_grow() {
        assert_eq!(parse(&[]).unwrap(), SecurityOpts::default());
        assert_eq!(SecurityOpts::default().seccomp, SeccompChoice::Default);
    }

    #[test]
    fn seccomp_choices_in_both_spellings() {
        assert_eq!(
            parse(&["seccomp=unconfined"]).unwrap().seccomp,
            SeccompChoice::Unconfined
        );
        assert_eq!(
            parse(&["seccomp:unconfined"]).unwrap().seccomp,
            SeccompChoice::Unconfined
        );
        assert_eq!(
            parse(&["seccomp=/etc/p.json"]).unwrap().seccomp,
            SeccompChoice::File("/etc/p.json".into())
        );
        assert_eq!(
            parse(&["seccomp=unconfined", "seccomp=./p.json"])
                .unwrap()
                .seccomp,
            SeccompChoice::File("./p.json".into())
        );
        assert!(parse(&["seccomp="]).is_err());
        assert!(parse(&["seccomp"]).is_err());
    }

    #[test]
    fn no_new_privileges_forms() {
        for on in [
            "no-new-privileges",
            "no-new-privileges=true",
            "no-new-privileges:true",
        ] {
            assert!(parse(&[on]).unwrap().no_new_privileges, "{on}");
        }
        assert!(
            !parse(&["no-new-privileges", "no-new-privileges=false"])
                .unwrap()
                .no_new_privileges
        );
        let e = parse(&["no-new-privileges=maybe"]).unwrap_err();
        assert!(e.to_string().contains("maybe"), "{e}");
    }

    #[test]
    fn lsm_labels_are_refused_clearly() {
        for opt in ["label=disable", "apparmor=unconfined", "label:type:svirt_t"] {
            let e = parse(&[opt]).unwrap_err();
            assert!(matches!(e, SecurityError::LsmNotSupported { .. }), "{opt}");
            assert!(e.to_string().contains("LSM"), "{e}");
        }
    }

    #[test]
    fn unknown_option_is_an_error_naming_it() {
        let e = parse(&["seccom=unconfined"]).unwrap_err();
        assert!(e.to_string().contains("seccom=unconfined"), "{e}");
        let e: berth_engine::Error = e.into();
        assert_eq!(e.exit_code(), 125);
    }
}
