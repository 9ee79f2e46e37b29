//! Try-boot of kernel and base refreshes, as data and pure logic (`spec/boot.md`).
//!
//! The device's bootloader environment holds three variables per [`BootSlot`], the kernel's
//! and the base's: `snap_kernel` (the kernel known to boot, as its file name
//! `<name>_<rev>.snap`), `snap_try_kernel` (a candidate) and `kernel_status` (`""`, `try`,
//! `trying`); `snap_core`, `snap_try_core` and `base_status` for the base. Before rebooting
//! into a new kernel the daemon writes [`prepare_try`]'s writes; the bootloader
//! ([`grubcfg`], modelled by [`bootloader_boot`]) turns `try` into `trying` and boots the
//! candidate once, and turns a `trying` it finds at boot into `""` and boots `snap_kernel`;
//! at its next start the daemon calls [`conclude`] with the kernel that is running
//! ([`running_kernel`] reads it from the kernel command line) and learns whether the
//! candidate was confirmed or the bootloader fell back, with the writes that settle the
//! environment. A base goes the same way through [`BASE_SLOT`]'s methods, independently of
//! the kernel. Every function returns the writes in the order they must reach the disk, one
//! variable each: any prefix of them leaves a device that boots a good kernel and base (the
//! power-cut test in `trykernel.rs` tries every prefix).

mod assets;
pub mod grubcfg;
mod trykernel;
pub mod ubootscr;

pub use assets::{kernel_asset_path, kernel_assets_dir};
pub use trykernel::{
    BASE_SLOT, BASE_STATUS, BOOT_SLOTS, BootEnv, BootSlot, Booted, Conclusion, KERNEL_SLOT,
    KERNEL_STATUS, Outcome, Prepared, SNAP_CORE, SNAP_KERNEL, SNAP_TRY_CORE, SNAP_TRY_KERNEL,
    Write, apply, bootloader_boot, bootloader_select, cancel_try, check_kernel_file, conclude,
    prepare_try, running_kernel, set_kernel_without_try,
};

/// Why a try-boot step cannot be taken. The slot is boxed to keep the error small: it is on
/// the `Err` side of every function of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    #[error("{0:?} is not a snap file name (<name>_<revision>.snap)")]
    BadKernelFile(String),
    #[error(
        "a {} try is already in progress ({}={status:?}, {}={candidate:?})",
        slot.what, slot.status, slot.candidate
    )]
    TryInProgress {
        slot: Box<BootSlot>,
        status: String,
        candidate: String,
    },
    #[error("unknown {} {status:?} in the boot environment", slot.status)]
    UnknownStatus { slot: Box<BootSlot>, status: String },
    #[error(
        "the running {} {running:?} is neither {} {current:?} nor {} {candidate:?}",
        slot.what, slot.current, slot.candidate
    )]
    UnknownRunning {
        slot: Box<BootSlot>,
        running: String,
        current: String,
        candidate: String,
    },
    #[error(
        "{} is \"try\" but the running {} is {running:?}: the bootloader did not run the try protocol",
        slot.status, slot.what
    )]
    TryNotStarted {
        slot: Box<BootSlot>,
        running: String,
    },
    #[error("cannot write the boot environment: {0}")]
    Env(#[from] crate::image::env::EnvError),
    #[error("grub.cfg: {0}")]
    GrubCfg(String),
}
