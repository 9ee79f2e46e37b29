//! Compilation of a [`SeccompPolicy`] into the classic BPF program the launcher loads, and
//! the program's file format: the `struct sock_filter` array itself (8 bytes per
//! instruction: `u16 code, u8 jt, u8 jf, u32 k`, native endianness), ready for
//! `seccomp(SECCOMP_SET_MODE_FILTER)`.
//!
//! seccompiler compiles filters with one match and one mismatch action. The program is
//! therefore a sequence: one small filter per errno of [`SeccompPolicy::errno`], whose
//! "allow" exits are turned into jumps to the next filter, then the allowlist itself. Each
//! part starts with seccompiler's architecture check, which kills the process on any other
//! architecture (fail closed).

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, sock_filter};
use serde_json::{Value, json};

use crate::ProfileError;
use crate::arch::Arch;
use crate::profile::{ArgCond, SeccompPolicy};

/// The kernel refuses longer programs (BPF_MAXINSNS).
pub const MAX_INSTRUCTIONS: usize = 4096;

const INSTRUCTION_BYTES: usize = 8;
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const BPF_JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// The program for `policy` on the architecture of this build, as bytes. Empty for a policy
/// that filters nothing (`allow`, classic): the launcher must load no filter then, and must
/// accept an empty program only for a classic profile.
pub fn compile_seccomp(policy: &SeccompPolicy) -> Result<Vec<u8>, ProfileError> {
    if is_unfiltered(policy)? {
        return Ok(Vec::new());
    }
    compile_seccomp_for(policy, Arch::host()?)
}

/// [`compile_seccomp`] for a given architecture.
pub fn compile_seccomp_for(policy: &SeccompPolicy, arch: Arch) -> Result<Vec<u8>, ProfileError> {
    Ok(program_to_bytes(&compile_program(policy, arch)?))
}

/// The program as instructions.
pub fn compile_program(policy: &SeccompPolicy, arch: Arch) -> Result<BpfProgram, ProfileError> {
    if is_unfiltered(policy)? {
        return Ok(Vec::new());
    }
    let mismatch = action(&policy.default_action)?;
    let mut program = Vec::new();

    let mut by_errno: BTreeMap<u32, Vec<Value>> = BTreeMap::new();
    for r in &policy.errno {
        if !(1..=4095).contains(&r.errno) {
            return Err(ProfileError::BadRule {
                syscall: r.syscall.clone(),
                reason: format!("{} is not an errno", r.errno),
            });
        }
        by_errno
            .entry(r.errno)
            .or_default()
            .push(json!({ "syscall": r.syscall }));
    }
    for (errno, rules) in by_errno {
        let part = compile_json(json!("allow"), json!({ "errno": errno }), rules, arch)?;
        program.extend(continue_on_allow(part));
    }

    let mut rules: Vec<Value> = policy
        .allow
        .iter()
        .map(|s| json!({ "syscall": s }))
        .collect();
    for r in &policy.allow_if {
        // An unconditional rule for the same syscall already allows every call.
        if policy.allow.contains(&r.syscall) {
            continue;
        }
        let args = r
            .conditions()
            .iter()
            .map(|c| condition(&r.syscall, c))
            .collect::<Result<Vec<_>, _>>()?;
        rules.push(json!({ "syscall": r.syscall, "args": args }));
    }
    program.extend(compile_json(mismatch, json!("allow"), rules, arch)?);

    if program.len() >= MAX_INSTRUCTIONS {
        return Err(ProfileError::ProgramTooLarge(program.len()));
    }
    Ok(program)
}

/// `allow` with nothing listed: no filter at all.
fn is_unfiltered(policy: &SeccompPolicy) -> Result<bool, ProfileError> {
    if policy.default_action != "allow" {
        return Ok(false);
    }
    if policy.allow.is_empty() && policy.allow_if.is_empty() && policy.errno.is_empty() {
        Ok(true)
    } else {
        // Rules under a default that allows everything would mean nothing.
        Err(ProfileError::BadDefaultAction(
            policy.default_action.clone(),
        ))
    }
}

