use super::*;

// Diff ids of three made-up layers (the sha256 of "layer one", "layer two" and
// "layer three"), and the chain ids computed for them outside Rust with
// `printf '%s %s' "$PARENT" "$DIFF" | sha256sum`.
const ONE: &str = "sha256:f191e625176e7514249870c60bc24622131b04927a418001d1969c9cecd260f1";
const TWO: &str = "sha256:77c7ed05b2e49df2e55d70cb007508cc66b2f5419a940bfd6f8749ba7db77c45";
const THREE: &str = "sha256:6483085b79dcef99d4d90b43a910666cdce078bf772da453728f8c385fbfdf2f";
const ONE_TWO: &str = "sha256:d440fc2ac5bfa225471b58c5d6b4283504f5dfbcd6251023a635cdcd0c058e3e";
const ONE_TWO_THREE: &str =
    "sha256:952689aceeac7e377b602804de533a4ad47ba634e3917ca7cb071e5ff2bff6cd";
const TWO_ONE: &str = "sha256:b9a88ed831a607ef3e8be88975b6a20a0dcafcce6a7abed868fff9d869663227";
const ONE_ONE: &str = "sha256:ebe16154b42602d983ec878ec2cc56c8f97c014495832e4f01bee7f7137a6a0e";

#[test]
fn a_digest_is_sha256_and_64_lower_case_hex_digits() {
    assert!(is_sha256_digest(ONE));
    assert!(is_sha256_digest(&format!("sha256:{}", "0".repeat(64))));
}

#[test]
fn a_digest_with_another_prefix_length_or_case_is_refused() {
    let hex = &ONE["sha256:".len()..];
    for bad in [
        hex.to_string(),
        format!("sha512:{hex}"),
        format!("SHA256:{hex}"),
        format!("sha256:{}", hex.to_uppercase()),
        format!("sha256:{}", &hex[1..]),
        format!("sha256:{hex}0"),
        format!("sha256:{}g", &hex[1..]),
        format!("sha256: {}", &hex[1..]),
        "sha256:".to_string(),
        String::new(),
    ] {
        assert!(!is_sha256_digest(&bad), "{bad:?} was accepted");
    }
}

#[test]
fn the_bottom_layer_chain_id_is_its_diff_id() {
    assert_eq!(chain_ids(&[ONE]), Ok(vec![ONE.to_string()]));
}

#[test]
fn each_chain_id_hashes_the_parent_chain_id_a_space_and_the_diff_id() {
    assert_eq!(
        chain_ids(&[ONE, TWO, THREE]),
        Ok(vec![
            ONE.to_string(),
            ONE_TWO.to_string(),
            ONE_TWO_THREE.to_string()
        ])
    );
}

#[test]
fn the_order_of_the_layers_changes_the_chain_id() {
    let swapped = chain_ids(&[TWO, ONE]).unwrap();
    assert_eq!(swapped, vec![TWO.to_string(), TWO_ONE.to_string()]);
    assert_ne!(swapped[1], ONE_TWO);
}

#[test]
fn a_layer_repeated_is_still_a_new_chain_id() {
    // The same tar applied twice is a different stack from applying it once.
    assert_eq!(
        chain_ids(&[ONE, ONE]),
        Ok(vec![ONE.to_string(), ONE_ONE.to_string()])
    );
}

#[test]
fn images_sharing_their_bottom_layers_share_those_chain_ids() {
    let short = chain_ids(&[ONE, TWO]).unwrap();
    let long = chain_ids(&[ONE, TWO, THREE]).unwrap();
    assert_eq!(long[..2], short[..]);
}

#[test]
fn no_layers_give_no_chain_ids() {
    assert_eq!(chain_ids(&[]), Ok(vec![]));
}

#[test]
fn a_malformed_diff_id_is_refused_with_its_position() {
    let upper = ONE.to_uppercase();
    let err = chain_ids(&[ONE, TWO, &upper]).unwrap_err();
    assert_eq!(
        err,
        InvalidDiffId {
            index: 2,
            value: upper.clone()
        }
    );
    assert!(err.to_string().contains("diff id 2"), "{err}");
    // Even the bottom layer, which is not hashed, must be a digest.
    assert_eq!(chain_ids(&["layer one", TWO]).unwrap_err().index, 0);
}
