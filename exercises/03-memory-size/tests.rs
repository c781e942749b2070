use super::*;

#[test]
fn megabytes_are_mebibytes() {
    assert_eq!(parse_memory_size("512m"), Ok(536_870_912));
}

#[test]
fn each_unit_is_a_power_of_1024() {
    assert_eq!(parse_memory_size("100k"), Ok(102_400));
    assert_eq!(parse_memory_size("1g"), Ok(1_073_741_824));
    assert_eq!(parse_memory_size("10b"), Ok(10));
}

#[test]
fn units_are_case_insensitive_and_may_end_in_b() {
    assert_eq!(parse_memory_size("512M"), Ok(536_870_912));
    assert_eq!(parse_memory_size("64mb"), Ok(64 << 20));
    assert_eq!(parse_memory_size("2GB"), Ok(2 << 30));
    assert_eq!(parse_memory_size("1Kb"), Ok(1024));
}

#[test]
fn a_bare_number_is_bytes() {
    assert_eq!(parse_memory_size("4096"), Ok(4096));
    assert_eq!(parse_memory_size("0"), Ok(0));
}

#[test]
fn an_unknown_unit_is_an_error_naming_the_value() {
    let err = parse_memory_size("12zz").unwrap_err();
    assert_eq!(err.value, "12zz");
    assert_eq!(err.to_string(), "invalid size: '12zz'");
}

#[test]
fn a_unit_without_a_number_is_invalid() {
    assert!(parse_memory_size("m").is_err());
    assert!(parse_memory_size("").is_err());
}

#[test]
fn signs_spaces_and_doubled_units_are_invalid() {
    for value in ["-1", "+1", " 1m", "1m ", "1mm", "1bb", "1km"] {
        let err = parse_memory_size(value).unwrap_err();
        assert_eq!(err.value, value);
    }
}

#[test]
fn a_size_too_large_for_64_bits_is_invalid_not_wrapped() {
    // 2^34 GiB = 2^64 bytes: one more than u64 holds.
    assert!(parse_memory_size("17179869184g").is_err());
    assert!(parse_memory_size("99999999999999999999").is_err());
    assert_eq!(parse_memory_size("17179869183g"), Ok(17_179_869_183 << 30));
}
