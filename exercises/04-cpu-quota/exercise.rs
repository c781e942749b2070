//! # Exercise 04 — CPU quota and CPU weight
//!
//! The kernel's CFS scheduler limits a cgroup with two numbers: in every *period*
//! (in microseconds) the group may run for at most *quota* microseconds, summed over
//! all CPUs. docker's `--cpus 1.5` is that ratio: with its period of 100000 µs
//! (100 ms), the quota is 150000 µs. `--cpus 0` means "no limit", and the kernel
//! refuses a quota under 1000 µs, so the smallest limit is `--cpus 0.01`. The value
//! is a decimal number of CPUs, nothing else (`inf` and `NaN` are not numbers of CPUs).
//!
//! `--cpu-shares` is a relative weight: cgroup v1's `cpu.shares` goes from 2 to
//! 262144 (default 1024). cgroup v2 replaced it with `cpu.weight`, from 1 to 10000,
//! and runtimes map one range onto the other linearly:
//! `weight = 1 + ((shares - 2) * 9999) / 262142`. Shares outside 2..=262144 are
//! first clamped into it, as the kernel does on v1; 0 means "not set".
//!
//! Edit the two functions marked `TODO`. Run `cargo xtask exercise 04`.

use std::fmt;

/// docker's CFS period: 100 ms, in microseconds.
pub const CFS_PERIOD_US: u64 = 100_000;
/// The smallest quota the kernel accepts, in microseconds.
pub const MIN_QUOTA_US: u64 = 1_000;

/// What goes into `cpu.cfs_quota_us` and `cpu.cfs_period_us` (v1) or `cpu.max` (v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CfsLimit {
    /// Microseconds of CPU time allowed per period.
    pub quota_us: u64,
    /// The length of a period, in microseconds.
    pub period_us: u64,
}

/// A `--cpus` value docker would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCpus {
    /// The value as the user wrote it.
    pub value: String,
}

impl fmt::Display for InvalidCpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid --cpus value '{}': give a number of CPUs, 0.01 or more (0 means no limit)",
            self.value
        )
    }
}

impl std::error::Error for InvalidCpus {}

/// The CFS limit for `--cpus VALUE`; `None` for `0`, which sets no limit.
pub fn cfs_limit_for_cpus(value: &str) -> Result<Option<CfsLimit>, InvalidCpus> {
    // TODO: parse the value as an f64; refuse it unless it is finite and not
    // negative. 0 is no limit. Otherwise quota = cpus × CFS_PERIOD_US, rounded to
    // whole microseconds (floating point can give 149999.99999…); a quota under
    // MIN_QUOTA_US is refused too.
    todo!()
}

/// The cgroup v2 `cpu.weight` for a `--cpu-shares` value; `None` for 0 (not set).
pub fn cpu_weight_for_shares(shares: u64) -> Option<u64> {
    // TODO: 0 is not set. Otherwise clamp the shares into 2..=262144, then apply
    // 1 + ((shares - 2) * 9999) / 262142 (integer arithmetic, as runtimes do).
    todo!()
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
