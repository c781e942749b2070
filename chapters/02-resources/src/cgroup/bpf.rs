//! The cgroup v2 devices allow-list as an eBPF program, assembled by hand.
//!
//! Cgroup v2 has no `devices.allow` file. Instead, the kernel runs a small
//! program of type `BPF_PROG_TYPE_CGROUP_DEVICE`, attached to the cgroup, each
//! time a process in it opens or makes a device node. The program reads what
//! is asked, in a `struct bpf_cgroup_dev_ctx`:
//!
//! ```text
//! offset 0  u32 access_type   (access << 16) | type
//!                             access: 1 mknod, 2 read, 4 write; type: 1 block, 2 char
//! offset 4  u32 major
//! offset 8  u32 minor
//! ```
//!
//! and returns 1 to allow or 0 to refuse (the caller then gets EPERM).
//!
//! The program berth builds has three parts:
//!
//! 1. a prologue that loads the request into registers: r2 = type, r3 =
//!    access, r4 = major, r5 = minor (r1 holds the context pointer);
//! 2. one block per rule, **last rule first**: the last rule that matches a
//!    request decides, as when v1 applies the rules in order. Each block is a
//!    few conditional jumps that skip to the next block when the rule does not
//!    apply (wrong type, major, minor, or access), then `r0 = verdict; exit`;
//! 3. `r0 = 0; exit`: what no rule allows is refused.
//!
//! A rule that matches everything (`a *:* rwm`, docker's first rule) has no
//! jumps, so it always ends the program; nothing after it could ever run, and
//! the kernel's verifier refuses unreachable instructions, so assembly stops there.

use std::fmt;

use crate::devices::{DeviceKind, DeviceRule};

/// One eBPF instruction: 8 bytes, as the kernel's `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// The operation: class, size/source, and operation bits.
    pub code: u8,
    /// Destination register (0..=10).
    pub dst: u8,
    /// Source register (0..=10).
    pub src: u8,
    /// Jump offset in instructions, or memory offset in bytes.
    pub off: i16,
    /// Immediate operand.
    pub imm: i32,
}

// Opcode parts, from the kernel's uapi `bpf_common.h` and `bpf.h`.
const CLASS_LDX: u8 = 0x01;
const CLASS_ALU: u8 = 0x04; // 32-bit arithmetic: results are zero-extended
const CLASS_JMP: u8 = 0x05; // 64-bit compares and jumps
const SIZE_W: u8 = 0x00; // a 32-bit word
const MODE_MEM: u8 = 0x60;
const SOURCE_IMM: u8 = 0x00; // operand is `imm`
const SOURCE_REG: u8 = 0x08; // operand is register `src`
const OP_AND: u8 = 0x50;
const OP_RSH: u8 = 0x70;
const OP_MOV: u8 = 0xb0;
const OP_JEQ: u8 = 0x10;
const OP_JSET: u8 = 0x40;
const OP_JNE: u8 = 0x50;
const OP_EXIT: u8 = 0x90;

/// Registers as the program uses them.
const R0_VERDICT: u8 = 0;
const R1_CONTEXT: u8 = 1;
const R2_TYPE: u8 = 2;
const R3_ACCESS: u8 = 3;
const R4_MAJOR: u8 = 4;
const R5_MINOR: u8 = 5;
/// After the prologue the context pointer is no longer needed: r1 is scratch.
const R1_SCRATCH: u8 = 1;

