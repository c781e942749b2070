//! `images` / `image ls`: one row per name of every image, newest first.
//!
//! Each row is a JSON object with the fields docker's `--format` knows
//! (`Repository`, `Tag`, `ID`, `CreatedSince`, `Size`, …), so the default table
//! and a user's template are printed by the same code.

use std::collections::HashMap;
use std::io::Read;
use std::time::{SystemTime, UNIX_EPOCH};

use berth_engine::cli::ImagesArgs;
use berth_engine::format::{Format, headers};
use berth_engine::output::{self, Console};
use berth_engine::{Engine, Error, Result};
use oci_spec::image::ImageManifest;
use serde_json::{Value as Json, json};
use thiserror::Error;

use crate::layer;
use crate::reference::Reference;
use crate::store::{ImageRecord, Store};

/// docker's default `images` table.
pub const DEFAULT_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
/// The default table with `--digests`.
pub const DIGESTS_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
/// What docker prints for a missing repository, tag or digest.
pub const NONE: &str = "<none>";

/// Why `images` (or a command sharing its helpers) failed.
#[derive(Debug, Error)]
pub enum ImagesError {
    /// A `--filter` whose key docker does not know, or whose value is malformed.
    #[error("Invalid filter '{filter}'")]
    InvalidFilter {
        /// The filter as given.
        filter: String,
    },
    /// A layer blob could not be read to measure it.
    #[error("measuring layer {digest}: {reason}")]
    Layer {
        /// The layer's digest.
        digest: String,
        /// What went wrong.
        reason: String,
    },
}

impl From<ImagesError> for Error {
    fn from(e: ImagesError) -> Self {
        let hint = match &e {
            ImagesError::InvalidFilter { .. } => {
                "filters are dangling=true|false, before=IMAGE, since=IMAGE, reference=PATTERN, label=KEY[=VALUE]"
            }
            ImagesError::Layer { .. } => "the store is damaged; remove the image and load it again",
        };
        Error::failed(e.to_string()).hint(hint)
    }
}

/// Runs `images`: prints the table (or `--format`, or `-q`) on stdout.
pub fn images(engine: &Engine, args: &ImagesArgs) -> Result<i32> {
    let store = Store::open(&engine.paths)?;
    Console::with_std(|console| list(&store, args, console))
}

// ANCHOR: images_list
/// Lists the images of `store` as `images` does, to `console.out`.
pub fn list(store: &Store, args: &ImagesArgs, console: &mut Console) -> Result<i32> {
    let mut filters = args
        .filter
        .iter()
        .map(|f| Filter::parse(f, store))
        .collect::<Result<Vec<_>>>()?;
    if let Some(repository) = &args.repository {
        // docker turns `images busybox` into `--filter reference=busybox`.
        filters.push(Filter::Reference(repository.clone()));
    }
    let mut sizes = LayerSizes::default();
    let mut rows = Vec::new();
    for image in store.images()? {
        if !filters.iter().all(|f| f.keeps_image(store, &image)) {
            continue;
        }
        let names: Vec<&Reference> = image
            .names
            .iter()
            .filter(|name| filters.iter().all(|f| f.keeps_name(name)))
            .collect();
        let has_reference_filter = filters.iter().any(|f| matches!(f, Filter::Reference(_)));
        if names.is_empty() && has_reference_filter {
            continue;
        }
        let size = sizes.image_size(store, &image)?;
        if names.is_empty() {
            rows.push(row(&image, None, size, args.no_trunc, console.now));
        }
        for name in names {
            rows.push(row(&image, Some(name), size, args.no_trunc, console.now));
        }
    }
    if args.quiet && args.format.as_deref().is_none_or(|f| f.trim() == "table") {
        let mut seen = Vec::new();
        for row in &rows {
            let id = row["ID"].as_str().unwrap_or_default().to_string();
            if !seen.contains(&id) {
                writeln!(console.out, "{id}")?;
                seen.push(id);
            }
        }
        return Ok(0);
    }
    let default = if args.digests {
        DIGESTS_TABLE
    } else {
        DEFAULT_TABLE
    };
    let format = Format::parse(args.format.as_deref().unwrap_or(default), default)?;
    format.render(&rows, &column_titles(), console.out)?;
    Ok(0)
}
// ANCHOR_END: images_list

