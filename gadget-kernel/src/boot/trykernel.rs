//! The try-boot state machine: what the daemon writes before a kernel or base refresh, what
//! the bootloader does with it, and what the daemon concludes at its next start.
//!
//! The same protocol runs for each [`BootSlot`], the kernel's and the base's, each with its
//! own three variables; the free functions without a slot are the kernel's.

use crate::image::env::EnvError;
use crate::image::env::grubenv::GrubEnv;
use crate::image::env::ubootenv::UbootEnv;

use super::BootError;

pub const SNAP_KERNEL: &str = "snap_kernel";
pub const SNAP_TRY_KERNEL: &str = "snap_try_kernel";
pub const KERNEL_STATUS: &str = "kernel_status";
/// The base known to boot, as the image builder writes it (UC16/18's name).
pub const SNAP_CORE: &str = "snap_core";
pub const SNAP_TRY_CORE: &str = "snap_try_core";
/// The base's own status (UC20's modeenv name): not UC16/18's `snap_mode`, which one status
/// shared by the kernel and the base (`spec/boot.md`).
pub const BASE_STATUS: &str = "base_status";

const TRY: &str = "try";
const TRYING: &str = "trying";

/// One thing the bootloader boots and tries: the environment variables of its protocol and
/// the command-line argument that tells the running system which file it was booted as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootSlot {
    /// What it is, for messages: `kernel`, `base`.
    pub what: &'static str,
    /// The file known to boot (`<name>_<rev>.snap`).
    pub current: &'static str,
    /// A candidate, tried once.
    pub candidate: &'static str,
    /// `""`, `try` (set by the daemon), `trying` (set by the bootloader).
    pub status: &'static str,
    /// `<key>=<file>` on the kernel command line names the booted file.
    pub cmdline_key: &'static str,
}

/// The kernel: `snap_kernel`, `snap_try_kernel`, `kernel_status`; `snap_kernel=` on the
/// command line.
pub const KERNEL_SLOT: BootSlot = BootSlot {
    what: "kernel",
    current: SNAP_KERNEL,
    candidate: SNAP_TRY_KERNEL,
    status: KERNEL_STATUS,
    cmdline_key: SNAP_KERNEL,
};

/// The base (the root filesystem the initramfs mounts from `/var/lib/snapd/snaps`):
/// `snap_core`, `snap_try_core`, `base_status`; `snap_core=` on the command line.
pub const BASE_SLOT: BootSlot = BootSlot {
    what: "base",
    current: SNAP_CORE,
    candidate: SNAP_TRY_CORE,
    status: BASE_STATUS,
    cmdline_key: SNAP_CORE,
};

/// Every slot, in the order the bootloader handles them.
pub const BOOT_SLOTS: [BootSlot; 2] = [KERNEL_SLOT, BASE_SLOT];

/// A bootloader environment (grubenv, U-Boot env) seen as variables; unset reads as `""`.
pub trait BootEnv {
    fn var(&self, key: &str) -> &str;
    fn set_var(&mut self, key: &str, value: &str) -> Result<(), EnvError>;
}

impl BootEnv for GrubEnv {
    fn var(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }
    fn set_var(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        self.set(key, value)
    }
}

impl BootEnv for UbootEnv {
    fn var(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }
    fn set_var(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        self.set(key, value)
    }
}

/// One variable to set. The daemon applies writes in order and makes each durable (the
/// whole environment file rewritten in place and synced) before the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub key: &'static str,
    pub value: String,
}

fn w(key: &'static str, value: &str) -> Write {
    Write {
        key,
        value: value.to_owned(),
    }
}

/// Applies `writes` to an in-memory environment, in order.
pub fn apply(env: &mut impl BootEnv, writes: &[Write]) -> Result<(), EnvError> {
    writes.iter().try_for_each(|x| env.set_var(x.key, &x.value))
}