/// `BPF_DEVCG_DEV_BLOCK` / `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
/// `BPF_DEVCG_ACC_MKNOD` / `_READ` / `_WRITE`.
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// A jump offset not yet known: "to the next rule's block".
const TO_NEXT_RULE: i16 = i16::MIN;

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// `dst = *(u32 *)(src + off)`
    pub const fn load_u32(dst: u8, src: u8, off: i16) -> Self {
        Self::new(CLASS_LDX | SIZE_W | MODE_MEM, dst, src, off, 0)
    }
    /// `dst &= imm` (32-bit)
    pub const fn and(dst: u8, imm: i32) -> Self {
        Self::new(CLASS_ALU | OP_AND | SOURCE_IMM, dst, 0, 0, imm)
    }
    /// `dst >>= imm` (32-bit)
    pub const fn shift_right(dst: u8, imm: i32) -> Self {
        Self::new(CLASS_ALU | OP_RSH | SOURCE_IMM, dst, 0, 0, imm)
    }
    /// `dst = imm` (32-bit)
    pub const fn mov(dst: u8, imm: i32) -> Self {
        Self::new(CLASS_ALU | OP_MOV | SOURCE_IMM, dst, 0, 0, imm)
    }
    /// `dst = src` (32-bit)
    pub const fn mov_reg(dst: u8, src: u8) -> Self {
        Self::new(CLASS_ALU | OP_MOV | SOURCE_REG, dst, src, 0, 0)
    }
    /// `if dst != imm goto +off`
    pub const fn jump_if_not_equal(dst: u8, imm: i32, off: i16) -> Self {
        Self::new(CLASS_JMP | OP_JNE | SOURCE_IMM, dst, 0, off, imm)
    }
    /// `if dst == imm goto +off`
    pub const fn jump_if_equal(dst: u8, imm: i32, off: i16) -> Self {
        Self::new(CLASS_JMP | OP_JEQ | SOURCE_IMM, dst, 0, off, imm)
    }
    /// `if dst & imm goto +off`
    pub const fn jump_if_any_bit(dst: u8, imm: i32, off: i16) -> Self {
        Self::new(CLASS_JMP | OP_JSET | SOURCE_IMM, dst, 0, off, imm)
    }
    /// `return r0`
    pub const fn exit() -> Self {
        Self::new(CLASS_JMP | OP_EXIT, 0, 0, 0, 0)
    }

    /// The 8 bytes the kernel reads: code, registers (dst in the low nibble),
    /// offset and immediate in little-endian order (x86-64, arm64).
    pub fn to_bytes(self) -> [u8; 8] {
        let mut bytes = [0u8; 8];
        bytes[0] = self.code;
        bytes[1] = (self.src << 4) | (self.dst & 0x0f);
        bytes[2..4].copy_from_slice(&self.off.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.imm.to_le_bytes());
        bytes
    }

    fn is_conditional_jump(self) -> bool {
        self.code & 0x07 == CLASS_JMP && self.code & 0xf0 != OP_EXIT
    }
}

/// The instruction in the kernel verifier's notation, for the book and for errors.
impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, s, off, imm) = (self.dst, self.src, self.off, self.imm);
        match self.code {
            c if c == CLASS_LDX | SIZE_W | MODE_MEM => write!(f, "r{d} = *(u32 *)(r{s} + {off})"),
            c if c == CLASS_ALU | OP_AND => write!(f, "w{d} &= {imm:#x}"),
            c if c == CLASS_ALU | OP_RSH => write!(f, "w{d} >>= {imm}"),
            c if c == CLASS_ALU | OP_MOV => write!(f, "w{d} = {imm}"),
            c if c == CLASS_ALU | OP_MOV | SOURCE_REG => write!(f, "w{d} = w{s}"),
            c if c == CLASS_JMP | OP_JNE => write!(f, "if r{d} != {imm} goto +{off}"),
            c if c == CLASS_JMP | OP_JEQ => write!(f, "if r{d} == {imm} goto +{off}"),
            c if c == CLASS_JMP | OP_JSET => write!(f, "if r{d} & {imm:#x} goto +{off}"),
            c if c == CLASS_JMP | OP_EXIT => f.write_str("exit"),
            c => write!(f, "(code {c:#04x})"),
        }
    }
}

// ANCHOR: bpf_prologue
/// Loads the request into registers: r2 type, r3 access, r4 major, r5 minor.
fn prologue() -> [Insn; 6] {
    [
        Insn::load_u32(R2_TYPE, R1_CONTEXT, 0),
        Insn::and(R2_TYPE, 0xffff),
        Insn::load_u32(R3_ACCESS, R1_CONTEXT, 0),
        Insn::shift_right(R3_ACCESS, 16),
        Insn::load_u32(R4_MAJOR, R1_CONTEXT, 4),
        Insn::load_u32(R5_MINOR, R1_CONTEXT, 8),
    ]
}
// ANCHOR_END: bpf_prologue

// ANCHOR: bpf_rule_block
/// The block of one rule: jumps past itself when the rule does not apply,
/// else returns the rule's verdict.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    let mut block = Vec::new();
    match rule.kind {
        DeviceKind::All => {}
        DeviceKind::Block => block.push(Insn::jump_if_not_equal(R2_TYPE, DEV_BLOCK, TO_NEXT_RULE)),
        DeviceKind::Char => block.push(Insn::jump_if_not_equal(R2_TYPE, DEV_CHAR, TO_NEXT_RULE)),
    }
    if let Some(major) = rule.major {
        block.push(Insn::jump_if_not_equal(
            R4_MAJOR,
            major as i32,
            TO_NEXT_RULE,
        ));
    }
    if let Some(minor) = rule.minor {
        block.push(Insn::jump_if_not_equal(
            R5_MINOR,
            minor as i32,
            TO_NEXT_RULE,
        ));
    }
    block.extend(access_check(rule));
    block.push(Insn::mov(R0_VERDICT, i32::from(rule.allow)));
    block.push(Insn::exit());
    aim_at_next_rule(block)
}
// ANCHOR_END: bpf_rule_block

