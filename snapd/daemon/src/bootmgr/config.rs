//! Where the boot files are and which kernel runs: the grub boot directory (holding
//! `grubenv` and one `<name>_<rev>.snap/` directory per extracted kernel) and the kernel
//! command line. Both come from the environment so that tests can point them at a test root.

use std::path::{Path, PathBuf};

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

    /// The kernel file the running kernel was booted as, if the command line names one.
    pub fn running_kernel(&self) -> anyhow::Result<Option<String>> {
        read_running_kernel(&self.cmdline_file)
    }
}

fn read_running_kernel(path: &Path) -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the kernel command line {}", path.display()))?;
    Ok(gadget_kernel::boot::running_kernel(&text).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_kernel_from_a_cmdline_file() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("cmdline");
        std::fs::write(&f, "console=ttyS0 snap_kernel=pc-kernel_x2.snap panic=-1\n").unwrap();
        assert_eq!(
            read_running_kernel(&f).unwrap().as_deref(),
            Some("pc-kernel_x2.snap")
        );
        std::fs::write(&f, "console=ttyS0\n").unwrap();
        assert_eq!(read_running_kernel(&f).unwrap(), None);
        assert!(read_running_kernel(&d.path().join("missing")).is_err());
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
    }
}
