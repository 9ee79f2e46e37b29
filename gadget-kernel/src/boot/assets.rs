//! Where a kernel's boot files are extracted on the boot partition (`system-boot`), which
//! the image builder does for the seeded kernel and the daemon does for a refresh.

use crate::model::Bootloader;

/// The directory, relative to the `system-boot` filesystem, that holds one directory per
/// kernel file (`<dir>/<name>_<rev>.snap/kernel.img`); `None` where the bootloader reads
/// kernels from elsewhere (piboot: the seed; lk and android-boot: raw partitions).
///
/// grub keeps them beside its `grub.cfg` and `grubenv` under its prefix `EFI/ubuntu`
/// (UC16/18 and UC20+ alike); U-Boot reads them from the partition's root on UC16/18
/// (snapd's `boot/uboot`, mounted over the ESP) and from `uboot/ubuntu` on UC20+.
pub fn kernel_assets_dir(bootloader: Bootloader, has_modes: bool) -> Option<&'static str> {
    match (bootloader, has_modes) {
        (Bootloader::Grub, _) => Some("EFI/ubuntu"),
        (Bootloader::UBoot, false) => Some(""),
        (Bootloader::UBoot, true) => Some("uboot/ubuntu"),
        _ => None,
    }
}

/// The path of `file` (a boot file such as `kernel.img`) of the kernel `kernel_file` on the
/// boot partition.
pub fn kernel_asset_path(dir: &str, kernel_file: &str, file: &str) -> String {
    if dir.is_empty() {
        format!("{kernel_file}/{file}")
    } else {
        format!("{dir}/{kernel_file}/{file}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_bootloader_directories() {
        assert_eq!(
            kernel_assets_dir(Bootloader::Grub, false),
            Some("EFI/ubuntu")
        );
        assert_eq!(
            kernel_assets_dir(Bootloader::Grub, true),
            Some("EFI/ubuntu")
        );
        assert_eq!(kernel_assets_dir(Bootloader::UBoot, false), Some(""));
        assert_eq!(
            kernel_assets_dir(Bootloader::UBoot, true),
            Some("uboot/ubuntu")
        );
        assert_eq!(kernel_assets_dir(Bootloader::Piboot, true), None);
        assert_eq!(
            kernel_asset_path("", "pi-kernel_x1.snap", "kernel.img"),
            "pi-kernel_x1.snap/kernel.img"
        );
        assert_eq!(
            kernel_asset_path("EFI/ubuntu", "pc-kernel_x1.snap", "initrd.img"),
            "EFI/ubuntu/pc-kernel_x1.snap/initrd.img"
        );
    }
}
