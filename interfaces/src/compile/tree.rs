//! The program as a search tree over syscall numbers:
//!
//! ```text
//! A = arch; if A != AUDIT_ARCH_<this one>: RET KILL_PROCESS     (seccompiler's check)
//! A = nr
//! JGE b[m] ──────────────────┐        a balanced tree over the ranges of numbers with one
//! JGE b[m/2] ────┐           │        answer: ceil(log2(ranges)) comparisons deep
//! ...            │           ...
//! RET answer     seccompiler's chain for a syscall with argument rules
//! ```
//!
//! Each syscall number gets the answer of the program seccompiler lays out linearly
//! ([`super::linear`]): the errno of the first (lowest) errno rule naming it, otherwise
//! "allow" for a syscall allowed whatever its arguments, otherwise, for a syscall allowed
//! under conditions, seccompiler's own code for its rules, otherwise the default action. Every
//! other number, x32 ones (`nr | 0x4000_0000`: the tree compares all 32 bits, so they never
//! meet the number of a 64-bit call) and numbers no architecture has included, falls in a
//! range with the default action. Neighbouring numbers with the same plain answer share a
//! range, so the tree has a few hundred leaves at most.
//!
//! seccompiler still turns names into numbers and compiles each syscall's rules: its program
//! for a filter of one syscall is the architecture check, the load of the number, then that
//! syscall's chain, which starts by comparing the number again and whose every exit is a
//! return or a jump to its last instruction, the default action. The chain is copied into a
//! leaf as is (its jumps are relative and stay inside it), so the arguments are checked
//! exactly as before, and a chain only ever allows its own syscall: for any other number it
//! answers the default action, which lets it also take the default ranges on either side.
//!
//! Conditional jumps reach 255 instructions at most: where a comparison would jump further,
//! an unconditional `JA` (32-bit offset) does the long jump.

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, sock_filter};
use serde_json::{Map, Value, json};

use super::{Parts, rule_syscall, seccompiler_compile};
use crate::ProfileError;
use crate::arch::Arch;

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// `offsetof(struct seccomp_data, nr)`.
const SECCOMP_DATA_NR: u32 = 0;

/// The key of the filter compiled for its architecture check and default action; syscall
/// names never contain a space.
const PROBE: &str = " probe";

/// What the program does for the numbers of one range.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Leaf {
    /// Returns this value.
    Ret(u32),
    /// Runs seccompiler's chain for a syscall allowed under conditions.
    Chain(Vec<sock_filter>),
}

/// The program for `parts`.
pub(super) fn compile(parts: &Parts, arch: Arch) -> Result<BpfProgram, ProfileError> {
    let names = parts.names();

    // One program per name, to read its number from, and the probe.
    let mut filters = Map::new();
    filters.insert(
        PROBE.into(),
        json!({ "mismatch_action": parts.mismatch, "match_action": "allow", "filter": [] }),
    );
    for name in &names {
        filters.insert(
            (*name).into(),
            json!({
                "mismatch_action": "allow",
                "match_action": "log",
                "filter": [{ "syscall": name }],
            }),
        );
    }
    let programs = seccompiler_compile(&Value::Object(filters), arch)?;
    let program = |name: &str| programs.get(name).map_or(&[][..], Vec::as_slice);
    // The probe: the architecture check, then the default action.
    let (arch_check, default) = match program(PROBE) {
        [arch_check @ .., default] if arch_check.len() == 3 && default.code == BPF_RET_K => {
            (arch_check.to_vec(), default.k)
        }
        other => return Err(unexpected(PROBE, other)),
    };
    let number = |name: &str| -> Result<u32, ProfileError> {
        let program = program(name);
        match program.get(arch_check.len()..arch_check.len() + 2) {
            Some([load, eq])
                if program.starts_with(&arch_check)
                    && *load == load_number()
                    && eq.code == BPF_JEQ_K =>
            {
                Ok(eq.k)
            }
            _ => Err(unexpected(name, program)),
        }
    };

    // The allowlist's rules by number, in their order: seccompiler groups them so too.
    let mut rules: BTreeMap<u32, Vec<&Value>> = BTreeMap::new();
    for rule in &parts.allow {
        rules
            .entry(number(rule_syscall(rule))?)
            .or_default()
            .push(rule);
    }
    // Syscalls with conditions, compiled by seccompiler one by one.
    let conditional = |rules: &[&Value]| rules.iter().any(|r| r.get("args").is_some());
    let mut filters = Map::new();
    for (nr, rules) in &rules {
        if conditional(rules) {
            filters.insert(
                nr.to_string(),
                json!({
                    "mismatch_action": parts.mismatch,
                    "match_action": "allow",
                    "filter": rules,
                }),
            );
        }
    }
    let mut chains = seccompiler_compile(&Value::Object(filters), arch)?;

    let mut leaves: BTreeMap<u32, Leaf> = BTreeMap::new();
    // Errno rules first, whatever the allowlist says; the lowest errno first.
    for (errno, names) in &parts.errno {
        let ret = u32::from(SeccompAction::Errno(*errno));
        for name in names {
            leaves.entry(number(name)?).or_insert(Leaf::Ret(ret));
        }
    }
    for (nr, rules) in &rules {
        if leaves.contains_key(nr) {
            continue;
        }
        let leaf = if conditional(rules) {
            let key = nr.to_string();
            let program = chains.remove(&key).unwrap_or_default();
            Leaf::Chain(chain(&key, program, &arch_check, *nr, default)?)
        } else {
            Leaf::Ret(u32::from(SeccompAction::Allow))
        };
        leaves.insert(*nr, leaf);
    }

    let mut program = arch_check;
    program.push(load_number());
    program.extend(dispatch(&ranges(leaves, default)));
    Ok(program)
}

