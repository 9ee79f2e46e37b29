//! Kernel snaps (`type: kernel`): their layout and `meta/kernel.yaml`, as pure logic over a
//! listing of the snap's files (no I/O).
//!
//! A kernel snap carries the boot image — `kernel.img` plus `initrd.img` (UC16/18, and UC20+
//! on U-Boot), or a unified `kernel.efi` (UC20+ grub) — and optionally `dtbs/`,
//! `modules/<kernel-version>/`, `firmware/`, `meta/kernel.yaml` (assets the gadget may
//! consume as `$kernel:<asset>/...`) and the `meta/force-kernel-extraction` marker.
//! [`KernelSnap::from_listing`] checks that shape; [`KernelSnap::boot_files`] names what a
//! bootloader needs extracted to the boot partition (`spec/boot.md`).

mod layout;
mod yaml;

pub use layout::{BootImage, KernelSnap, resolved_file};
pub use yaml::{KernelAsset, KernelYaml};

/// Why a kernel snap is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error("meta/kernel.yaml: {0}")]
    Yaml(String),
    #[error("meta/kernel.yaml: invalid asset name {0:?}: use only letters and digits")]
    AssetName(String),
    #[error("meta/kernel.yaml: asset {asset:?}: content path {path:?} {reason}")]
    AssetContent {
        asset: String,
        path: String,
        reason: &'static str,
    },
    #[error("the kernel snap has neither kernel.img nor kernel.efi")]
    NoKernel,
    #[error("the kernel snap has kernel.img but no initrd.img")]
    NoInitrd,
    #[error("{path} {reason}")]
    Layout { path: String, reason: String },
}