/// The column titles docker prints over each field.
fn column_titles() -> Json {
    headers(&[
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("ID", "IMAGE ID"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
        ("VirtualSize", "VIRTUAL SIZE"),
        ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"),
        ("Containers", "CONTAINERS"),
    ])
}

/// One row of the listing: the fields docker's image context offers.
fn row(
    image: &ImageRecord,
    name: Option<&Reference>,
    size: u64,
    no_trunc: bool,
    now: SystemTime,
) -> Json {
    let created = created_time(image.created.as_deref());
    let (repository, tag) = match name {
        Some(name) => (
            name.familiar_name(),
            name.tag.clone().unwrap_or_else(|| NONE.to_string()),
        ),
        None => (NONE.to_string(), NONE.to_string()),
    };
    json!({
        "Containers": "N/A",
        "CreatedAt": output::go_time_string(created),
        "CreatedSince": output::age(created, now),
        "Digest": image.manifest_digest().to_string(),
        "ID": display_id(image.id.as_ref(), no_trunc),
        "Repository": repository,
        "SharedSize": "N/A",
        "Size": output::human_size(size),
        "Tag": tag,
        "UniqueSize": "N/A",
        "VirtualSize": output::human_size(size),
    })
}

/// An image id as docker shows it: 12 hex characters, or the full `sha256:…`.
pub fn display_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        berth_engine::state::short_id(hex).to_string()
    }
}

/// The config's `created`; an image without one dates from the epoch, as
/// docker's zero Unix time does.
pub fn created_time(created: Option<&str>) -> SystemTime {
    created
        .and_then(output::parse_rfc3339)
        .unwrap_or(UNIX_EPOCH)
}

// ANCHOR: images_filters
/// One `--filter` of `images`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    /// `dangling=true`: only untagged images; `false`: only tagged ones.
    Dangling(bool),
    /// `before=IMAGE`: created before that image.
    Before(SystemTime),
    /// `since=IMAGE`: created after that image.
    Since(SystemTime),
    /// `reference=PATTERN`: names matching a glob, as `path.Match` in Go.
    Reference(String),
    /// `label=KEY` or `label=KEY=VALUE`: a label of the image's config.
    Label(String, Option<String>),
}

impl Filter {
    fn parse(text: &str, store: &Store) -> Result<Filter> {
        let invalid = || ImagesError::InvalidFilter {
            filter: text.to_string(),
        };
        let (key, value) = text.split_once('=').ok_or_else(invalid)?;
        let created_of = |name: &str| -> Result<SystemTime> {
            let image = store.resolve(name)?;
            Ok(created_time(image.created.as_deref()))
        };
        Ok(match key {
            "dangling" => match value {
                "true" | "1" => Filter::Dangling(true),
                "false" | "0" => Filter::Dangling(false),
                _ => return Err(invalid().into()),
            },
            "before" => Filter::Before(created_of(value)?),
            "since" => Filter::Since(created_of(value)?),
            "reference" => Filter::Reference(value.to_string()),
            "label" => match value.split_once('=') {
                Some((k, v)) => Filter::Label(k.to_string(), Some(v.to_string())),
                None => Filter::Label(value.to_string(), None),
            },
            _ => return Err(invalid().into()),
        })
    }

    /// Whether the image as a whole passes.
    fn keeps_image(&self, store: &Store, image: &ImageRecord) -> bool {
        let created = || created_time(image.created.as_deref());
        match self {
            Filter::Dangling(dangling) => image.names.is_empty() == *dangling,
            Filter::Before(limit) => created() < *limit,
            Filter::Since(limit) => created() > *limit,
            Filter::Reference(_) => true,
            Filter::Label(key, value) => {
                let labels = image_labels(store, image);
                match (labels.get(key), value) {
                    (Some(found), Some(wanted)) => found == wanted,
                    (Some(_), None) => true,
                    (None, _) => false,
                }
            }
        }
    }

    /// Whether one of the image's names is shown.
    fn keeps_name(&self, name: &Reference) -> bool {
        match self {
            Filter::Reference(pattern) => {
                glob_match(pattern, &name.familiar()) || glob_match(pattern, &name.familiar_name())
            }
            _ => true,
        }
    }
}
// ANCHOR_END: images_filters

fn image_labels(store: &Store, image: &ImageRecord) -> HashMap<String, String> {
    let Ok(bytes) = store.config_bytes(image) else {
        return HashMap::new();
    };
    let config: Json = serde_json::from_slice(&bytes).unwrap_or_default();
    serde_json::from_value(config["config"]["Labels"].clone()).unwrap_or_default()
}

// ANCHOR: glob_match
/// Go's `path.Match`: `*` is any run of characters but `/`, `?` one such
/// character, `[a-z]` / `[^a-z]` a class, `\` escapes. An invalid pattern
/// matches nothing.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_at(&pattern, &text)
}

fn glob_at(pattern: &[char], text: &[char]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some('*') => {
            // Try every split of the text that keeps `/` out of the star.
            (0..=text.len())
                .take_while(|&n| n == 0 || text[n - 1] != '/')
                .any(|n| glob_at(&pattern[1..], &text[n..]))
        }
        Some(_) => match (single(pattern), text.first()) {
            (Some((matches, used)), Some(&c)) => {
                matches(c) && glob_at(&pattern[used..], &text[1..])
            }
            _ => false,
        },
    }
}

type CharTest = Box<dyn Fn(char) -> bool>;

