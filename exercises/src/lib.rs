//! # berth's workshop exercises
//!
//! Each exercise is one small piece of a chapter's concept, in one file that you
//! edit: `exercises/NN-name/exercise.rs`. Its tests (`tests.rs`, beside it) say
//! what the finished piece must do; `cargo xtask exercise` runs them, shows what
//! fails, gives a hint, and names the next exercise when they pass.
//!
//! The crate builds in three ways:
//! - by default, the skeletons compile and no exercise tests are built, so
//!   `cargo test --workspace` stays green for people working on berth itself;
//! - `--features checks` adds the tests to the skeletons (what you run while
//!   working, through `cargo xtask exercise`);
//! - `--features solutions` swaps in the reference solutions, tests included.
//!
//! `cargo xtask exercise check-all` proves, for every exercise, that its tests
//! fail on the skeleton and pass on the solution. See `exercises/README.md`.
#![deny(missing_docs)]
// A skeleton takes the arguments its finished version needs, but its `todo!()`
// body does not use them yet.
#![cfg_attr(not(feature = "solutions"), allow(unused_variables))]

#[cfg_attr(not(feature = "solutions"), path = "../01-capability-mask/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../01-capability-mask/solution.rs")]
pub mod capability_mask;

#[cfg_attr(not(feature = "solutions"), path = "../02-exit-status/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../02-exit-status/solution.rs")]
pub mod exit_status;

#[cfg_attr(not(feature = "solutions"), path = "../03-memory-size/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../03-memory-size/solution.rs")]
pub mod memory_size;

#[cfg_attr(not(feature = "solutions"), path = "../04-cpu-quota/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../04-cpu-quota/solution.rs")]
pub mod cpu_quota;

#[cfg_attr(not(feature = "solutions"), path = "../05-masked-paths/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../05-masked-paths/solution.rs")]
pub mod masked_paths;

#[cfg_attr(not(feature = "solutions"), path = "../06-chain-id/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../06-chain-id/solution.rs")]
pub mod chain_id;

#[cfg_attr(not(feature = "solutions"), path = "../07-reference/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../07-reference/solution.rs")]
pub mod reference;

#[cfg_attr(not(feature = "solutions"), path = "../08-whiteouts/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../08-whiteouts/solution.rs")]
pub mod whiteouts;

#[cfg_attr(not(feature = "solutions"), path = "../09-state-machine/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../09-state-machine/solution.rs")]
pub mod state_machine;

#[cfg_attr(not(feature = "solutions"), path = "../10-restart-backoff/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../10-restart-backoff/solution.rs")]
pub mod restart_backoff;

#[cfg_attr(not(feature = "solutions"), path = "../11-detach-keys/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../11-detach-keys/solution.rs")]
pub mod detach_keys;

#[cfg_attr(not(feature = "solutions"), path = "../12-json-log-tail/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../12-json-log-tail/solution.rs")]
pub mod json_log_tail;

#[cfg_attr(not(feature = "solutions"), path = "../13-overlay-options/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../13-overlay-options/solution.rs")]
pub mod overlay_options;

#[cfg_attr(not(feature = "solutions"), path = "../14-upper-diff/exercise.rs")]
#[cfg_attr(feature = "solutions", path = "../14-upper-diff/solution.rs")]
pub mod upper_diff;

#[cfg_attr(
    not(feature = "solutions"),
    path = "../15-whiteout-conversion/exercise.rs"
)]
#[cfg_attr(feature = "solutions", path = "../15-whiteout-conversion/solution.rs")]
pub mod whiteout_conversion;
