//! The one error type of this crate: every variant names the operation and the path(s) involved.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong at the privileged edge.
///
/// Messages read as `<operation> <path>: <cause>`, e.g.
/// `attaching /var/lib/snapd/snaps/hello_1.snap to a loop device: Device or resource busy (os error 16)`.
#[derive(Debug, thiserror::Error)]
pub enum SysError {
    /// `LOOP_CTL_GET_FREE`, opening `/dev/loopN` or `LOOP_CONFIGURE` failed (or stayed `EBUSY`).
    #[error("attaching {image} to a loop device: {source}")]
    Attach { image: PathBuf, source: io::Error },

    /// The kernel refused the image as squashfs (`EINVAL` or, for an image shorter than a
    /// superblock, `EIO` from `fsconfig(FSCONFIG_CMD_CREATE)`).
    /// `detail` carries the kernel's fs-context log (e.g. "Can't find a SQUASHFS superblock").
    #[error("mounting {device} on {target}: {image} is not a valid squashfs image ({detail})")]
    InvalidImage {
        image: PathBuf,
        device: PathBuf,
        target: PathBuf,
        detail: String,
    },

    /// Any other failure of `fsopen`/`fsconfig`/`fsmount`/`move_mount`.
    #[error("mounting {device} on {target}: {source}")]
    Mount {
        device: PathBuf,
        target: PathBuf,
        source: io::Error,
    },

    /// `target` is already a mount point, but not of `image`.
    #[error("mounting {image} on {target}: target is already a mount point of {mounted}")]
    AlreadyMounted {
        image: PathBuf,
        target: PathBuf,
        mounted: String,
    },

    /// `umount2` failed.
    #[error("unmounting {target}: {source}")]
    Unmount { target: PathBuf, source: io::Error },

    /// `/proc/self/mountinfo` could not be read.
    #[error("reading mount table {path}: {source}")]
    MountTable { path: PathBuf, source: io::Error },

    /// A line of `/proc/self/mountinfo` did not have the documented shape.
    #[error("parsing mount table line {line}: {reason}")]
    MountTableParse { line: usize, reason: String },

    /// A filesystem operation on one path failed; `op` is a verb phrase such as "writing".
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// A `rename(2)` failed.
    #[error("renaming {from} to {to}: {source}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },

    /// `remove_dir_all_if_exists` refused to recurse into a directory with a mount beneath it.
    #[error("refusing to remove {path}: {mount_point} is mounted beneath it")]
    MountedBeneath { path: PathBuf, mount_point: PathBuf },
}

impl SysError {
    /// The underlying OS error, when there is one (to match on `raw_os_error()`).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            SysError::Attach { source, .. }
            | SysError::Mount { source, .. }
            | SysError::Unmount { source, .. }
            | SysError::MountTable { source, .. }
            | SysError::Io { source, .. }
            | SysError::Rename { source, .. } => Some(source),
            SysError::InvalidImage { .. }
            | SysError::AlreadyMounted { .. }
            | SysError::MountTableParse { .. }
            | SysError::MountedBeneath { .. } => None,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        SysError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