/// A snap file name as the environment and the boot partition use it (kernels and bases
/// alike): `<name>_<revision>.snap`, in characters a grub script and a U-Boot script take
/// unquoted.
pub fn check_kernel_file(file: &str) -> Result<(), BootError> {
    let bad = || BootError::BadKernelFile(file.to_owned());
    let stem = file.strip_suffix(".snap").ok_or_else(bad)?;
    let (name, rev) = stem.rsplit_once('_').ok_or_else(bad)?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if ok(name) && ok(rev) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// What the daemon writes before rebooting into a new kernel or base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub writes: Vec<Write>,
    /// False when the file already is the slot's boot file (nothing to try).
    pub reboot: bool,
}

/// What the daemon learns at its start. The field names are the kernel's; for the base slot
/// they name base files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No try in progress; the boot file runs.
    NoTry,
    /// Status `try`: the bootloader has not run since the try was prepared (the daemon
    /// restarted without a reboot). Nothing to do yet.
    Pending { try_kernel: String },
    /// The candidate booted and the daemon runs on it: the refresh is confirmed.
    Confirmed { kernel: String },
    /// The candidate did not reach the daemon and the bootloader fell back to the boot
    /// file: the refresh must be undone (a kernel's extracted files removed).
    FellBack { tried: String, running: String },
}

/// The outcome and the writes that settle the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conclusion {
    pub outcome: Outcome,
    pub writes: Vec<Write>,
}

impl BootSlot {
    /// Prepares a try of `file`. A kernel's boot files must already be extracted to the boot
    /// partition and synced; a base is mounted from its snap file, which the refresh put in
    /// place before. Order: the candidate first, then the status `try`: a status of `try`
    /// without a candidate would make the bootloader skip the try, and the candidate alone
    /// is ignored by the bootloader (it still boots the current file).
    pub fn prepare_try(self, env: &impl BootEnv, file: &str) -> Result<Prepared, BootError> {
        check_kernel_file(file)?;
        let status = env.var(self.status);
        if !status.is_empty() {
            return Err(BootError::TryInProgress {
                slot: Box::new(self),
                status: status.to_owned(),
                candidate: env.var(self.candidate).to_owned(),
            });
        }
        if env.var(self.current) == file {
            let writes = if env.var(self.candidate).is_empty() {
                vec![]
            } else {
                vec![w(self.candidate, "")]
            };
            return Ok(Prepared {
                writes,
                reboot: false,
            });
        }
        Ok(Prepared {
            writes: vec![w(self.candidate, file), w(self.status, TRY)],
            reboot: true,
        })
    }

    /// Withdraws a try that has not been booted (the refresh is undone before its reboot).
    /// Order: the status first, so the bootloader no longer tries, then the candidate.
    pub fn cancel_try(self, env: &impl BootEnv) -> Vec<Write> {
        let mut out = Vec::new();
        if !env.var(self.status).is_empty() {
            out.push(w(self.status, ""));
        }
        if !env.var(self.candidate).is_empty() {
            out.push(w(self.candidate, ""));
        }
        out
    }

    /// Makes `file` the boot file directly, without a try (undoing a refresh that was
    /// confirmed: both are known to boot). Order: end any try first, then switch.
    pub fn set_without_try(self, env: &impl BootEnv, file: &str) -> Result<Vec<Write>, BootError> {
        check_kernel_file(file)?;
        let mut out = self.cancel_try(env);
        if env.var(self.current) != file {
            out.push(w(self.current, file));
        }
        Ok(out)
    }

