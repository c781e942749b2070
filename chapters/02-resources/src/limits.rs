//! From `run` flags to the OCI spec's resource limits, checked as docker's
//! daemon checks them.
//!
//! Each flag is first read alone (`flags.rs`); then the combination is checked
//! (`--memory-swap` below `--memory`, `--cpus` with `--cpu-quota`, ...) and the
//! result becomes `linux.resources` of the spec: memory, cpu and pids, in the
//! runtime-spec's own units (bytes, microseconds, v1-style shares). The cgroup
//! drivers translate those units for v1 or v2.

use berth_engine::Error;
use berth_engine::cli::RunArgs;
use berth_engine::oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
use thiserror::Error;

use crate::cpuset::CpuList;
use crate::flags::{self, FlagError};
use crate::units::{MIB, NANO_PER_CPU};

/// The smallest memory limit docker accepts: below it a container cannot even start.
pub const MIN_MEMORY: i64 = 6 * MIB;
/// The CFS period `--cpus` uses, in microseconds (the kernel's default, 100 ms).
pub const DEFAULT_CPU_PERIOD: u64 = 100_000;
/// The smallest CFS quota or period the kernel accepts, in microseconds (1 ms).
pub const MIN_CFS_MICROS: i64 = 1_000;
/// The largest CFS period the kernel accepts, in microseconds (1 s).
pub const MAX_CFS_PERIOD: i64 = 1_000_000;
/// The range of v1 `cpu.shares` the kernel keeps; docker clamps into it.
pub const CPU_SHARES_RANGE: (u64, u64) = (2, 262_144);

/// A combination of flags docker's daemon refuses; the messages are docker's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitError {
    /// `--memory` below 6 MiB.
    #[error("Minimum memory limit allowed is 6MB")]
    MemoryTooSmall,
    /// `--memory-reservation` below 6 MiB.
    #[error("Minimum memory reservation allowed is 6MB")]
    ReservationTooSmall,
    /// `--memory-swap` without `--memory`.
    #[error("You should always set the Memory limit when using Memoryswap limit, see usage")]
    SwapWithoutMemory,
    /// `--memory-swap` smaller than `--memory`.
    #[error("Minimum memoryswap limit should be larger than memory limit, see usage")]
    SwapBelowMemory,
    /// `--memory-reservation` above `--memory`.
    #[error("Minimum memory limit can not be less than memory reservation limit, see usage")]
    ReservationAboveMemory,
    /// `--cpus` with `--cpu-period`.
    #[error("Conflicting options: Nano CPUs and CPU Period cannot both be set")]
    CpusWithPeriod,
    /// `--cpus` with `--cpu-quota`.
    #[error("Conflicting options: Nano CPUs and CPU Quota cannot both be set")]
    CpusWithQuota,
    /// `--cpus` negative or more than the host has.
    #[error("Range of CPUs is from 0.01 to {online}.00, as there are only {online} CPUs available")]
    CpusOutOfRange {
        /// CPUs online on the host.
        online: usize,
    },
    /// `--cpus` so small that the quota is under the kernel's 1 ms minimum.
    #[error("--cpus {value} is less than the kernel's smallest quota (0.01 CPU)")]
    CpusTooFew {
        /// What the user wrote.
        value: String,
    },
    /// `--cpu-period` outside 1 ms..1 s.
    #[error("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")]
    PeriodOutOfRange,
    /// `--cpu-quota` positive but under 1 ms.
    #[error("CPU cfs quota can not be less than 1ms (i.e. 1000)")]
    QuotaTooSmall,
    /// `--cpuset-cpus` not a CPU list.
    #[error("Invalid value {value} for cpuset cpus: invalid format: {value}")]
    CpusetFormat {
        /// What the user wrote.
        value: String,
    },
    /// `--cpuset-cpus` names a CPU the host does not have online.
    #[error("Requested CPUs are not available - requested {requested}, available: {available}")]
    CpusetUnavailable {
        /// What the user asked for.
        requested: String,
        /// The host's online CPUs.
        available: String,
    },
}