// ANCHOR: bpf_jump_offsets
/// Fills in the "to the next rule" jumps once the block's length is known.
/// A jump lands at pc + 1 + off, so the first instruction past the block is
/// `len - 1 - i` away from the jump at index `i`.
fn aim_at_next_rule(mut block: Vec<Insn>) -> Vec<Insn> {
    let len = block.len();
    for (i, insn) in block.iter_mut().enumerate() {
        if insn.is_conditional_jump() && insn.off == TO_NEXT_RULE {
            insn.off = (len - 1 - i) as i16;
        }
    }
    block
}
// ANCHOR_END: bpf_jump_offsets

// ANCHOR: bpf_access_check
/// The jumps that skip a rule for an access it does not cover; none when the
/// rule covers all three (`rwm`).
fn access_check(rule: &DeviceRule) -> Vec<Insn> {
    let access = access_bits(rule);
    if access == ACC_ALL {
        Vec::new()
    } else if rule.allow {
        // An allow rule applies only if it covers everything asked for:
        // skip when the request has a bit outside the rule's access.
        vec![Insn::jump_if_any_bit(
            R3_ACCESS,
            !access & ACC_ALL,
            TO_NEXT_RULE,
        )]
    } else {
        // A deny rule applies if the request asks for any of its access:
        // skip when (request & rule) == 0, computed in the scratch register.
        vec![
            Insn::mov_reg(R1_SCRATCH, R3_ACCESS),
            Insn::and(R1_SCRATCH, access),
            Insn::jump_if_equal(R1_SCRATCH, 0, TO_NEXT_RULE),
        ]
    }
}
// ANCHOR_END: bpf_access_check

fn access_bits(rule: &DeviceRule) -> i32 {
    let a = rule.access;
    (if a.mknod { ACC_MKNOD } else { 0 })
        | (if a.read { ACC_READ } else { 0 })
        | (if a.write { ACC_WRITE } else { 0 })
}

// ANCHOR: bpf_program
/// The whole program for `rules` (in the spec's order).
pub fn device_program(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut program = prologue().to_vec();
    for rule in rules.iter().rev() {
        let block = rule_block(rule);
        let always_applies = !block.iter().any(|insn| insn.is_conditional_jump());
        program.extend(block);
        if always_applies {
            return program;
        }
    }
    // No rule matched: refuse.
    program.push(Insn::mov(R0_VERDICT, 0));
    program.push(Insn::exit());
    program
}
// ANCHOR_END: bpf_program

/// The program as the kernel takes it: the instructions' bytes, back to back.
pub fn to_bytes(program: &[Insn]) -> Vec<u8> {
    program.iter().flat_map(|insn| insn.to_bytes()).collect()
}

