//! Read-only squashfs mounts with the new mount API, and their removal.
//!
//! # Mounting
//!
//! 1. If `target` is already a mount point, decide whether it is *the same image* (see below):
//!    yes → done (handlers are re-run after a crash); no → [`SysError::AlreadyMounted`].
//! 2. Attach the image to a read-only, auto-clearing loop device ([`LoopDevice`]).
//! 3. `fsopen("squashfs")`, `fsconfig` `source=/dev/loopN` and flag `ro` (without it the kernel
//!    wants write access to the read-only loop and fails with `EACCES`), `FSCONFIG_CMD_CREATE`,
//!    then `fsmount(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV)`: snapd mounts snaps `ro,nodev` and
//!    *not* `nosuid`, since base snaps ship setuid helpers.
//! 4. Only now drop the loop handle: the superblock holds the block device open. (Dropped
//!    earlier, `AUTOCLEAR` would detach the device under the half-built mount.)
//! 5. `move_mount` the detached mount onto `target`, atomically.
//!
//! A failure at any step drops the loop handle and the detached mount, and `AUTOCLEAR` detaches
//! the device on that last close: no loop device is left behind.
//!
//! # The "same image" check
//!
//! The topmost mount at `target` in `/proc/self/mountinfo` is the same image iff
//! * its type is `squashfs` and its source is a loop device `/dev/loopN`;
//! * `/sys/block/loopN/loop/backing_file` equals `image` after canonicalization (the kernel
//!   prints the current path of the open backing file, with ` (deleted)` once it is unlinked, so
//!   an image replaced by a new file at the same path does not match); and
//! * `LOOP_GET_STATUS64` on `/dev/loopN` reports the `(st_dev, st_ino)` of `image`, and the
//!   device node really is the `major:minor` that mountinfo shows for the mount.
//!
//! Two concurrent `mount_squashfs` calls on one target are not serialized here; the daemon runs
//! at most one handler per snap at a time.
//!
//! # Unmounting
//!
//! [`unmount`] first tries a plain `umount2(UMOUNT_NOFOLLOW)`. When nothing uses the mount,
//! the superblock and with it the loop device are released before the call returns. If the
//! mount is busy (`EBUSY`: an app has a file open or its cwd there), it falls back to a lazy
//! `MNT_DETACH`, as snapd's mount units do with `LazyUnmount=yes`: the mount disappears from the
//! tree at once, the filesystem lives on until its last user goes away, and then the last close
//! of the block device makes `AUTOCLEAR` free the loop device. The plain attempt first keeps the
//! common case synchronous, so callers and tests can check right away that the loop is gone.

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::CWD;
use rustix::io::Errno;
use rustix::mount::{
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags, fsconfig_create,
    fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
};

use crate::error::SysError;
use crate::loopdev::{LoopDevice, backing_file_id, file_id, loop_backing_file};
use crate::mountinfo::{MountEntry, mount_at, resolve};

/// Most mounts `unmount` removes from one directory (stacked mounts) before giving up.
const MAX_STACKED_MOUNTS: usize = 16;