impl LimitError {
    /// What the user should do about it.
    pub fn hint(&self) -> &'static str {
        use LimitError::*;
        match self {
            MemoryTooSmall | ReservationTooSmall => "use at least -m 6m",
            SwapWithoutMemory => "add -m/--memory, or drop --memory-swap",
            SwapBelowMemory => {
                "--memory-swap is memory plus swap: make it at least --memory, or -1"
            }
            ReservationAboveMemory => "make --memory-reservation smaller than --memory",
            CpusWithPeriod | CpusWithQuota => "use either --cpus or --cpu-period/--cpu-quota",
            CpusOutOfRange { .. } | CpusTooFew { .. } => {
                "ask for between 0.01 and the number of CPUs of the host"
            }
            PeriodOutOfRange => "use a --cpu-period between 1000 and 1000000 microseconds",
            QuotaTooSmall => "use a --cpu-quota of at least 1000 microseconds, or -1 for no limit",
            CpusetFormat { .. } => "write CPUs as a list such as 0-1,3",
            CpusetUnavailable { .. } => "pick CPUs from /sys/devices/system/cpu/online",
        }
    }
}

impl From<LimitError> for Error {
    fn from(e: LimitError) -> Self {
        Error::usage(e.to_string()).hint(e.hint())
    }
}

/// The limits of one container, in the runtime-spec's units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Memory limit in bytes.
    pub memory: Option<i64>,
    /// Memory plus swap in bytes; -1 is unlimited swap.
    pub memory_swap: Option<i64>,
    /// Memory soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// Relative CPU weight, v1 shares (2..262144).
    pub cpu_shares: Option<u64>,
    /// CFS quota in microseconds per period; -1 is no limit.
    pub cpu_quota: Option<i64>,
    /// CFS period in microseconds.
    pub cpu_period: Option<u64>,
    /// CPUs the container may run on.
    pub cpuset_cpus: Option<CpuList>,
    /// Most tasks the container may have; -1 is no limit.
    pub pids: Option<i64>,
}

/// Reads an optional flag with `parse`; an empty value counts as not given.
fn read<T>(
    value: &Option<String>,
    parse: impl Fn(&str) -> Result<T, FlagError>,
) -> Result<Option<T>, FlagError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(parse)
        .transpose()
}

impl Limits {
    /// Reads and checks the chapter 02 flags of `run`; `online` is the host's online CPUs.
    pub fn from_args(args: &RunArgs, online: &CpuList) -> Result<Self, Error> {
        let memory = read(&args.memory, |v| flags::size(flags::MEMORY, v))?;
        let swap = read(&args.memory_swap, flags::swap_size)?;
        let reservation = read(&args.memory_reservation, |v| {
            flags::size(flags::MEMORY_RESERVATION, v)
        })?;
        let nano_cpus = read(&args.cpus, flags::nano_cpus)?;
        let shares = read(&args.cpu_shares, |v| flags::integer(flags::CPU_SHARES, v))?;
        let period = read(&args.cpu_period, |v| flags::integer(flags::CPU_PERIOD, v))?;
        let quota = read(&args.cpu_quota, |v| flags::integer(flags::CPU_QUOTA, v))?;
        let pids = read(&args.pids_limit, |v| flags::integer(flags::PIDS_LIMIT, v))?;

        let mut limits = Limits {
            cpu_shares: shares.filter(|&s| s != 0).map(clamp_shares),
            pids: pids.map(|p| if p <= 0 { -1 } else { p }),
            ..Limits::default()
        };
        limits.set_memory(memory, swap, reservation)?;
        limits.set_cpu(args.cpus.as_deref(), nano_cpus, period, quota, online)?;
        if let Some(value) = args.cpuset_cpus.as_deref().filter(|v| !v.is_empty()) {
            limits.cpuset_cpus = Some(check_cpuset(value, online)?);
        }
        Ok(limits)
    }