/// The program in the verifier's notation, one numbered instruction a line.
pub fn listing(program: &[Insn]) -> String {
    program
        .iter()
        .enumerate()
        .map(|(i, insn)| format!("{i:3}: {insn}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{self, Access};

    fn deny_all() -> DeviceRule {
        DeviceRule {
            allow: false,
            ..devices::allow_all()
        }
    }

    #[test]
    fn bytes_of_a_small_rule_set() {
        // Deny everything, then allow /dev/null.
        let rules = [
            deny_all(),
            DeviceRule::allow_char(Some(1), Some(3), Access::ALL),
        ];
        let bytes = to_bytes(&device_program(&rules));
        #[rustfmt::skip]
        let expected: [[u8; 8]; 13] = [
            [0x61, 0x12, 0, 0, 0, 0, 0, 0],          // r2 = *(u32 *)(r1 + 0)
            [0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0],    // w2 &= 0xffff
            [0x61, 0x13, 0, 0, 0, 0, 0, 0],          // r3 = *(u32 *)(r1 + 0)
            [0x74, 0x03, 0, 0, 16, 0, 0, 0],         // w3 >>= 16
            [0x61, 0x14, 4, 0, 0, 0, 0, 0],          // r4 = *(u32 *)(r1 + 4)
            [0x61, 0x15, 8, 0, 0, 0, 0, 0],          // r5 = *(u32 *)(r1 + 8)
            // A jump lands at pc + 1 + off: +4 from here is the "deny a" block.
            [0x55, 0x02, 4, 0, 2, 0, 0, 0],          // if r2 != 2 (char) goto +4
            [0x55, 0x04, 3, 0, 1, 0, 0, 0],          // if r4 != 1 goto +3
            [0x55, 0x05, 2, 0, 3, 0, 0, 0],          // if r5 != 3 goto +2
            [0xb4, 0x00, 0, 0, 1, 0, 0, 0],          // w0 = 1
            [0x95, 0x00, 0, 0, 0, 0, 0, 0],          // exit
            [0xb4, 0x00, 0, 0, 0, 0, 0, 0],          // w0 = 0 (deny a)
            [0x95, 0x00, 0, 0, 0, 0, 0, 0],          // exit
        ];
        assert_eq!(bytes, expected.concat());
    }

    #[test]
    fn partial_access_rules() {
        // Allow c *:* m: skip unless the request is only mknod.
        let mknod_only = rule_block(&DeviceRule::allow_char(None, None, Access::MKNOD));
        assert_eq!(
            mknod_only,
            [
                Insn::jump_if_not_equal(R2_TYPE, DEV_CHAR, 3),
                Insn::jump_if_any_bit(R3_ACCESS, ACC_READ | ACC_WRITE, 2),
                Insn::mov(R0_VERDICT, 1),
                Insn::exit(),
            ]
        );
        // Deny b 8:* w: applies when write is asked for.
        let deny_write = DeviceRule {
            allow: false,
            kind: DeviceKind::Block,
            major: Some(8),
            minor: None,
            access: Access {
                write: true,
                ..Access::default()
            },
        };
        assert_eq!(
            listing(&rule_block(&deny_write)),
            "  0: if r2 != 1 goto +6\n  1: if r4 != 8 goto +5\n  2: w1 = w3\n  3: w1 &= 0x4\n  4: if r1 == 0 goto +2\n  5: w0 = 0\n  6: exit\n"
        );
    }

    #[test]
    fn a_catch_all_rule_ends_the_program() {
        let program = device_program(&[devices::allow_all()]);
        assert_eq!(program.len(), 6 + 2);
        assert_eq!(program[6..], [Insn::mov(R0_VERDICT, 1), Insn::exit()]);
        // docker's list starts with "deny a": it is the last block, with no default after it.
        let program = device_program(&devices::default_rules());
        assert_eq!(
            program[program.len() - 2..],
            [Insn::mov(R0_VERDICT, 0), Insn::exit()]
        );
        assert!(
            program
                .iter()
                .filter(|i| i.code == Insn::exit().code)
                .count()
                == devices::default_rules().len()
        );
    }

    #[test]
    fn no_rules_refuse_everything() {
        assert_eq!(
            device_program(&[])[6..],
            [Insn::mov(R0_VERDICT, 0), Insn::exit()]
        );
    }

    /// Runs the program on a request, the way the kernel would, to check its logic.
    fn run(program: &[Insn], kind: i32, access: i32, major: u32, minor: u32) -> i32 {
        let context = [((access as u32) << 16) | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let insn = program[pc];
            let (d, s) = (insn.dst as usize, insn.src as usize);
            let imm = insn.imm as i64 as u64;
            let mut jump = |taken: bool| {
                if taken {
                    pc += insn.off as usize
                }
            };
            match insn.code {
                0x61 => r[d] = u64::from(context[insn.off as usize / 4]),
                0x54 => r[d] = (r[d] as u32 & insn.imm as u32) as u64,
                0x74 => r[d] = (r[d] as u32 >> insn.imm) as u64,
                0xb4 => r[d] = insn.imm as u32 as u64,
                0xbc => r[d] = r[s] as u32 as u64,
                0x55 => jump(r[d] != imm),
                0x15 => jump(r[d] == imm),
                0x45 => jump(r[d] & imm != 0),
                0x95 => return r[0] as i32,
                other => panic!("unknown opcode {other:#x}"),
            }
            pc += 1;
        }
    }

    #[test]
    fn dockers_list_allows_null_and_mknod_but_not_the_disk() {
        let program = device_program(&devices::default_rules());
        let (read, write, mknod) = (ACC_READ, ACC_WRITE, ACC_MKNOD);
        assert_eq!(run(&program, DEV_CHAR, read | write, 1, 3), 1, "/dev/null");
        assert_eq!(run(&program, DEV_CHAR, read, 136, 7), 1, "/dev/pts/7");
        assert_eq!(run(&program, DEV_BLOCK, mknod, 8, 0), 1, "mknod of a disk");
        assert_eq!(run(&program, DEV_BLOCK, read, 8, 0), 0, "reading the disk");
        assert_eq!(run(&program, DEV_CHAR, read, 1, 11), 0, "/dev/kmsg");
        assert_eq!(
            run(&program, DEV_CHAR, read | mknod, 1, 11),
            0,
            "asking for more than m"
        );
    }

    #[test]
    fn the_last_matching_rule_wins() {
        let deny_null_write = DeviceRule {
            allow: false,
            access: Access {
                write: true,
                ..Access::default()
            },
            ..DeviceRule::allow_char(Some(1), Some(3), Access::ALL)
        };
        let mut rules = devices::default_rules();
        rules.push(deny_null_write);
        let program = device_program(&rules);
        assert_eq!(run(&program, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(run(&program, DEV_CHAR, ACC_WRITE, 1, 3), 0);
    }
}
