//! Shared helpers for berth's end-to-end tests.
//!
//! A test makes a [`env::TestEnv`] (its own root filesystem, state root, runtime
//! directory and cgroup parent), runs a chapter binary in it, parses what the
//! kernel showed the container ([`kernel`]) and ends with
//! [`leftovers::assert_nothing_left`].
#![deny(missing_docs)]

pub mod binaries;
pub mod env;
pub mod kernel;
pub mod leftovers;
pub mod oracle;
pub mod privilege;
pub mod pty;
pub mod rootfs;

pub use binaries::Binary;
pub use env::{Output, TestEnv};
pub use leftovers::assert_nothing_left;
