//! Kernel and base try-boot, the daemon's half (`spec/boot.md`, "Daemon"): a kernel refresh
//! extracts the new kernel to the boot partition, a refresh of the boot base needs nothing
//! there; either asks the bootloader to try the new revision once, through the snap's boot
//! slot (`gadget_kernel::boot::BootSlot`), and waits for the reboot (`prepare-boot`); at
//! the next start the daemon concludes the try from the boot environment and the running
//! kernel or base, and either finishes the refresh or undoes it.
//!
//! The decisions are gadget-kernel's pure `boot` functions and [`decide`]; this module does
//! the file I/O (extraction, the boot environment rewritten in place with an fsync per
//! write: grub's `grubenv`, or the `uboot.env` / `boot.sel` of U-Boot's boot script, through
//! one abstraction, [`envfile`]) and the state changes.

pub mod config;
pub mod decide;
pub mod envfile;
pub mod extract;
pub mod handlers;
pub mod revisions;
pub mod startup;

pub use config::BootConfig;
pub use startup::at_start;

/// The task kind of the reboot point of a kernel or base refresh.
pub const PREPARE_BOOT: &str = "prepare-boot";

/// The name a kernel or base has in the boot environment (and a kernel on the boot
/// partition).
pub fn kernel_file(name: &str, rev: snap_core::Revision) -> String {
    format!("{name}_{rev}.snap")
}

#[cfg(test)]
mod tests {
    use snap_core::Revision;

    use crate::snapmgr::model::SnapState;
    use crate::snapmgr::plan::{RefreshSource, boot_refresh_tasks, refresh_tasks};

    #[test]
    fn a_kernel_refresh_waits_for_its_reboot_right_after_link_snap() {
        let mut st = SnapState {
            snap_type: "kernel".into(),
            sequence: vec![],
            current: Revision::local(1),
            active: true,
            devmode: false,
            classic: false,
            tracking_channel: None,
            snap_id: None,
        };
        let src = RefreshSource::File("k.snap".into());
        let kinds = |plan: Vec<crate::snapmgr::plan::TaskPlan>| -> Vec<&'static str> {
            plan.into_iter().map(|t| t.kind).collect()
        };
        let plain = kinds(refresh_tasks("k", &src, &st, Revision::local(2), 2));
        let kernel = boot_refresh_tasks("k", &src, &st, Revision::local(2), 2);
        assert!(
            kernel
                .iter()
                .any(|t| t.summary == "Prepare kernel \"k\" (x2) for the next boot")
        );
        let kernel = kinds(kernel);
        let link = plain.iter().position(|k| *k == "link-snap").unwrap();
        let mut expected = plain.clone();
        expected.insert(link + 1, super::PREPARE_BOOT);
        assert_eq!(kernel, expected);
        // A base gets the same chain.
        st.snap_type = "base".into();
        let base = boot_refresh_tasks("core22", &src, &st, Revision::local(2), 2);
        assert!(
            base.iter()
                .any(|t| t.summary == "Prepare base \"core22\" (x2) for the next boot")
        );
        assert_eq!(kinds(base), expected);
        assert_eq!(super::kernel_file("k", Revision::local(2)), "k_x2.snap");
        assert_eq!(super::kernel_file("k", Revision::store(7)), "k_7.snap");
    }
}
