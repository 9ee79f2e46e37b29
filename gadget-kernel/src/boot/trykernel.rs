//! The kernel try-boot state machine: what the daemon writes before a kernel refresh, what
//! the bootloader does with it, and what the daemon concludes at its next start.

use crate::image::env::EnvError;
use crate::image::env::grubenv::GrubEnv;
use crate::image::env::ubootenv::UbootEnv;

use super::BootError;

pub const SNAP_KERNEL: &str = "snap_kernel";
pub const SNAP_TRY_KERNEL: &str = "snap_try_kernel";
pub const KERNEL_STATUS: &str = "kernel_status";

const TRY: &str = "try";
const TRYING: &str = "trying";

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

/// A kernel file name as the environment and the boot partition use it:
/// `<name>_<revision>.snap`, in characters a grub script and a U-Boot script take unquoted.
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

/// What the daemon writes before rebooting into a new kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub writes: Vec<Write>,
    /// False when `kernel_file` already is the boot kernel (nothing to try).
    pub reboot: bool,
}

/// Prepares a try of `kernel_file`, whose boot files must already be extracted to the boot
/// partition and synced. Order: `snap_try_kernel` first, then `kernel_status=try`: a status
/// of `try` without a candidate would make the bootloader skip the try, and the candidate
/// alone is ignored by the bootloader (it still boots `snap_kernel`).
pub fn prepare_try(env: &impl BootEnv, kernel_file: &str) -> Result<Prepared, BootError> {
    check_kernel_file(kernel_file)?;
    let status = env.var(KERNEL_STATUS);
    if !status.is_empty() {
        return Err(BootError::TryInProgress {
            status: status.to_owned(),
            try_kernel: env.var(SNAP_TRY_KERNEL).to_owned(),
        });
    }
    if env.var(SNAP_KERNEL) == kernel_file {
        let writes = if env.var(SNAP_TRY_KERNEL).is_empty() {
            vec![]
        } else {
            vec![w(SNAP_TRY_KERNEL, "")]
        };
        return Ok(Prepared {
            writes,
            reboot: false,
        });
    }
    Ok(Prepared {
        writes: vec![w(SNAP_TRY_KERNEL, kernel_file), w(KERNEL_STATUS, TRY)],
        reboot: true,
    })
}

/// Withdraws a try that has not been booted (the refresh is undone before its reboot).
/// Order: the status first, so the bootloader no longer tries, then the candidate.
pub fn cancel_try(env: &impl BootEnv) -> Vec<Write> {
    let mut out = Vec::new();
    if !env.var(KERNEL_STATUS).is_empty() {
        out.push(w(KERNEL_STATUS, ""));
    }
    if !env.var(SNAP_TRY_KERNEL).is_empty() {
        out.push(w(SNAP_TRY_KERNEL, ""));
    }
    out
}

/// Makes `kernel_file` the boot kernel directly, without a try (undoing a refresh that was
/// confirmed: both kernels are known to boot). Order: end any try first, then switch.
pub fn set_kernel_without_try(
    env: &impl BootEnv,
    kernel_file: &str,
) -> Result<Vec<Write>, BootError> {
    check_kernel_file(kernel_file)?;
    let mut out = cancel_try(env);
    if env.var(SNAP_KERNEL) != kernel_file {
        out.push(w(SNAP_KERNEL, kernel_file));
    }
    Ok(out)
}

/// What the daemon learns at its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No try in progress; the boot kernel runs.
    NoTry,
    /// `kernel_status=try`: the bootloader has not run since the try was prepared (the daemon
    /// restarted without a reboot). Nothing to do yet.
    Pending { try_kernel: String },
    /// The candidate booted and the daemon runs on it: the refresh is confirmed.
    Confirmed { kernel: String },
    /// The candidate did not reach the daemon and the bootloader fell back to the boot
    /// kernel: the refresh must be undone (its extracted files removed).
    FellBack { tried: String, running: String },
}

/// The outcome and the writes that settle the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conclusion {
    pub outcome: Outcome,
    pub writes: Vec<Write>,
}

