//! The revisions of a kernel or of the boot base that the boot environment names, which must
//! stay on the device: the bootloader loads `snap_kernel`'s or `snap_try_kernel`'s files from
//! the boot partition and the initramfs mounts `snap_core`'s or `snap_try_core`'s snap file.
//! Removing one of them would leave the bootloader pointing at a missing file, so a removal
//! is refused and the discard of old revisions at the end of a refresh keeps them
//! (`spec/boot.md`, "Daemon"). A revert of the kernel or of the boot base reuses the
//! refresh's `prepare-boot` so that the reverted-to revision becomes the one that boots.

use gadget_kernel::boot::{BASE_SLOT, BootEnv, BootSlot, KERNEL_SLOT};
use snap_core::Revision;
use snap_state::TaskContext;

use super::config::slot_of;
use super::{BootConfig, envfile, extract, kernel_file};

/// The variable of the boot environment that names `name`'s revision `rev`, if one does.
/// A device whose boot we do not manage names nothing. An environment that cannot be read
/// is an error: whether the revision boots cannot be told, and the caller must not remove it.
pub fn naming_var(
    boot: &BootConfig,
    snap_type: &str,
    name: &str,
    rev: Revision,
) -> anyhow::Result<Option<&'static str>> {
    // UC16's `os` snap is what `snap_core` names there, though it is not tried as a base.
    if (slot_of(snap_type).is_none() && snap_type != "os") || !boot.manages_boot() {
        return Ok(None);
    }
    let env = envfile::read(&boot.env_path())?;
    Ok(var_naming(&env, &kernel_file(name, rev)))
}

/// Which of the four variables (both slots' current and candidate) is `file`. Both slots are
/// checked whatever the snap's type: a file named anywhere is in use.
fn var_naming(env: &impl BootEnv, file: &str) -> Option<&'static str> {
    [KERNEL_SLOT, BASE_SLOT]
        .into_iter()
        .flat_map(|s| [s.current, s.candidate])
        .find(|v| env.var(v) == file)
}

/// Removes the boot files of a discarded kernel revision from the boot partition (a
/// kernel's are extracted there; a base has none). Only a revision nothing names: the
/// caller checked with [`naming_var`] first, and this checks again.
pub fn remove_boot_files(
    boot: &BootConfig,
    snap_type: &str,
    name: &str,
    rev: Revision,
) -> anyhow::Result<()> {
    if slot_of(snap_type) != Some(KERNEL_SLOT) || !boot.manages_boot() {
        return Ok(());
    }
    if naming_var(boot, snap_type, name, rev)?.is_some() {
        return Ok(());
    }
    extract::remove(&boot.kernel_dir(&kernel_file(name, rev)))
}

/// Whether the task belongs to a revert (`snap revert`): its `prepare-boot` tries a
/// revision that booted before rather than a new one.
pub fn is_revert(ctx: &TaskContext<'_>) -> bool {
    ctx.with_state(|st| {
        st.change(ctx.change_id())
            .is_some_and(|c| c.kind() == "revert-snap")
    })
}

/// What `prepare-boot` waits with: "reboot required to try the new kernel" for a refresh,
/// "reboot required to try the reverted kernel" for a revert.
pub fn reboot_reason(ctx: &TaskContext<'_>, slot: BootSlot) -> String {
    if is_revert(ctx) {
        format!("reboot required to try the reverted {}", slot.what)
    } else {
        super::handlers::reboot_reason(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gadget_kernel::image::env::grubenv::GrubEnv;
    use std::path::PathBuf;

    fn device() -> (tempfile::TempDir, BootConfig) {
        let d = tempfile::tempdir().unwrap();
        let c = BootConfig {
            boot_dir: d.path().to_owned(),
            cmdline_file: PathBuf::from("/proc/cmdline"),
        };
        (d, c)
    }

    fn write_env(c: &BootConfig, vars: &[(&str, &str)]) {
        let mut e = GrubEnv::new();
        for (k, v) in vars {
            e.set(k, v).unwrap();
        }
        std::fs::write(c.grubenv(), e.encode().unwrap()).unwrap();
    }

    #[test]
    fn every_variable_of_both_slots_protects_its_file() {
        let (_d, c) = device();
        let x = |n| Revision::local(n);
        // No grubenv: a device whose boot we do not manage names nothing.
        assert_eq!(naming_var(&c, "kernel", "k", x(1)).unwrap(), None);
        write_env(
            &c,
            &[
                ("snap_kernel", "k_x1.snap"),
                ("snap_try_kernel", "k_x2.snap"),
                ("snap_core", "core22_x3.snap"),
                ("snap_try_core", "core22_x4.snap"),
            ],
        );
        assert_eq!(
            naming_var(&c, "kernel", "k", x(1)).unwrap(),
            Some("snap_kernel")
        );
        assert_eq!(
            naming_var(&c, "kernel", "k", x(2)).unwrap(),
            Some("snap_try_kernel")
        );
        assert_eq!(naming_var(&c, "kernel", "k", x(3)).unwrap(), None);
        assert_eq!(
            naming_var(&c, "base", "core22", x(3)).unwrap(),
            Some("snap_core")
        );
        assert_eq!(
            naming_var(&c, "base", "core22", x(4)).unwrap(),
            Some("snap_try_core")
        );
        assert_eq!(naming_var(&c, "base", "core22", x(1)).unwrap(), None);
        // Apps are never booted.
        assert_eq!(naming_var(&c, "app", "k", x(1)).unwrap(), None);
        // An environment that cannot be read protects everything.
        std::fs::write(c.grubenv(), b"not an environment").unwrap();
        assert!(naming_var(&c, "kernel", "k", x(3)).is_err());
    }

    #[test]
    fn only_an_unnamed_kernels_boot_files_go() {
        let (_d, c) = device();
        write_env(&c, &[("snap_kernel", "k_x2.snap")]);
        for f in ["k_x1.snap", "k_x2.snap"] {
            std::fs::create_dir_all(c.kernel_dir(f)).unwrap();
            std::fs::write(c.kernel_dir(f).join("kernel.img"), "K").unwrap();
        }
        remove_boot_files(&c, "kernel", "k", Revision::local(2)).unwrap();
        assert!(c.kernel_dir("k_x2.snap").join("kernel.img").is_file());
        remove_boot_files(&c, "kernel", "k", Revision::local(1)).unwrap();
        assert!(!c.kernel_dir("k_x1.snap").exists());
        // Gone already: nothing to do.
        remove_boot_files(&c, "kernel", "k", Revision::local(1)).unwrap();
    }
}
