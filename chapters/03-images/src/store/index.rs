//! `index.json`: which manifests the store holds, and under which names.
//!
//! Every change reads the index, edits it and writes it back whole with
//! `atomic_write`, all under `index.lock`: a reader never sees half a file, and
//! two writers never lose each other's change.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use berth_engine::state;
use oci_spec::image::{Descriptor, Digest, ImageIndex, MediaType};

use super::{CONTAINERD_NAME, REF_NAME, Store, StoreError};
use crate::reference::{NameOrId, Reference, id_prefix};

// ANCHOR: listed_images
/// The images this process last listed, and from which index.json: making a
/// container asks for the images several times (to resolve its name, for the
/// config, for the layers), and the answer changes only with the index.
static LISTED: Mutex<Option<Listing>> = Mutex::new(None);

/// A listing of the images and the index file it came from.
struct Listing {
    index: PathBuf,
    identity: IndexIdentity,
    images: Vec<ImageRecord>,
}

/// What tells one index.json from another without reading it. The index is
/// only ever replaced whole by a rename, never written in place, so a new
/// index is a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IndexIdentity {
    device: u64,
    inode: u64,
    size: u64,
    changed: (i64, i64),
}

impl IndexIdentity {
    fn of(meta: &fs::Metadata) -> Self {
        IndexIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The images listed from `index` if it is still the file seen as `identity`.
fn listed(index: &Path, identity: IndexIdentity) -> Option<Vec<ImageRecord>> {
    let listed = LISTED.lock().unwrap_or_else(|e| e.into_inner());
    listed
        .as_ref()
        .filter(|l| l.index == index && l.identity == identity)
        .map(|l| l.images.clone())
}
// ANCHOR_END: listed_images

/// One image as the commands see it: an id (its config's digest), its manifest,
/// and the names pointing at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// The image id: `sha256:` digest of the config.
    pub id: Digest,
    /// The manifest's descriptor (media type, digest, size), without names.
    pub manifest: Descriptor,
    /// The names (always with a tag), sorted.
    pub names: Vec<Reference>,
    /// The config's `created` time (RFC 3339), when it has one.
    pub created: Option<String>,
    /// The bytes of all layer blobs as stored (compressed when they are).
    pub size: u64,
}

impl ImageRecord {
    /// The manifest's digest.
    pub fn manifest_digest(&self) -> Digest {
        self.manifest.digest().clone()
    }
}

/// A name that moved from one image to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The name that moved.
    pub name: Reference,
    /// The id of the image that had it before.
    pub old_id: Digest,
}

/// An index with no images.
pub(super) fn empty_index() -> ImageIndex {
    let mut index = ImageIndex::default();
    index.set_schema_version(2);
    index.set_media_type(Some(MediaType::ImageIndex));
    index.set_manifests(Vec::new());
    index
}

/// What the index says about one manifest once its manifest and config are read.
struct ManifestFacts {
    id: Digest,
    created: Option<String>,
    size: u64,
}

fn name_of(descriptor: &Descriptor) -> Option<Reference> {
    let annotations = descriptor.annotations().as_ref()?;
    let name = annotations
        .get(CONTAINERD_NAME)
        .or_else(|| annotations.get(REF_NAME))?;
    Reference::parse(name).ok()
}

fn named_descriptor(manifest: &Descriptor, name: &Reference) -> Descriptor {
    let mut descriptor = unnamed_descriptor(manifest);
    let full = name.normalized();
    descriptor.set_annotations(Some(HashMap::from([
        (REF_NAME.to_string(), full.clone()),
        (CONTAINERD_NAME.to_string(), full),
    ])));
    descriptor
}

fn unnamed_descriptor(manifest: &Descriptor) -> Descriptor {
    let mut descriptor = Descriptor::new(
        manifest.media_type().clone(),
        manifest.size(),
        manifest.digest().clone(),
    );
    descriptor.set_platform(manifest.platform().clone());
    descriptor
}

impl Store {
    /// Reads `index.json` (no lock needed: it is always replaced whole).
    pub(super) fn read_index(&self) -> Result<ImageIndex, StoreError> {
        Ok(self.read_index_identified()?.0)
    }

    /// The index, and the identity of the file it was read from.
    fn read_index_identified(&self) -> Result<(ImageIndex, IndexIdentity), StoreError> {
        let path = self.index_path();
        let mut file = fs::File::open(&path).map_err(StoreError::io("reading", &path))?;
        let identity =
            IndexIdentity::of(&file.metadata().map_err(StoreError::io("reading", &path))?);
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(StoreError::io("reading", &path))?;
        let index = serde_json::from_slice(&bytes).map_err(|e| StoreError::BadDocument {
            digest: path.display().to_string(),
            kind: "index.json",
            reason: e.to_string(),
        })?;
        Ok((index, identity))
    }

