use super::*;

const ARCH: u32 = 0xC000_003E;
const ALLOW: u32 = 0x7fff_0000;
const DENY: u32 = 0x0005_0001;

/// A stand-in for the rest of a filter: the wrong architecture kills, nr 999
/// is allowed, everything else denied.
fn rest() -> Vec<sock_filter> {
    vec![
        statement(LOAD_WORD, ARCH_OFFSET),
        jump(JUMP_IF_EQUAL, ARCH, 1, 0),
        statement(RETURN, 0),
        statement(LOAD_WORD, NR_OFFSET),
        jump(JUMP_IF_EQUAL, 999, 0, 1),
        statement(RETURN, ALLOW),
        statement(RETURN, DENY),
    ]
}

#[test]
fn runs_of_numbers_become_ranges() {
    let numbers = BTreeSet::from([0, 1, 2, 5, 7, 8, 100]);
    assert_eq!(ranges(&numbers), vec![(0, 2), (5, 5), (7, 8), (100, 100)]);
    assert!(ranges(&BTreeSet::new()).is_empty());
}

#[test]
fn the_front_answers_exactly_for_its_numbers_and_passes_the_rest_on() {
    // Many ranges, so that the tree is deeper than a conditional jump reaches.
    let mut numbers: BTreeSet<u32> = (0..600).filter(|n| n % 7 != 3).collect();
    numbers.extend([1000, 1001, 0x4000_0001]);
    let program = with_front(&numbers, ALLOW, ARCH, rest());
    assert!(program.len() > 255 * 2, "{} instructions", program.len());
    for nr in (0..1100).chain([0x4000_0000, 0x4000_0001, u32::MAX]) {
        let want = match (numbers.contains(&nr), nr) {
            (true, _) | (false, 999) => ALLOW,
            (false, _) => DENY,
        };
        assert_eq!(
            run_program(&program, ARCH, nr, [0; 6]),
            want,
            "syscall {nr}"
        );
        assert_eq!(
            run_program(&program, 0x4000_0003, nr, [0; 6]),
            0,
            "other arch, {nr}"
        );
    }
}

#[test]
fn docker_like_runs_make_a_short_program() {
    let numbers: BTreeSet<u32> = (0..335).chain(424..460).filter(|n| n % 40 != 7).collect();
    let program = with_front(&numbers, ALLOW, ARCH, rest());
    assert!(program.len() < 100, "{} instructions", program.len());
    assert_eq!(run_program(&program, ARCH, 47, [0; 6]), DENY);
    assert_eq!(run_program(&program, ARCH, 48, [0; 6]), ALLOW);
}

#[test]
fn no_numbers_leave_the_rest_alone() {
    assert_eq!(with_front(&BTreeSet::new(), ALLOW, ARCH, rest()), rest());
}
