use super::*;

fn limit(quota_us: u64) -> Option<CfsLimit> {
    Some(CfsLimit {
        quota_us,
        period_us: CFS_PERIOD_US,
    })
}

#[test]
fn one_and_a_half_cpus_is_150ms_every_100ms() {
    assert_eq!(cfs_limit_for_cpus("1.5"), Ok(limit(150_000)));
}

#[test]
fn whole_and_fractional_cpus_scale_the_period() {
    assert_eq!(cfs_limit_for_cpus("2"), Ok(limit(200_000)));
    assert_eq!(cfs_limit_for_cpus("0.5"), Ok(limit(50_000)));
    // 0.29 × 100000 is 28999.999… in floating point: rounding, not truncating.
    assert_eq!(cfs_limit_for_cpus("0.29"), Ok(limit(29_000)));
}

#[test]
fn zero_cpus_sets_no_limit() {
    assert_eq!(cfs_limit_for_cpus("0"), Ok(None));
}

#[test]
fn the_smallest_limit_is_a_hundredth_of_a_cpu() {
    assert_eq!(cfs_limit_for_cpus("0.01"), Ok(limit(MIN_QUOTA_US)));
    let err = cfs_limit_for_cpus("0.005").unwrap_err();
    assert_eq!(err.value, "0.005");
}

#[test]
fn words_negatives_and_non_finite_values_are_refused() {
    for value in ["", "one", "1.5x", "-1", "inf", "NaN"] {
        let err = cfs_limit_for_cpus(value).unwrap_err();
        assert_eq!(err.value, value);
    }
}

#[test]
fn docker_default_shares_give_weight_39() {
    assert_eq!(cpu_weight_for_shares(1024), Some(39));
}

#[test]
fn the_ends_of_the_shares_range_map_to_the_ends_of_the_weight_range() {
    assert_eq!(cpu_weight_for_shares(2), Some(1));
    assert_eq!(cpu_weight_for_shares(262_144), Some(10_000));
}

#[test]
fn shares_outside_the_range_are_clamped_first() {
    assert_eq!(cpu_weight_for_shares(1), Some(1));
    assert_eq!(cpu_weight_for_shares(1_000_000), Some(10_000));
}

#[test]
fn zero_shares_set_no_weight() {
    assert_eq!(cpu_weight_for_shares(0), None);
}
