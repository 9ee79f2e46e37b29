//! The [`Mounter`] seam: the daemon talks to mounts through it, so its handlers can be unit
//! tested with [`FakeMounter`] (no root, no kernel) and run for real with [`KernelMounter`].

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::SysError;

/// Mounting and unmounting snap images.
pub trait Mounter: Send + Sync {
    /// Mounts squashfs `image` read-only on directory `target`; `Ok` if already mounted there.
    fn mount_squashfs(&self, image: &Path, target: &Path) -> Result<(), SysError>;
    /// Unmounts `target`; `Ok` if it is not a mount point.
    fn unmount(&self, target: &Path) -> Result<(), SysError>;
    /// Whether `target` is a mount point.
    fn is_mounted(&self, target: &Path) -> Result<bool, SysError>;
}

/// The real thing: [`crate::mount_squashfs`], [`crate::unmount`], [`crate::is_mount_point`].
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelMounter;

impl Mounter for KernelMounter {
    fn mount_squashfs(&self, image: &Path, target: &Path) -> Result<(), SysError> {
        crate::mount::mount_squashfs(image, target)
    }

    fn unmount(&self, target: &Path) -> Result<(), SysError> {
        crate::mount::unmount(target)
    }

    fn is_mounted(&self, target: &Path) -> Result<bool, SysError> {
        crate::mountinfo::is_mount_point(target)
    }
}

/// An in-memory mount table with the same contract as [`KernelMounter`]: idempotent mount of the
/// same image, [`SysError::AlreadyMounted`] for a different one, idempotent unmount.
///
/// Paths are compared as given (nothing touches the filesystem). [`FakeMounter::fail_mounts_on`]
/// makes mounts on a target fail, to test a handler's undo path.
#[derive(Debug, Default)]
pub struct FakeMounter {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    /// target → image
    mounts: BTreeMap<PathBuf, PathBuf>,
    failing: BTreeSet<PathBuf>,
}

impl FakeMounter {
    /// An empty mount table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of the table: target → image.
    pub fn mounts(&self) -> BTreeMap<PathBuf, PathBuf> {
        self.lock().mounts.clone()
    }

    /// The image mounted on `target`, if any.
    pub fn image_at(&self, target: &Path) -> Option<PathBuf> {
        self.lock().mounts.get(target).cloned()
    }

    /// From now on, mounting anything on `target` fails with `EIO`.
    pub fn fail_mounts_on(&self, target: &Path) {
        self.lock().failing.insert(target.into());
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // The state stays consistent even if a panicking test poisoned the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Mounter for FakeMounter {
    fn mount_squashfs(&self, image: &Path, target: &Path) -> Result<(), SysError> {
        let mut state = self.lock();
        if state.failing.contains(target) {
            return Err(SysError::Mount {
                device: "/dev/loop-fake".into(),
                target: target.into(),
                source: io::Error::from_raw_os_error(libc::EIO),
            });
        }
        match state.mounts.get(target) {
            Some(mounted) if mounted == image => Ok(()),
            Some(mounted) => Err(SysError::AlreadyMounted {
                image: image.into(),
                target: target.into(),
                mounted: mounted.display().to_string(),
            }),
            None => {
                state.mounts.insert(target.into(), image.into());
                Ok(())
            }
        }
    }

    fn unmount(&self, target: &Path) -> Result<(), SysError> {
        self.lock().mounts.remove(target);
        Ok(())
    }

    fn is_mounted(&self, target: &Path) -> Result<bool, SysError> {
        Ok(self.lock().mounts.contains_key(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_follows_the_contract() {
        let m = FakeMounter::new();
        let (img, img2, t) = (
            Path::new("/s/a_1.snap"),
            Path::new("/s/a_2.snap"),
            Path::new("/snap/a/1"),
        );
        assert!(!m.is_mounted(t).unwrap());
        m.mount_squashfs(img, t).unwrap();
        m.mount_squashfs(img, t).unwrap();
        assert_eq!(m.mounts().len(), 1);
        assert_eq!(m.image_at(t).as_deref(), Some(img));
        let err = m.mount_squashfs(img2, t).unwrap_err();
        assert!(matches!(err, SysError::AlreadyMounted { .. }), "{err}");
        m.unmount(t).unwrap();
        m.unmount(t).unwrap();
        assert!(!m.is_mounted(t).unwrap());
    }

    #[test]
    fn fake_injects_failures() {
        let m = FakeMounter::new();
        let t = Path::new("/snap/a/1");
        m.fail_mounts_on(t);
        let err = m.mount_squashfs(Path::new("/s/a_1.snap"), t).unwrap_err();
        assert_eq!(
            err.io_error().and_then(io::Error::raw_os_error),
            Some(libc::EIO)
        );
        assert!(m.mounts().is_empty());
    }

    #[test]
    fn usable_as_trait_object() {
        let m: std::sync::Arc<dyn Mounter> = std::sync::Arc::new(FakeMounter::new());
        m.mount_squashfs(Path::new("/i"), Path::new("/t")).unwrap();
        assert!(m.is_mounted(Path::new("/t")).unwrap());
    }
}
