//! The search tree answers every call as seccompiler's linear layout does.
//!
//! For each architecture and a set of policies (the real ones, with and without grants, and
//! made-up ones that stress errno precedence, every comparison, long rule chains and big
//! trees), both programs run in the interpreter of [`super::eval`] for every syscall number
//! up to 500 and some beyond, their x32 variants, foreign architectures, and argument values
//! on both sides of every condition of every rule.

use std::collections::{BTreeMap, BTreeSet};

use seccompiler::sock_filter;
use serde_json::json;

use super::eval::{Call, check, run_counted};
use super::*;
use crate::grants::Grants;
use crate::profile::{ArgRule, ErrnoRule, SandboxMode};
use crate::seccomp::consts::*;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const ARCHES: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Riscv64];

/// `AUDIT_ARCH_*` of `arch`, as in `<linux/audit.h>`.
fn audit(arch: Arch) -> u32 {
    const LE_64: u32 = 0x8000_0000 | 0x4000_0000;
    match arch {
        Arch::X86_64 => LE_64 | 62,
        Arch::Aarch64 => LE_64 | 183,
        Arch::Riscv64 => LE_64 | 243,
    }
}

/// Architecture values a program for `arch` must kill: the other supported ones, 32-bit
/// ones the same machine runs (i386, arm), near misses and nonsense.
fn foreign(arch: Arch) -> Vec<u32> {
    let mut out: Vec<u32> = ARCHES
        .iter()
        .filter(|a| **a != arch)
        .map(|a| audit(*a))
        .collect();
    let own = audit(arch);
    out.extend([
        0x4000_0003, // AUDIT_ARCH_I386
        0x4000_0028, // AUDIT_ARCH_ARM
        own ^ 0x8000_0000,
        own ^ 0x4000_0000,
        own + 1,
        0,
        u32::MAX,
    ]);
    out
}

/// The number of `name` on `arch`, found by running seccompiler's filter for that one name
/// (not by reading its code, as the tree compiler does).
fn number(name: &str, arch: Arch) -> u32 {
    let filter = json!({ "f": {
        "mismatch_action": "allow",
        "match_action": "log",
        "filter": [{ "syscall": name }],
    }});
    let program = &seccompiler_compile(&filter, arch).unwrap()["f"];
    let hits: Vec<u32> = (0..1024)
        .filter(|nr| {
            let call = Call {
                nr: *nr,
                arch: audit(arch),
                args: [0; 6],
            };
            run_counted(program, &call).0 == 0x7ffc_0000
        })
        .collect();
    assert_eq!(hits.len(), 1, "{name}: {hits:?}");
    hits[0]
}

/// Values of an argument around a condition: ones that meet it and ones that do not, at the
/// boundaries, with high bits set (ignored by a 32-bit comparison, not by a 64-bit one).
fn values(c: &ArgCond) -> Vec<u64> {
    let v = c.value;
    let mut out = vec![
        v,
        v.wrapping_add(1),
        v.wrapping_sub(1),
        v ^ 1,
        v ^ (1 << 31),
        v ^ (1 << 32),
        v ^ (1 << 63),
        v | 0xffff_ffff_0000_0000,
        v.wrapping_add(1 << 32),
        v.wrapping_sub(1 << 32),
        0,
        u64::MAX,
        u64::from(u32::MAX),
    ];
    if let Some(mask) = c.op.strip_prefix("masked-eq:").and_then(parse_number) {
        let inside = v & mask;
        out.extend([
            inside,
            inside | (!mask & 0x5555_5555_5555_5555),
            inside | !mask,
            inside ^ (mask & mask.wrapping_neg()), // the lowest bit of the mask flipped
            inside ^ (1 << (63 - mask.leading_zeros().min(63))), // its highest bit flipped
        ]);
    }
    out
}

