//! Image references as docker reads them: `busybox` means
//! `docker.io/library/busybox:latest`.
//!
//! The grammar (from the distribution project's reference package, which docker
//! uses) is
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ domain "/" ] path
//! domain     := host [ ":" port ]            host: dns labels, or [ipv6]
//! path       := component ( "/" component )*
//! component  := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest     := algorithm ":" hex
//! ```
//!
//! The first path element is a registry only when it looks like one (holds a `.`
//! or a `:`, is `localhost`, or has an upper-case letter); otherwise the name is
//! on Docker Hub, where a one-element name lives under `library/`.

use std::fmt;

use thiserror::Error;

/// The registry that a name without one lives on.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// The old spelling of [`DEFAULT_REGISTRY`], rewritten on parse.
const LEGACY_REGISTRY: &str = "index.docker.io";
/// Where Docker Hub keeps its official images.
const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without tag or digest means.
pub const DEFAULT_TAG: &str = "latest";
/// docker refuses longer repository names (registry included).
const MAX_NAME_LEN: usize = 255;

/// Why a string is not an image reference; the messages are docker's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReferenceError {
    /// Nothing matched the grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// The repository holds an upper-case letter.
    #[error("invalid reference format: repository name ({repository}) must be lowercase")]
    Uppercase {
        /// The repository as docker names it in the message (`library/Busybox`).
        repository: String,
    },
    /// A 64-hex string was given where a name was expected.
    #[error("invalid repository name ({name}), cannot specify 64-byte hexadecimal strings")]
    HexName {
        /// What the user wrote.
        name: String,
    },
    /// Registry plus repository are longer than docker allows.
    #[error("repository name must not be more than {MAX_NAME_LEN} characters")]
    NameTooLong,
    /// The digest's algorithm is not one docker knows.
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
    /// The digest's hex part has the wrong length for its algorithm.
    #[error("invalid checksum digest length")]
    DigestLength,
    /// The digest's hex part is not lower-case hex.
    #[error("invalid checksum digest format")]
    DigestFormat,
}

impl From<ReferenceError> for berth_engine::Error {
    fn from(e: ReferenceError) -> Self {
        berth_engine::Error::failed(e.to_string())
            .hint("write a name like busybox, user/repo:tag or host:5000/ns/repo@sha256:<64 hex>")
    }
}

/// A parsed image reference: where the image lives, and which one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// The registry host, with its port when given (`docker.io`, `host:5000`).
    pub registry: String,
    /// The repository path on that registry (`library/busybox`).
    pub repository: String,
    /// The tag, when one was written (`latest` is *not* filled in here).
    pub tag: Option<String>,
    /// The digest (`sha256:<hex>`), when one was written.
    pub digest: Option<String>,
}

