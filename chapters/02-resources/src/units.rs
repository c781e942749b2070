//! Sizes and CPU counts as docker reads them from the command line.
//!
//! `512m` is 512 MiB: docker's memory flags use binary units (its `RAMInBytes`),
//! whatever the case of the letter and with or without a trailing `b` or `ib`.
//! `--cpus 1.5` is an exact rational number, stored as nano-CPUs (1.5e9) so that
//! no floating-point rounding ever reaches the kernel.

use thiserror::Error;

/// Why a size or a CPU count did not parse; the text is docker's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    /// Not a number followed by an optional unit.
    #[error("invalid size: '{input}'")]
    InvalidSize {
        /// What the user wrote.
        input: String,
    },
    /// Not a decimal number or a fraction.
    #[error("failed to parse {input} as a rational number")]
    NotRational {
        /// What the user wrote.
        input: String,
    },
    /// More digits than a nano-CPU can hold.
    #[error("value is too precise")]
    TooPrecise,
}

/// One kibibyte; docker's `k` on memory flags.
pub const KIB: i64 = 1024;
/// One mebibyte; docker's `m`.
pub const MIB: i64 = 1024 * KIB;
/// One gibibyte; docker's `g`.
pub const GIB: i64 = 1024 * MIB;

// ANCHOR: parse_size
/// Parses a size as docker's memory flags do: `512m`, `1.5g`, `100000`, `10 KiB`.
///
/// The grammar is `DIGITS[.DIGITS][ ][k|m|g|t|p][i][b]`, case-insensitive, and the
/// units are powers of 1024. A fraction is truncated towards zero once scaled.
pub fn parse_size(input: &str) -> Result<i64, UnitError> {
    let invalid = || UnitError::InvalidSize {
        input: input.to_string(),
    };
    let number_len = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, suffix) = input.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let has_fraction = number.contains('.');
    if whole.is_empty() || (has_fraction && fraction.is_empty()) || fraction.contains('.') {
        return Err(invalid());
    }
    let multiplier =
        unit_multiplier(suffix.strip_prefix(' ').unwrap_or(suffix)).ok_or_else(invalid)?;

    // Integer arithmetic, wide enough that `9999999p` cannot wrap around.
    let whole: u128 = whole.parse().map_err(|_| invalid())?;
    let mut bytes = whole.checked_mul(multiplier).ok_or_else(invalid)?;
    if !fraction.is_empty() {
        let digits = fraction.len().min(30) as u32;
        let numerator: u128 = fraction[..digits as usize].parse().map_err(|_| invalid())?;
        bytes += numerator * multiplier / 10u128.pow(digits);
    }
    i64::try_from(bytes).map_err(|_| invalid())
}
// ANCHOR_END: parse_size

// ANCHOR: size_units
/// The multiplier of a unit suffix: `""`, `b`, `k`, `kb`, `ki`, `kib`, ... any case.
fn unit_multiplier(suffix: &str) -> Option<u128> {
    let suffix = suffix.to_ascii_lowercase();
    let (letter, rest) = match suffix.chars().next() {
        None => return Some(1),
        Some('b') if suffix.len() == 1 => return Some(1),
        Some(c) => (c, &suffix[1..]),
    };
    let power = match letter {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        _ => return None,
    };
    matches!(rest, "" | "i" | "b" | "ib").then(|| 1024u128.pow(power))
}
// ANCHOR_END: size_units

/// Nano-CPUs in one CPU: `--cpus 1` is 1e9 nano-CPUs.
pub const NANO_PER_CPU: i64 = 1_000_000_000;

// ANCHOR: parse_cpus
/// Parses `--cpus` (`1.5`, `0.25`, `3/2`) into nano-CPUs, exactly.
///
/// docker reads the value as a rational number and refuses one that does not
/// come out as a whole number of nano-CPUs ("value is too precise").
pub fn parse_nano_cpus(input: &str) -> Result<i64, UnitError> {
    let not_rational = || UnitError::NotRational {
        input: input.to_string(),
    };
    if let Some((numerator, denominator)) = input.split_once('/') {
        return parse_fraction(numerator, denominator).ok_or_else(not_rational)?;
    }
    let (negative, unsigned) = match input.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, input.strip_prefix('+').unwrap_or(input)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(not_rational());
    }
    // Digits beyond the ninth decimal place must be zeros, or the value is not whole in nano-CPUs.
    let significant = fraction.trim_end_matches('0');
    if significant.len() > 9 {
        return Err(UnitError::TooPrecise);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| not_rational())?
    };
    let nanos: i64 = format!("{significant:0<9}")
        .parse()
        .map_err(|_| not_rational())?;
    let value = whole
        .checked_mul(NANO_PER_CPU)
        .and_then(|w| w.checked_add(nanos))
        .ok_or_else(not_rational)?;
    Ok(if negative { -value } else { value })
}
// ANCHOR_END: parse_cpus

