//! Where the boot files are and which kernel and base run: the boot directory (grub's
//! prefix holding `grubenv`, or U-Boot's boot partition holding `uboot.env` or
//! `uboot/ubuntu/boot.sel`, each with one `<name>_<rev>.snap/` directory per extracted
//! kernel where the bootloader loads it from) and the kernel command line. Both come from
//! the environment so that tests can point them at a test root.

use std::path::{Path, PathBuf};

use gadget_kernel::Bootloader;
use gadget_kernel::boot::ubootscr::ScriptLayout;
use gadget_kernel::boot::{BASE_SLOT, BootEnv, BootSlot, KERNEL_SLOT, kernel_assets_dir};
use snap_core::dirs::Dirs;

use super::envfile;

/// The boot directory, overriding the default (`<root>/boot/grub`, or `<root>/boot/uboot`
/// when that holds a U-Boot environment).
pub const BOOT_DIR_ENV: &str = "SNAPD_BOOT_DIR";
/// A file read instead of `/proc/cmdline` (tests simulate the booted kernel with it).
pub const CMDLINE_FILE_ENV: &str = "SNAPD_TEST_CMDLINE_FILE";

/// The bootloader environment a boot directory holds, which decides where the daemon reads
/// and writes the try-boot variables and where it extracts kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootLayout {
    /// grub (UC16/18): the directory is grub's prefix (`EFI/ubuntu` of the ESP), holding
    /// `grubenv` and the kernels.
    Grub,
    /// U-Boot, UC16/18: the directory is the boot partition (snapd's `/boot/uboot`), with
    /// `uboot.env` and the kernels at its root.
    UbootUc16,
    /// U-Boot, UC20+ layout: `uboot/ubuntu/boot.sel` and the kernels beside it.
    UbootUc20,
}

impl BootLayout {
    /// In the order they are looked for: a directory holding a grubenv is grub's, whatever
    /// else it holds.
    pub const ALL: [BootLayout; 3] = [
        BootLayout::Grub,
        BootLayout::UbootUc16,
        BootLayout::UbootUc20,
    ];

    pub fn bootloader(self) -> Bootloader {
        match self {
            BootLayout::Grub => Bootloader::Grub,
            BootLayout::UbootUc16 | BootLayout::UbootUc20 => Bootloader::UBoot,
        }
    }

