//! A short front for a seccomp filter: the syscalls a filter matches whatever
//! their arguments, as a binary search over ranges of syscall numbers.
//!
//! seccompiler writes one comparison per syscall, one after the other: docker's
//! default profile becomes about 1,500 BPF instructions, and a syscall far down
//! the list runs through hundreds of them. The kernel also translates and
//! compiles every instruction when the filter is loaded, which took 1 ms here,
//! at every container start. Most of the profile is "allow this syscall", and
//! the allowed numbers come in long runs (0–20, 22–60…), so this front tests a
//! number against a few dozen ranges in a balanced tree and answers at once; a
//! syscall with argument conditions falls through to seccompiler's program for
//! those rules alone.

use std::collections::BTreeSet;

use seccompiler::sock_filter;

/// `BPF_LD | BPF_W | BPF_ABS`: load the 32-bit word at offset `k` of the
/// syscall's `struct seccomp_data`.
const LOAD_WORD: u16 = 0x20;
/// `BPF_JMP | BPF_JA`: jump `k` instructions forward.
const JUMP: u16 = 0x05;
/// `BPF_JMP | BPF_JEQ | BPF_K`: to `jt` if the accumulator equals `k`, else `jf`.
const JUMP_IF_EQUAL: u16 = 0x15;
/// `BPF_JMP | BPF_JGT | BPF_K`: to `jt` if the accumulator is above `k`, else `jf`.
const JUMP_IF_ABOVE: u16 = 0x25;
/// `BPF_JMP | BPF_JGE | BPF_K`: to `jt` if the accumulator is at least `k`, else `jf`.
const JUMP_IF_AT_LEAST: u16 = 0x35;
/// `BPF_RET | BPF_K`: return `k`, the verdict.
const RETURN: u16 = 0x06;
/// Offsets in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;

/// The runs of consecutive numbers in `numbers`, as inclusive (first, last).
pub fn ranges(numbers: &BTreeSet<u32>) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in numbers {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == n => *last = n,
            _ => runs.push((n, n)),
        }
    }
    runs
}

fn statement(code: u16, k: u32) -> sock_filter {
    jump(code, k, 0, 0)
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

// ANCHOR: range_front
/// `numbers` (syscalls of `arch`) return `verdict`; every other call, and any
/// call of another architecture, goes on to `rest`, which must check the
/// architecture itself. The result replaces `rest`.
pub fn with_front(
    numbers: &BTreeSet<u32>,
    verdict: u32,
    arch: u32,
    rest: Vec<sock_filter>,
) -> Vec<sock_filter> {
    if numbers.is_empty() {
        return rest;
    }
    let tree = search(&ranges(numbers), verdict);
    let mut program = vec![
        statement(LOAD_WORD, ARCH_OFFSET),
        jump(JUMP_IF_EQUAL, arch, 1, 0),
        statement(JUMP, tree.len() as u32 + 1),
        statement(LOAD_WORD, NR_OFFSET),
    ];
    program.extend(tree);
    program.extend(rest);
    program
}

/// A balanced search over sorted, disjoint `ranges`, with the syscall number
/// in the accumulator. Every way out of it that does not return `verdict`
/// jumps to the instruction right after it. Conditional jumps reach only 255
/// instructions, so each long jump goes through a `JUMP`, whose reach is 2^32.
fn search(ranges: &[(u32, u32)], verdict: u32) -> Vec<sock_filter> {
    match ranges {
        [] => vec![],
        [(first, last)] => vec![
            jump(JUMP_IF_AT_LEAST, *first, 0, 2),
            jump(JUMP_IF_ABOVE, *last, 1, 0),
            statement(RETURN, verdict),
            // Out of the leaf: past the rest of the tree (patched below).
            statement(JUMP, 0),
        ],
        _ => {
            let (low, high) = ranges.split_at(ranges.len() / 2);
            let high_tree = search(high, verdict);
            let mut low_tree = search(low, verdict);
            // The low half's exits jump over the high half as well.
            for exit in exits(&low_tree) {
                low_tree[exit].k += high_tree.len() as u32;
            }
            let mut node = vec![
                jump(JUMP_IF_AT_LEAST, high[0].0, 0, 1),
                statement(JUMP, low_tree.len() as u32),
            ];
            node.extend(low_tree);
            node.extend(high_tree);
            node
        }
    }
}
// ANCHOR_END: range_front

/// The leaves' exit jumps in `tree`: each `JUMP` that follows a `RETURN`.
fn exits(tree: &[sock_filter]) -> Vec<usize> {
    (1..tree.len())
        .filter(|&i| tree[i].code == JUMP && tree[i - 1].code == RETURN)
        .collect()
}

#[cfg(test)]
/// Runs a classic BPF seccomp program on one call, as the kernel would, and
/// returns its verdict; panics on a jump out of the program.
pub(crate) fn run_program(program: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = vec![nr, arch, 0, 0];
    for arg in args {
        data.extend([arg as u32, (arg >> 32) as u32]);
    }
    let (mut pc, mut acc) = (0usize, 0u32);
    loop {
        let insn = &program[pc];
        let skip = |taken: bool| 1 + if taken { insn.jt } else { insn.jf } as usize;
        pc += match insn.code {
            LOAD_WORD => {
                acc = data[insn.k as usize / 4];
                1
            }
            0x54 => {
                acc &= insn.k; // BPF_ALU | BPF_AND | BPF_K
                1
            }
            JUMP => 1 + insn.k as usize,
            JUMP_IF_EQUAL => skip(acc == insn.k),
            JUMP_IF_ABOVE => skip(acc > insn.k),
            JUMP_IF_AT_LEAST => skip(acc >= insn.k),
            RETURN => return insn.k,
            code => panic!("instruction {code:#x} at {pc} is not in this test's interpreter"),
        };
    }
}

#[cfg(test)]
mod tests;