// ANCHOR: reference_normalize
impl Reference {
    /// Parses `s` as docker does, normalising a short name to its full form.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if is_full_hex_id(s) {
            return Err(ReferenceError::HexName {
                name: s.to_string(),
            });
        }
        let (registry, rest) = split_registry(s);
        let rest = rest.as_str();
        // docker checks case on the repository before the grammar, so the message
        // can name the repository (the tag may hold upper case, the name may not).
        let repository_part = rest.split(':').next().unwrap_or(rest);
        if repository_part.to_lowercase() != repository_part {
            return Err(ReferenceError::Uppercase {
                repository: repository_part.to_string(),
            });
        }
        let (rest, digest) = match rest.split_once('@') {
            Some((name, digest)) => (name, Some(parse_digest(digest)?)),
            None => (rest, None),
        };
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((name, tag)) => (name, Some(tag)),
            None => (rest, None),
        };
        if !is_registry(&registry) || !is_path(repository) {
            return Err(ReferenceError::InvalidFormat);
        }
        if tag.is_some_and(|t| !is_tag(t)) {
            return Err(ReferenceError::InvalidFormat);
        }
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong);
        }
        Ok(Reference {
            registry,
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }
    // ANCHOR_END: reference_normalize

    /// The same reference with `latest` filled in when neither tag nor digest was
    /// given (what `docker tag`, `rmi` and `run` do).
    pub fn with_default_tag(&self) -> Reference {
        let mut r = self.clone();
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        r
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The repository as `docker images` shows it: `busybox`, `user/repo`,
    /// `host:5000/ns/repo`.
    pub fn familiar_name(&self) -> String {
        if self.registry != DEFAULT_REGISTRY {
            return self.name();
        }
        match self.repository.strip_prefix(OFFICIAL_PREFIX) {
            Some(short) if !short.contains('/') => short.to_string(),
            _ => self.repository.clone(),
        }
    }

    /// The full form with the default tag: `docker.io/library/busybox:latest`.
    pub fn normalized(&self) -> String {
        self.with_default_tag().render(self.name())
    }

    /// The short form with the default tag: `busybox:latest`.
    pub fn familiar(&self) -> String {
        self.with_default_tag().render(self.familiar_name())
    }

    fn render(&self, mut name: String) -> String {
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
        f.write_str(&self.normalized())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// What an argument naming an image means: a reference, or an image id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrId {
    /// A full id, returned as `sha256:<64 hex>`.
    Id(String),
    /// Anything else: a reference to parse (or, failing a name match, an id prefix).
    Name(String),
}

impl NameOrId {
    /// Tells a full image id (`<64 hex>` or `sha256:<64 hex>`) from a name.
    pub fn classify(s: &str) -> NameOrId {
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        if is_full_hex_id(hex) {
            NameOrId::Id(format!("sha256:{hex}"))
        } else {
            NameOrId::Name(s.to_string())
        }
    }
}

/// True for exactly 64 lower-case hex characters: an id, never a name.
pub fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && is_lower_hex(s)
}

/// The hex part of a possible id prefix (`3f57d9` or `sha256:3f57d9`), if it is one.
pub fn id_prefix(s: &str) -> Option<&str> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (!hex.is_empty() && hex.len() <= 64 && is_lower_hex(hex)).then_some(hex)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Splits off the registry, as docker's `splitDockerDomain` decides; a
/// one-element Docker Hub name gains `library/`.
fn split_registry(s: &str) -> (String, String) {
    let (registry, rest) = match s.split_once('/') {
        Some((first, rest)) if looks_like_registry(first) => (first, rest),
        _ => (DEFAULT_REGISTRY, s),
    };
    let registry = if registry == LEGACY_REGISTRY {
        DEFAULT_REGISTRY
    } else {
        registry
    };
    let rest = if registry == DEFAULT_REGISTRY && !rest.contains('/') {
        format!("{OFFICIAL_PREFIX}{rest}")
    } else {
        rest.to_string()
    };
    (registry.to_string(), rest)
}

fn looks_like_registry(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first
}

fn parse_digest(s: &str) -> Result<String, ReferenceError> {
    let (algorithm, hex) = s.split_once(':').ok_or(ReferenceError::InvalidFormat)?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '-', '_']).all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    // The grammar wants at least 32 hex characters of either case; the
    // algorithm then decides the exact length and asks for lower case.
    if !algorithm_ok || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ReferenceError::InvalidFormat);
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ReferenceError::UnsupportedDigest),
    };
    if !is_lower_hex(hex) {
        return Err(ReferenceError::DigestFormat);
    }
    if hex.len() != expected {
        return Err(ReferenceError::DigestLength);
    }
    Ok(s.to_string())
}