/// The test one non-star pattern element makes, and how many pattern
/// characters it used; `None` for a malformed element.
fn single(pattern: &[char]) -> Option<(CharTest, usize)> {
    match pattern[0] {
        '?' => Some((Box::new(|c| c != '/'), 1)),
        '\\' => {
            let literal = *pattern.get(1)?;
            Some((Box::new(move |c| c == literal), 2))
        }
        '[' => {
            let close = pattern.iter().skip(2).position(|&c| c == ']')? + 2;
            let body = &pattern[1..close];
            let (negated, body) = match body.first() {
                Some('^') => (true, &body[1..]),
                _ => (false, body),
            };
            let mut ranges = Vec::new();
            let mut i = 0;
            while i < body.len() {
                if body.get(i + 1) == Some(&'-') && i + 2 < body.len() {
                    ranges.push((body[i], body[i + 2]));
                    i += 3;
                } else {
                    ranges.push((body[i], body[i]));
                    i += 1;
                }
            }
            let test = move |c: char| ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != negated;
            Some((Box::new(test), close + 1))
        }
        literal => Some((Box::new(move |c| c == literal), 1)),
    }
}
// ANCHOR_END: glob_match

// ANCHOR: layer_size
/// Layer sizes as docker counts them, remembered by digest for one command.
///
/// docker's SIZE is what the unpacked files take: the bytes of regular files
/// plus the length of each symlink's target (what `lstat` reports), counting
/// a hard-linked file once and directories not at all. A tar entry says all
/// of that in its header, so the layer is read but nothing is unpacked.
#[derive(Debug, Default)]
pub struct LayerSizes {
    known: HashMap<String, u64>,
}

impl LayerSizes {
    /// The size of one layer blob (plain or compressed).
    pub fn layer_size(&mut self, store: &Store, digest: &oci_spec::image::Digest) -> Result<u64> {
        if let Some(size) = self.known.get(digest.as_ref()) {
            return Ok(*size);
        }
        let size =
            measure_layer(store.open_blob(digest)?).map_err(|reason| ImagesError::Layer {
                digest: digest.to_string(),
                reason,
            })?;
        self.known.insert(digest.to_string(), size);
        Ok(size)
    }

    /// The size of an image: the sum of its layers.
    pub fn image_size(&mut self, store: &Store, image: &ImageRecord) -> Result<u64> {
        let manifest = store.manifest(image)?;
        self.manifest_size(store, &manifest)
    }

    fn manifest_size(&mut self, store: &Store, manifest: &ImageManifest) -> Result<u64> {
        manifest
            .layers()
            .iter()
            .map(|layer| self.layer_size(store, layer.digest()))
            .sum()
    }
}

fn measure_layer(blob: impl Read) -> std::result::Result<u64, String> {
    let (_, tar) = layer::decompress(blob).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(tar);
    let mut size = 0u64;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        size += match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => entry.size(),
            tar::EntryType::Symlink => entry
                .link_name_bytes()
                .map_or(0, |target| target.len() as u64),
            _ => 0,
        };
    }
    Ok(size)
}
// ANCHOR_END: layer_size

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_as_go_path_match() {
        assert!(glob_match("busybox", "busybox"));
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("*:latest", "busybox:latest"));
        assert!(!glob_match("*", "user/repo"));
        assert!(glob_match("*/*", "user/repo"));
        assert!(glob_match("b?sybox", "busybox"));
        assert!(glob_match("[a-c]usybox", "busybox"));
        assert!(!glob_match("[^a-c]usybox", "busybox"));
        assert!(glob_match(r"busy\*", "busy*"));
        assert!(!glob_match(r"busy\*", "busybox"));
        assert!(!glob_match("[a-c", "a"));
        assert!(!glob_match("alpine", "busybox"));
    }

    #[test]
    fn ids_are_shortened_unless_asked() {
        let id = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(display_id(&id, false), "abababababab");
        assert_eq!(display_id(&id, true), id);
    }

    #[test]
    fn layer_size_counts_file_bytes_and_link_targets() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut file = tar::Header::new_gnu();
        file.set_size(5);
        file.set_mode(0o644);
        file.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut file, "a.txt", &b"hello"[..]).unwrap();
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        tar.append_data(&mut dir, "d/", &b""[..]).unwrap();
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        tar.append_link(&mut link, "l", "a.txt").unwrap();
        let mut hard = tar::Header::new_gnu();
        hard.set_entry_type(tar::EntryType::Link);
        hard.set_size(0);
        tar.append_link(&mut hard, "h", "a.txt").unwrap();
        let bytes = tar.into_inner().unwrap();
        assert_eq!(measure_layer(&bytes[..]).unwrap(), 5 + "a.txt".len() as u64);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        assert_eq!(measure_layer(&gz.finish().unwrap()[..]).unwrap(), 10);
    }
}