    // ANCHOR: memory_rules
    fn set_memory(
        &mut self,
        memory: Option<i64>,
        swap: Option<i64>,
        reservation: Option<i64>,
    ) -> Result<(), LimitError> {
        // Zero means "not set" for every memory flag, as in docker.
        let memory = memory.filter(|&m| m != 0);
        let swap = swap.filter(|&s| s != 0);
        let reservation = reservation.filter(|&r| r != 0);
        if memory.is_some_and(|m| m < MIN_MEMORY) {
            return Err(LimitError::MemoryTooSmall);
        }
        if reservation.is_some_and(|r| r < MIN_MEMORY) {
            return Err(LimitError::ReservationTooSmall);
        }
        match (memory, swap) {
            (None, Some(s)) if s > 0 => return Err(LimitError::SwapWithoutMemory),
            (Some(m), Some(s)) if s > 0 && s < m => return Err(LimitError::SwapBelowMemory),
            _ => {}
        }
        if let (Some(m), Some(r)) = (memory, reservation)
            && r > m
        {
            return Err(LimitError::ReservationAboveMemory);
        }
        self.memory = memory;
        // docker's default: as much swap as memory, so memory+swap is twice the limit.
        self.memory_swap = swap.or(memory.map(|m| m * 2));
        self.memory_reservation = reservation;
        Ok(())
    }
    // ANCHOR_END: memory_rules

    // ANCHOR: cpu_rules
    fn set_cpu(
        &mut self,
        cpus_text: Option<&str>,
        nano_cpus: Option<i64>,
        period: Option<i64>,
        quota: Option<i64>,
        online: &CpuList,
    ) -> Result<(), LimitError> {
        let nano_cpus = nano_cpus.filter(|&n| n != 0);
        let period = period.filter(|&p| p != 0);
        let quota = quota.filter(|&q| q != 0);
        if let Some(nanos) = nano_cpus {
            let text = cpus_text.unwrap_or_default();
            self.cpu_quota = Some(cpus_to_quota(nanos, text, period, quota, online)?);
            self.cpu_period = Some(DEFAULT_CPU_PERIOD);
            return Ok(());
        }
        if let Some(p) = period {
            if !(MIN_CFS_MICROS..=MAX_CFS_PERIOD).contains(&p) {
                return Err(LimitError::PeriodOutOfRange);
            }
            self.cpu_period = Some(p as u64);
        }
        if let Some(q) = quota {
            if q > 0 && q < MIN_CFS_MICROS {
                return Err(LimitError::QuotaTooSmall);
            }
            self.cpu_quota = Some(q.max(-1));
        }
        Ok(())
    }
    // ANCHOR_END: cpu_rules

    // ANCHOR: limits_to_spec
    /// Writes the limits into the spec's `linux.resources`.
    pub fn apply(&self, resources: &mut LinuxResources) {
        if self.memory.is_some() || self.memory_swap.is_some() || self.memory_reservation.is_some()
        {
            let mut memory = LinuxMemory::default();
            memory.set_limit(self.memory);
            memory.set_swap(self.memory_swap);
            memory.set_reservation(self.memory_reservation);
            resources.set_memory(Some(memory));
        }
        let cpu_set = self.cpu_shares.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_period.is_some()
            || self.cpuset_cpus.is_some();
        if cpu_set {
            let mut cpu = LinuxCpu::default();
            cpu.set_shares(self.cpu_shares);
            cpu.set_quota(self.cpu_quota);
            cpu.set_period(self.cpu_period);
            cpu.set_cpus(self.cpuset_cpus.as_ref().map(|c| c.to_string()));
            resources.set_cpu(Some(cpu));
        }
        if let Some(limit) = self.pids {
            let mut pids = LinuxPids::default();
            pids.set_limit(limit);
            resources.set_pids(Some(pids));
        }
    }
    // ANCHOR_END: limits_to_spec
}