/// A value meeting `c` where there is one.
fn meeting(c: &ArgCond) -> u64 {
    let v = c.value;
    match c.op.as_str() {
        "eq" | "le" | "ge" => v,
        "ne" => v ^ 1,
        "lt" => v.saturating_sub(1),
        "gt" => v.saturating_add(1),
        masked => {
            let mask = masked
                .strip_prefix("masked-eq:")
                .and_then(parse_number)
                .unwrap();
            (v & mask) | (!mask & 0x0123_4567_89ab_cdef)
        }
    }
}

/// Argument vectors for one rule: every condition met, then each condition's argument set to
/// each of its [`values`] while the others stay met.
fn rule_vectors(rule: &ArgRule) -> Vec<[u64; 6]> {
    let conds = rule.conditions();
    let mut met = [0u64; 6];
    for c in &conds {
        met[usize::from(c.arg)] = meeting(c);
    }
    let mut out = vec![met];
    for c in &conds {
        for v in values(c) {
            let mut args = met;
            args[usize::from(c.arg)] = v;
            out.push(args);
        }
    }
    out
}

/// Argument vectors every syscall number is tried with.
fn common_vectors() -> Vec<[u64; 6]> {
    let mut out = vec![[0; 6], [u64::MAX; 6], [1, 2, 3, 4, 5, 6]];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..4 {
        let mut args = [0; 6];
        for a in &mut args {
            // xorshift64
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *a = x;
        }
        out.push(args);
    }
    out
}

/// Syscall numbers tried on every architecture, x32 ones aside.
fn numbers() -> Vec<u32> {
    let mut out: Vec<u32> = (0..=520).collect();
    out.extend([
        1000,
        1023,
        1024,
        4095,
        0xffff,
        0x3fff_ffff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffe,
        u32::MAX, // nr -1
    ]);
    out
}

