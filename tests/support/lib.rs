//! Shared helpers for berth's end-to-end tests.

pub mod rootfs;