/// seccompiler's JSON spelling of the default action.
fn action(name: &str) -> Result<Value, ProfileError> {
    let bad = || ProfileError::BadDefaultAction(name.to_owned());
    Ok(match name {
        "errno" => json!({ "errno": crate::seccomp::consts::EPERM }),
        "log" => json!("log"),
        "kill-process" => json!("kill_process"),
        other => {
            let n = other.strip_prefix("errno:").ok_or_else(bad)?;
            json!({ "errno": n.parse::<u32>().map_err(|_| bad())? })
        }
    })
}

/// One condition in seccompiler's JSON, checked.
fn condition(syscall: &str, c: &ArgCond) -> Result<Value, ProfileError> {
    let bad = |reason: String| ProfileError::BadRule {
        syscall: syscall.to_owned(),
        reason,
    };
    if c.arg > 5 {
        return Err(bad(format!("argument {} does not exist", c.arg)));
    }
    let width = match c.bits {
        32 => "dword",
        64 => "qword",
        other => return Err(bad(format!("cannot compare {other} bits"))),
    };
    let fits = |v: u64| c.bits == 64 || v <= u64::from(u32::MAX);
    if !fits(c.value) {
        return Err(bad(format!("{:#x} does not fit in 32 bits", c.value)));
    }
    let op = match c.op.as_str() {
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => json!(c.op),
        other => {
            let mask = other
                .strip_prefix("masked-eq:")
                .and_then(parse_number)
                .ok_or_else(|| bad(format!("unknown comparison {other:?}")))?;
            if !fits(mask) {
                return Err(bad(format!("mask {mask:#x} does not fit in 32 bits")));
            }
            json!({ "masked_eq": mask })
        }
    };
    Ok(json!({ "index": c.arg, "type": width, "op": op, "val": c.value }))
}

/// Decimal, `0x` hexadecimal or `0o` octal.
fn parse_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = s.strip_prefix("0o") {
        u64::from_str_radix(oct, 8).ok()
    } else {
        s.parse().ok()
    }
}

/// Compiles one filter: calls matching `rules` get `matched`, the others `mismatch`.
fn compile_json(
    mismatch: Value,
    matched: Value,
    rules: Vec<Value>,
    arch: Arch,
) -> Result<BpfProgram, ProfileError> {
    // seccompiler's error for an unknown name cannot be matched on: check names first.
    for r in &rules {
        let name = r["syscall"].as_str().unwrap_or_default();
        if !crate::seccomp::is_known(name, arch) {
            return Err(ProfileError::UnknownSyscall {
                name: name.to_owned(),
                arch: arch.name(),
            });
        }
    }
    let filter = json!({
        "filter": {
            "mismatch_action": mismatch,
            "match_action": matched,
            "filter": rules,
        }
    });
    let mut map = seccompiler::compile_from_json(filter.to_string().as_bytes(), arch.target())
        .map_err(|e| match e {
            seccompiler::Error::Backend(seccompiler::BackendError::FilterTooLarge(n)) => {
                ProfileError::ProgramTooLarge(n)
            }
            other => ProfileError::Compile(other.to_string()),
        })?;
    map.remove("filter")
        .ok_or_else(|| ProfileError::Compile("seccompiler returned no program".into()))
}

/// Turns every "allow" exit of a program into a jump past its end, so that the program
/// placed after it decides instead.
fn continue_on_allow(mut part: BpfProgram) -> BpfProgram {
    let len = part.len();
    for (i, insn) in part.iter_mut().enumerate() {
        if insn.code == BPF_RET_K && insn.k == SECCOMP_RET_ALLOW {
            *insn = sock_filter {
                code: BPF_JMP_JA,
                jt: 0,
                jf: 0,
                // Relative to the next instruction: lands on the first one after the part.
                k: (len - i - 1) as u32,
            };
        }
    }
    part
}

/// The program's file format.
pub fn program_to_bytes(program: &[sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len() * INSTRUCTION_BYTES);
    for insn in program {
        out.extend_from_slice(&insn.code.to_ne_bytes());
        out.push(insn.jt);
        out.push(insn.jf);
        out.extend_from_slice(&insn.k.to_ne_bytes());
    }
    out
}

