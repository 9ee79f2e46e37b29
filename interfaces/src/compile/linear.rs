//! The program as seccompiler lays it out, as this crate compiled it until the search tree
//! ([`super::tree`]) replaced it: one filter per errno of [`SeccompPolicy::errno`], whose
//! "allow" exits are turned into jumps to the next filter, then the allowlist, each part
//! starting with the architecture check and comparing the syscall number with every number
//! it lists, one after the other.
//!
//! Kept as the reference the tree is checked against (the same answer for every call) and
//! to measure what the tree saves at load.

use seccompiler::{BpfProgram, sock_filter};
use serde_json::{Value, json};

use super::{Parts, fits, is_unfiltered, seccompiler_compile};
use crate::ProfileError;
use crate::arch::Arch;
use crate::profile::SeccompPolicy;

const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
const BPF_JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

/// [`super::compile_program`]'s answers, in seccompiler's linear layout.
pub fn compile_program_linear(
    policy: &SeccompPolicy,
    arch: Arch,
) -> Result<BpfProgram, ProfileError> {
    if is_unfiltered(policy)? {
        return Ok(Vec::new());
    }
    let parts = Parts::new(policy, arch)?;
    let mut program = Vec::new();
    for (errno, names) in &parts.errno {
        let rules = names.iter().map(|s| json!({ "syscall": s })).collect();
        let part = compile_json(json!("allow"), json!({ "errno": errno }), rules, arch)?;
        program.extend(continue_on_allow(part));
    }
    program.extend(compile_json(
        parts.mismatch.clone(),
        json!("allow"),
        parts.allow.clone(),
        arch,
    )?);
    fits(program)
}

/// Compiles one filter: calls matching `rules` get `matched`, the others `mismatch`.
fn compile_json(
    mismatch: Value,
    matched: Value,
    rules: Vec<Value>,
    arch: Arch,
) -> Result<BpfProgram, ProfileError> {
    let filter = json!({
        "filter": {
            "mismatch_action": mismatch,
            "match_action": matched,
            "filter": rules,
        }
    });
    seccompiler_compile(&filter, arch)?
        .remove("filter")
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
