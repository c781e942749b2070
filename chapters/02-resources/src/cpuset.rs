//! CPU lists as the kernel writes them (`0-1,3`): `--cpuset-cpus` and
//! `/sys/devices/system/cpu/online`.

use std::collections::BTreeSet;
use std::fmt;

use thiserror::Error;

/// Why a CPU list did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid format: {input}")]
pub struct CpuListError {
    /// What was written.
    pub input: String,
}

/// A set of CPU numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuList(BTreeSet<u32>);

// ANCHOR: cpu_list
impl CpuList {
    /// Parses the kernel's list format: numbers and inclusive ranges, comma-separated.
    pub fn parse(input: &str) -> Result<Self, CpuListError> {
        let error = || CpuListError {
            input: input.to_string(),
        };
        let mut cpus = BTreeSet::new();
        for item in input.trim_end_matches('\n').split(',') {
            let (first, last) = match item.split_once('-') {
                Some((first, last)) => (first, last),
                None => (item, item),
            };
            let first: u32 = first.parse().map_err(|_| error())?;
            let last: u32 = last.parse().map_err(|_| error())?;
            // A range runs upwards; the cap keeps a typo like 0-4000000000 from allocating.
            if first > last || last - first > 65_536 {
                return Err(error());
            }
            cpus.extend(first..=last);
        }
        Ok(Self(cpus))
    }

    /// Whether every CPU of `self` is in `other`.
    pub fn is_subset(&self, other: &CpuList) -> bool {
        self.0.is_subset(&other.0)
    }
    // ANCHOR_END: cpu_list

    /// How many CPUs the list holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes the list back in the kernel's compact form (`0-2,5`).
impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cpus = self.0.iter().copied().peekable();
        let mut first_item = true;
        while let Some(start) = cpus.next() {
            let mut end = start;
            while cpus.peek() == Some(&(end + 1)) {
                end = cpus.next().unwrap_or(end);
            }
            if !first_item {
                f.write_str(",")?;
            }
            first_item = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_ranges_and_single_cpus() {
        let list = CpuList::parse("0-1,3").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list.to_string(), "0-1,3");
        assert_eq!(CpuList::parse("0-1\n").unwrap().to_string(), "0-1");
        assert_eq!(CpuList::parse("3,1,2").unwrap().to_string(), "1-3");
    }

    #[test]
    fn refuses_malformed_lists() {
        for bad in [
            "",
            "a",
            "1-",
            "-1",
            "2-1",
            "0,,1",
            "0-1-2",
            " 0",
            "0-4000000000",
        ] {
            assert_eq!(
                CpuList::parse(bad),
                Err(CpuListError { input: bad.into() }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn subset_against_online_cpus() {
        let online = CpuList::parse("0-1").unwrap();
        assert!(CpuList::parse("1").unwrap().is_subset(&online));
        assert!(!CpuList::parse("0-2").unwrap().is_subset(&online));
    }

    proptest! {
        #[test]
        fn display_round_trips(cpus in proptest::collection::btree_set(0u32..256, 1..40)) {
            let list = CpuList(cpus);
            prop_assert_eq!(CpuList::parse(&list.to_string()), Ok(list));
        }
    }
}
