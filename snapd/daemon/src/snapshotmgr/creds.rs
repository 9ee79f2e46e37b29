//! Acting as a user on this thread while moving that user's snap data.
//!
//! A home belongs to its user, who can swap `~/snap` for a symlink at any moment; root renaming
//! or deleting there by path could be sent anywhere. As the engine does for its own work in
//! homes (`spec/snapshots.md`, "Users' data is handled as the user"), the thread switches its
//! effective ids for those steps, so the kernel judges every path as the user's. Linux
//! credentials are per thread, and rustix makes the raw per-thread calls.

use rustix::process::{Gid, Uid, getgroups};
use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};

/// While alive, this thread acts as the user; dropping it returns to root.
pub struct AsUser {
    groups: Vec<Gid>,
}

impl AsUser {
    /// Switches to `owner` when given and when running as root (else there is nothing to
    /// switch from), or does nothing.
    pub fn enter(owner: Option<(u32, u32)>) -> std::io::Result<Option<AsUser>> {
        let Some((uid, gid)) = owner.filter(|_| rustix::process::geteuid().is_root()) else {
            return Ok(None);
        };
        let groups = getgroups()?;
        let guard = AsUser { groups };
        set_thread_groups(&[Gid::from_raw(gid)])?;
        set_thread_res_gid(None, Gid::from_raw(gid), None)?;
        set_thread_res_uid(None, Uid::from_raw(uid), None)?;
        Ok(Some(guard))
    }
}

impl Drop for AsUser {
    fn drop(&mut self) {
        // uid first: it gives back the capability the gid calls need. A failure leaves the
        // thread less privileged, never more.
        let _ = set_thread_res_uid(None, Uid::ROOT, None);
        let _ = set_thread_res_gid(None, Gid::ROOT, None);
        let _ = set_thread_groups(&self.groups);
    }
}
