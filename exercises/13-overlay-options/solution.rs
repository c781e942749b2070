//! # Exercise 13 — overlay mount options
//!
//! A container's root is one overlay mount: the image's layers read-only below,
//! the container's own directory on top. Everything the kernel needs is in one
//! option string:
//!
//! ```text
//! lowerdir=l/INIT:l/TOP:…:l/BOTTOM,upperdir=…/upper,workdir=…/work,redirect_dir=off,metacopy=off,index=off
//! ```
//!
//! - `lowerdir` lists the read-only layers separated by `:`, the **top one first**.
//!   An image config lists its layers the other way round, bottom first, so the
//!   order is reversed; above the image sits the *init layer*, the files berth
//!   adds to every container (`etc/hostname`, `proc`, …), so it comes first of all.
//! - `upperdir` receives every write; `workdir` is overlay's scratch space.
//! - `redirect_dir`, `metacopy` and `index` are always off. With them on, a
//!   renamed directory or a `chmod` is stored as a pointer into a lower layer,
//!   and `diff`, `commit` and `export`, which read the upper directory alone,
//!   would miss or lose the change.
//!
//! The string has a hard limit. `mount(2)` copies its data argument into one
//! page of kernel memory, 4096 bytes, and the string must end with its NUL byte
//! inside that page: 4095 characters at most. A layer named by its absolute path,
//! `/var/lib/berth/layers/<64 hex digits>/diff`, costs about 100 of them, so an
//! image of 40 layers would already not mount. Like docker, berth gives each
//! layer a short *link name*, a symlink `l/NAME` in the layer cache, and mounts
//! from the cache directory, so a layer costs `l/` + the name + `:`. With docker's
//! 26-character names, 127 layers and the init layer fit.
//!
//! A link name is made by berth, never by an image, and it must stay a plain
//! name: ASCII letters and digits only. A `:` would split the layer list, a `,`
//! would start a new mount option, a `/` would point elsewhere. The same goes
//! for a `,` in the upper or work directory: refuse it rather than let a path
//! add options of its own.
//!
//! This is the reference solution; the comments in the functions say why.

use std::fmt;

/// The kernel copies mount options into one page; the string and its NUL must fit.
pub const PAGE_SIZE: usize = 4096;
/// The directory of the layer cache that holds the short links.
pub const LINK_DIR: &str = "l";
/// The overlay features that would hide changes from the upper directory.
pub const ALWAYS_OFF: &str = "redirect_dir=off,metacopy=off,index=off";

/// The directories of one container's overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLayers<'a> {
    /// The link names of the image's layers, bottom first, as the image config lists them.
    pub image: &'a [&'a str],
    /// The link name of the container's init layer.
    pub init: &'a str,
    /// The container's own layer, where its writes go.
    pub upper: &'a str,
    /// overlay's scratch directory, on the same file system as `upper`.
    pub work: &'a str,
}

/// Why no option string can be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsError {
    /// A link name that is not ASCII letters and digits.
    BadLink {
        /// The name as given.
        link: String,
    },
    /// An upper or work directory that is empty or holds a `,`.
    BadDir {
        /// The directory as given.
        dir: String,
    },
    /// The options do not fit in a page with their NUL byte.
    TooLong {
        /// The length of the option string.
        length: usize,
        /// How many lower directories it names.
        lowers: usize,
    },
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::BadLink { link } => {
                write!(
                    f,
                    "layer link name {link:?} is not ASCII letters and digits"
                )
            }
            OptionsError::BadDir { dir } => {
                write!(f, "overlay directory {dir:?} is empty or holds a ','")
            }
            OptionsError::TooLong { length, lowers } => write!(
                f,
                "overlay options for {lowers} lower directories take {length} bytes, more than a page holds ({})",
                PAGE_SIZE - 1
            ),
        }
    }
}

impl std::error::Error for OptionsError {}

/// True for a name that can stand in a `lowerdir` list: ASCII letters and digits, not empty.
pub fn is_safe_link(link: &str) -> bool {
    // `chars().all` is true for an empty string, so the emptiness test is
    // needed too. ASCII only: `is_alphanumeric` would let in any letter of
    // Unicode, and a name berth makes has no reason to hold one.
    !link.is_empty() && link.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The `lowerdir` value: the init layer, then the image's layers top first, as `l/NAME`.
pub fn lowerdir(init: &str, image: &[&str]) -> Result<String, OptionsError> {
    let bad = |link: &str| OptionsError::BadLink {
        link: link.to_string(),
    };
    if !is_safe_link(init) {
        return Err(bad(init));
    }
    // overlay looks a path up in the first lower directory first: the top of
    // the stack. The image config lists its layers from the bottom, so they
    // are walked backwards.
    let mut dirs = vec![format!("{LINK_DIR}/{init}")];
    for link in image.iter().rev() {
        if !is_safe_link(link) {
            return Err(bad(link));
        }
        dirs.push(format!("{LINK_DIR}/{link}"));
    }
    Ok(dirs.join(":"))
}

/// The whole option string for the container's overlay mount.
pub fn mount_options(layers: &ContainerLayers<'_>) -> Result<String, OptionsError> {
    for dir in [layers.upper, layers.work] {
        // A ',' would end the option early and let the rest of the path be
        // read as options of its own.
        if dir.is_empty() || dir.contains(',') {
            return Err(OptionsError::BadDir {
                dir: dir.to_string(),
            });
        }
    }
    let lower = lowerdir(layers.init, layers.image)?;
    let options = format!(
        "lowerdir={lower},upperdir={},workdir={},{ALWAYS_OFF}",
        layers.upper, layers.work
    );
    // The kernel cuts a longer string at the page's end without a word: the
    // bottom layers, or the upper directory, would silently be missing.
    if options.len() > PAGE_SIZE - 1 {
        return Err(OptionsError::TooLong {
            length: options.len(),
            lowers: layers.image.len() + 1,
        });
    }
    Ok(options)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