/// `A = seccomp_data.nr`.
fn load_number() -> sock_filter {
    statement(BPF_LD_W_ABS, SECCOMP_DATA_NR)
}

fn statement(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn unexpected(name: &str, program: &[sock_filter]) -> ProfileError {
    ProfileError::Compile(format!(
        "unexpected program from seccompiler for {name:?} ({} instructions)",
        program.len()
    ))
}

/// The chain of syscall `nr` out of seccompiler's program for it: the architecture check, the
/// load of the number, the chain, and a last return of the default action, where the chain's
/// jump for other numbers lands. The chain keeps that return: every jump stays inside.
fn chain(
    key: &str,
    program: BpfProgram,
    arch_check: &[sock_filter],
    nr: u32,
    default: u32,
) -> Result<Vec<sock_filter>, ProfileError> {
    let shaped = program.len() > arch_check.len() + 2
        && program[..arch_check.len()] == *arch_check
        && program[arch_check.len()] == load_number()
        && program[arch_check.len() + 1].code == BPF_JEQ_K
        && program[arch_check.len() + 1].k == nr
        && program.last() == Some(&statement(BPF_RET_K, default));
    if !shaped {
        return Err(unexpected(key, &program));
    }
    let chain = program[arch_check.len() + 1..].to_vec();
    if !self_contained(&chain) {
        return Err(unexpected(key, &program));
    }
    Ok(chain)
}

/// Whether every instruction of `code` is one the tree knows to move (loads, `AND`, returns,
/// jumps) and every jump lands inside `code`, which ends with a return: then `code` runs the
/// same wherever it is placed.
fn self_contained(code: &[sock_filter]) -> bool {
    let inside = |from: usize, offset: u64| (from as u64) + 1 + offset < code.len() as u64;
    code.last().is_some_and(|i| i.code == BPF_RET_K)
        && code.iter().enumerate().all(|(at, i)| match i.code {
            BPF_LD_W_ABS | 0x54 | BPF_RET_K => true, // 0x54: BPF_ALU | BPF_AND | BPF_K
            BPF_JMP_JA => inside(at, i.k.into()),
            BPF_JEQ_K | BPF_JGT_K | BPF_JGE_K | BPF_JSET_K => {
                inside(at, i.jt.into()) && inside(at, i.jf.into())
            }
            _ => false,
        })
}

/// The ranges of syscall numbers with one leaf, covering every 32-bit number: `(first
/// number, leaf)`, by first number. Neighbouring plain answers that are equal share a range.
/// A chain answers the default action for any number but its own, so it also takes the
/// ranges of default answers on either side of it: one range less for each.
fn ranges(leaves: BTreeMap<u32, Leaf>, default: u32) -> Vec<(u32, Leaf)> {
    let mut ranges: Vec<(u32, Leaf)> = Vec::new();
    let mut push = |first: u32, leaf: Leaf| match (ranges.last(), &leaf) {
        (Some((_, Leaf::Ret(last))), Leaf::Ret(ret)) if last == ret => {}
        (Some((_, Leaf::Chain(_))), Leaf::Ret(ret)) if *ret == default => {}
        (Some((_, Leaf::Ret(last))), Leaf::Chain(_)) if *last == default => {
            if let Some(last) = ranges.last_mut() {
                last.1 = leaf;
            }
        }
        _ => ranges.push((first, leaf)),
    };
    let mut next: u64 = 0;
    for (nr, leaf) in leaves {
        if u64::from(nr) > next {
            push(next as u32, Leaf::Ret(default));
        }
        push(nr, leaf);
        next = u64::from(nr) + 1;
    }
    if next <= u64::from(u32::MAX) {
        push(next as u32, Leaf::Ret(default));
    }
    ranges
}

/// The search over `ranges` (by first number, the first one starting at the lowest number
/// that reaches this code): `A >= first number of the middle range` goes right.
fn dispatch(ranges: &[(u32, Leaf)]) -> Vec<sock_filter> {
    if let [(_, leaf)] = ranges {
        return match leaf {
            Leaf::Ret(k) => vec![statement(BPF_RET_K, *k)],
            Leaf::Chain(code) => code.clone(),
        };
    }
    let middle = ranges.len() / 2;
    let left = dispatch(&ranges[..middle]);
    let right = dispatch(&ranges[middle..]);
    let bound = ranges[middle].0;
    let mut code = Vec::with_capacity(left.len() + right.len() + 2);
    match u8::try_from(left.len()) {
        // Over the left half when A >= bound, into it otherwise.
        Ok(skip) => code.push(sock_filter {
            code: BPF_JGE_K,
            jt: skip,
            jf: 0,
            k: bound,
        }),
        // Too far for a conditional jump: a JA takes it there.
        Err(_) => {
            code.push(sock_filter {
                code: BPF_JGE_K,
                jt: 0,
                jf: 1,
                k: bound,
            });
            code.push(statement(BPF_JMP_JA, left.len() as u32));
        }
    }
    code.extend(left);
    code.extend(right);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: u32 = 0x7fff_0000;
    const DENY: u32 = 0x0005_0001;

    /// Runs the dispatcher alone (A = nr).
    fn answer(code: &[sock_filter], nr: u32) -> u32 {
        let mut program = vec![load_number()];
        program.extend_from_slice(code);
        crate::compile::eval::check(&program);
        let call = crate::compile::eval::Call {
            nr,
            arch: 0,
            args: [0; 6],
        };
        crate::compile::eval::run(&program, &call)
    }

    #[test]
    fn ranges_cover_every_number_and_merge_equal_answers() {
        let chain = |k| Leaf::Chain(vec![statement(BPF_RET_K, k)]);
        let leaves = BTreeMap::from([
            (0, Leaf::Ret(ALLOW)),
            (1, Leaf::Ret(ALLOW)),
            (3, Leaf::Ret(ALLOW)),
            (4, chain(7)),
            (5, Leaf::Ret(ALLOW)),
            (9, chain(8)),
            (10, chain(9)),
            (20, Leaf::Ret(DENY)),
            (30, Leaf::Ret(ALLOW)),
            (u32::MAX, Leaf::Ret(ALLOW)),
        ]);
        assert_eq!(
            ranges(leaves, DENY),
            [
                (0, Leaf::Ret(ALLOW)),
                (2, Leaf::Ret(DENY)),
                (3, Leaf::Ret(ALLOW)),
                (4, chain(7)),
                (5, Leaf::Ret(ALLOW)),
                // The default answers around chains go with them.
                (6, chain(8)),
                (10, chain(9)),
                (30, Leaf::Ret(ALLOW)),
                (31, Leaf::Ret(DENY)),
                (u32::MAX, Leaf::Ret(ALLOW)),
            ]
        );
        assert_eq!(ranges(BTreeMap::new(), DENY), [(0, Leaf::Ret(DENY))]);
        assert_eq!(
            ranges(BTreeMap::from([(0, chain(1))]), DENY),
            [(0, chain(1))]
        );
        assert_eq!(
            ranges(BTreeMap::from([(u32::MAX, chain(1))]), DENY),
            [(0, chain(1))]
        );
    }

    #[test]
    fn dispatch_finds_every_range_even_past_conditional_jumps() {
        // Ranges of one, two and three numbers, each with its own answer, and leaves long
        // enough that the upper levels of the tree need JA.
        for (count, chain_len, far) in [
            (1, 1, false),
            (2, 1, false),
            (7, 1, false),
            (300, 1, true),
            (60, 30, true),
            (9, 250, true),
        ] {
            let want = |i: u32| if i % 3 == 2 { 1000 + i } else { i };
            let mut ranges = Vec::new();
            let mut first = 0u32;
            for i in 0..count {
                let leaf = if i % 3 == 2 {
                    let mut code = vec![statement(BPF_JMP_JA, 0); chain_len - 1];
                    code.push(statement(BPF_RET_K, want(i)));
                    Leaf::Chain(code)
                } else {
                    Leaf::Ret(want(i))
                };
                ranges.push((first, leaf));
                first += 1 + i % 3;
            }
            let code = dispatch(&ranges);
            let trampolines = code
                .windows(2)
                .filter(|w| w[0].code == BPF_JGE_K && (w[0].jt, w[0].jf) == (0, 1))
                .inspect(|w| assert_eq!(w[1].code, BPF_JMP_JA))
                .count();
            assert_eq!(trampolines > 0, far, "{count} ranges: {} insns", code.len());
            for (i, (first, _)) in ranges.iter().enumerate() {
                let end = ranges.get(i + 1).map_or(first + 10, |r| r.0);
                for nr in *first..end {
                    assert_eq!(answer(&code, nr), want(i as u32), "{count} ranges, nr {nr}");
                }
            }
            // The last range goes on to the largest number.
            assert_eq!(answer(&code, u32::MAX), want(count - 1));
        }
    }

    #[test]
    fn chains_must_stay_inside() {
        let ret = statement(BPF_RET_K, 0);
        let jump = |jt, jf| sock_filter {
            code: BPF_JEQ_K,
            jt,
            jf,
            k: 0,
        };
        assert!(self_contained(&[jump(0, 1), ret.clone(), ret.clone()]));
        assert!(!self_contained(&[jump(0, 2), ret.clone(), ret.clone()]));
        assert!(!self_contained(&[statement(BPF_JMP_JA, 1), ret.clone()]));
        assert!(!self_contained(&[ret.clone(), jump(0, 0)]));
        assert!(!self_contained(&[statement(0x07, 0), ret.clone()])); // TAX
        assert!(!self_contained(&[]));
    }
}