// ANCHOR: cpus_to_quota
/// `--cpus N` as a CFS quota: N periods' worth of CPU time in every 100 ms
/// period, so `--cpus 0.5` is 50 ms per 100 ms and `--cpus 2` is 200 ms (two
/// CPUs busy all the time). It replaces `--cpu-quota`/`--cpu-period`, so
/// giving both is refused, as docker does.
fn cpus_to_quota(
    nanos: i64,
    text: &str,
    period: Option<i64>,
    quota: Option<i64>,
    online: &CpuList,
) -> Result<i64, LimitError> {
    if nanos > 0 && period.is_some_and(|p| p > 0) {
        return Err(LimitError::CpusWithPeriod);
    }
    if nanos > 0 && quota.is_some_and(|q| q > 0) {
        return Err(LimitError::CpusWithQuota);
    }
    if nanos < 0 || nanos > online.len() as i64 * NANO_PER_CPU {
        return Err(LimitError::CpusOutOfRange {
            online: online.len(),
        });
    }
    let quota = nanos * DEFAULT_CPU_PERIOD as i64 / NANO_PER_CPU;
    if quota < MIN_CFS_MICROS {
        return Err(LimitError::CpusTooFew { value: text.into() });
    }
    Ok(quota)
}
// ANCHOR_END: cpus_to_quota

fn clamp_shares(shares: i64) -> u64 {
    let (min, max) = CPU_SHARES_RANGE;
    shares.clamp(min as i64, max as i64) as u64
}