/// Reads a program written by [`compile_seccomp`], for the launcher (which may hand it to
/// `seccompiler::apply_filter` or load it itself). An empty file is an empty program: no
/// filter, acceptable only for classic profiles.
pub fn program_from_bytes(bytes: &[u8]) -> Result<BpfProgram, ProfileError> {
    if !bytes.len().is_multiple_of(INSTRUCTION_BYTES) {
        return Err(ProfileError::BadProgramLength(bytes.len()));
    }
    let count = bytes.len() / INSTRUCTION_BYTES;
    if count > MAX_INSTRUCTIONS {
        return Err(ProfileError::ProgramTooLarge(count));
    }
    Ok(bytes
        .chunks_exact(INSTRUCTION_BYTES)
        .map(|c| sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// A classic BPF interpreter for the instructions seccompiler and this module emit, to check
/// what a program answers without loading it.
#[cfg(test)]
pub(crate) mod eval {
    use seccompiler::sock_filter;

    /// `struct seccomp_data` of a call.
    pub struct Call {
        pub nr: u32,
        pub arch: u32,
        pub args: [u64; 6],
    }

    fn word(call: &Call, offset: u32) -> u32 {
        match offset {
            0 => call.nr,
            4 => call.arch,
            o if (16..64).contains(&o) && o % 4 == 0 => {
                let arg = call.args[((o - 16) / 8) as usize];
                // Little-endian layout: the low half first.
                if (o - 16) % 8 == 0 {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
            o => panic!("load from offset {o}"),
        }
    }

    /// The program's return value for `call`.
    pub fn run(program: &[sock_filter], call: &Call) -> u32 {
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = &program[pc];
            pc += 1;
            match i.code {
                0x20 => a = word(call, i.k),
                0x54 => a &= i.k,
                0x05 => pc += i.k as usize,
                0x15 | 0x25 | 0x35 => {
                    let taken = match i.code {
                        0x15 => a == i.k,
                        0x25 => a > i.k,
                        _ => a >= i.k,
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                0x06 => return i.k,
                code => panic!("instruction {code:#x} at {}", pc - 1),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::eval::{Call, run};
    use super::*;
    use crate::grants::Grants;
    use crate::profile::{ArgRule, ErrnoRule, SandboxMode};
    use crate::seccomp::consts::*;

    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_LOG: u32 = 0x7ffc_0000;
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    const fn ret_errno(e: u32) -> u32 {
        0x0005_0000 | e
    }
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

    fn policy(mode: SandboxMode, grants: &Grants) -> SeccompPolicy {
        crate::seccomp::policy(mode, Arch::X86_64, grants)
    }

    fn program(mode: SandboxMode, grants: &Grants) -> BpfProgram {
        compile_program(&policy(mode, grants), Arch::X86_64).unwrap()
    }

    fn call(nr: i64, args: &[u64]) -> Call {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        Call {
            nr: nr as u32,
            arch: AUDIT_ARCH_X86_64,
            args: a,
        }
    }

    // x86_64 numbers, so that the tests mean the same on every build host.
    const GETPID: i64 = 39;
    const CLONE: i64 = 56;
    const UNSHARE: i64 = 272;
    const CLONE3: i64 = 435;
    const OPENAT: i64 = 257;
    const OPENAT2: i64 = 437;
    const IOCTL: i64 = 16;
    const SOCKET: i64 = 41;
    const FCHMODAT: i64 = 268;
    const MKNODAT: i64 = 259;
    const MOUNT: i64 = 165;
    const PTRACE: i64 = 101;
    const LISTEN: i64 = 50;
    const SETPRIORITY: i64 = 141;

    #[test]
    fn syscall_numbers_match_libc() {
        #[cfg(target_arch = "x86_64")]
        for (ours, theirs) in [
            (GETPID, libc::SYS_getpid),
            (CLONE, libc::SYS_clone),
            (UNSHARE, libc::SYS_unshare),
            (CLONE3, libc::SYS_clone3),
            (OPENAT, libc::SYS_openat),
            (OPENAT2, libc::SYS_openat2),
            (IOCTL, libc::SYS_ioctl),
            (SOCKET, libc::SYS_socket),
            (FCHMODAT, libc::SYS_fchmodat),
            (MKNODAT, libc::SYS_mknodat),
            (MOUNT, libc::SYS_mount),
            (PTRACE, libc::SYS_ptrace),
            (LISTEN, libc::SYS_listen),
            (SETPRIORITY, libc::SYS_setpriority),
        ] {
            assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn strict_program_answers() {
        let p = program(SandboxMode::Strict, &Grants::none());
        let eperm = ret_errno(EPERM);
        let sigchld = 17;
        let thread_flags = 0x003d_0f00; // glibc's pthread_create flags
        for (what, c, want) in [
            ("getpid", call(GETPID, &[]), RET_ALLOW),
            ("unshare", call(UNSHARE, &[u64::from(CLONE_NEWNS)]), eperm),
            ("mount", call(MOUNT, &[]), eperm),
            ("ptrace", call(PTRACE, &[]), eperm),
            ("listen", call(LISTEN, &[3, 5]), eperm),
            ("fork", call(CLONE, &[sigchld]), RET_ALLOW),
            ("thread", call(CLONE, &[thread_flags]), RET_ALLOW),
            (
                "clone newuser",
                call(CLONE, &[u64::from(CLONE_NEWUSER) | sigchld]),
                eperm,
            ),
            (
                "clone newnet",
                call(CLONE, &[u64::from(CLONE_NEWNET) | sigchld]),
                eperm,
            ),
            ("clone3", call(CLONE3, &[0, 88]), ret_errno(ENOSYS)),
            ("openat2", call(OPENAT2, &[]), ret_errno(ENOSYS)),
            ("ioctl TCGETS", call(IOCTL, &[0, 0x5401]), RET_ALLOW),
            (
                "ioctl TIOCSTI",
                call(IOCTL, &[0, u64::from(TIOCSTI)]),
                eperm,
            ),
            (
                "ioctl TIOCSTI high bits",
                call(IOCTL, &[0, (1 << 32) | u64::from(TIOCSTI)]),
                eperm,
            ),
            (
                "ioctl TIOCLINUX",
                call(IOCTL, &[0, u64::from(TIOCLINUX)]),
                eperm,
            ),
            ("socket unix", call(SOCKET, &[1, 1]), RET_ALLOW),
            ("socket inet", call(SOCKET, &[2, 1]), eperm),
            ("socket inet6", call(SOCKET, &[10, 2]), eperm),
            ("socket netlink", call(SOCKET, &[16, 3, 0]), eperm),
            ("socket packet", call(SOCKET, &[17, 3]), eperm),
            ("openat rdonly", call(OPENAT, &[0, 0, 0, 0o4777]), RET_ALLOW),
            (
                "openat creat",
                call(OPENAT, &[0, 0, 0o101, 0o644]),
                RET_ALLOW,
            ),
            (
                "openat creat suid",
                call(OPENAT, &[0, 0, 0o101, 0o4755]),
                eperm,
            ),
            (
                "openat creat sgid",
                call(OPENAT, &[0, 0, 0o101, 0o2755]),
                eperm,
            ),
            (
                "openat tmpfile suid",
                call(OPENAT, &[0, 0, 0o20200002, 0o4755]),
                eperm,
            ),
            ("fchmodat", call(FCHMODAT, &[0, 0, 0o755]), RET_ALLOW),
            ("fchmodat suid", call(FCHMODAT, &[0, 0, 0o4755]), eperm),
            ("mknodat fifo", call(MKNODAT, &[0, 0, 0o010644]), RET_ALLOW),
            ("mknodat char", call(MKNODAT, &[0, 0, 0o020644]), eperm),
            ("mknodat fifo sgid", call(MKNODAT, &[0, 0, 0o012644]), eperm),
            ("nice 10", call(SETPRIORITY, &[0, 0, 10]), RET_ALLOW),
            (
                "nice -5",
                call(SETPRIORITY, &[0, 0, u64::from((-5i32) as u32)]),
                eperm,
            ),
            ("x32 getpid", call(GETPID | 0x4000_0000, &[]), eperm),
        ] {
            assert_eq!(run(&p, &c), want, "{what}");
        }
        let mut foreign = call(GETPID, &[]);
        foreign.arch = 0x4000_0003; // i386
        assert_eq!(run(&p, &foreign), RET_KILL_PROCESS);
    }

    #[test]
    fn network_grants_open_inet_sockets_but_not_raw_ones() {
        let p = program(SandboxMode::Strict, &Grants::network());
        let eperm = ret_errno(EPERM);
        let cloexec = 0o2000000;
        for (what, c, want) in [
            ("inet stream", call(SOCKET, &[2, 1]), RET_ALLOW),
            (
                "inet6 dgram cloexec",
                call(SOCKET, &[10, 2 | cloexec]),
                RET_ALLOW,
            ),
            ("inet raw", call(SOCKET, &[2, 3]), eperm),
            ("inet6 raw nonblock", call(SOCKET, &[10, 3 | 0o4000]), eperm),
            (
                "netlink route",
                call(SOCKET, &[16, 3 | cloexec, 0]),
                RET_ALLOW,
            ),
            ("netlink audit", call(SOCKET, &[16, 3, 9]), eperm),
            ("unix still", call(SOCKET, &[1, 5]), RET_ALLOW),
            ("no listen", call(LISTEN, &[3, 5]), eperm),
        ] {
            assert_eq!(run(&p, &c), want, "{what}");
        }
        let p = program(SandboxMode::Strict, &Grants::network_bind(&[8080]));
        assert_eq!(run(&p, &call(LISTEN, &[3, 5])), RET_ALLOW);
    }

    #[test]
    fn devmode_logs_instead_of_denying() {
        let p = program(SandboxMode::Devmode, &Grants::none());
        assert_eq!(run(&p, &call(GETPID, &[])), RET_ALLOW);
        assert_eq!(run(&p, &call(UNSHARE, &[0x20000])), RET_LOG);
        assert_eq!(run(&p, &call(OPENAT2, &[])), RET_LOG);
        assert_eq!(run(&p, &call(CLONE, &[u64::from(CLONE_NEWUSER)])), RET_LOG);
        // clone3 still steers the C library to clone, instead of logging every thread.
        assert_eq!(run(&p, &call(CLONE3, &[])), ret_errno(ENOSYS));
    }

    #[test]
    fn programs_fit_the_kernel_limit_on_every_arch() {
        let mut grants = Grants::network();
        grants.merge(Grants::network_bind(&[80, 443]));
        for arch in [Arch::X86_64, Arch::Aarch64, Arch::Riscv64] {
            for mode in [SandboxMode::Strict, SandboxMode::Devmode] {
                for g in [&Grants::none(), &grants] {
                    let p = crate::seccomp::policy(mode, arch, g);
                    let n = compile_program(&p, arch).unwrap().len();
                    assert!(n < MAX_INSTRUCTIONS, "{arch:?} {mode:?}: {n}");
                    if g == &Grants::none() && mode == SandboxMode::Strict {
                        println!(
                            "{}: {} allowed, {} argument rules, {n} instructions",
                            arch.name(),
                            p.allow.len(),
                            p.allow_if.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bytes_round_trip() {
        let p = policy(SandboxMode::Strict, &Grants::none());
        let prog = compile_program(&p, Arch::X86_64).unwrap();
        let bytes = compile_seccomp_for(&p, Arch::X86_64).unwrap();
        assert_eq!(bytes.len(), prog.len() * 8);
        assert_eq!(program_from_bytes(&bytes).unwrap(), prog);
        assert_eq!(program_to_bytes(&prog), bytes);
        // Native layout: code, jt, jf, k.
        let first = &prog[0];
        assert_eq!(&bytes[..2], &first.code.to_ne_bytes());
        assert_eq!(&bytes[4..8], &first.k.to_ne_bytes());
        assert_eq!(
            program_from_bytes(&bytes[..7]),
            Err(ProfileError::BadProgramLength(7))
        );
        assert_eq!(
            program_from_bytes(&vec![0; 8 * (MAX_INSTRUCTIONS + 1)]),
            Err(ProfileError::ProgramTooLarge(MAX_INSTRUCTIONS + 1))
        );
    }

    #[test]
    fn classic_has_no_program() {
        let p = policy(SandboxMode::Classic, &Grants::none());
        assert_eq!(compile_seccomp(&p).unwrap(), Vec::<u8>::new());
        assert!(program_from_bytes(&[]).unwrap().is_empty());
        let mut nonsense = p.clone();
        nonsense.allow.push("getpid".into());
        assert_eq!(
            compile_seccomp(&nonsense),
            Err(ProfileError::BadDefaultAction("allow".into()))
        );
    }

    #[test]
    fn other_default_actions() {
        let mut p = SeccompPolicy {
            default_action: "errno:13".into(),
            allow: vec!["getpid".into()],
            ..SeccompPolicy::default()
        };
        let prog = compile_program(&p, Arch::X86_64).unwrap();
        assert_eq!(run(&prog, &call(UNSHARE, &[])), ret_errno(13));
        p.default_action = "kill-process".into();
        let prog = compile_program(&p, Arch::X86_64).unwrap();
        assert_eq!(run(&prog, &call(UNSHARE, &[])), RET_KILL_PROCESS);
        for bad in ["deny", "errno:x", ""] {
            p.default_action = bad.into();
            assert_eq!(
                compile_program(&p, Arch::X86_64),
                Err(ProfileError::BadDefaultAction(bad.into()))
            );
        }
    }

    #[test]
    fn errno_rules_with_several_values_chain() {
        let p = SeccompPolicy {
            default_action: "errno".into(),
            allow: vec!["getpid".into(), "unshare".into()],
            errno: vec![
                ErrnoRule {
                    syscall: "clone3".into(),
                    errno: ENOSYS,
                },
                ErrnoRule {
                    syscall: "unshare".into(),
                    errno: 22,
                },
            ],
            ..SeccompPolicy::default()
        };
        let prog = compile_program(&p, Arch::X86_64).unwrap();
        assert_eq!(run(&prog, &call(CLONE3, &[])), ret_errno(ENOSYS));
        // The errno rules come first, whatever the allowlist says.
        assert_eq!(run(&prog, &call(UNSHARE, &[])), ret_errno(22));
        assert_eq!(run(&prog, &call(GETPID, &[])), RET_ALLOW);
        assert_eq!(run(&prog, &call(MOUNT, &[])), ret_errno(EPERM));
    }

    #[test]
    fn bad_rules_are_refused() {
        let base = SeccompPolicy {
            default_action: "errno".into(),
            ..SeccompPolicy::default()
        };
        let with_rule = |r: ArgRule| SeccompPolicy {
            allow_if: vec![r],
            ..base.clone()
        };
        let r = |arg, op: &str, value, bits| ArgRule {
            syscall: "socket".into(),
            arg,
            op: op.into(),
            value,
            bits,
            and: vec![],
        };
        for bad in [
            r(6, "eq", 0, 64),
            r(0, "eq", 0, 16),
            r(0, "eq", 1 << 32, 32),
            r(0, "masked-eq:0x1ffffffff", 0, 32),
            r(0, "masked-eq:zz", 0, 64),
            r(0, "like", 0, 64),
        ] {
            let e = compile_program(&with_rule(bad.clone()), Arch::X86_64).unwrap_err();
            assert!(matches!(e, ProfileError::BadRule { .. }), "{bad:?}: {e}");
        }
        let mut unknown = base.clone();
        unknown.allow.push("no_such_call".into());
        assert_eq!(
            compile_program(&unknown, Arch::X86_64),
            Err(ProfileError::UnknownSyscall {
                name: "no_such_call".into(),
                arch: "x86_64"
            })
        );
        // 32-bit names are not x86_64's.
        let mut foreign = base;
        foreign.allow.push("chown32".into());
        assert!(matches!(
            compile_program(&foreign, Arch::X86_64),
            Err(ProfileError::UnknownSyscall { .. })
        ));
        assert!(matches!(
            compile_program(&foreign, Arch::Aarch64),
            Err(ProfileError::UnknownSyscall { .. })
        ));
    }

    #[test]
    fn errno_values_are_checked() {
        let p = SeccompPolicy {
            default_action: "errno".into(),
            errno: vec![ErrnoRule {
                syscall: "clone3".into(),
                errno: 0,
            }],
            ..SeccompPolicy::default()
        };
        assert!(matches!(
            compile_program(&p, Arch::X86_64),
            Err(ProfileError::BadRule { .. })
        ));
    }

    #[test]
    fn number_spellings() {
        assert_eq!(parse_number("0x1f"), Some(31));
        assert_eq!(parse_number("0o17"), Some(15));
        assert_eq!(parse_number("17"), Some(17));
        assert_eq!(parse_number("-1"), None);
    }
}
