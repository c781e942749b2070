use super::*;

const CTRL_P: u8 = 0x10;
const CTRL_Q: u8 = 0x11;

fn default_matcher() -> DetachMatcher {
    DetachMatcher::new(vec![CTRL_P, CTRL_Q])
}

fn passed(bytes: &[u8]) -> Fed {
    Fed {
        forward: bytes.to_vec(),
        detach: false,
    }
}

#[test]
fn the_default_keys_are_ctrl_p_then_ctrl_q() {
    assert_eq!(
        parse_detach_keys(DEFAULT_DETACH_KEYS),
        Ok(vec![CTRL_P, CTRL_Q])
    );
}

#[test]
fn every_control_key_is_its_character_masked_to_five_bits() {
    for (key, byte) in [
        ("ctrl-@", 0),
        ("ctrl-a", 1),
        ("ctrl-c", 3),
        ("ctrl-z", 26),
        ("ctrl-[", 27),
        ("ctrl-\\", 28),
        ("ctrl-]", 29),
        ("ctrl-^", 30),
        ("ctrl-_", 31),
    ] {
        assert_eq!(key_to_byte(key), Ok(byte), "{key}");
    }
}

#[test]
fn a_single_character_is_its_own_byte() {
    assert_eq!(key_to_byte("d"), Ok(b'd'));
    assert_eq!(key_to_byte("X"), Ok(b'X'));
    assert_eq!(key_to_byte("-"), Ok(b'-'));
    assert_eq!(parse_detach_keys("ctrl-a,d"), Ok(vec![1, b'd']));
    assert_eq!(parse_detach_keys("ctrl-\\"), Ok(vec![28]));
}

#[test]
fn other_keys_are_refused_by_name() {
    for bad in [
        "", "ctrl-", "ctrl-1", "ctrl-pq", "ctrl-é", "ctrl+p", "ab", "é", "alt-x",
    ] {
        assert_eq!(
            key_to_byte(bad),
            Err(BadDetachKey {
                key: bad.to_string()
            }),
            "{bad:?}"
        );
    }
    let err = parse_detach_keys("ctrl-p,ctrl-9,x").unwrap_err();
    assert_eq!(err.key, "ctrl-9");
    assert!(err.to_string().contains("\"ctrl-9\""), "{err}");
}

#[test]
fn a_stray_comma_is_an_empty_key() {
    for bad in ["ctrl-p,", ",ctrl-q", "ctrl-p,,ctrl-q", ""] {
        assert_eq!(
            parse_detach_keys(bad),
            Err(BadDetachKey { key: String::new() }),
            "{bad:?}"
        );
    }
}

#[test]
fn other_bytes_pass_through() {
    let mut matcher = default_matcher();
    assert_eq!(matcher.feed(b"ls -l\r"), passed(b"ls -l\r"));
    assert_eq!(matcher.feed(b""), passed(b""));
    assert_eq!(matcher.held(), 0);
}

#[test]
fn the_sequence_detaches_and_what_came_before_is_sent() {
    let mut matcher = default_matcher();
    assert_eq!(
        matcher.feed(&[b'h', b'i', CTRL_P, CTRL_Q, b'x']),
        Fed {
            forward: b"hi".to_vec(),
            detach: true
        }
    );
}

#[test]
fn the_sequence_may_arrive_one_key_per_read() {
    let mut matcher = default_matcher();
    assert_eq!(matcher.feed(&[b'a', CTRL_P]), passed(b"a"));
    assert_eq!(matcher.held(), 1);
    assert_eq!(
        matcher.feed(&[CTRL_Q]),
        Fed {
            forward: vec![],
            detach: true
        }
    );
}

#[test]
fn a_partial_match_followed_by_another_key_passes_the_held_bytes_on() {
    let mut matcher = default_matcher();
    assert_eq!(matcher.feed(&[CTRL_P]), passed(b""));
    assert_eq!(matcher.feed(b"k"), passed(&[CTRL_P, b'k']));
    assert_eq!(matcher.held(), 0);
    // Longer sequences hold more than one byte.
    let mut three = DetachMatcher::new(vec![b'a', b'b', b'c']);
    assert_eq!(three.feed(b"ab"), passed(b""));
    assert_eq!(three.held(), 2);
    assert_eq!(three.feed(b"x"), passed(b"abx"));
}

#[test]
fn the_key_that_breaks_a_match_is_not_matched_again() {
    // docker's rule: ctrl-p ctrl-p ctrl-q sends all three keys.
    let mut matcher = default_matcher();
    let mut sent = Vec::new();
    for key in [CTRL_P, CTRL_P, CTRL_Q] {
        let fed = matcher.feed(&[key]);
        assert!(!fed.detach);
        sent.extend(fed.forward);
    }
    assert_eq!(sent, vec![CTRL_P, CTRL_P, CTRL_Q]);
    // The match starts over after it: the next pair detaches.
    assert!(matcher.feed(&[CTRL_P, CTRL_Q]).detach);
}

#[test]
fn an_empty_sequence_never_detaches() {
    let mut matcher = DetachMatcher::new(vec![]);
    assert_eq!(matcher.feed(&[CTRL_P, CTRL_Q]), passed(&[CTRL_P, CTRL_Q]));
}