/// Mounts the squashfs `image` read-only (`ro,nodev`) on the existing directory `target`.
///
/// Idempotent: succeeds without mounting again if `target` already is a mount of this image.
pub fn mount_squashfs(image: &Path, target: &Path) -> Result<(), SysError> {
    let target_c = std::fs::canonicalize(target)
        .map_err(|e| SysError::io("resolving mount target", target, e))?;
    let image_c = std::fs::canonicalize(image).map_err(|source| SysError::Attach {
        image: image.into(),
        source,
    })?;

    if let Some(existing) = mount_at(&target_c)? {
        return match mounted_image(&existing, &image_c) {
            Mounted::Same => Ok(()),
            Mounted::Other(mounted) => Err(SysError::AlreadyMounted {
                image: image.into(),
                target: target.into(),
                mounted,
            }),
        };
    }

    let loopdev = LoopDevice::attach_read_only(&image_c)?;
    let device = loopdev.path().to_path_buf();
    let mount_err = |e: Errno| SysError::Mount {
        device: device.clone(),
        target: target.into(),
        source: e.into(),
    };

    let fs = fsopen("squashfs", FsOpenFlags::FSOPEN_CLOEXEC).map_err(mount_err)?;
    fsconfig_set_string(&fs, "source", loopdev.path()).map_err(mount_err)?;
    fsconfig_set_flag(&fs, "ro").map_err(mount_err)?;
    if let Err(e) = fsconfig_create(&fs) {
        let log = fs_context_log(&fs);
        // EINVAL: no squashfs superblock, or one the kernel rejects (e.g. bytes_used beyond the
        // end of the device, as in a truncated download). EIO: the image is too short to hold
        // a superblock at all. (A failing disk under the image also gives EIO; the detail
        // keeps the errno and the kernel's own words.)
        return Err(if e == Errno::INVAL || e == Errno::IO {
            SysError::InvalidImage {
                image: image.into(),
                device,
                target: target.into(),
                detail: if log.is_empty() {
                    format!("rejected by the kernel: {e}")
                } else {
                    format!("{log}: {e}")
                },
            }
        } else {
            SysError::Mount {
                device,
                target: target.into(),
                source: if log.is_empty() {
                    e.into()
                } else {
                    io::Error::new(e.kind(), format!("{e}: {log}"))
                },
            }
        });
    }
    let mnt = fsmount(
        &fs,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY | MountAttrFlags::MOUNT_ATTR_NODEV,
    )
    .map_err(mount_err)?;
    // The superblock now holds the block device open; our handle is no longer needed.
    drop(loopdev);
    drop(fs);

    move_mount(
        &mnt,
        "",
        CWD,
        &target_c,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(mount_err)
    // On error, dropping `mnt` destroys the detached mount, which releases the loop device.
}

/// Unmounts whatever is mounted on `target` (all stacked mounts); not a mount point → `Ok`.
///
/// See the module documentation for the plain-then-lazy strategy and when the loop is freed.
pub fn unmount(target: &Path) -> Result<(), SysError> {
    let target_c = resolve(target);
    let err = |source: io::Error| SysError::Unmount {
        target: target.into(),
        source,
    };
    for _ in 0..MAX_STACKED_MOUNTS {
        if mount_at(&target_c)?.is_none() {
            return Ok(());
        }
        match rustix::mount::unmount(&target_c, UnmountFlags::NOFOLLOW) {
            Ok(()) => {}
            Err(Errno::BUSY) => {
                rustix::mount::unmount(&target_c, UnmountFlags::NOFOLLOW | UnmountFlags::DETACH)
                    .or_else(ignore_not_mounted)
                    .map_err(|e| err(e.into()))?;
            }
            // Someone else unmounted it since we looked: check again.
            Err(e) => ignore_not_mounted(e).map_err(|e| err(e.into()))?,
        }
    }
    if mount_at(&target_c)?.is_none() {
        return Ok(());
    }
    Err(err(io::Error::other(format!(
        "still a mount point after {MAX_STACKED_MOUNTS} unmounts"
    ))))
}

fn ignore_not_mounted(e: Errno) -> Result<(), Errno> {
    if e == Errno::INVAL { Ok(()) } else { Err(e) }
}

enum Mounted {
    Same,
    /// Something else, described for the error message.
    Other(String),
}

/// Decides whether `entry` is a mount of `image` (already canonical); see the module docs.
fn mounted_image(entry: &MountEntry, image: &Path) -> Mounted {
    let source = PathBuf::from(&entry.source);
    let describe = |backing: Option<&Path>| {
        let mut s = format!("{} ({})", source.display(), entry.fs_type);
        if let Some(b) = backing {
            s.push_str(&format!(" backed by {}", b.display()));
        }
        s
    };
    if entry.fs_type != "squashfs" {
        return Mounted::Other(describe(None));
    }
    let Some(backing) = loop_backing_file(&source) else {
        return Mounted::Other(describe(None));
    };
    if backing != image || !same_inode(&source, entry, image) {
        return Mounted::Other(describe(Some(&backing)));
    }
    Mounted::Same
}

/// The loop device behind `entry` is backed by the very inode of `image` (see the module docs).
fn same_inode(dev: &Path, entry: &MountEntry, image: &Path) -> bool {
    matches!(
        (backing_file_id(dev, (entry.major, entry.minor)), file_id(image)),
        (Ok(a), Ok(b)) if a == b
    )
}

/// The messages the kernel logged on the fs context (e.g. "squashfs: Can't find a SQUASHFS
/// superblock on loop3"), joined with "; ". Reading the fd drains them one per `read`.
fn fs_context_log(fs: &impl std::os::fd::AsFd) -> String {
    let mut msgs = Vec::new();
    let mut buf = [0u8; 512];
    for _ in 0..16 {
        match rustix::io::read(fs, &mut buf) {
            Ok(n) if n > 0 => {
                let msg = String::from_utf8_lossy(&buf[..n]);
                // Each message is prefixed with its level: "e ", "w " or "i ".
                let msg = msg
                    .get(2..)
                    .filter(|_| msg.as_bytes().get(1) == Some(&b' '))
                    .unwrap_or(&msg);
                msgs.push(msg.trim_end().to_string());
            }
            _ => break,
        }
    }
    msgs.join("; ")
}
