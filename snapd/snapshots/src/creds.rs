//! Acting as a user on the current thread while touching that user's home.
//!
//! A home belongs to its user, who can swap any directory in it for a symlink at any moment;
//! root walking or writing there by path could be sent anywhere. snapd runs tar as the user for
//! user data; we switch this thread's effective ids and groups instead (Linux credentials are
//! per thread, and rustix makes the raw per-thread calls), so the kernel checks every path
//! operation as that user. The saved uid stays 0, so the switch back works; threads started
//! meanwhile inherit the user's ids, which is why callers open root-only files first.

use rustix::process::{Gid, Uid, getgroups};
use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};

use crate::error::{Result, SnapshotError};

/// While alive, this thread acts as the user; dropping it returns to root.
pub(crate) struct AsUser {
    groups: Vec<Gid>,
}

impl AsUser {
    /// Switches to `(uid, gid)` when given (user data restored or saved by root), else does
    /// nothing.
    pub(crate) fn enter(owner: Option<(u32, u32)>) -> Result<Option<AsUser>> {
        let Some((uid, gid)) = owner else {
            return Ok(None);
        };
        let fail = |e: rustix::io::Errno| SnapshotError::Io {
            op: "switch to the user's ids",
            path: Default::default(),
            source: e.into(),
        };
        let groups = getgroups().map_err(fail)?;
        let guard = AsUser { groups };
        set_thread_groups(&[Gid::from_raw(gid)]).map_err(fail)?;
        set_thread_res_gid(None, Gid::from_raw(gid), None).map_err(fail)?;
        set_thread_res_uid(None, Uid::from_raw(uid), None).map_err(fail)?;
        Ok(Some(guard))
    }
}

impl Drop for AsUser {
    fn drop(&mut self) {
        // Back to root: uid first (it restores the capabilities the gid calls need). A failure
        // leaves the thread less privileged, never more.
        let _ = set_thread_res_uid(None, Uid::ROOT, None);
        let _ = set_thread_res_gid(None, Gid::ROOT, None);
        let _ = set_thread_groups(&self.groups);
    }
}