/// What the kernel works out at load for `nr` (`seccomp_is_const_allow`): whether the
/// program allows it whatever the arguments, without reading them.
fn always_allows(program: &[sock_filter], arch: u32, nr: u32) -> bool {
    let (mut a, mut pc) = (0u32, 0usize);
    loop {
        let i = &program[pc];
        pc += 1;
        match i.code {
            0x20 => match i.k {
                0 => a = nr,
                4 => a = arch,
                _ => return false,
            },
            0x54 => a &= i.k,
            0x05 => pc += i.k as usize,
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match i.code {
                    0x15 => a == i.k,
                    0x25 => a > i.k,
                    0x35 => a >= i.k,
                    _ => a & i.k != 0,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            0x06 => return i.k == RET_ALLOW,
            _ => return false,
        }
    }
}

/// What the comparison found, for the report.
#[derive(Default)]
pub(crate) struct Stats {
    calls: usize,
    linear_steps: usize,
    tree_steps: usize,
    tree_max_steps: usize,
}

/// Both programs of `policy` give the same answer to every call tried; returns the numbers of
/// steps they took for the syscall numbers 0..=500 with zero arguments.
pub(crate) fn assert_equivalent(what: &str, policy: &SeccompPolicy, arch: Arch) -> Stats {
    let tree = compile_program(policy, arch).unwrap();
    let linear = compile_program_linear(policy, arch).unwrap();
    check(&tree);
    check(&linear);
    let own = audit(arch);

    // Argument vectors aimed at each conditional syscall, by number.
    let mut aimed: BTreeMap<u32, Vec<[u64; 6]>> = BTreeMap::new();
    for rule in &policy.allow_if {
        aimed
            .entry(number(&rule.syscall, arch))
            .or_default()
            .extend(rule_vectors(rule));
    }
    let common = common_vectors();
    // Syscalls whose rules do not decide: failing with an errno, or allowed outright.
    let plain: BTreeSet<u32> = (policy.errno.iter().map(|r| &r.syscall))
        .chain(&policy.allow)
        .map(|name| number(name, arch))
        .collect();

    let mut stats = Stats::default();
    let mut compare = |nr: u32, arch_value: u32, args: &[u64; 6]| -> u32 {
        let call = Call {
            nr,
            arch: arch_value,
            args: *args,
        };
        let (want, linear_steps) = run_counted(&linear, &call);
        let (got, tree_steps) = run_counted(&tree, &call);
        assert_eq!(
            got, want,
            "{what} on {arch:?}: nr {nr:#x}, arch {arch_value:#x}, args {args:x?}: tree \
             {got:#x}, linear {want:#x}"
        );
        stats.calls += 1;
        if arch_value == own && nr <= 500 && *args == [0; 6] {
            stats.linear_steps += linear_steps;
            stats.tree_steps += tree_steps;
            stats.tree_max_steps = stats.tree_max_steps.max(tree_steps);
        }
        got
    };

    for nr in numbers() {
        let base = nr & !X32_SYSCALL_BIT;
        let aimed = aimed.get(&base).map_or(&[][..], Vec::as_slice);
        let mut answers = BTreeSet::new();
        for args in common.iter().chain(aimed) {
            answers.insert(compare(nr, own, args));
            // The x32 variant of every number below it.
            if nr <= 520 {
                compare(nr | X32_SYSCALL_BIT, own, args);
            }
        }
        // The aimed vectors reach both outcomes of the rules.
        if !aimed.is_empty() && !plain.contains(&nr) {
            assert!(
                answers.len() > 1,
                "{what} on {arch:?}: nr {nr}: only {answers:x?}"
            );
        }
        for foreign in foreign(arch) {
            for args in common.iter().take(2).chain(aimed.iter().take(1)) {
                assert_eq!(compare(nr, foreign, args), RET_KILL_PROCESS);
            }
        }
        // The kernel's cache of always-allowed syscalls comes out the same.
        assert_eq!(
            always_allows(&tree, own, nr),
            always_allows(&linear, own, nr),
            "{what} on {arch:?}: nr {nr}"
        );
    }
    stats
}

fn strict_and_devmode(arch: Arch) -> Vec<(String, SeccompPolicy)> {
    let mut bind = Grants::network();
    bind.merge(Grants::network_bind(&[80, 443]));
    let extra = Grants {
        // ioctl unconditionally (its argument rule goes); listen; a syscall the template
        // denies; a name this architecture lacks.
        syscalls: vec![
            "ioctl".into(),
            "listen".into(),
            "mount".into(),
            "chown32".into(),
        ],
        syscall_rules: vec![
            ArgRule::all("accept4", vec![ArgCond::u32(3, "masked-eq:0x80000", 0)]).unwrap(),
            ArgRule::all("socket", vec![ArgCond::u32(0, "eq", AF_PACKET)]).unwrap(),
        ],
        ..Grants::none()
    };
    let mut out = Vec::new();
    for mode in [SandboxMode::Strict, SandboxMode::Devmode] {
        for (name, grants) in [
            ("no grants", Grants::none()),
            ("network", Grants::network()),
            ("network-bind", bind.clone()),
            ("extra", extra.clone()),
        ] {
            out.push((
                format!("{mode:?} {name}"),
                crate::seccomp::policy(mode, arch, &grants),
            ));
        }
    }
    out
}

fn rule(syscall: &str, conds: Vec<ArgCond>) -> ArgRule {
    ArgRule::all(syscall, conds).unwrap()
}

fn errno(syscall: &str, errno: u32) -> ErrnoRule {
    ErrnoRule {
        syscall: syscall.into(),
        errno,
    }
}

/// Policies no profile has, for the corners.
fn made_up(arch: Arch) -> Vec<(String, SeccompPolicy)> {
    let known = crate::seccomp::policy(SandboxMode::Strict, arch, &Grants::none()).allow;
    let mut out = Vec::new();

    // Errno rules over allowed syscalls, a syscall under two errnos, another default.
    out.push((
        "errno precedence".into(),
        SeccompPolicy {
            default_action: "errno:13".into(),
            allow: vec!["getpid".into(), "unshare".into(), "read".into()],
            allow_if: vec![
                rule("socket", vec![ArgCond::u32(0, "eq", AF_UNIX)]),
                rule("read", vec![ArgCond::u32(0, "eq", 0)]),
                rule("kill", vec![ArgCond::u32(1, "eq", 0)]),
            ],
            errno: vec![
                errno("clone3", ENOSYS),
                errno("unshare", 22),
                errno("getpid", 5),
                errno("unshare", 4),
                errno("kill", 9),
                errno("mount", 22),
            ],
        },
    ));

    // Every comparison, 32 and 64 bits, values with high bits, alternatives on one syscall.
    let ops = ["eq", "ne", "lt", "le", "gt", "ge"];
    let mut allow_if = Vec::new();
    let dword = ["openat", "lseek", "dup3", "fchdir", "flock", "fsync"];
    let qword = ["mmap", "munmap", "mprotect", "madvise", "mremap", "msync"];
    for (i, op) in ops.iter().enumerate() {
        let arg = i as u8;
        allow_if.push(rule(dword[i], vec![ArgCond::u32(arg, op, 0x8000_0001)]));
        allow_if.push(rule(
            qword[i],
            vec![ArgCond::u64(arg, op, 0x0000_0001_0000_0000 + i as u64)],
        ));
        allow_if.push(rule(
            "ioctl",
            vec![
                ArgCond::u64(1, op, 0xffff_ffff_0000_0007),
                ArgCond::u32(0, "masked-eq:0xf0", 0x30),
            ],
        ));
    }
    allow_if.push(rule(
        "fcntl",
        vec![ArgCond::u64(1, "masked-eq:0xff00000000ff", 0x1200000034)],
    ));
    allow_if.push(rule("fcntl", vec![ArgCond::u32(1, "masked-eq:0o7", 0o5)]));
    allow_if.push(rule("prctl", vec![ArgCond::u64(0, "lt", 0)]));
    allow_if.push(rule("prctl", vec![ArgCond::u64(0, "gt", u64::MAX)]));
    allow_if.push(rule("prctl", vec![ArgCond::u64(0, "eq", 15)]));
    out.push((
        "every comparison".into(),
        SeccompPolicy {
            default_action: "kill-process".into(),
            allow: vec!["write".into(), "exit_group".into()],
            allow_if,
            errno: vec![],
        },
    ));

    // Errno rules only; nothing but the default.
    out.push((
        "errno only".into(),
        SeccompPolicy {
            default_action: "log".into(),
            errno: vec![errno("openat2", ENOSYS), errno("clone3", ENOSYS)],
            ..SeccompPolicy::default()
        },
    ));
    out.push((
        "default only".into(),
        SeccompPolicy {
            default_action: "errno".into(),
            ..SeccompPolicy::default()
        },
    ));

    // A rule longer than a conditional jump reaches (seccompiler adds its own JAs), and many
    // alternatives for one syscall.
    let long: Vec<ArgCond> = (0..45)
        .map(|i| ArgCond::u64(i % 6, "ne", 1000 + u64::from(i)))
        .collect();
    let mut allow_if = vec![rule("write", long)];
    for i in 0..40 {
        allow_if.push(rule(
            "read",
            vec![ArgCond::u32(0, "eq", i), ArgCond::u32(2, "le", 100 * i)],
        ));
    }
    out.push((
        "long chains".into(),
        SeccompPolicy {
            default_action: "errno".into(),
            allow: vec!["close".into()],
            allow_if,
            errno: vec![errno("clone3", ENOSYS)],
        },
    ));

    // Big trees: every known syscall under a condition (leaves far beyond a conditional
    // jump), and every other one allowed with the rest conditional (many ranges).
    let ne = |i: usize| vec![ArgCond::u32((i % 6) as u8, "ne", i as u32)];
    out.push((
        "all conditional".into(),
        SeccompPolicy {
            default_action: "errno".into(),
            allow: vec![],
            allow_if: known
                .iter()
                .enumerate()
                .map(|(i, n)| rule(n, ne(i)))
                .collect(),
            errno: vec![errno("clone3", ENOSYS)],
        },
    ));
    out.push((
        "alternating".into(),
        SeccompPolicy {
            default_action: "log".into(),
            allow: known.iter().step_by(2).cloned().collect(),
            allow_if: known
                .iter()
                .enumerate()
                .skip(1)
                .step_by(2)
                .map(|(i, n)| rule(n, ne(i)))
                .collect(),
            errno: vec![errno("openat2", ENOSYS)],
        },
    ));
    out
}

/// Instructions of `program` that are the tree's long jumps (a JGE falling through to a JA).
fn long_jumps(program: &[sock_filter]) -> usize {
    program
        .windows(2)
        .filter(|w| w[0].code == 0x35 && (w[0].jt, w[0].jf) == (0, 1) && w[1].code == 0x05)
        .count()
}

#[test]
fn real_policies_answer_as_before() {
    for arch in ARCHES {
        for (what, policy) in strict_and_devmode(arch) {
            let stats = assert_equivalent(&what, &policy, arch);
            let tree = compile_program(&policy, arch).unwrap().len();
            let linear = compile_program_linear(&policy, arch).unwrap().len();
            println!(
                "{} {what}: {tree} instructions ({linear} linear); syscalls 0..=500 take {:.1} \
                 steps on average, {} at most ({:.1} linear); {} calls compared",
                arch.name(),
                stats.tree_steps as f64 / 501.0,
                stats.tree_max_steps,
                stats.linear_steps as f64 / 501.0,
                stats.calls,
            );
        }
    }
}

#[test]
fn made_up_policies_answer_as_before() {
    for arch in ARCHES {
        for (what, policy) in made_up(arch) {
            assert_equivalent(&what, &policy, arch);
            let tree = compile_program(&policy, arch).unwrap();
            let linear = compile_program_linear(&policy, arch).unwrap();
            println!(
                "{} {what}: {} instructions ({} linear), {} long jumps",
                arch.name(),
                tree.len(),
                linear.len(),
                long_jumps(&tree)
            );
            if what == "all conditional" {
                assert!(long_jumps(&tree) > 0, "{what}: no long jump tried");
            }
        }
    }
}

#[test]
fn the_same_errors() {
    let base = SeccompPolicy {
        default_action: "errno".into(),
        allow: vec!["getpid".into()],
        ..SeccompPolicy::default()
    };
    let mut bad = Vec::new();
    for default in ["deny", "errno:x", ""] {
        bad.push(SeccompPolicy {
            default_action: default.into(),
            ..base.clone()
        });
    }
    bad.push(SeccompPolicy {
        default_action: "allow".into(),
        ..base.clone()
    });
    bad.push(SeccompPolicy {
        allow: vec!["no_such_call".into()],
        ..base.clone()
    });
    bad.push(SeccompPolicy {
        errno: vec![errno("no_such_call", 1)],
        ..base.clone()
    });
    bad.push(SeccompPolicy {
        errno: vec![errno("clone3", 0)],
        ..base.clone()
    });
    bad.push(SeccompPolicy {
        allow_if: vec![rule("socket", vec![ArgCond::u32(6, "eq", 0)])],
        ..base.clone()
    });
    // Both an unknown errno syscall and a bad rule: the errno rules are checked first.
    bad.push(SeccompPolicy {
        allow_if: vec![rule("socket", vec![ArgCond::u32(0, "like", 0)])],
        errno: vec![errno("chown32", 1)],
        ..base.clone()
    });
    // Too long for the kernel, in either layout.
    bad.push(SeccompPolicy {
        allow_if: (0..700)
            .map(|i| rule("read", vec![ArgCond::u64(0, "eq", i)]))
            .collect(),
        ..base.clone()
    });
    for p in &bad {
        let tree = compile_program(p, Arch::X86_64).unwrap_err();
        let linear = compile_program_linear(p, Arch::X86_64).unwrap_err();
        match (&tree, &linear) {
            // Counted in different programs.
            (ProfileError::ProgramTooLarge(_), ProfileError::ProgramTooLarge(_)) => {}
            _ => assert_eq!(tree, linear, "{p:?}"),
        }
    }
}
