//! # Exercise 07 — image references
//!
//! `docker run busybox` and `docker run docker.io/library/busybox:latest` name
//! the same image: docker fills in what a short name leaves out before it looks
//! anything up. A reference is
//!
//! ```text
//! [REGISTRY "/"] REPOSITORY [":" TAG] ["@" DIGEST]
//! ```
//!
//! and it is read in this order:
//!
//! 1. An `@` splits off a digest (`sha256:<64 hex>`), kept as it is.
//! 2. The part before the first `/` is a registry only when it *looks like a
//!    host*: it holds a `.` (`my.registry.io`) or a `:` (`host:5000`), is
//!    `localhost`, or holds an upper-case letter (a repository may not, so it
//!    must be a host). Otherwise there is no registry part and the registry is
//!    `docker.io`: `user/app` is on Docker Hub, `local/x` too.
//! 3. With the registry gone, a `:` can only start the tag. That is why the
//!    registry comes off first: in `host:5000/a/b:t` the first `:` is a port.
//! 4. On `docker.io`, a repository of one element lives under `library/`
//!    (Docker Hub's official images): `busybox` is `library/busybox`.
//! 5. The repository must be lower case; docker says so by name:
//!    `invalid reference format: repository name (library/Busybox) must be
//!    lowercase`. A tag may hold upper case (`busybox:LATEST` is fine).
//! 6. No tag and no digest means the tag `latest`. A digest alone names the
//!    image exactly, so no tag is added to it.
//!
//! Anything that does not fit (an empty part, a space, `a//b`, a bad digest) is
//! `invalid reference format`. Going back, `docker images` shows the *familiar*
//! form: `docker.io/` and `library/` are dropped again (`busybox:latest`,
//! `user/app:latest`); any other registry stays (`localhost/x:latest`).
//!
//! docker also rewrites `index.docker.io` to `docker.io`, caps names at 255
//! characters, refuses a bare 64-hex name, and words some bad digests its own
//! way (`unsupported digest algorithm` for `md5:…`); this exercise leaves those
//! out and calls every bad digest `invalid reference format`.
//!
//! This is the reference solution; the comments in the functions say why.

use std::fmt;

/// The registry of a name that does not give one.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// Where Docker Hub keeps its official, one-element images.
pub const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without tag or digest means.
pub const DEFAULT_TAG: &str = "latest";

/// Why a string is not an image reference; the messages are docker's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// The string does not fit the grammar.
    InvalidFormat {
        /// The reference as the user wrote it (docker's message leaves it out).
        reference: String,
    },
    /// The repository holds an upper-case letter.
    Uppercase {
        /// The repository as docker names it, `library/` included.
        repository: String,
    },
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceError::InvalidFormat { .. } => write!(f, "invalid reference format"),
            ReferenceError::Uppercase { repository } => write!(
                f,
                "invalid reference format: repository name ({repository}) must be lowercase"
            ),
        }
    }
}

impl std::error::Error for ReferenceError {}

/// A reference with nothing left out: where the image lives and which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry, with its port when given: `docker.io`, `host:5000`.
    pub registry: String,
    /// The repository on that registry: `library/busybox`, `a/b`.
    pub repository: String,
    /// The tag; `None` only when a digest was given without one.
    pub tag: Option<String>,
    /// The digest, `sha256:<64 hex>`, when one was given.
    pub digest: Option<String>,
}

impl Reference {
    /// The full form: `docker.io/library/busybox:latest`.
    pub fn full(&self) -> String {
        self.with_name(format!("{}/{}", self.registry, self.repository))
    }

    /// `name`, then `:tag` and `@digest` when they are there.
    fn with_name(&self, mut name: String) -> String {
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

/// A registry host: dot-separated labels of letters, digits and inner `-`,
/// with an optional `:port` of digits.
pub fn is_valid_registry(registry: &str) -> bool {
    let (host, port) = match registry.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    host.split('.').all(label_ok) && port_ok
}

/// One element of a repository path: runs of lower-case letters and digits,
/// joined by `.`, `_`, `__` or any number of `-`.
pub fn is_valid_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let starts_and_ends_alnum = component.starts_with(alnum) && component.ends_with(alnum);
    // Split at every alphanumeric character: what is left between two runs is a
    // separator, and must be one docker allows.
    let separators_ok = component
        .split(alnum)
        .all(|sep| matches!(sep, "" | "." | "_" | "__") || sep.chars().all(|c| c == '-'));
    starts_and_ends_alnum && separators_ok
}

/// A tag: a letter, digit or `_`, then up to 127 of those, `.` or `-`.
pub fn is_valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    tag.starts_with(word)
        && tag.len() <= 128
        && tag.chars().all(|c| word(c) || c == '.' || c == '-')
}

/// A digest this exercise accepts: `sha256:` and 64 lower-case hex digits.
pub fn is_valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    })
}

/// True when the part before the first `/` names a registry, not a repository.
pub fn looks_like_registry(first: &str) -> bool {
    // A repository element can hold none of these, so any one of them settles
    // it; `localhost` is the one host name that needs no dot to be recognised.
    first.contains(['.', ':'])
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase())
}

/// Reads `reference` as docker does, filling in the registry, `library/` and
/// the `latest` tag where the short form leaves them out.
pub fn parse_reference(reference: &str) -> Result<Reference, ReferenceError> {
    let invalid = || ReferenceError::InvalidFormat {
        reference: reference.to_string(),
    };
    // The digest comes off first because it holds a `:` of its own.
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) if is_valid_digest(digest) => (name, Some(digest.to_string())),
        Some(_) => return Err(invalid()),
        None => (reference, None),
    };
    // The registry comes off before the tag, so a port is never read as a tag.
    let (registry, rest) = match name.split_once('/') {
        Some((first, rest)) if looks_like_registry(first) => (first, rest),
        _ => (DEFAULT_REGISTRY, name),
    };
    // With the registry gone any `:` starts the tag; a second `:` ends up in
    // the tag, which then fails `is_valid_tag`.
    let (path, tag) = match rest.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (rest, None),
    };
    let repository = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("{OFFICIAL_PREFIX}{path}")
    } else {
        path.to_string()
    };
    // docker looks at case before the grammar so that its message can name the
    // repository; `is_valid_component` would only say "invalid".
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase { repository });
    }
    let well_formed = is_valid_registry(registry)
        && repository.split('/').all(is_valid_component)
        && tag.is_none_or(is_valid_tag);
    if !well_formed {
        return Err(invalid());
    }
    // A digest already names one image; adding `latest` would claim a tag the
    // user never asked for.
    let tag = match (tag, &digest) {
        (Some(tag), _) => Some(tag.to_string()),
        (None, None) => Some(DEFAULT_TAG.to_string()),
        (None, Some(_)) => None,
    };
    Ok(Reference {
        registry: registry.to_string(),
        repository,
        tag,
        digest,
    })
}

impl Reference {
    /// The form `docker images` shows: `busybox:latest`, `user/app:latest`,
    /// `localhost/x:latest`.
    pub fn familiar(&self) -> String {
        if self.registry != DEFAULT_REGISTRY {
            return self.with_name(format!("{}/{}", self.registry, self.repository));
        }
        // `library/a/b` keeps its prefix: without it, `a/b` would read back as
        // the user `a`'s repository `b`, another image.
        let name = match self.repository.strip_prefix(OFFICIAL_PREFIX) {
            Some(short) if !short.contains('/') => short,
            _ => &self.repository,
        };
        self.with_name(name.to_string())
    }
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