/// Concludes a boot, given the kernel that is running (from `snap_kernel=` on the kernel
/// command line, see [`running_kernel`]).
///
/// Confirming writes `snap_kernel` first, while the status still says `trying`: cut there,
/// the bootloader clears `trying` and boots `snap_kernel`, which is now the confirmed
/// kernel; only then are the status and the candidate cleared. Clearing the status first
/// would let a cut boot the old kernel and turn a good refresh into a rollback.
pub fn conclude(env: &impl BootEnv, running: &str) -> Result<Conclusion, BootError> {
    let kernel = env.var(SNAP_KERNEL);
    let try_kernel = env.var(SNAP_TRY_KERNEL);
    let status = env.var(KERNEL_STATUS);
    let unknown = || BootError::UnknownRunningKernel {
        running: running.to_owned(),
        kernel: kernel.to_owned(),
        try_kernel: try_kernel.to_owned(),
    };
    let done = |outcome, writes| Ok(Conclusion { outcome, writes });
    let fell_back = |writes| {
        done(
            Outcome::FellBack {
                tried: try_kernel.to_owned(),
                running: running.to_owned(),
            },
            writes,
        )
    };
    match status {
        TRY if running == kernel => done(
            Outcome::Pending {
                try_kernel: try_kernel.to_owned(),
            },
            vec![],
        ),
        TRY => Err(BootError::TryNotStarted {
            running: running.to_owned(),
        }),
        TRYING if !try_kernel.is_empty() && running == try_kernel => {
            let mut writes = Vec::new();
            if kernel != try_kernel {
                writes.push(w(SNAP_KERNEL, try_kernel));
            }
            writes.extend([w(KERNEL_STATUS, ""), w(SNAP_TRY_KERNEL, "")]);
            done(
                Outcome::Confirmed {
                    kernel: try_kernel.to_owned(),
                },
                writes,
            )
        }
        // `trying` while the boot kernel runs: the bootloader set it but did not boot the
        // candidate (none was set). Nothing was tried that could be confirmed.
        TRYING if running == kernel => fell_back(cancel_try(env)),
        TRYING => Err(unknown()),
        "" if try_kernel.is_empty() => {
            if running == kernel {
                done(Outcome::NoTry, vec![])
            } else {
                Err(unknown())
            }
        }
        // A confirmation cut after `snap_kernel` was written and the bootloader cleared
        // `trying`: the candidate is the boot kernel and runs.
        "" if kernel == try_kernel && running == kernel => done(
            Outcome::Confirmed {
                kernel: kernel.to_owned(),
            },
            vec![w(SNAP_TRY_KERNEL, "")],
        ),
        // The bootloader found `trying` (the candidate never got here), cleared it and
        // booted the boot kernel; or the try was prepared only as far as the candidate.
        "" if running == kernel => fell_back(vec![w(SNAP_TRY_KERNEL, "")]),
        "" => Err(unknown()),
        other => Err(BootError::UnknownStatus(other.to_owned())),
    }
}

/// The kernel file the running kernel was booted as: the `snap_kernel=` argument our boot
/// configurations put on the command line.
pub fn running_kernel(cmdline: &str) -> Option<&str> {
    // The kernel and its init take the last of repeated arguments.
    cmdline
        .split_ascii_whitespace()
        .rev()
        .find_map(|a| a.strip_prefix("snap_kernel="))
        .filter(|k| !k.is_empty())
}

