//! The thin privileged edge of the daemon: loop devices, read-only squashfs mounts,
//! mount-table queries and crash-safe filesystem primitives.
//!
//! * [`mount_squashfs`] / [`unmount`]: see [`mount`] for the steps, the "same image" check that
//!   makes mounting idempotent, and when the loop device is freed.
//! * [`is_mount_point`], [`mounts_under`] ([`mountinfo`]); [`loop_backing_file`],
//!   [`loops_backed_by`] ([`loopdev`]): for the daemon and for leak checks in tests.
//! * [`fsutil`]: `atomic_write`, `replace_symlink_atomically`, `remove_if_exists`,
//!   `remove_dir_all_if_exists`.
//! * [`Mounter`]: the seam the daemon uses, with [`KernelMounter`] and [`FakeMounter`].
//!
//! Everything that mounts or attaches needs root (`CAP_SYS_ADMIN`) and `/dev/loop-control`.

pub mod error;
pub mod fsutil;
pub mod loopdev;
pub mod mount;
pub mod mounter;
pub mod mountinfo;
pub mod proc;

pub use error::SysError;
pub use fsutil::{
    atomic_write, remove_dir_all_if_exists, remove_if_exists, replace_symlink_atomically,
};
pub use loopdev::{LoopDevice, LoopInfo, loop_backing_file, loops_backed_by};
pub use mount::{mount_squashfs, unmount};
pub use mounter::{FakeMounter, KernelMounter, Mounter};
pub use mountinfo::{
    MountEntry, is_mount_point, mount_at, mounts_under, parse_mountinfo, read_mountinfo,
};