    /// Concludes a boot, given the file of this slot that is running (from the command line,
    /// see [`BootSlot::running`]).
    ///
    /// Confirming writes the current file first, while the status still says `trying`: cut
    /// there, the bootloader clears `trying` and boots the current file, which is now the
    /// confirmed one; only then are the status and the candidate cleared. Clearing the
    /// status first would let a cut boot the old file and turn a good refresh into a
    /// rollback.
    pub fn conclude(self, env: &impl BootEnv, running: &str) -> Result<Conclusion, BootError> {
        let current = env.var(self.current);
        let candidate = env.var(self.candidate);
        let status = env.var(self.status);
        let unknown = || BootError::UnknownRunning {
            slot: Box::new(self),
            running: running.to_owned(),
            current: current.to_owned(),
            candidate: candidate.to_owned(),
        };
        let done = |outcome, writes| Ok(Conclusion { outcome, writes });
        let fell_back = |writes| {
            done(
                Outcome::FellBack {
                    tried: candidate.to_owned(),
                    running: running.to_owned(),
                },
                writes,
            )
        };
        match status {
            TRY if running == current => done(
                Outcome::Pending {
                    try_kernel: candidate.to_owned(),
                },
                vec![],
            ),
            TRY => Err(BootError::TryNotStarted {
                slot: Box::new(self),
                running: running.to_owned(),
            }),
            TRYING if !candidate.is_empty() && running == candidate => {
                let mut writes = Vec::new();
                if current != candidate {
                    writes.push(w(self.current, candidate));
                }
                writes.extend([w(self.status, ""), w(self.candidate, "")]);
                done(
                    Outcome::Confirmed {
                        kernel: candidate.to_owned(),
                    },
                    writes,
                )
            }
            // `trying` while the boot file runs: the bootloader set it but did not boot the
            // candidate (none was set). Nothing was tried that could be confirmed.
            TRYING if running == current => fell_back(self.cancel_try(env)),
            TRYING => Err(unknown()),
            "" if candidate.is_empty() => {
                if running == current {
                    done(Outcome::NoTry, vec![])
                } else {
                    Err(unknown())
                }
            }
            // A confirmation cut after the current file was written and the bootloader
            // cleared `trying`: the candidate is the boot file and runs.
            "" if current == candidate && running == current => done(
                Outcome::Confirmed {
                    kernel: current.to_owned(),
                },
                vec![w(self.candidate, "")],
            ),
            // The bootloader found `trying` (the candidate never got here), cleared it and
            // booted the boot file; or the try was prepared only as far as the candidate.
            "" if running == current => fell_back(vec![w(self.candidate, "")]),
            "" => Err(unknown()),
            other => Err(BootError::UnknownStatus {
                slot: Box::new(self),
                status: other.to_owned(),
            }),
        }
    }

    /// The file of this slot the system was booted with: the `<cmdline_key>=` argument our
    /// boot configurations put on the command line.
    pub fn running(self, cmdline: &str) -> Option<&str> {
        // The kernel and its init take the last of repeated arguments.
        cmdline
            .split_ascii_whitespace()
            .rev()
            .find_map(|a| {
                a.strip_prefix(self.cmdline_key)
                    .and_then(|v| v.strip_prefix('='))
            })
            .filter(|f| !f.is_empty())
    }

    /// The bootloader's half of the protocol for this slot alone, as the grub.cfg of
    /// [`super::grubcfg`] runs it: updates the status as the script's `save_env` does and
    /// returns the file it boots (`""` when the environment names none).
    pub fn bootloader_select(self, env: &mut impl BootEnv) -> Result<String, EnvError> {
        let current = env.var(self.current).to_owned();
        let candidate = env.var(self.candidate).to_owned();
        match env.var(self.status) {
            "" => Ok(current),
            TRY if !candidate.is_empty() => {
                env.set_var(self.status, TRYING)?;
                Ok(candidate)
            }
            _ => {
                env.set_var(self.status, "")?;
                Ok(current)
            }
        }
    }
}

/// Prepares a try of the kernel `kernel_file` ([`BootSlot::prepare_try`] of [`KERNEL_SLOT`]).
pub fn prepare_try(env: &impl BootEnv, kernel_file: &str) -> Result<Prepared, BootError> {
    KERNEL_SLOT.prepare_try(env, kernel_file)
}

