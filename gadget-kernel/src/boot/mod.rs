//! Try-boot of kernel refreshes, as data and pure logic (`spec/boot.md`).
//!
//! The device's bootloader environment holds three variables: `snap_kernel` (the kernel
//! known to boot, as its file name `<name>_<rev>.snap`), `snap_try_kernel` (a candidate) and
//! `kernel_status` (`""`, `try`, `trying`). Before rebooting into a new kernel the daemon
//! writes [`prepare_try`]'s writes; the bootloader ([`grubcfg`], modelled by
//! [`bootloader_select`]) turns `try` into `trying` and boots the candidate once, and turns a
//! `trying` it finds at boot into `""` and boots `snap_kernel`; at its next start the daemon
//! calls [`conclude`] with the kernel that is running ([`running_kernel`] reads it from the
//! kernel command line) and learns whether the candidate was confirmed or the bootloader
//! fell back, with the writes that settle the environment. Every function returns the writes
//! in the order they must reach the disk, one variable each: any prefix of them leaves a
//! device that boots a good kernel (the power-cut test in `trykernel.rs` tries every prefix).

mod assets;
pub mod grubcfg;
mod trykernel;

pub use assets::{kernel_asset_path, kernel_assets_dir};
pub use trykernel::{
    BootEnv, Conclusion, KERNEL_STATUS, Outcome, Prepared, SNAP_KERNEL, SNAP_TRY_KERNEL, Write,
    apply, bootloader_select, cancel_try, check_kernel_file, conclude, prepare_try, running_kernel,
    set_kernel_without_try,
};

/// Why a try-boot step cannot be taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    #[error("{0:?} is not a kernel file name (<name>_<revision>.snap)")]
    BadKernelFile(String),
    #[error(
        "a kernel try is already in progress (kernel_status={status:?}, snap_try_kernel={try_kernel:?})"
    )]
    TryInProgress { status: String, try_kernel: String },
    #[error("unknown kernel_status {0:?} in the boot environment")]
    UnknownStatus(String),
    #[error(
        "the running kernel {running:?} is neither snap_kernel {kernel:?} nor snap_try_kernel {try_kernel:?}"
    )]
    UnknownRunningKernel {
        running: String,
        kernel: String,
        try_kernel: String,
    },
    #[error(
        "kernel_status is \"try\" but the running kernel is {running:?}: the bootloader did not run the try protocol"
    )]
    TryNotStarted { running: String },
    #[error("cannot write the boot environment: {0}")]
    Env(#[from] crate::image::env::EnvError),
    #[error("grub.cfg: {0}")]
    GrubCfg(String),
}
