//! The CLI glue of chapter 05: `diff`, `commit`, `export` and `cp`, one command
//! per file, on the mechanisms of [`tree`] (walking a container's files
//! without following its symlinks) and [`changes`] (what a container changed).

pub mod changes;
pub mod commit;
pub mod commit_config;
pub mod container;
pub mod cp;
pub mod cp_place;
pub mod diff;
pub mod export;
pub mod merged;
pub mod tree;
pub mod tree_tar;
