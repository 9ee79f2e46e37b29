//! Where the boot files are and which kernel and base run: the grub boot directory (holding
//! `grubenv` and one `<name>_<rev>.snap/` directory per extracted kernel) and the kernel
//! command line. Both come from the environment so that tests can point them at a test root.

use std::path::{Path, PathBuf};

use gadget_kernel::boot::{BASE_SLOT, BootEnv, BootSlot, KERNEL_SLOT};
use snap_core::dirs::Dirs;

/// The boot directory, overriding `<root>/boot/grub`.
pub const BOOT_DIR_ENV: &str = "SNAPD_BOOT_DIR";
/// A file read instead of `/proc/cmdline` (tests simulate the booted kernel with it).
pub const CMDLINE_FILE_ENV: &str = "SNAPD_TEST_CMDLINE_FILE";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootConfig {
    /// grub's prefix directory: on UC16/18 the ESP's `EFI/ubuntu`, mounted at `/boot/grub`.
    pub boot_dir: PathBuf,
    pub cmdline_file: PathBuf,
}

impl BootConfig {
    pub fn from_env(dirs: &Dirs) -> BootConfig {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        BootConfig {
            boot_dir: var(BOOT_DIR_ENV).unwrap_or_else(|| dirs.root().join("boot/grub")),
            cmdline_file: var(CMDLINE_FILE_ENV).unwrap_or_else(|| PathBuf::from("/proc/cmdline")),
        }
    }

    pub fn grubenv(&self) -> PathBuf {
        self.boot_dir.join("grubenv")
    }

    /// Whether this device boots through a grubenv we manage: only then does a kernel
    /// refresh go through a try-boot (elsewhere, e.g. a classic host, the kernel snap is
    /// only linked).
    pub fn manages_boot(&self) -> bool {
        self.grubenv().is_file()
    }

    /// The directory a kernel's boot files are extracted to.
    pub fn kernel_dir(&self, kernel_file: &str) -> PathBuf {
        self.boot_dir.join(kernel_file)
    }

    /// The file of `slot` the system was booted with, if the command line names one.
    pub fn running(&self, slot: BootSlot) -> anyhow::Result<Option<String>> {
        read_running(slot, &self.cmdline_file)
    }

    /// The boot slot a refresh of the snap `name` of type `snap_type` goes through, if it is
    /// tried across a reboot: a kernel on a device whose boot we manage, or the base the
    /// environment names as the boot base (`snap_core`); other bases are not booted and
    /// refresh as before. An environment we cannot read counts as naming the base: the
    /// refresh then fails at `prepare-boot` rather than leave the bootloader on a revision
    /// a later refresh may discard.
    pub fn refresh_slot(&self, snap_type: &str, name: &str) -> Option<BootSlot> {
        let slot = slot_of(snap_type)?;
        if !self.manages_boot() {
            return None;
        }
        if slot == BASE_SLOT {
            let Ok(env) = super::envfile::read(&self.grubenv()) else {
                return Some(slot);
            };
            let boot_base = env.var(slot.current);
            let named = boot_base
                .strip_suffix(".snap")
                .and_then(|s| s.rsplit_once('_'))
                .is_some_and(|(n, _)| n == name);
            return named.then_some(slot);
        }
        Some(slot)
    }
}

/// The boot slot of a snap type that has one: kernels and bases.
pub fn slot_of(snap_type: &str) -> Option<BootSlot> {
    use snap_core::SnapType;
    if snap_type == SnapType::Kernel.as_str() {
        Some(KERNEL_SLOT)
    } else if snap_type == SnapType::Base.as_str() {
        Some(BASE_SLOT)
    } else {
        None
    }
}

fn read_running(slot: BootSlot, path: &Path) -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the kernel command line {}", path.display()))?;
    Ok(slot.running(&text).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_files_from_a_cmdline_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("cmdline");
        std::fs::write(
            &f,
            "console=ttyS0 snap_kernel=pc-kernel_x2.snap snap_core=core22_x1.snap panic=-1\n",
        )
        .unwrap();
        assert_eq!(
            read_running(KERNEL_SLOT, &f).unwrap().as_deref(),
            Some("pc-kernel_x2.snap")
        );
        assert_eq!(
            read_running(BASE_SLOT, &f).unwrap().as_deref(),
            Some("core22_x1.snap")
        );
        std::fs::write(&f, "console=ttyS0 snap_kernel=pc-kernel_x2.snap\n").unwrap();
        assert_eq!(read_running(BASE_SLOT, &f).unwrap(), None);
        std::fs::write(&f, "console=ttyS0\n").unwrap();
        assert_eq!(read_running(KERNEL_SLOT, &f).unwrap(), None);
        assert!(read_running(KERNEL_SLOT, &d.path().join("missing")).is_err());
    }

    #[test]
    fn boot_dir_defaults_under_the_root() {
        let c = BootConfig {
            boot_dir: PathBuf::from("/r/boot/grub"),
            cmdline_file: PathBuf::from("/proc/cmdline"),
        };
        assert_eq!(c.grubenv(), Path::new("/r/boot/grub/grubenv"));
        assert_eq!(
            c.kernel_dir("k_x1.snap"),
            Path::new("/r/boot/grub/k_x1.snap")
        );
        assert!(!c.manages_boot());
        assert_eq!(c.refresh_slot("kernel", "k"), None);
    }

    #[test]
    fn only_the_boot_base_is_tried() {
        let d = tempfile::tempdir().unwrap();
        let c = BootConfig {
            boot_dir: d.path().to_owned(),
            cmdline_file: PathBuf::from("/proc/cmdline"),
        };
        let mut e = gadget_kernel::image::env::grubenv::GrubEnv::new();
        e.set("snap_kernel", "pc-kernel_x1.snap").unwrap();
        e.set("snap_core", "core22_x1.snap").unwrap();
        std::fs::write(c.grubenv(), e.encode().unwrap()).unwrap();
        assert_eq!(c.refresh_slot("kernel", "pc-kernel"), Some(KERNEL_SLOT));
        assert_eq!(c.refresh_slot("base", "core22"), Some(BASE_SLOT));
        assert_eq!(c.refresh_slot("base", "core24"), None);
        assert_eq!(c.refresh_slot("base", "core"), None);
        assert_eq!(c.refresh_slot("app", "core22"), None);
        // An environment without a base: no base is booted.
        e.set("snap_core", "").unwrap();
        std::fs::write(c.grubenv(), e.encode().unwrap()).unwrap();
        assert_eq!(c.refresh_slot("base", "core22"), None);
    }
}