/// Withdraws a kernel try that has not been booted ([`BootSlot::cancel_try`]).
pub fn cancel_try(env: &impl BootEnv) -> Vec<Write> {
    KERNEL_SLOT.cancel_try(env)
}

/// Makes `kernel_file` the boot kernel directly ([`BootSlot::set_without_try`]).
pub fn set_kernel_without_try(
    env: &impl BootEnv,
    kernel_file: &str,
) -> Result<Vec<Write>, BootError> {
    KERNEL_SLOT.set_without_try(env, kernel_file)
}

/// Concludes a kernel try ([`BootSlot::conclude`] of [`KERNEL_SLOT`]).
pub fn conclude(env: &impl BootEnv, running: &str) -> Result<Conclusion, BootError> {
    KERNEL_SLOT.conclude(env, running)
}

/// The kernel file the running kernel was booted as: `snap_kernel=` on the command line.
pub fn running_kernel(cmdline: &str) -> Option<&str> {
    KERNEL_SLOT.running(cmdline)
}

/// What the bootloader boots: a kernel file, and the base file it passes to the initramfs
/// (`""` when the environment names no base, as on a device whose image has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booted {
    pub kernel: String,
    pub base: String,
}

/// The bootloader's half of the protocol, as the grub.cfg of [`super::grubcfg`] runs it:
/// each slot in turn ([`BOOT_SLOTS`]), each with its own status, updating `env` as the
/// script's `save_env` does. Tests hold the daemon's writes against this model; the qemu
/// boot test holds the real grub.cfg against the same behaviour.
pub fn bootloader_boot(env: &mut impl BootEnv) -> Result<Booted, EnvError> {
    Ok(Booted {
        kernel: KERNEL_SLOT.bootloader_select(env)?,
        base: BASE_SLOT.bootloader_select(env)?,
    })
}

