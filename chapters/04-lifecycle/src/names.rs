//! Container names and lookups: `--name` or a random `adjective_surname`, kept
//! unique by one file per name under `BERTH_ROOT/names/`; and how a user's word
//! (full id, name, or unique id prefix) finds a container.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::PathBuf;

use berth_engine::state::lock;
use berth_engine::{Engine, Error};

use crate::record::{Containers, abandoned_by_create};

/// What can go wrong with names and lookups.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// `--name` has characters docker does not allow.
    #[error("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    Invalid {
        /// The name given.
        name: String,
    },
    /// Another container has the name.
    #[error(
        "Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". \
         You have to remove (or rename) that container to be able to reuse that name."
    )]
    InUse {
        /// The name.
        name: String,
        /// The id of the container holding it.
        holder: String,
    },
    /// Nothing matches.
    #[error("No such container: {given}")]
    NoSuchContainer {
        /// What the user gave.
        given: String,
    },
    /// An id prefix matches several containers.
    #[error("multiple containers match the prefix {given}: {}", candidates.join(", "))]
    Ambiguous {
        /// What the user gave.
        given: String,
        /// The short ids it matches.
        candidates: Vec<String>,
    },
    /// The names directory could not be used.
    #[error("names directory: {reason}")]
    Io {
        /// The system's error.
        reason: String,
    },
}

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        match e {
            NameError::Invalid { .. } | NameError::InUse { .. } => Error::usage(e.to_string()),
            NameError::NoSuchContainer { .. } => Error::failed(format!("Error: {e}")),
            NameError::Ambiguous { .. } => Error::failed(format!("Error: {e}"))
                .hint("give more characters of the id, or the name"),
            NameError::Io { .. } => Error::failed(e.to_string()),
        }
    }
}

fn io_error(e: io::Error) -> NameError {
    NameError::Io {
        reason: e.to_string(),
    }
}

// ANCHOR: valid_name
/// docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, a leading `/` allowed.
pub fn validate(name: &str) -> Result<&str, NameError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut bytes = bare.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok =
        bare.len() >= 2 && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    match first_ok && rest_ok {
        true => Ok(bare),
        false => Err(NameError::Invalid { name: name.into() }),
    }
}
// ANCHOR_END: valid_name

/// berth's own word lists: how things can be, and who found things out.
const ADJECTIVES: [&str; 50] = [
    "agile", "amber", "bold", "brave", "bright", "calm", "candid", "careful", "cheerful", "clever",
    "cosmic", "curious", "daring", "eager", "earnest", "fearless", "fond", "gentle", "glad",
    "golden", "gracious", "happy", "honest", "humble", "jolly", "keen", "kind", "lively", "lucid",
    "merry", "modest", "nimble", "noble", "patient", "placid", "polite", "proud", "quick", "quiet",
    "radiant", "serene", "sharp", "steady", "sunny", "swift", "tender", "tidy", "vivid", "warm",
    "witty",
];

const SURNAMES: [&str; 50] = [
    "agnesi",
    "archimedes",
    "babbage",
    "bardeen",
    "bohr",
    "boole",
    "cannon",
    "carson",
    "cori",
    "curie",
    "darwin",
    "dirac",
    "euclid",
    "euler",
    "faraday",
    "fermi",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "germain",
    "goodall",
    "hamilton",
    "hawking",
    "hertz",
    "hopper",
    "hypatia",
    "joule",
    "kepler",
    "lamarr",
    "leavitt",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "pasteur",
    "planck",
    "ramanujan",
    "riemann",
    "sagan",
    "shannon",
    "somerville",
    "tesla",
    "turing",
    "volta",
    "wiles",
    "wu",
    "yalow",
];

/// A random `adjective_surname`; after a few collisions a digit is added, as docker does.
pub fn random_name(attempt: u32) -> String {
    let mut bytes = [0u8; 4];
    let _ = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    let n = u32::from_le_bytes(bytes);
    let adjective = ADJECTIVES[(n % 50) as usize];
    let surname = SURNAMES[((n / 50) % 50) as usize];
    match attempt {
        0..=2 => format!("{adjective}_{surname}"),
        _ => format!("{adjective}_{surname}{}", (n / 2500) % 10),
    }
}

/// The names directory: one file per name, holding the container's id.
#[derive(Debug, Clone)]
pub struct Names {
    dir: PathBuf,
}

impl Names {
    /// The names of `engine`'s state root.
    pub fn open(engine: &Engine) -> Result<Self, NameError> {
        Ok(Names {
            dir: engine.paths.root_dir("names").map_err(io_error)?,
        })
    }

    // ANCHOR: reserve_name
    /// Gives `id` the name `wanted`, or a random free one. The file is made
    /// with `O_EXCL` under the names lock, so two containers never share a name.
    pub fn reserve(&self, wanted: Option<&str>, id: &str) -> Result<String, NameError> {
        let _lock = lock(&self.dir.join(".lock")).map_err(io_error)?;
        if let Some(name) = wanted {
            let name = validate(name)?;
            return match self.claim(name, id)? {
                true => Ok(name.to_string()),
                false => Err(NameError::InUse {
                    name: name.into(),
                    holder: self.holder(name).unwrap_or_default(),
                }),
            };
        }
        for attempt in 0.. {
            let name = random_name(attempt);
            if self.claim(&name, id)? {
                return Ok(name);
            }
        }
        unreachable!("the loop returns a free name")
    }
    // ANCHOR_END: reserve_name