/// `--cpus 3/2`: `None` when either side is not an integer or the denominator is 0.
fn parse_fraction(numerator: &str, denominator: &str) -> Option<Result<i64, UnitError>> {
    let numerator: i64 = numerator.parse().ok()?;
    let denominator: i64 = denominator.parse().ok().filter(|&d| d != 0)?;
    let scaled = i128::from(numerator) * i128::from(NANO_PER_CPU);
    if scaled % i128::from(denominator) != 0 {
        return Some(Err(UnitError::TooPrecise));
    }
    i64::try_from(scaled / i128::from(denominator)).ok().map(Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_use_binary_units_in_any_case() {
        assert_eq!(parse_size("512m"), Ok(512 * MIB));
        assert_eq!(parse_size("512M"), Ok(512 * MIB));
        assert_eq!(parse_size("1g"), Ok(GIB));
        assert_eq!(parse_size("1GB"), Ok(GIB));
        assert_eq!(parse_size("1GiB"), Ok(GIB));
        assert_eq!(parse_size("10 kb"), Ok(10 * KIB));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4096b"), Ok(4096));
        assert_eq!(parse_size("1t"), Ok(1024 * GIB));
    }

    #[test]
    fn fractional_sizes_are_truncated_after_scaling() {
        assert_eq!(parse_size("1.5g"), Ok(GIB + GIB / 2));
        assert_eq!(parse_size("0.1k"), Ok(102));
    }

    #[test]
    fn bad_sizes_are_refused_with_dockers_message() {
        for bad in [
            "12zz",
            "",
            "m",
            "-1",
            "1.",
            ".5m",
            "1..2",
            "1.2.3",
            "1bb",
            "1kbb",
            "1x",
            "1  m",
            "99999999999p",
        ] {
            assert_eq!(
                parse_size(bad),
                Err(UnitError::InvalidSize { input: bad.into() }),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_size("12zz").unwrap_err().to_string(),
            "invalid size: '12zz'"
        );
    }

    #[test]
    fn cpus_are_exact_nano_cpus() {
        assert_eq!(parse_nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_nano_cpus("0.5"), Ok(500_000_000));
        assert_eq!(parse_nano_cpus(".25"), Ok(250_000_000));
        assert_eq!(parse_nano_cpus("2"), Ok(2 * NANO_PER_CPU));
        assert_eq!(parse_nano_cpus("3/2"), Ok(1_500_000_000));
        assert_eq!(parse_nano_cpus("0.000000001"), Ok(1));
        assert_eq!(parse_nano_cpus("1.0000000000"), Ok(NANO_PER_CPU));
        assert_eq!(parse_nano_cpus("-1"), Ok(-NANO_PER_CPU));
    }

    #[test]
    fn bad_cpus_are_refused_with_dockers_message() {
        assert_eq!(
            parse_nano_cpus("abc").unwrap_err().to_string(),
            "failed to parse abc as a rational number"
        );
        assert_eq!(parse_nano_cpus("0.0000000001"), Err(UnitError::TooPrecise));
        assert_eq!(parse_nano_cpus("1/3"), Err(UnitError::TooPrecise));
        assert!(parse_nano_cpus("1/0").is_err());
        assert!(parse_nano_cpus(".").is_err());
        assert!(parse_nano_cpus("1.5x").is_err());
    }

    fn any_case(s: &str, upper: Vec<bool>) -> String {
        s.chars()
            .zip(upper.into_iter().chain(std::iter::repeat(false)))
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    }

    proptest! {
        #[test]
        fn size_round_trips(n in 0i64..1_000_000, unit in 0usize..4, suffix in 0usize..4,
                            upper in proptest::collection::vec(any::<bool>(), 3)) {
            let (letter, multiplier) = [("", 1), ("k", KIB), ("m", MIB), ("g", GIB)][unit];
            let tail = if letter.is_empty() { ["", "b", "", "b"][suffix] } else { ["", "b", "i", "ib"][suffix] };
            let written = format!("{n}{}", any_case(&format!("{letter}{tail}"), upper));
            prop_assert_eq!(parse_size(&written), Ok(n * multiplier));
        }

        #[test]
        fn cpus_round_trip(nanos in 0i64..64 * NANO_PER_CPU) {
            let written = format!("{}.{:09}", nanos / NANO_PER_CPU, nanos % NANO_PER_CPU);
            prop_assert_eq!(parse_nano_cpus(&written), Ok(nanos));
        }
    }
}
