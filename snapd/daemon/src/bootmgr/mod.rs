//! Kernel try-boot, the daemon's half (`spec/boot.md`, "Daemon"): a kernel refresh extracts
//! the new kernel to the boot partition, asks the bootloader to try it once and waits for the
//! reboot (`prepare-boot`); at the next start the daemon concludes the try from the boot
//! environment and the running kernel, and either finishes the refresh or undoes it.
//!
//! The decisions are gadget-kernel's pure `boot` functions and [`decide`]; this module does
//! the file I/O (extraction, the grubenv rewritten in place with an fsync per write) and the
//! state changes. Only grub (UC16/18 layout) for now.

pub mod config;
pub mod decide;
pub mod envfile;
pub mod extract;
pub mod handlers;
pub mod startup;

pub use config::BootConfig;
pub use startup::at_start;

/// The task kind of the reboot point of a kernel refresh.
pub const PREPARE_BOOT: &str = "prepare-boot";

/// The name a kernel has in the boot environment and on the boot partition.
pub fn kernel_file(name: &str, rev: snap_core::Revision) -> String {
    format!("{name}_{rev}.snap")
}