/// [`bootloader_boot`], returning the kernel file it boots.
pub fn bootloader_select(env: &mut impl BootEnv) -> Result<String, EnvError> {
    Ok(bootloader_boot(env)?.kernel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "pc-kernel_1.snap";
    const B: &str = "pc-kernel_2.snap";
    const BASE_A: &str = "core22_1.snap";
    const BASE_B: &str = "core22_2.snap";

    /// An environment with `slot`'s three variables set.
    fn slot_env(slot: BootSlot, current: &str, candidate: &str, status: &str) -> GrubEnv {
        let mut e = GrubEnv::new();
        e.set(slot.current, current).unwrap();
        e.set(slot.candidate, candidate).unwrap();
        e.set(slot.status, status).unwrap();
        e
    }

    fn env(kernel: &str, try_kernel: &str, status: &str) -> GrubEnv {
        slot_env(KERNEL_SLOT, kernel, try_kernel, status)
    }

    fn slot_vars(slot: BootSlot, e: &impl BootEnv) -> (String, String, String) {
        (
            e.var(slot.current).into(),
            e.var(slot.candidate).into(),
            e.var(slot.status).into(),
        )
    }

    fn vars(e: &impl BootEnv) -> (String, String, String) {
        slot_vars(KERNEL_SLOT, e)
    }

    #[test]
    fn kernel_file_names() {
        assert!(check_kernel_file("pc-kernel_x1.snap").is_ok());
        assert!(check_kernel_file("pc-kernel_123.snap").is_ok());
        assert!(check_kernel_file("core22_x1.snap").is_ok());
        for bad in [
            "",
            "pc-kernel.snap",
            "pc-kernel_1",
            "../x_1.snap",
            "a b_1.snap",
            "x_$1.snap",
            "x_.snap",
        ] {
            assert_eq!(
                check_kernel_file(bad),
                Err(BootError::BadKernelFile(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn prepare_writes_the_candidate_then_the_status() {
        let p = prepare_try(&env(A, "", ""), B).unwrap();
        assert!(p.reboot);
        assert_eq!(p.writes, [w(SNAP_TRY_KERNEL, B), w(KERNEL_STATUS, "try")]);
        // The same kernel again: nothing to try, a leftover candidate is cleared.
        let p = prepare_try(&env(A, B, ""), A).unwrap();
        assert!(!p.reboot);
        assert_eq!(p.writes, [w(SNAP_TRY_KERNEL, "")]);
        let busy = prepare_try(&env(A, B, "try"), B);
        assert_eq!(
            busy,
            Err(BootError::TryInProgress {
                slot: Box::new(KERNEL_SLOT),
                status: "try".into(),
                candidate: B.into()
            })
        );
        assert_eq!(
            busy.unwrap_err().to_string(),
            "a kernel try is already in progress (kernel_status=\"try\", snap_try_kernel=\"pc-kernel_2.snap\")"
        );
        assert!(matches!(
            prepare_try(&env(A, "", ""), "B"),
            Err(BootError::BadKernelFile(_))
        ));
    }

    #[test]
    fn a_base_try_uses_its_own_variables() {
        let p = BASE_SLOT
            .prepare_try(&slot_env(BASE_SLOT, BASE_A, "", ""), BASE_B)
            .unwrap();
        assert!(p.reboot);
        assert_eq!(p.writes, [w(SNAP_TRY_CORE, BASE_B), w(BASE_STATUS, "try")]);
        let busy = BASE_SLOT.prepare_try(&slot_env(BASE_SLOT, BASE_A, BASE_B, "trying"), BASE_B);
        assert_eq!(
            busy.unwrap_err().to_string(),
            "a base try is already in progress (base_status=\"trying\", snap_try_core=\"core22_2.snap\")"
        );
        assert_eq!(
            BASE_SLOT.cancel_try(&slot_env(BASE_SLOT, BASE_A, BASE_B, "try")),
            [w(BASE_STATUS, ""), w(SNAP_TRY_CORE, "")]
        );
        assert_eq!(
            BASE_SLOT
                .set_without_try(&slot_env(BASE_SLOT, BASE_B, "", ""), BASE_A)
                .unwrap(),
            [w(SNAP_CORE, BASE_A)]
        );
        let c = BASE_SLOT
            .conclude(&slot_env(BASE_SLOT, BASE_A, BASE_B, "trying"), BASE_B)
            .unwrap();
        assert_eq!(
            c.outcome,
            Outcome::Confirmed {
                kernel: BASE_B.into()
            }
        );
        assert_eq!(
            c.writes,
            [
                w(SNAP_CORE, BASE_B),
                w(BASE_STATUS, ""),
                w(SNAP_TRY_CORE, "")
            ]
        );
        let c = BASE_SLOT
            .conclude(&slot_env(BASE_SLOT, BASE_A, BASE_B, ""), BASE_A)
            .unwrap();
        assert_eq!(
            c.outcome,
            Outcome::FellBack {
                tried: BASE_B.into(),
                running: BASE_A.into()
            }
        );
        assert_eq!(c.writes, [w(SNAP_TRY_CORE, "")]);
        assert_eq!(
            BASE_SLOT
                .conclude(&slot_env(BASE_SLOT, BASE_A, "", "bogus"), BASE_A)
                .unwrap_err()
                .to_string(),
            "unknown base_status \"bogus\" in the boot environment"
        );
        assert_eq!(
            BASE_SLOT
                .conclude(&slot_env(BASE_SLOT, BASE_A, "", ""), BASE_B)
                .unwrap_err()
                .to_string(),
            "the running base \"core22_2.snap\" is neither snap_core \"core22_1.snap\" nor snap_try_core \"\""
        );
    }

    #[test]
    fn a_kernel_try_and_a_base_try_are_independent() {
        let mut e = env(A, "", "");
        e.set(SNAP_CORE, BASE_A).unwrap();
        // Both prepared at once: neither refuses the other.
        let k = prepare_try(&e, B).unwrap();
        apply(&mut e, &k.writes).unwrap();
        let b = BASE_SLOT.prepare_try(&e, BASE_B).unwrap();
        apply(&mut e, &b.writes).unwrap();
        let booted = bootloader_boot(&mut e).unwrap();
        assert_eq!(
            booted,
            Booted {
                kernel: B.into(),
                base: BASE_B.into()
            }
        );
        // Confirming the kernel leaves the base's try alone, and the other way round.
        let k = conclude(&e, B).unwrap();
        assert!(
            k.writes
                .iter()
                .all(|x| x.key.ends_with("kernel") || x.key == KERNEL_STATUS)
        );
        apply(&mut e, &k.writes).unwrap();
        assert_eq!(
            slot_vars(BASE_SLOT, &e),
            (BASE_A.into(), BASE_B.into(), "trying".into())
        );
        let b = BASE_SLOT.conclude(&e, BASE_B).unwrap();
        apply(&mut e, &b.writes).unwrap();
        assert_eq!(vars(&e), (B.into(), "".into(), "".into()));
        assert_eq!(
            slot_vars(BASE_SLOT, &e),
            (BASE_B.into(), "".into(), "".into())
        );
    }

    #[test]
    fn the_bootloader_tries_once_then_falls_back() {
        let mut e = env(A, B, "try");
        assert_eq!(bootloader_select(&mut e).unwrap(), B);
        assert_eq!(vars(&e), (A.into(), B.into(), "trying".into()));
        assert_eq!(bootloader_select(&mut e).unwrap(), A);
        assert_eq!(vars(&e), (A.into(), B.into(), "".into()));
        // `try` without a candidate, or a status it does not know: boot the kernel, clear it.
        let mut e = env(A, "", "try");
        assert_eq!(bootloader_select(&mut e).unwrap(), A);
        assert_eq!(e.var(KERNEL_STATUS), "");
        let mut e = env(A, B, "bogus");
        assert_eq!(bootloader_select(&mut e).unwrap(), A);
        assert_eq!(e.var(KERNEL_STATUS), "");
        // The same for the base, while the kernel boots as it is; no base named: none passed.
        let mut e = slot_env(BASE_SLOT, BASE_A, BASE_B, "try");
        e.set(SNAP_KERNEL, A).unwrap();
        let b = |base: &str| Booted {
            kernel: A.into(),
            base: base.into(),
        };
        assert_eq!(bootloader_boot(&mut e).unwrap(), b(BASE_B));
        assert_eq!(e.var(BASE_STATUS), "trying");
        assert_eq!(bootloader_boot(&mut e).unwrap(), b(BASE_A));
        assert_eq!(
            slot_vars(BASE_SLOT, &e),
            (BASE_A.into(), BASE_B.into(), "".into())
        );
        assert_eq!(vars(&e), (A.into(), "".into(), "".into()));
        let mut e = env(A, "", "");
        let before = e.clone();
        assert_eq!(bootloader_boot(&mut e).unwrap(), b(""));
        assert_eq!(e, before);
    }

    #[test]
    fn conclusions() {
        let c = conclude(&env(A, B, "trying"), B).unwrap();
        assert_eq!(c.outcome, Outcome::Confirmed { kernel: B.into() });
        assert_eq!(
            c.writes,
            [
                w(SNAP_KERNEL, B),
                w(KERNEL_STATUS, ""),
                w(SNAP_TRY_KERNEL, "")
            ]
        );
        let c = conclude(&env(A, B, ""), A).unwrap();
        assert_eq!(
            c.outcome,
            Outcome::FellBack {
                tried: B.into(),
                running: A.into()
            }
        );
        assert_eq!(c.writes, [w(SNAP_TRY_KERNEL, "")]);
        assert_eq!(
            conclude(&env(A, "", ""), A).unwrap().outcome,
            Outcome::NoTry
        );
        assert!(conclude(&env(A, "", ""), A).unwrap().writes.is_empty());
        assert_eq!(
            conclude(&env(A, B, "try"), A).unwrap().outcome,
            Outcome::Pending {
                try_kernel: B.into()
            }
        );
        assert_eq!(
            conclude(&env(A, B, "try"), B),
            Err(BootError::TryNotStarted {
                slot: Box::new(KERNEL_SLOT),
                running: B.into()
            })
        );
        assert!(matches!(
            conclude(&env(A, B, ""), "other_1.snap"),
            Err(BootError::UnknownRunning { .. })
        ));
        assert!(matches!(
            conclude(&env(A, "", ""), B),
            Err(BootError::UnknownRunning { .. })
        ));
        assert_eq!(
            conclude(&env(A, B, "bogus"), A),
            Err(BootError::UnknownStatus {
                slot: Box::new(KERNEL_SLOT),
                status: "bogus".into()
            })
        );
    }

    #[test]
    fn undo_before_and_after_the_reboot() {
        assert_eq!(
            cancel_try(&env(A, B, "try")),
            [w(KERNEL_STATUS, ""), w(SNAP_TRY_KERNEL, "")]
        );
        assert!(cancel_try(&env(A, "", "")).is_empty());
        assert_eq!(
            set_kernel_without_try(&env(B, "", ""), A).unwrap(),
            [w(SNAP_KERNEL, A)]
        );
    }

    #[test]
    fn running_files_come_from_the_command_line() {
        let cmdline =
            "console=ttyS0 snap_kernel=pc-kernel_2.snap snap_core=core22_x3.snap panic=-1";
        assert_eq!(running_kernel(cmdline), Some("pc-kernel_2.snap"));
        assert_eq!(BASE_SLOT.running(cmdline), Some("core22_x3.snap"));
        assert_eq!(running_kernel("console=ttyS0 snap_kernel="), None);
        assert_eq!(running_kernel("quiet"), None);
        assert_eq!(BASE_SLOT.running("snap_kernel=pc-kernel_2.snap"), None);
        // A key that merely starts with the slot's is not it.
        assert_eq!(BASE_SLOT.running("snap_core_x=core22_1.snap"), None);
        assert_eq!(
            BASE_SLOT.running("snap_core=core22_1.snap snap_core=core22_2.snap"),
            Some("core22_2.snap")
        );
    }

    /// One refresh from A to B of each slot, with the power cut after every possible number
    /// of writes (the daemon's writes and the bootloader's `save_env`), for a B that boots
    /// and one that panics. After the cut the device boots on until the daemon settles:
    /// every boot reaches a working file or (once at most) the broken candidate, the
    /// environment ends with no try in it, the daemon runs the boot file, a broken B is never
    /// kept, and a working B is kept without a cut or once the daemon's confirmation began to
    /// land. The other slot is never touched.
    #[test]
    fn a_power_cut_at_any_write_leaves_a_bootable_device() {
        for (slot, a, b) in [(KERNEL_SLOT, A, B), (BASE_SLOT, BASE_A, BASE_B)] {
            for b_works in [true, false] {
                // Count the writes of an uninterrupted run first.
                let total = run_refresh(slot, a, b, b_works, usize::MAX).writes;
                assert!(total >= 4, "{total}");
                for cut in 0..=total {
                    let r = run_refresh(slot, a, b, b_works, cut);
                    let at = format!("{} b_works={b_works} cut={cut}", slot.what);
                    let (current, candidate, status) = slot_vars(slot, &r.env);
                    assert_eq!(status, "", "{at}");
                    assert_eq!(candidate, "", "{at}");
                    assert_eq!(r.running, current, "{at}");
                    assert!(r.broken_boots <= 1, "{at}");
                    if !b_works {
                        assert_eq!(current, a, "{at}");
                        if cut == total {
                            assert_eq!(r.broken_boots, 1, "{at}");
                        }
                    } else if cut == total || r.confirming {
                        // Once a confirmation has begun to land, a cut cannot undo it.
                        assert_eq!(current, b, "{at}");
                    }
                    let other = if slot == KERNEL_SLOT {
                        (BASE_SLOT, BASE_A)
                    } else {
                        (KERNEL_SLOT, A)
                    };
                    assert_eq!(
                        slot_vars(other.0, &r.env),
                        (other.1.into(), "".into(), "".into()),
                        "{at}"
                    );
                }
            }
        }
    }

    struct Run {
        env: GrubEnv,
        running: String,
        writes: usize,
        broken_boots: usize,
        /// A confirmation's first write landed.
        confirming: bool,
    }

    /// The device: an environment whose writes stop landing after `cut` of them (the power
    /// goes, the machine restarts, and from then on every write lands).
    struct Device {
        env: GrubEnv,
        writes: usize,
        cut: usize,
        cut_done: bool,
    }

    impl Device {
        /// Applies one write; false when the power went instead.
        fn write(&mut self, x: &Write) -> bool {
            if !self.cut_done && self.writes == self.cut {
                self.cut_done = true;
                return false;
            }
            self.writes += 1;
            self.env.set_var(x.key, &x.value).unwrap();
            true
        }

        fn write_all(&mut self, xs: &[Write]) -> bool {
            xs.iter().all(|x| self.write(x))
        }

        /// A boot: the bootloader (each of its save_env is a write too) and what it picks.
        /// Returns `slot`'s file the daemon runs on, or None if power went or B panicked.
        fn boot(
            &mut self,
            slot: BootSlot,
            b: &str,
            b_works: bool,
            broken: &mut usize,
        ) -> Option<String> {
            let mut next = self.env.clone();
            let booted = bootloader_boot(&mut next).unwrap();
            for s in BOOT_SLOTS {
                if next.var(s.status) != self.env.var(s.status) {
                    let status = next.var(s.status).to_owned();
                    if !self.write(&w(s.status, &status)) {
                        return None;
                    }
                }
            }
            let ours = if slot == KERNEL_SLOT {
                booted.kernel
            } else {
                booted.base
            };
            if ours == b && !b_works {
                *broken += 1;
                return None;
            }
            Some(ours)
        }
    }

    fn run_refresh(slot: BootSlot, a: &str, b: &str, b_works: bool, cut: usize) -> Run {
        let mut env = env(A, "", "");
        env.set(SNAP_CORE, BASE_A).unwrap();
        let mut d = Device {
            env,
            writes: 0,
            cut,
            cut_done: false,
        };
        let mut broken = 0;
        let mut reached_try = false;
        let mut confirming = false;
        // The daemon prepares the try; the reboot follows when every write landed.
        let p = slot.prepare_try(&d.env, b).unwrap();
        let mut prepared = d.write_all(&p.writes);
        for _ in 0..6 {
            let Some(running) = d.boot(slot, b, b_works, &mut broken) else {
                continue;
            };
            reached_try |= running == b;
            // The daemon starts. A try that never got its status (cut during prepare) is
            // concluded like any other; a daemon whose prepare was cut redoes it once.
            let c = slot.conclude(&d.env, &running).unwrap();
            if let Outcome::Pending { .. } = c.outcome {
                continue;
            }
            let before = d.writes;
            let landed = d.write_all(&c.writes);
            confirming |= matches!(c.outcome, Outcome::Confirmed { .. }) && d.writes > before;
            if !landed {
                continue;
            }
            if !prepared && d.env.var(slot.status).is_empty() && running == a && !reached_try {
                // The prepare was cut (so the power has gone already): the refresh task runs
                // again from the start, then reboots.
                prepared = true;
                let p = slot.prepare_try(&d.env, b).unwrap();
                assert!(d.write_all(&p.writes));
                continue;
            }
            return Run {
                env: d.env,
                running,
                writes: d.writes,
                broken_boots: broken,
                confirming,
            };
        }
        panic!(
            "no settled boot within 6 boots ({} b_works={b_works}, cut={cut})",
            slot.what
        );
    }
}
