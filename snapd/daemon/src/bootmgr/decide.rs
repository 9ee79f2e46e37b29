//! What the daemon does, at its start, with a kernel or base refresh waiting for its
//! reboot: pure, from the boot environment, the refresh's file and the running one of its
//! boot slot.

use gadget_kernel::boot::{BootEnv, BootSlot, Outcome, Write};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The new kernel (or base) booted: apply the writes, then finish the refresh.
    Confirm { writes: Vec<Write> },
    /// The bootloader fell back to `running`: apply the writes, then undo the refresh.
    FallBack { writes: Vec<Write>, running: String },
    /// Nothing can be settled now (no reboot yet, or a state we cannot read): keep waiting.
    Leave { why: String },
}

/// Decides for the refresh to `ours` (`<name>_<rev>.snap`) in `slot`.
///
/// Besides `conclude`'s outcomes, a settled environment (`NoTry`) is read against the
/// refresh: the daemon applies the environment writes before it records the change, so a
/// crash between the two leaves the slot's current file (`snap_kernel`, `snap_core`)
/// naming the confirmed one (confirm again, nothing to write) or the old one (the fallback
/// had been settled: undo).
pub fn decide(slot: BootSlot, env: &impl BootEnv, ours: &str, running: Option<&str>) -> Action {
    let Some(running) = running else {
        return Action::Leave {
            why: format!("the kernel command line has no {}=", slot.cmdline_key),
        };
    };
    let c = match slot.conclude(env, running) {
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
        Outcome::NoTry if env.var(slot.current) == ours => Action::Confirm { writes: vec![] },
        Outcome::NoTry => Action::FallBack {
            writes: vec![],
            running: running.to_owned(),
        },
        Outcome::Pending { .. } => Action::Leave {
            why: format!("the device has not rebooted into the new {} yet", slot.what),
        },
        Outcome::Confirmed { kernel: other } | Outcome::FellBack { tried: other, .. } => {
            Action::Leave {
                why: format!(
                    "the boot environment is about another {}, {other}",
                    slot.what
                ),
            }
        }
    }
}

/// The error a refresh undone by a fallback ends with.
pub fn fell_back_message(slot: BootSlot, running: &str) -> String {
    format!(
        "the new {} failed to boot: the bootloader fell back to {running}",
        slot.what
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gadget_kernel::boot::{
        BASE_SLOT, BASE_STATUS, KERNEL_SLOT, KERNEL_STATUS, SNAP_CORE, SNAP_KERNEL, SNAP_TRY_CORE,
        SNAP_TRY_KERNEL, apply, bootloader_boot, bootloader_select, prepare_try,
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
        let Action::Confirm { writes } = decide(KERNEL_SLOT, &e, NEW, Some(NEW)) else {
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
            decide(KERNEL_SLOT, &e, NEW, Some(NEW)),
            Action::Confirm { writes: vec![] }
        );
    }

    #[test]
    fn a_fallback_undoes_and_keeps_the_old_kernel() {
        let mut e = prepared();
        assert_eq!(bootloader_select(&mut e).unwrap(), NEW);
        // The new kernel never confirmed; grub finds `trying` and falls back.
        assert_eq!(bootloader_select(&mut e).unwrap(), OLD);
        let Action::FallBack { writes, running } = decide(KERNEL_SLOT, &e, NEW, Some(OLD)) else {
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
            decide(KERNEL_SLOT, &e, NEW, Some(OLD)),
            Action::FallBack { .. }
        ));
        assert_eq!(
            fell_back_message(KERNEL_SLOT, OLD),
            "the new kernel failed to boot: the bootloader fell back to k_x1.snap"
        );
    }

    #[test]
    fn no_reboot_yet_or_unreadable_states_wait() {
        let e = prepared();
        assert!(matches!(
            decide(KERNEL_SLOT, &e, NEW, Some(OLD)),
            Action::Leave { .. }
        ));
        assert!(matches!(
            decide(KERNEL_SLOT, &e, NEW, None),
            Action::Leave { .. }
        ));
        // A kernel neither in the environment nor ours.
        let mut e = prepared();
        bootloader_select(&mut e).unwrap();
        assert!(matches!(
            decide(KERNEL_SLOT, &e, NEW, Some("k_x9.snap")),
            Action::Leave { .. }
        ));
        // A try of another kernel is not ours to settle.
        assert!(matches!(
            decide(KERNEL_SLOT, &e, "k_x3.snap", Some(NEW)),
            Action::Leave { .. }
        ));
    }

    /// The base's try is decided the same way from its own variables, whatever the kernel's.
    #[test]
    fn a_base_is_decided_from_its_own_variables() {
        const OLD_BASE: &str = "core22_x1.snap";
        const NEW_BASE: &str = "core22_x2.snap";
        let mut e = GrubEnv::new();
        e.set(SNAP_KERNEL, OLD).unwrap();
        e.set(SNAP_CORE, OLD_BASE).unwrap();
        let p = BASE_SLOT.prepare_try(&e, NEW_BASE).unwrap();
        apply(&mut e, &p.writes).unwrap();
        assert!(matches!(
            decide(BASE_SLOT, &e, NEW_BASE, Some(OLD_BASE)),
            Action::Leave { .. }
        ));
        let mut confirmed = e.clone();
        assert_eq!(bootloader_boot(&mut confirmed).unwrap().base, NEW_BASE);
        let Action::Confirm { writes } = decide(BASE_SLOT, &confirmed, NEW_BASE, Some(NEW_BASE))
        else {
            panic!("not confirmed")
        };
        assert_eq!(writes[0].key, SNAP_CORE);
        apply(&mut confirmed, &writes).unwrap();
        assert_eq!(
            (
                confirmed.var(SNAP_CORE),
                confirmed.var(SNAP_TRY_CORE),
                confirmed.var(BASE_STATUS),
                confirmed.var(SNAP_KERNEL)
            ),
            (NEW_BASE, "", "", OLD)
        );
        // Booted once, then the fallback.
        bootloader_boot(&mut e).unwrap();
        assert_eq!(bootloader_boot(&mut e).unwrap().base, OLD_BASE);
        let Action::FallBack { writes, running } = decide(BASE_SLOT, &e, NEW_BASE, Some(OLD_BASE))
        else {
            panic!("not a fallback")
        };
        assert_eq!(
            writes,
            [gadget_kernel::boot::Write {
                key: SNAP_TRY_CORE,
                value: String::new()
            }]
        );
        assert_eq!(
            fell_back_message(BASE_SLOT, &running),
            "the new base failed to boot: the bootloader fell back to core22_x1.snap"
        );
        // A command line without snap_core= cannot tell: keep waiting.
        let Action::Leave { why } = decide(BASE_SLOT, &e, NEW_BASE, None) else {
            panic!("decided without the running base")
        };
        assert!(why.contains("snap_core="), "{why}");
    }
}