    fn claim(&self, name: &str, id: &str) -> Result<bool, NameError> {
        let path = self.dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => file
                .write_all(id.as_bytes())
                .map(|()| true)
                .map_err(io_error),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // A name whose container is gone (a crash between steps) is free.
                let holder = self.holder(name).unwrap_or_default();
                match holder.is_empty() || !self.container_exists(&holder) {
                    true => {
                        fs::write(&path, id).map_err(io_error)?;
                        Ok(true)
                    }
                    false => Ok(false),
                }
            }
            Err(e) => Err(io_error(e)),
        }
    }

    /// Whether container `id` is there: its directory is, and it is not one
    /// a dead `create` left ([`abandoned_by_create`]), which `ps` sweeps.
    fn container_exists(&self, id: &str) -> bool {
        self.dir
            .parent()
            .map(|root| root.join("containers").join(id))
            .is_some_and(|dir| dir.is_dir() && abandoned_by_create(&dir).is_none())
    }

    /// The id holding `name`, if any.
    pub fn holder(&self, name: &str) -> Option<String> {
        validate(name).ok()?;
        fs::read_to_string(self.dir.join(name)).ok()
    }

    /// Frees `name` if `id` holds it.
    pub fn release(&self, name: &str, id: &str) {
        if self.holder(name).as_deref() == Some(id) {
            let _ = fs::remove_file(self.dir.join(name));
        }
    }
}

// ANCHOR: lookup
/// The id of the container `given` names: a full id, an exact name, or a
/// prefix of exactly one id.
pub fn lookup(containers: &Containers, names: &Names, given: &str) -> Result<String, NameError> {
    let missing = || NameError::NoSuchContainer {
        given: given.into(),
    };
    if given.is_empty() {
        return Err(missing());
    }
    if given.len() == 64 && containers.dir(given).join("container.json").exists() {
        return Ok(given.into());
    }
    let bare = given.strip_prefix('/').unwrap_or(given);
    if let Some(id) = names.holder(bare)
        && containers.dir(&id).join("container.json").exists()
    {
        return Ok(id);
    }
    if !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(missing());
    }
    let ids = containers.ids().map_err(|e| NameError::Io {
        reason: e.to_string(),
    })?;
    let matching: Vec<String> = ids.into_iter().filter(|id| id.starts_with(given)).collect();
    match matching.as_slice() {
        [] => Err(missing()),
        [one] => Ok(one.clone()),
        many => Err(NameError::Ambiguous {
            given: given.into(),
            candidates: many.iter().map(|id| id[..12].to_string()).collect(),
        }),
    }
}
// ANCHOR_END: lookup

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests_support::sample;

    fn world() -> (tempfile::TempDir, Containers, Names) {
        let tmp = tempfile::tempdir().unwrap();
        let containers_dir = tmp.path().join("containers");
        let names_dir = tmp.path().join("names");
        fs::create_dir(&containers_dir).unwrap();
        fs::create_dir(&names_dir).unwrap();
        (
            tmp,
            Containers::at(containers_dir),
            Names { dir: names_dir },
        )
    }

    fn add(containers: &Containers, names: &Names, id: &str, name: Option<&str>) -> String {
        let name = names.reserve(name, id).unwrap();
        containers.create(&sample(id, &name)).unwrap();
        name
    }

    #[test]
    fn names_follow_docker_s_character_rule() {
        assert_eq!(validate("web-1.a_b"), Ok("web-1.a_b"));
        assert_eq!(validate("/web"), Ok("web"));
        for bad in ["", "x", "-web", "_web", "web server", "wéb", "a/b"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn random_names_are_adjective_underscore_surname() {
        let name = random_name(0);
        let (adjective, surname) = name.split_once('_').unwrap();
        assert!(ADJECTIVES.contains(&adjective) && SURNAMES.contains(&surname));
        assert!(validate(&random_name(5)).is_ok());
    }

    #[test]
    fn a_taken_name_is_docker_s_conflict() {
        let (_tmp, containers, names) = world();
        let a = "a".repeat(64);
        add(&containers, &names, &a, Some("web"));
        let e = names.reserve(Some("web"), &"b".repeat(64)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Conflict. The container name \"/web\" is already in use by container \"{a}\". \
                 You have to remove (or rename) that container to be able to reuse that name."
            )
        );
        assert_eq!(Error::from(e).exit_code(), 125);
        names.release("web", &a);
        containers.remove(&a).unwrap();
        assert_eq!(names.reserve(Some("web"), &"b".repeat(64)).unwrap(), "web");
    }

    #[test]
    fn lookups_by_id_name_and_unique_prefix() {
        let (_tmp, containers, names) = world();
        let a = format!("abc1{}", "0".repeat(60));
        let b = format!("abc2{}", "0".repeat(60));
        add(&containers, &names, &a, Some("first"));
        add(&containers, &names, &b, None);
        assert_eq!(lookup(&containers, &names, &a).unwrap(), a);
        assert_eq!(lookup(&containers, &names, "first").unwrap(), a);
        assert_eq!(lookup(&containers, &names, "/first").unwrap(), a);
        assert_eq!(lookup(&containers, &names, "abc2").unwrap(), b);
        match lookup(&containers, &names, "abc").unwrap_err() {
            NameError::Ambiguous { mut candidates, .. } => {
                candidates.sort();
                assert_eq!(candidates, [&a[..12], &b[..12]]);
            }
            other => panic!("not ambiguous: {other:?}"),
        }
        let missing = lookup(&containers, &names, "nothing").unwrap_err();
        assert_eq!(
            Error::from(missing).to_string(),
            "Error: No such container: nothing"
        );
    }
}
