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
//! This is the reference solution; the comments in each function say why.

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
    let invalid = || InvalidCpus {
        value: value.to_string(),
    };
    let cpus: f64 = value.parse().map_err(|_| invalid())?;
    // `f64::from_str` accepts "inf" and "NaN": they parse, but they are not CPUs.
    if !cpus.is_finite() || cpus < 0.0 {
        return Err(invalid());
    }
    if cpus == 0.0 {
        return Ok(None);
    }
    // Round before converting: `as u64` truncates, and 0.29 × 100000 is just
    // under 29000 in binary floating point.
    let quota_us = (cpus * CFS_PERIOD_US as f64).round() as u64;
    if quota_us < MIN_QUOTA_US {
        return Err(invalid());
    }
    Ok(Some(CfsLimit {
        quota_us,
        period_us: CFS_PERIOD_US,
    }))
}

/// The cgroup v2 `cpu.weight` for a `--cpu-shares` value; `None` for 0 (not set).
pub fn cpu_weight_for_shares(shares: u64) -> Option<u64> {
    if shares == 0 {
        return None;
    }
    // Clamping first also keeps `shares - 2` from underflowing for shares = 1.
    let shares = shares.clamp(2, 262_144);
    // Multiply before dividing: the other order would lose everything to integer
    // division, since 9999 / 262142 is 0.
    Some(1 + ((shares - 2) * 9999) / 262_142)
}

// The tests that check your work are in tests.rs, beside this file.
#[cfg(all(test, feature = "checks"))]
#[path = "tests.rs"]
mod tests;