/// `host [":" port]`, where host is dns labels or a bracketed IPv6 address.
fn is_registry(s: &str) -> bool {
    let (host, port) = match s.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((addr, "")) => (Host::V6(addr), None),
            Some((addr, after)) => (Host::V6(addr), Some(after.strip_prefix(':').unwrap_or(""))),
            None => return false,
        },
        None => match s.split_once(':') {
            Some((name, port)) => (Host::Name(name), Some(port)),
            None => (Host::Name(s), None),
        },
    };
    let host_ok = match host {
        Host::V6(addr) => is_ipv6(addr),
        Host::Name(name) => name.split('.').all(is_dns_label),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

enum Host<'a> {
    V6(&'a str),
    Name(&'a str),
}

fn is_ipv6(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
}

fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

fn is_path(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )*`
fn is_path_component(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = s.chars().peekable();
    loop {
        // One run of lower-case letters and digits, at least one long.
        let mut run = 0;
        while chars.next_if(|c| alnum(*c)).is_some() {
            run += 1;
        }
        if run == 0 {
            return false;
        }
        let Some(sep) = chars.next() else {
            return true;
        };
        match sep {
            '.' => {}
            '_' => {
                chars.next_if_eq(&'_');
            }
            '-' => while chars.next_if_eq(&'-').is_some() {},
            _ => return false,
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = s.chars();
    chars.next().is_some_and(word)
        && s.len() <= 128
        && chars.all(|c| word(c) || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(s: &str) -> Result<String, String> {
        Reference::parse(s)
            .map(|r| r.normalized())
            .map_err(|e| e.to_string())
    }

    const HEX: &str = "3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741";

    #[test]
    fn normalises_as_docker() {
        let cases = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("busybox:LATEST", "docker.io/library/busybox:LATEST"),
            ("user/repo", "docker.io/user/repo:latest"),
            ("docker.io/busybox", "docker.io/library/busybox:latest"),
            ("index.docker.io/user/repo:v1", "docker.io/user/repo:v1"),
            ("host:5000/ns/repo:tag", "host:5000/ns/repo:tag"),
            ("localhost/x", "localhost/x:latest"),
            ("localhost:5000/x", "localhost:5000/x:latest"),
            ("my.registry.io/a/b/c", "my.registry.io/a/b/c:latest"),
            ("[::1]:5000/repo", "[::1]:5000/repo:latest"),
            ("ns/a__b.c-d---e", "docker.io/ns/a__b.c-d---e:latest"),
            ("Registry/repo", "Registry/repo:latest"),
        ];
        for (input, want) in cases {
            assert_eq!(normalized(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn digests_are_kept_and_suppress_the_default_tag() {
        let with_digest = format!("busybox@sha256:{HEX}");
        assert_eq!(
            normalized(&with_digest).unwrap(),
            format!("docker.io/library/busybox@sha256:{HEX}")
        );
        let both = format!("host:5000/repo:v2@sha256:{HEX}");
        let r = Reference::parse(&both).unwrap();
        assert_eq!(r.tag.as_deref(), Some("v2"));
        assert_eq!(r.digest, Some(format!("sha256:{HEX}")));
        assert_eq!(r.familiar(), both);
    }

    #[test]
    fn familiar_form_drops_the_default_registry() {
        let cases = [
            ("docker.io/library/busybox", "busybox:latest"),
            ("docker.io/user/repo:v1", "user/repo:v1"),
            ("docker.io/library/a/b", "library/a/b:latest"),
            ("host:5000/ns/repo:tag", "host:5000/ns/repo:tag"),
            ("localhost/x", "localhost/x:latest"),
        ];
        for (input, want) in cases {
            assert_eq!(Reference::parse(input).unwrap().familiar(), want, "{input}");
        }
        assert_eq!(
            Reference::parse("busybox").unwrap().familiar_name(),
            "busybox"
        );
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let cases = [
            ("", "invalid reference format"),
            (
                "Busybox",
                "invalid reference format: repository name (library/Busybox) must be lowercase",
            ),
            (
                "user/Repo:tag",
                "invalid reference format: repository name (user/Repo) must be lowercase",
            ),
            ("busybox:", "invalid reference format"),
            ("busybox:-x", "invalid reference format"),
            ("busybox:a:b", "invalid reference format"),
            ("-busybox", "invalid reference format"),
            ("busy--box_", "invalid reference format"),
            ("a/b//c", "invalid reference format"),
            ("a___b", "invalid reference format"),
            ("host:port/x", "invalid reference format"),
            ("-host.io/x", "invalid reference format"),
            ("busybox@sha256:abc", "invalid reference format"),
            (
                "busybox@md5:0123456789abcdef0123456789abcdef",
                "unsupported digest algorithm",
            ),
            (
                "busybox@sha256:0123456789abcdef0123456789abcdef",
                "invalid checksum digest length",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalized(input), Err(want.to_string()), "{input:?}");
        }
        let long_tag = format!("busybox:{}", "t".repeat(129));
        assert_eq!(
            normalized(&long_tag),
            Err("invalid reference format".into())
        );
        let long_name = "a".repeat(250) + "/bbbbb";
        assert_eq!(
            normalized(&long_name),
            Err("repository name must not be more than 255 characters".into())
        );
    }

    #[test]
    fn a_hex_string_is_an_id_not_a_name() {
        assert_eq!(
            normalized(HEX),
            Err(format!(
                "invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings"
            ))
        );
        assert_eq!(
            NameOrId::classify(HEX),
            NameOrId::Id(format!("sha256:{HEX}"))
        );
        assert_eq!(
            NameOrId::classify(&format!("sha256:{HEX}")),
            NameOrId::Id(format!("sha256:{HEX}"))
        );
        assert_eq!(
            NameOrId::classify("busybox"),
            NameOrId::Name("busybox".into())
        );
        assert_eq!(id_prefix("sha256:3f57"), Some("3f57"));
        assert_eq!(id_prefix("3F57"), None);
        assert_eq!(id_prefix("busybox"), None);
    }
}