fn check_cpuset(value: &str, online: &CpuList) -> Result<CpuList, LimitError> {
    let requested = CpuList::parse(value).map_err(|_| LimitError::CpusetFormat {
        value: value.to_string(),
    })?;
    if !requested.is_subset(online) {
        return Err(LimitError::CpusetUnavailable {
            requested: value.to_string(),
            available: online.to_string(),
        });
    }
    Ok(requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::GIB;

    fn two_cpus() -> CpuList {
        CpuList::parse("0-1").unwrap()
    }

    fn limits(set: impl FnOnce(&mut RunArgs)) -> Result<Limits, Error> {
        let mut args = RunArgs::default();
        set(&mut args);
        Limits::from_args(&args, &two_cpus())
    }

    fn message(set: impl FnOnce(&mut RunArgs)) -> String {
        limits(set).unwrap_err().message().to_string()
    }

    #[test]
    fn no_flags_no_limits() {
        assert_eq!(limits(|_| {}).unwrap(), Limits::default());
    }

    #[test]
    fn memory_defaults_swap_to_twice_the_limit() {
        let l = limits(|a| a.memory = Some("512m".into())).unwrap();
        assert_eq!(l.memory, Some(512 * MIB));
        assert_eq!(l.memory_swap, Some(1024 * MIB));
        let l = limits(|a| {
            a.memory = Some("512m".into());
            a.memory_swap = Some("-1".into());
        })
        .unwrap();
        assert_eq!(l.memory_swap, Some(-1));
        let l = limits(|a| {
            a.memory = Some("1g".into());
            a.memory_swap = Some("1g".into());
            a.memory_reservation = Some("256m".into());
        })
        .unwrap();
        assert_eq!(
            (l.memory_swap, l.memory_reservation),
            (Some(GIB), Some(256 * MIB))
        );
    }

    #[test]
    fn memory_combinations_docker_refuses() {
        assert_eq!(
            message(|a| a.memory = Some("4m".into())),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            message(|a| a.memory_reservation = Some("1m".into())),
            "Minimum memory reservation allowed is 6MB"
        );
        assert_eq!(
            message(|a| a.memory_swap = Some("1g".into())),
            LimitError::SwapWithoutMemory.to_string()
        );
        assert_eq!(
            message(|a| {
                a.memory = Some("1g".into());
                a.memory_swap = Some("512m".into());
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            message(|a| {
                a.memory = Some("100m".into());
                a.memory_reservation = Some("200m".into());
            }),
            LimitError::ReservationAboveMemory.to_string()
        );
        let e = limits(|a| a.memory = Some("12zz".into())).unwrap_err();
        assert_eq!(e.exit_code(), 125);
        assert!(e.to_string().starts_with(
            "invalid argument \"12zz\" for \"-m, --memory\" flag: invalid size: '12zz'; "
        ));
    }

    #[test]
    fn cpus_become_quota_over_period() {
        let l = limits(|a| a.cpus = Some("1.5".into())).unwrap();
        assert_eq!((l.cpu_quota, l.cpu_period), (Some(150_000), Some(100_000)));
        let l = limits(|a| a.cpus = Some("0.5".into())).unwrap();
        assert_eq!(l.cpu_quota, Some(50_000));
    }

    #[test]
    fn cpus_conflicts_and_ranges() {
        assert_eq!(
            message(|a| {
                a.cpus = Some("1".into());
                a.cpu_quota = Some("50000".into());
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert_eq!(
            message(|a| {
                a.cpus = Some("1".into());
                a.cpu_period = Some("50000".into());
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            message(|a| a.cpus = Some("3".into())),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert!(message(|a| a.cpus = Some("0.001".into())).starts_with("--cpus 0.001 is less"));
        // An unlimited quota (-1) is no conflict.
        assert!(
            limits(|a| {
                a.cpus = Some("1".into());
                a.cpu_quota = Some("-1".into());
            })
            .is_ok()
        );
    }

    #[test]
    fn quota_and_period_ranges() {
        assert_eq!(
            message(|a| a.cpu_period = Some("999".into())),
            LimitError::PeriodOutOfRange.to_string()
        );
        assert_eq!(
            message(|a| a.cpu_period = Some("1000001".into())),
            LimitError::PeriodOutOfRange.to_string()
        );
        assert_eq!(
            message(|a| a.cpu_quota = Some("999".into())),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        let l = limits(|a| {
            a.cpu_quota = Some("-5".into());
            a.cpu_period = Some("50000".into());
        })
        .unwrap();
        assert_eq!((l.cpu_quota, l.cpu_period), (Some(-1), Some(50_000)));
    }

    #[test]
    fn shares_are_clamped_and_pids_unlimited_below_one() {
        assert_eq!(
            limits(|a| a.cpu_shares = Some("1".into()))
                .unwrap()
                .cpu_shares,
            Some(2)
        );
        assert_eq!(
            limits(|a| a.cpu_shares = Some("1000000".into()))
                .unwrap()
                .cpu_shares,
            Some(262_144)
        );
        assert_eq!(
            limits(|a| a.cpu_shares = Some("0".into()))
                .unwrap()
                .cpu_shares,
            None
        );
        assert_eq!(
            limits(|a| a.pids_limit = Some("0".into())).unwrap().pids,
            Some(-1)
        );
        assert_eq!(
            limits(|a| a.pids_limit = Some("-1".into())).unwrap().pids,
            Some(-1)
        );
        assert_eq!(
            limits(|a| a.pids_limit = Some("20".into())).unwrap().pids,
            Some(20)
        );
    }

    #[test]
    fn cpuset_checked_against_online_cpus() {
        let l = limits(|a| a.cpuset_cpus = Some("0-1".into())).unwrap();
        assert_eq!(l.cpuset_cpus.unwrap().to_string(), "0-1");
        assert_eq!(
            message(|a| a.cpuset_cpus = Some("0-3".into())),
            "Requested CPUs are not available - requested 0-3, available: 0-1"
        );
        assert_eq!(
            message(|a| a.cpuset_cpus = Some("0-x".into())),
            "Invalid value 0-x for cpuset cpus: invalid format: 0-x"
        );
    }

    #[test]
    fn apply_fills_the_spec() {
        let l = limits(|a| {
            a.memory = Some("512m".into());
            a.cpus = Some("0.5".into());
            a.cpu_shares = Some("512".into());
            a.cpuset_cpus = Some("1".into());
            a.pids_limit = Some("64".into());
        })
        .unwrap();
        let mut resources = LinuxResources::default();
        l.apply(&mut resources);
        let memory = resources.memory().as_ref().unwrap();
        assert_eq!(
            (memory.limit(), memory.swap()),
            (Some(536_870_912), Some(1_073_741_824))
        );
        let cpu = resources.cpu().as_ref().unwrap();
        assert_eq!(
            (cpu.quota(), cpu.period(), cpu.shares()),
            (Some(50_000), Some(100_000), Some(512))
        );
        assert_eq!(cpu.cpus().as_deref(), Some("1"));
        assert_eq!(resources.pids().as_ref().unwrap().limit(), 64);
    }
}
