//! Reading each chapter 02 flag on its own, with docker's error messages.
//!
//! docker checks a flag's *form* in the client (`invalid argument "12zz" for
//! "-m, --memory" flag: invalid size: '12zz'`) and the *combination* of flags in
//! the daemon (see `limits.rs`). berth keeps the same two steps.

use berth_engine::Error;
use thiserror::Error;

use crate::units;

/// A flag value whose form is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
pub struct FlagError {
    /// The flag as docker names it in messages (`-m, --memory`).
    pub flag: &'static str,
    /// What the user wrote.
    pub value: String,
    /// Why it is wrong.
    pub reason: String,
    /// How to write it instead.
    pub hint: &'static str,
}

impl From<FlagError> for Error {
    fn from(e: FlagError) -> Self {
        let hint = e.hint;
        Error::usage(e.to_string()).hint(hint)
    }
}

/// `-m, --memory`, as docker names it in messages.
pub const MEMORY: &str = "-m, --memory";
/// `--memory-swap`.
pub const MEMORY_SWAP: &str = "--memory-swap";
/// `--memory-reservation`.
pub const MEMORY_RESERVATION: &str = "--memory-reservation";
/// `--cpus`.
pub const CPUS: &str = "--cpus";
/// `-c, --cpu-shares`.
pub const CPU_SHARES: &str = "-c, --cpu-shares";
/// `--cpu-period`.
pub const CPU_PERIOD: &str = "--cpu-period";
/// `--cpu-quota`.
pub const CPU_QUOTA: &str = "--cpu-quota";
/// `--pids-limit`.
pub const PIDS_LIMIT: &str = "--pids-limit";
/// `--device`.
pub const DEVICE: &str = "--device";

const SIZE_HINT: &str =
    "write a size as a number with an optional unit b, k, m or g (e.g. 512m, 1.5g)";

/// A byte size flag (`--memory`, `--memory-reservation`).
pub fn size(flag: &'static str, value: &str) -> Result<i64, FlagError> {
    units::parse_size(value).map_err(|e| FlagError {
        flag,
        value: value.to_string(),
        reason: e.to_string(),
        hint: SIZE_HINT,
    })
}

/// `--memory-swap`: a size, or `-1` for unlimited swap.
pub fn swap_size(value: &str) -> Result<i64, FlagError> {
    if value == "-1" {
        return Ok(-1);
    }
    size(MEMORY_SWAP, value).map_err(|e| FlagError {
        hint: "write a size such as 1g (memory plus swap), or -1 for unlimited swap",
        ..e
    })
}

/// `--cpus`: a decimal number of CPUs, in nano-CPUs.
pub fn nano_cpus(value: &str) -> Result<i64, FlagError> {
    units::parse_nano_cpus(value).map_err(|e| FlagError {
        flag: CPUS,
        value: value.to_string(),
        reason: e.to_string(),
        hint: "write a number of CPUs such as 1.5 or 0.25",
    })
}

/// An integer flag (`--cpu-shares`, `--cpu-period`, `--cpu-quota`, `--pids-limit`),
/// with Go's words for the error, as docker prints them.
pub fn integer(flag: &'static str, value: &str) -> Result<i64, FlagError> {
    value.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        FlagError {
            flag,
            value: value.to_string(),
            reason: format!("strconv.ParseInt: parsing \"{value}\": {why}"),
            hint: "write a whole number",
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_memory_reads_like_docker() {
        let e = size(MEMORY, "12zz").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid argument \"12zz\" for \"-m, --memory\" flag: invalid size: '12zz'"
        );
        let engine: Error = e.into();
        assert_eq!(engine.exit_code(), 125);
        assert!(engine.to_string().contains("; write a size"));
    }

    #[test]
    fn swap_takes_minus_one() {
        assert_eq!(swap_size("-1"), Ok(-1));
        assert_eq!(swap_size("1g"), Ok(units::GIB));
        assert_eq!(swap_size("-2").unwrap_err().flag, MEMORY_SWAP);
    }

    #[test]
    fn integers_read_like_go() {
        assert_eq!(integer(CPU_QUOTA, "-1"), Ok(-1));
        assert_eq!(
            integer(CPU_PERIOD, "x").unwrap_err().to_string(),
            "invalid argument \"x\" for \"--cpu-period\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert!(
            integer(PIDS_LIMIT, "99999999999999999999")
                .unwrap_err()
                .reason
                .ends_with("value out of range")
        );
    }

    #[test]
    fn cpus_errors_name_the_flag() {
        assert_eq!(
            nano_cpus("lots").unwrap_err().to_string(),
            "invalid argument \"lots\" for \"--cpus\" flag: failed to parse lots as a rational number"
        );
    }
}