    pub(super) fn write_index(&self, index: &ImageIndex) -> Result<(), StoreError> {
        let path = self.index_path();
        let bytes = serde_json::to_vec(index).expect("an image index serialises");
        state::atomic_write(&path, &bytes).map_err(StoreError::io("writing", &path))
    }

    fn facts(&self, manifest: &Digest) -> Result<ManifestFacts, StoreError> {
        let parsed = self.read_manifest(manifest)?;
        let id = parsed.config().digest().clone();
        let config: serde_json::Value =
            serde_json::from_slice(&self.read_json_blob(&id, "image config")?).map_err(|e| {
                StoreError::BadDocument {
                    digest: id.to_string(),
                    kind: "image config",
                    reason: e.to_string(),
                }
            })?;
        Ok(ManifestFacts {
            created: config["created"].as_str().map(str::to_string),
            size: parsed.layers().iter().map(|l| l.size()).sum(),
            id,
        })
    }

    /// Every image in the store, newest first, each with all its names.
    pub fn images(&self) -> Result<Vec<ImageRecord>, StoreError> {
        let path = self.index_path();
        let seen =
            IndexIdentity::of(&fs::metadata(&path).map_err(StoreError::io("reading", &path))?);
        if let Some(images) = listed(&path, seen) {
            return Ok(images);
        }
        // The identity of the file read, which may be newer than the one seen.
        let (index, read) = self.read_index_identified()?;
        let images = self.list(&index)?;
        *LISTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Listing {
            index: path,
            identity: read,
            images: images.clone(),
        });
        Ok(images)
    }

    /// The images `index` names, newest first, each with all its names.
    fn list(&self, index: &ImageIndex) -> Result<Vec<ImageRecord>, StoreError> {
        let mut by_id: BTreeMap<String, ImageRecord> = BTreeMap::new();
        let mut facts: HashMap<Digest, ManifestFacts> = HashMap::new();
        for descriptor in index.manifests() {
            let digest = descriptor.digest();
            if !facts.contains_key(digest) {
                facts.insert(digest.clone(), self.facts(digest)?);
            }
            let fact = &facts[digest];
            let record = by_id
                .entry(fact.id.to_string())
                .or_insert_with(|| ImageRecord {
                    id: fact.id.clone(),
                    manifest: unnamed_descriptor(descriptor),
                    names: Vec::new(),
                    created: fact.created.clone(),
                    size: fact.size,
                });
            if let Some(name) = name_of(descriptor) {
                // A named manifest is the one to use when an untagged one shares its id.
                if record.names.is_empty() {
                    record.manifest = unnamed_descriptor(descriptor);
                }
                record.names.push(name);
            }
        }
        let mut images: Vec<ImageRecord> = by_id.into_values().collect();
        for image in &mut images {
            image.names.sort();
            image.names.dedup();
        }
        images.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then(a.id.to_string().cmp(&b.id.to_string()))
        });
        Ok(images)
    }

    // ANCHOR: record_names
    /// Records images whose blobs are all stored: each manifest under its names
    /// (an empty list keeps the image untagged). One lock, one write of
    /// `index.json`, so a load's images appear together or not at all. Returns
    /// the names taken from other images.
    pub fn record(
        &self,
        images: &[(Descriptor, Vec<Reference>)],
    ) -> Result<Vec<Replaced>, StoreError> {
        for (manifest, _) in images {
            self.check_complete(manifest)?;
        }
        let _lock = self.lock_index()?;
        let mut index = self.read_index()?;
        let mut entries = index.manifests().clone();
        let mut replaced = Vec::new();
        for (manifest, names) in images {
            let new_id = self.facts(manifest.digest())?.id;
            for name in names {
                let name = name.with_default_tag();
                let existing = entries
                    .iter()
                    .position(|d| name_of(d).as_ref() == Some(&name));
                if existing.is_some_and(|at| entries[at].digest() == manifest.digest()) {
                    continue;
                }
                if let Some(at) = existing {
                    let old = entries.remove(at);
                    let old_id = self.facts(old.digest())?.id;
                    if old_id != new_id {
                        replaced.push(Replaced {
                            name: name.clone(),
                            old_id,
                        });
                    }
                    // The image that lost its name stays, untagged, so it is not lost.
                    if !entries.iter().any(|d| d.digest() == old.digest()) {
                        entries.push(unnamed_descriptor(&old));
                    }
                }
                entries.push(named_descriptor(manifest, &name));
            }
            let known = index
                .manifests()
                .iter()
                .any(|d| d.digest() == manifest.digest());
            if names.is_empty() && !known {
                entries.push(unnamed_descriptor(manifest));
            }
            if !names.is_empty() {
                // A name now reaches this manifest; its untagged entry is redundant.
                entries.retain(|d| d.digest() != manifest.digest() || name_of(d).is_some());
            }
        }
        // Loading what is already there rewrites nothing.
        if entries != *index.manifests() {
            index.set_manifests(entries);
            self.write_index(&index)?;
        }
        Ok(replaced)
    }
    // ANCHOR_END: record_names

    /// Gives an image (its manifest already stored) one more name; returns the id
    /// of the image that had the name before, if it was another one.
    pub fn tag(
        &self,
        manifest: &Descriptor,
        name: &Reference,
    ) -> Result<Option<Digest>, StoreError> {
        let replaced = self.record(&[(manifest.clone(), vec![name.clone()])])?;
        Ok(replaced.into_iter().next().map(|r| r.old_id))
    }

    /// Removes one name; the image stays (untagged when it was its last name).
    /// Returns the image that had the name.
    pub fn untag(&self, name: &Reference) -> Result<ImageRecord, StoreError> {
        let name = name.with_default_tag();
        let image = self
            .images()?
            .into_iter()
            .find(|image| image.names.contains(&name))
            .ok_or_else(|| StoreError::NotFound {
                name: name.familiar(),
            })?;
        let _lock = self.lock_index()?;
        let mut index = self.read_index()?;
        let mut entries = index.manifests().clone();
        let Some(at) = entries
            .iter()
            .position(|d| name_of(d).as_ref() == Some(&name))
        else {
            return Err(StoreError::NotFound {
                name: name.familiar(),
            });
        };
        let old = entries.remove(at);
        if !entries.iter().any(|d| d.digest() == old.digest()) {
            entries.push(unnamed_descriptor(&old));
        }
        index.set_manifests(entries);
        self.write_index(&index)?;
        Ok(image)
    }

    /// Forgets an image and all its names. Its blobs stay until
    /// [`Store::garbage_collect`], since other images may share them.
    pub fn remove_image(&self, id: &Digest) -> Result<ImageRecord, StoreError> {
        let image = self
            .images()?
            .into_iter()
            .find(|image| image.id == *id)
            .ok_or_else(|| StoreError::NotFound {
                name: id.to_string(),
            })?;
        let _lock = self.lock_index()?;
        let mut index = self.read_index()?;
        let mut keep = Vec::new();
        for descriptor in index.manifests() {
            if self.facts(descriptor.digest())?.id != *id {
                keep.push(descriptor.clone());
            }
        }
        index.set_manifests(keep);
        self.write_index(&index)?;
        Ok(image)
    }

    // ANCHOR: resolve
    /// Finds an image as docker does: by name (`busybox` means
    /// `busybox:latest`; `name@sha256:…` by manifest digest), by full id, or by a
    /// unique id prefix.
    pub fn resolve(&self, name_or_id: &str) -> Result<ImageRecord, StoreError> {
        let images = self.images()?;
        let not_found = || StoreError::NotFound {
            name: name_or_id.to_string(),
        };
        if let NameOrId::Id(id) = NameOrId::classify(name_or_id) {
            return images
                .into_iter()
                .find(|image| image.id.as_ref() == id)
                .ok_or_else(not_found);
        }
        let parsed = Reference::parse(name_or_id);
        if let Ok(reference) = &parsed {
            let found = match &reference.digest {
                Some(digest) => images
                    .iter()
                    .find(|i| i.manifest.digest().as_ref() == digest),
                None => {
                    let name = reference.with_default_tag();
                    images.iter().find(|i| i.names.contains(&name))
                }
            };
            if let Some(image) = found {
                return Ok(image.clone());
            }
        }
        let Some(prefix) = id_prefix(name_or_id) else {
            return match parsed {
                Err(e) => Err(e.into()),
                Ok(_) => Err(not_found()),
            };
        };
        let mut matching = images
            .into_iter()
            .filter(|image| image.id.digest().starts_with(prefix));
        match (matching.next(), matching.next()) {
            (Some(image), None) => Ok(image),
            (Some(_), Some(_)) => Err(StoreError::Ambiguous {
                prefix: name_or_id.to_string(),
            }),
            (None, _) => Err(not_found()),
        }
    }
    // ANCHOR_END: resolve
}