    /// The environment file, relative to the boot directory: for U-Boot the one the boot
    /// script (`ubootscr`) imports and saves.
    pub fn env_file(self) -> &'static str {
        match self {
            BootLayout::Grub => envfile::GRUBENV,
            BootLayout::UbootUc16 => ScriptLayout::UC16.env_file,
            BootLayout::UbootUc20 => ScriptLayout::UC20.env_file,
        }
    }

    /// The directory of the kernels, relative to the boot directory (`""` for itself): for
    /// U-Boot `kernel_assets_dir`, where the image builder extracts the seeded kernel and
    /// the script loads kernels from. grub's boot directory already is its prefix.
    pub fn kernels_dir(self) -> &'static str {
        match self {
            BootLayout::Grub => "",
            BootLayout::UbootUc16 => {
                kernel_assets_dir(Bootloader::UBoot, false).expect("U-Boot extracts kernels")
            }
            BootLayout::UbootUc20 => {
                kernel_assets_dir(Bootloader::UBoot, true).expect("U-Boot extracts kernels")
            }
        }
    }

    /// Whether kernels carry their device trees to the boot partition (`dtbs/`): U-Boot's
    /// script loads `<kernel>/dtbs/${fdtfile}` on boards that name one.
    pub fn extracts_dtbs(self) -> bool {
        self.bootloader() == Bootloader::UBoot
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootConfig {
    /// grub's prefix directory (UC16/18: the ESP's `EFI/ubuntu`, at `/boot/grub`), or
    /// U-Boot's boot partition (at `/boot/uboot`).
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
        let default_dir = || {
            let grub = dirs.root().join("boot/grub");
            let uboot = dirs.root().join("boot/uboot");
            if layout_of(&grub).is_none() && layout_of(&uboot).is_some() {
                uboot
            } else {
                grub
            }
        };
        BootConfig {
            boot_dir: var(BOOT_DIR_ENV).unwrap_or_else(default_dir),
            cmdline_file: var(CMDLINE_FILE_ENV).unwrap_or_else(|| PathBuf::from("/proc/cmdline")),
        }
    }

    /// The environment the boot directory holds, if any (looked up on every call: cheap,
    /// and never stale).
    pub fn layout(&self) -> Option<BootLayout> {
        layout_of(&self.boot_dir)
    }

    /// The environment file the daemon reads and rewrites (`grubenv` when there is none, so
    /// that errors name a file).
    pub fn env_path(&self) -> PathBuf {
        self.boot_dir
            .join(self.layout().unwrap_or(BootLayout::Grub).env_file())
    }

    /// [`BootConfig::env_path`], under the name it had when only grub was managed (still
    /// used by tests written for grub).
    #[cfg(test)]
    pub fn grubenv(&self) -> PathBuf {
        self.env_path()
    }

    /// Whether this device boots through an environment we manage: only then does a kernel
    /// refresh go through a try-boot (elsewhere, e.g. a classic host, the kernel snap is
    /// only linked).
    pub fn manages_boot(&self) -> bool {
        self.layout().is_some()
    }

    /// The directory a kernel's boot files are extracted to.
    pub fn kernel_dir(&self, kernel_file: &str) -> PathBuf {
        let dir = self.layout().unwrap_or(BootLayout::Grub).kernels_dir();
        self.boot_dir.join(dir).join(kernel_file)
    }

    /// Whether kernels are extracted with their `dtbs/` ([`BootLayout::extracts_dtbs`]).
    pub fn extracts_dtbs(&self) -> bool {
        self.layout().is_some_and(BootLayout::extracts_dtbs)
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
            let Ok(env) = envfile::read(&self.env_path()) else {
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

fn layout_of(dir: &Path) -> Option<BootLayout> {
    BootLayout::ALL
        .into_iter()
        .find(|l| dir.join(l.env_file()).is_file())
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
        assert_eq!(c.env_path(), Path::new("/r/boot/grub/grubenv"));
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
        std::fs::write(c.env_path(), e.encode().unwrap()).unwrap();
        assert_eq!(c.refresh_slot("kernel", "pc-kernel"), Some(KERNEL_SLOT));
        assert_eq!(c.refresh_slot("base", "core22"), Some(BASE_SLOT));
        assert_eq!(c.refresh_slot("base", "core24"), None);
        assert_eq!(c.refresh_slot("base", "core"), None);
        assert_eq!(c.refresh_slot("app", "core22"), None);
        // An environment without a base: no base is booted.
        e.set("snap_core", "").unwrap();
        std::fs::write(c.env_path(), e.encode().unwrap()).unwrap();
        assert_eq!(c.refresh_slot("base", "core22"), None);
    }

    #[test]
    fn the_environment_found_decides_the_layout() {
        use gadget_kernel::image::env::ubootenv::UbootEnv;
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let dirs = Dirs::new(root);
        // Nothing: grub's default directory, no boot managed.
        let c = BootConfig::from_env(&dirs);
        assert_eq!(c.boot_dir, root.join("boot/grub"));
        assert_eq!(c.layout(), None);
        assert!(!c.manages_boot());

        // U-Boot, UC16/18: uboot.env at the root of the boot partition, kernels beside it
        // (where the script loads them, and the image builder puts the seeded one).
        let uboot = root.join("boot/uboot");
        std::fs::create_dir_all(&uboot).unwrap();
        let mut e = UbootEnv::new(4096, false);
        e.set("snap_kernel", "pi-kernel_x1.snap").unwrap();
        e.set("snap_core", "core22_x1.snap").unwrap();
        std::fs::write(uboot.join("uboot.env"), e.encode().unwrap()).unwrap();
        let c = BootConfig::from_env(&dirs);
        assert_eq!(c.boot_dir, uboot);
        assert_eq!(c.layout(), Some(BootLayout::UbootUc16));
        assert_eq!(c.env_path(), uboot.join("uboot.env"));
        assert_eq!(
            c.kernel_dir("pi-kernel_x2.snap"),
            uboot.join("pi-kernel_x2.snap")
        );
        assert!(c.extracts_dtbs());
        assert_eq!(
            c.kernel_dir("k_x2.snap").join("kernel.img"),
            uboot.join(gadget_kernel::boot::kernel_asset_path(
                ScriptLayout::UC16.kernels_dir,
                "k_x2.snap",
                "kernel.img"
            ))
        );
        assert_eq!(c.refresh_slot("kernel", "pi-kernel"), Some(KERNEL_SLOT));
        assert_eq!(c.refresh_slot("base", "core22"), Some(BASE_SLOT));
        assert_eq!(c.refresh_slot("base", "core24"), None);

        // UC20+: boot.sel under uboot/ubuntu, kernels there too.
        let uc20 = root.join("uc20");
        std::fs::create_dir_all(uc20.join("uboot/ubuntu")).unwrap();
        std::fs::write(uc20.join("uboot/ubuntu/boot.sel"), e.encode().unwrap()).unwrap();
        let c = BootConfig {
            boot_dir: uc20.clone(),
            cmdline_file: PathBuf::from("/proc/cmdline"),
        };
        assert_eq!(c.layout(), Some(BootLayout::UbootUc20));
        assert_eq!(c.env_path(), uc20.join("uboot/ubuntu/boot.sel"));
        assert_eq!(
            c.kernel_dir("k_x2.snap"),
            uc20.join(ScriptLayout::UC20.kernels_dir).join("k_x2.snap")
        );

        // A grubenv wins, in the default directory and in a given one; grub keeps no dtbs.
        let grub = root.join("boot/grub");
        std::fs::create_dir_all(&grub).unwrap();
        let mut g = gadget_kernel::image::env::grubenv::GrubEnv::new();
        g.set("snap_kernel", "pc-kernel_x1.snap").unwrap();
        std::fs::write(grub.join("grubenv"), g.encode().unwrap()).unwrap();
        let c = BootConfig::from_env(&dirs);
        assert_eq!(c.boot_dir, grub);
        assert_eq!(c.layout(), Some(BootLayout::Grub));
        assert!(!c.extracts_dtbs());
        std::fs::write(uboot.join("grubenv"), g.encode().unwrap()).unwrap();
        let c = BootConfig {
            boot_dir: uboot.clone(),
            cmdline_file: PathBuf::from("/proc/cmdline"),
        };
        assert_eq!(c.layout(), Some(BootLayout::Grub));
        assert_eq!(c.kernel_dir("k_x2.snap"), uboot.join("k_x2.snap"));
    }

    #[test]
    fn the_layouts_are_the_scripts_and_the_image_builders() {
        for (layout, script) in [
            (BootLayout::UbootUc16, ScriptLayout::UC16),
            (BootLayout::UbootUc20, ScriptLayout::UC20),
        ] {
            // `kernels_dir` is the image builder's; the script must load from there too.
            assert_eq!(layout.kernels_dir(), script.kernels_dir);
        }
    }
}
