//! Compilation of a [`SeccompPolicy`] into the classic BPF program the launcher loads, and
//! the program's file format: the `struct sock_filter` array itself (8 bytes per
//! instruction: `u16 code, u8 jt, u8 jf, u32 k`, native endianness), ready for
//! `seccomp(SECCOMP_SET_MODE_FILTER)`.
//!
//! seccompiler turns syscall names into numbers and compiles the argument rules of each
//! syscall; the dispatch on the syscall number is ours ([`tree`]): after seccompiler's
//! architecture check (any other architecture kills the process: fail closed), a balanced
//! search tree of `JGE` comparisons over the syscall number leads to one answer per range of
//! numbers, or to seccompiler's rule chain for a syscall allowed with conditions. At load the
//! kernel runs the filter once per syscall number to find those it always allows; a tree
//! answers each in about ten steps where seccompiler's own layout (one comparison after the
//! other, kept in [`linear`] to compare against) takes hundreds.

use std::collections::{BTreeMap, BTreeSet};

use seccompiler::{BpfMap, BpfProgram, sock_filter};
use serde_json::{Value, json};

use crate::ProfileError;
use crate::arch::Arch;
use crate::profile::{ArgCond, SeccompPolicy};

#[cfg(test)]
pub(crate) mod equivalence;
mod linear;
mod tree;

pub use linear::compile_program_linear;

/// The kernel refuses longer programs (BPF_MAXINSNS).
pub const MAX_INSTRUCTIONS: usize = 4096;

const INSTRUCTION_BYTES: usize = 8;

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
    let parts = Parts::new(policy, arch)?;
    fits(tree::compile(&parts, arch)?)
}

/// A policy that filters something, checked and spelled in seccompiler's JSON.
struct Parts {
    /// The default action.
    mismatch: Value,
    /// The syscalls of each errno. A syscall under several errnos gets the lowest.
    errno: BTreeMap<u32, Vec<String>>,
    /// The allowlist's rules: `{"syscall"}` for an unconditional rule, `{"syscall", "args"}`
    /// for a rule with conditions.
    allow: Vec<Value>,
}

impl Parts {
    /// Checks `policy` on `arch`: the errors come in the order the policy is compiled, errno
    /// rules first.
    fn new(policy: &SeccompPolicy, arch: Arch) -> Result<Parts, ProfileError> {
        let mismatch = action(&policy.default_action)?;

        let mut errno: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for r in &policy.errno {
            if !(1..=4095).contains(&r.errno) {
                return Err(ProfileError::BadRule {
                    syscall: r.syscall.clone(),
                    reason: format!("{} is not an errno", r.errno),
                });
            }
            errno.entry(r.errno).or_default().push(r.syscall.clone());
        }
        for names in errno.values() {
            check_known(names.iter().map(String::as_str), arch)?;
        }

        let mut allow: Vec<Value> = policy
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
            allow.push(json!({ "syscall": r.syscall, "args": args }));
        }
        check_known(allow.iter().map(rule_syscall), arch)?;

        Ok(Parts {
            mismatch,
            errno,
            allow,
        })
    }

    /// Every syscall name the policy mentions.
    fn names(&self) -> BTreeSet<&str> {
        let errno = self.errno.values().flatten().map(String::as_str);
        errno.chain(self.allow.iter().map(rule_syscall)).collect()
    }
}

/// The syscall of a rule in seccompiler's JSON.
fn rule_syscall(rule: &Value) -> &str {
    rule["syscall"].as_str().unwrap_or_default()
}

/// seccompiler's error for an unknown name cannot be matched on: names are checked first.
fn check_known<'a>(
    names: impl IntoIterator<Item = &'a str>,
    arch: Arch,
) -> Result<(), ProfileError> {
    for name in names {
        if !crate::seccomp::is_known(name, arch) {
            return Err(ProfileError::UnknownSyscall {
                name: name.to_owned(),
                arch: arch.name(),
            });
        }
    }
    Ok(())
}

/// seccompiler's JSON front end: `filters` maps names to filters, the answer maps the same
/// names to their programs.
fn seccompiler_compile(filters: &Value, arch: Arch) -> Result<BpfMap, ProfileError> {
    seccompiler::compile_from_json(filters.to_string().as_bytes(), arch.target()).map_err(|e| {
        match e {
            seccompiler::Error::Backend(seccompiler::BackendError::FilterTooLarge(n)) => {
                ProfileError::ProgramTooLarge(n)
            }
            other => ProfileError::Compile(other.to_string()),
        }
    })
}

/// `program`, unless the kernel would refuse it for its length.
fn fits(program: BpfProgram) -> Result<BpfProgram, ProfileError> {
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

    /// Checks `program` as the kernel does before accepting it (`bpf_check_classic`,
    /// `seccomp_check_filter`), for the instructions [`run`] knows: a length the kernel takes,
    /// every jump inside the program, loads of whole words of `struct seccomp_data` only, a
    /// return last.
    pub fn check(program: &[sock_filter]) {
        assert!(
            (1..=super::MAX_INSTRUCTIONS).contains(&program.len()),
            "{} instructions",
            program.len()
        );
        let inside = |at: usize, offset: u32| at + 1 + (offset as usize) < program.len();
        for (at, i) in program.iter().enumerate() {
            let ok = match i.code {
                0x20 => i.k < 64 && i.k % 4 == 0,
                0x54 | 0x06 => true,
                0x05 => inside(at, i.k),
                0x15 | 0x25 | 0x35 | 0x45 => inside(at, i.jt.into()) && inside(at, i.jf.into()),
                _ => false,
            };
            assert!(ok, "instruction {at}: {i:?}");
        }
        assert_eq!(program.last().map(|i| i.code), Some(0x06), "no return last");
    }

    /// The program's return value for `call`.
    pub fn run(program: &[sock_filter], call: &Call) -> u32 {
        run_counted(program, call).0
    }

    /// The program's return value for `call`, and how many instructions it ran.
    pub fn run_counted(program: &[sock_filter], call: &Call) -> (u32, usize) {
        let mut a = 0u32;
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            let i = &program[pc];
            pc += 1;
            steps += 1;
            match i.code {
                0x20 => a = word(call, i.k),
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
                0x06 => return (i.k, steps),
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
                    let linear = compile_program_linear(&p, arch).unwrap().len();
                    assert!(n < MAX_INSTRUCTIONS, "{arch:?} {mode:?}: {n}");
                    assert!(linear < MAX_INSTRUCTIONS, "{arch:?} {mode:?}: {linear}");
                    // The tree is smaller than the linear layout it replaces.
                    assert!(n < linear, "{arch:?} {mode:?}: {n} >= {linear}");
                    if g == &Grants::none() && mode == SandboxMode::Strict {
                        println!(
                            "{}: {} allowed, {} argument rules, {n} instructions ({linear} \
                             in seccompiler's linear layout)",
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
