use super::*;

#[test]
fn docker_defaults_give_the_mask_proc_status_shows() {
    let mask = mask_of(&DOCKER_DEFAULTS).unwrap();
    assert_eq!(status_hex(mask), "00000000a80425fb");
}

#[test]
fn lower_case_upper_case_and_prefixed_spellings_name_the_same_capability() {
    let expected = Capability::Bit(12);
    assert_eq!(parse_capability("net_admin"), Ok(expected));
    assert_eq!(parse_capability("NET_ADMIN"), Ok(expected));
    assert_eq!(parse_capability("CAP_NET_ADMIN"), Ok(expected));
    assert_eq!(parse_capability("cap_Net_Admin"), Ok(expected));
}

#[test]
fn all_in_any_case_means_every_capability() {
    assert_eq!(parse_capability("ALL"), Ok(Capability::All));
    assert_eq!(parse_capability("all"), Ok(Capability::All));
    assert_eq!(mask_of(&["all"]).unwrap(), 0x1ff_ffff_ffff);
}

#[test]
fn cap_all_is_not_a_spelling_of_all() {
    let err = parse_capability("CAP_ALL").unwrap_err();
    assert_eq!(err.spelling, "CAP_ALL");
}

#[test]
fn an_unknown_name_is_an_error_naming_the_spelling() {
    let err = mask_of(&["chown", "net_admn"]).unwrap_err();
    assert_eq!(err.spelling, "net_admn");
    assert_eq!(err.to_string(), "unknown capability: \"net_admn\"");
}

#[test]
fn the_empty_set_prints_sixteen_zeros() {
    // What `CapEff` shows for `-u 1000`: a non-root user keeps no capability.
    assert_eq!(mask_of(&[]).unwrap(), 0);
    assert_eq!(status_hex(0), "0000000000000000");
}

#[test]
fn a_capability_named_twice_counts_once() {
    let mask = mask_of(&["kill", "CAP_KILL", "Kill"]).unwrap();
    assert_eq!(mask, 1 << 5);
    assert_eq!(status_hex(mask), "0000000000000020");
}

#[test]
fn the_highest_capability_sets_bit_forty() {
    assert_eq!(
        parse_capability("checkpoint_restore"),
        Ok(Capability::Bit(40))
    );
    assert_eq!(status_hex(1 << 40), "0000010000000000");
}
