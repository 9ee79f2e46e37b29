//! What the daemon does, at its start, with a kernel refresh waiting for its reboot: pure,
//! from the boot environment, the refresh's kernel file and the running kernel.

use gadget_kernel::boot::{BootEnv, Outcome, SNAP_KERNEL, Write, conclude};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The new kernel booted: apply the writes, then finish the refresh.
    Confirm { writes: Vec<Write> },
    /// The bootloader fell back to `running`: apply the writes, then undo the refresh.
    FallBack { writes: Vec<Write>, running: String },
    /// Nothing can be settled now (no reboot yet, or a state we cannot read): keep waiting.
    Leave { why: String },
}

/// Decides for the refresh to `ours` (`<name>_<rev>.snap`).
///
/// Besides `conclude`'s outcomes, a settled environment (`NoTry`) is read against the
/// refresh: the daemon applies the environment writes before it records the change, so a
/// crash between the two leaves `snap_kernel` naming the confirmed kernel (confirm again,
/// nothing to write) or the old one (the fallback had been settled: undo).
pub fn decide(env: &impl BootEnv, ours: &str, running: Option<&str>) -> Action {
    let Some(running) = running else {
        return Action::Leave {
            why: "the kernel command line has no snap_kernel=".into(),
        };
    };
    let c = match conclude(env, running) {
        Ok(c) => c,
        Err(e) => {
            return Action::Leave { why: e.to_string() };
        }
    };
    match c.outcome {
        Outcome::Confirmed { kernel } if kernel == ours => Action::Confirm { writes: c.writes },
        Outcome::FellBack { tried, running } if tried == ours || tried.is_empty() => {
            Action::FallBack {
                writes: c.writes,
                running,
            }
        }
        Outcome::NoTry if env.var(SNAP_KERNEL) == ours => Action::Confirm { writes: vec![] },
        Outcome::NoTry => Action::FallBack {
            writes: vec![],
            running: running.to_owned(),
        },
        Outcome::Pending { .. } => Action::Leave {
            why: "the device has not rebooted into the new kernel yet".into(),
        },
        Outcome::Confirmed { kernel: other } | Outcome::FellBack { tried: other, .. } => {
            Action::Leave {
                why: format!("the boot environment is about another kernel, {other}"),
            }
        }
    }
}

/// The error a refresh undone by a fallback ends with.
pub fn fell_back_message(running: &str) -> String {
    format!("the new kernel failed to boot: the bootloader fell back to {running}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gadget_kernel::boot::{
        KERNEL_STATUS, SNAP_TRY_KERNEL, apply, bootloader_select, prepare_try,
    };
    use gadget_kernel::image::env::grubenv::GrubEnv;

    const OLD: &str = "k_x1.snap";
    const NEW: &str = "k_x2.snap";

    fn prepared() -> GrubEnv {
        let mut e = GrubEnv::new();
        e.set(SNAP_KERNEL, OLD).unwrap();
        let p = prepare_try(&e, NEW).unwrap();
        apply(&mut e, &p.writes).unwrap();
        e
    }

    #[test]
    fn the_new_kernel_booting_confirms_with_snap_kernel_first() {
        let mut e = prepared();
        assert_eq!(bootloader_select(&mut e).unwrap(), NEW);
        let Action::Confirm { writes } = decide(&e, NEW, Some(NEW)) else {
            panic!("not confirmed")
        };
        assert_eq!(writes[0].key, SNAP_KERNEL);
        apply(&mut e, &writes).unwrap();
        assert_eq!(
            (
                e.var(SNAP_KERNEL),
                e.var(SNAP_TRY_KERNEL),
                e.var(KERNEL_STATUS)
            ),
            (NEW, "", "")
        );
        // Settled but not yet recorded (a crash): confirmed again, nothing to write.
        assert_eq!(
            decide(&e, NEW, Some(NEW)),
            Action::Confirm { writes: vec![] }
        );
    }

    #[test]
    fn a_fallback_undoes_and_keeps_the_old_kernel() {
        let mut e = prepared();
        assert_eq!(bootloader_select(&mut e).unwrap(), NEW);
        // The new kernel never confirmed; grub finds `trying` and falls back.
        assert_eq!(bootloader_select(&mut e).unwrap(), OLD);
        let Action::FallBack { writes, running } = decide(&e, NEW, Some(OLD)) else {
            panic!("not a fallback")
        };
        assert_eq!(running, OLD);
        assert!(writes.iter().all(|w| w.key != SNAP_KERNEL));
        apply(&mut e, &writes).unwrap();
        assert_eq!(
            (
                e.var(SNAP_KERNEL),
                e.var(SNAP_TRY_KERNEL),
                e.var(KERNEL_STATUS)
            ),
            (OLD, "", "")
        );
        // Settled but not yet recorded: still undone.
        assert!(matches!(
            decide(&e, NEW, Some(OLD)),
            Action::FallBack { .. }
        ));
        assert_eq!(
            fell_back_message(OLD),
            "the new kernel failed to boot: the bootloader fell back to k_x1.snap"
        );
    }

    #[test]
    fn no_reboot_yet_or_unreadable_states_wait() {
        let e = prepared();
        assert!(matches!(decide(&e, NEW, Some(OLD)), Action::Leave { .. }));
        assert!(matches!(decide(&e, NEW, None), Action::Leave { .. }));
        // A kernel neither in the environment nor ours.
        let mut e = prepared();
        bootloader_select(&mut e).unwrap();
        assert!(matches!(
            decide(&e, NEW, Some("k_x9.snap")),
            Action::Leave { .. }
        ));
        // A try of another kernel is not ours to settle.
        assert!(matches!(
            decide(&e, "k_x3.snap", Some(NEW)),
            Action::Leave { .. }
        ));
    }
}