/// The bootloader's half of the protocol, as the grub.cfg of [`super::grubcfg`] runs it:
/// updates `env` as the script's `save_env` does and returns the kernel file it boots.
/// Tests hold the daemon's writes against this model; the qemu boot test holds the real
/// grub.cfg against the same behaviour.
pub fn bootloader_select(env: &mut impl BootEnv) -> Result<String, EnvError> {
    let kernel = env.var(SNAP_KERNEL).to_owned();
    let try_kernel = env.var(SNAP_TRY_KERNEL).to_owned();
    match env.var(KERNEL_STATUS) {
        "" => Ok(kernel),
        TRY if !try_kernel.is_empty() => {
            env.set_var(KERNEL_STATUS, TRYING)?;
            Ok(try_kernel)
        }
        _ => {
            env.set_var(KERNEL_STATUS, "")?;
            Ok(kernel)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "pc-kernel_1.snap";
    const B: &str = "pc-kernel_2.snap";

    fn env(kernel: &str, try_kernel: &str, status: &str) -> GrubEnv {
        let mut e = GrubEnv::new();
        e.set(SNAP_KERNEL, kernel).unwrap();
        e.set(SNAP_TRY_KERNEL, try_kernel).unwrap();
        e.set(KERNEL_STATUS, status).unwrap();
        e
    }

    fn vars(e: &impl BootEnv) -> (String, String, String) {
        (
            e.var(SNAP_KERNEL).into(),
            e.var(SNAP_TRY_KERNEL).into(),
            e.var(KERNEL_STATUS).into(),
        )
    }

    #[test]
    fn kernel_file_names() {
        assert!(check_kernel_file("pc-kernel_x1.snap").is_ok());
        assert!(check_kernel_file("pc-kernel_123.snap").is_ok());
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
        assert_eq!(
            prepare_try(&env(A, B, "try"), B),
            Err(BootError::TryInProgress {
                status: "try".into(),
                try_kernel: B.into()
            })
        );
        assert!(matches!(
            prepare_try(&env(A, "", ""), "B"),
            Err(BootError::BadKernelFile(_))
        ));
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
            Err(BootError::TryNotStarted { running: B.into() })
        );
        assert!(matches!(
            conclude(&env(A, B, ""), "other_1.snap"),
            Err(BootError::UnknownRunningKernel { .. })
        ));
        assert!(matches!(
            conclude(&env(A, "", ""), B),
            Err(BootError::UnknownRunningKernel { .. })
        ));
        assert_eq!(
            conclude(&env(A, B, "bogus"), A),
            Err(BootError::UnknownStatus("bogus".into()))
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
    fn running_kernel_comes_from_the_command_line() {
        assert_eq!(
            running_kernel("console=ttyS0 snap_kernel=pc-kernel_2.snap panic=-1"),
            Some("pc-kernel_2.snap")
        );
        assert_eq!(running_kernel("console=ttyS0 snap_kernel="), None);
        assert_eq!(running_kernel("quiet"), None);
    }

    /// One refresh from A to B, with the power cut after every possible number of writes
    /// (the daemon's writes and the bootloader's `save_env`), for a B that boots and one
    /// that panics. After the cut the device boots on until the daemon settles: every boot
    /// reaches a working kernel or (once at most) the broken candidate, the environment ends
    /// with no try in it, the daemon runs the boot kernel, a broken B is never kept, and a
    /// working B is kept without a cut or once the daemon's confirmation began to land.
    #[test]
    fn a_power_cut_at_any_write_leaves_a_bootable_device() {
        for b_works in [true, false] {
            // Count the writes of an uninterrupted run first.
            let total = run_refresh(b_works, usize::MAX).writes;
            assert!(total >= 4, "{total}");
            for cut in 0..=total {
                let r = run_refresh(b_works, cut);
                let at = format!("b_works={b_works} cut={cut}");
                let (kernel, try_kernel, status) = vars(&r.env);
                assert_eq!(status, "", "{at}");
                assert_eq!(try_kernel, "", "{at}");
                assert_eq!(r.running, kernel, "{at}");
                assert!(r.broken_boots <= 1, "{at}");
                if !b_works {
                    assert_eq!(kernel, A, "{at}");
                    if cut == total {
                        assert_eq!(r.broken_boots, 1, "{at}");
                    }
                } else if cut == total || r.confirming {
                    // Once a confirmation has begun to land, a cut cannot undo it.
                    assert_eq!(kernel, B, "{at}");
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

        /// A boot: the bootloader (its save_env is a write too) and the kernel it picks.
        /// Returns the kernel that runs the daemon, or None if power went or B panicked.
        fn boot(&mut self, b_works: bool, broken: &mut usize) -> Option<String> {
            let mut next = self.env.clone();
            let kernel = bootloader_select(&mut next).unwrap();
            if next != self.env {
                let status = next.var(KERNEL_STATUS).to_owned();
                if !self.write(&w(KERNEL_STATUS, &status)) {
                    return None;
                }
            }
            if kernel == B && !b_works {
                *broken += 1;
                return None;
            }
            Some(kernel)
        }
    }

    fn run_refresh(b_works: bool, cut: usize) -> Run {
        let mut d = Device {
            env: env(A, "", ""),
            writes: 0,
            cut,
            cut_done: false,
        };
        let mut broken = 0;
        let mut reached_try = false;
        let mut confirming = false;
        // The daemon prepares the try; the reboot follows when every write landed.
        let p = prepare_try(&d.env, B).unwrap();
        let mut prepared = d.write_all(&p.writes);
        for _ in 0..6 {
            let Some(running) = d.boot(b_works, &mut broken) else {
                continue;
            };
            reached_try |= running == B;
            // The daemon starts. A try that never got its status (cut during prepare) is
            // concluded like any other; a daemon whose prepare was cut redoes it once.
            let c = conclude(&d.env, &running).unwrap();
            if let Outcome::Pending { .. } = c.outcome {
                continue;
            }
            let before = d.writes;
            let landed = d.write_all(&c.writes);
            confirming |= matches!(c.outcome, Outcome::Confirmed { .. }) && d.writes > before;
            if !landed {
                continue;
            }
            if !prepared && d.env.var(KERNEL_STATUS).is_empty() && running == A && !reached_try {
                // The prepare was cut (so the power has gone already): the refresh task runs
                // again from the start, then reboots.
                prepared = true;
                let p = prepare_try(&d.env, B).unwrap();
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
        panic!("no settled boot within 6 boots (b_works={b_works}, cut={cut})");
    }
}
