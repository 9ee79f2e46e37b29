//! What the daemon does before it serves: the root's skeleton, the mounts of every installed
//! revision (after a reboot nothing is mounted), and leftovers of interrupted uploads.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use anyhow::Context;
use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_state::{StateStore, Status};

use crate::snapmgr::handlers::{Env, snap_setup_of};
use crate::snapmgr::model::all_snaps;
use crate::snapmgr::setup::{SETUP_KEY, SnapSetup};

/// The directories that exist whether or not any snap is installed, so that installing and
/// removing snaps leaves the tree as it found it.
pub fn make_skeleton(dirs: &Dirs) -> anyhow::Result<()> {
    for d in [
        dirs.snap_bin_dir(),
        dirs.blob_dir(),
        dirs.upload_dir(),
        dirs.profiles_dir(),
        dirs.sandbox_scratch_dir(),
        dirs.snap_data_root(),
        dirs.snapd_socket()
            .parent()
            .expect("socket has a parent")
            .to_owned(),
    ] {
        fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    // What the launcher binds into every sandbox and keeps users' snap data and private tmp
    // in: part of the root, made once with the modes a system has, so that running an app
    // changes nothing at this level.
    for (rel, mode) in [("home", 0o755), ("root", 0o700), ("tmp", 0o1777)] {
        let d = dirs.root().join(rel);
        if !d.exists() {
            fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
            fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .with_context(|| format!("cannot set the mode of {}", d.display()))?;
        }
    }
    Ok(())
}

/// Mounts every retained revision, and every revision an unfinished change has mounted.
pub fn restore_mounts(store: &StateStore, env: &Env) -> anyhow::Result<()> {
    let mut wanted: BTreeSet<(String, Revision)> = BTreeSet::new();
    {
        let st = store.lock();
        for (name, snap) in all_snaps(&st)? {
            for r in &snap.sequence {
                wanted.insert((name.clone(), r.revision));
            }
        }
        for chg in st.changes().filter(|c| !c.is_ready()) {
            for t in st.change_tasks(chg.id()) {
                if t.kind() == "mount-snap"
                    && t.status() == Status::Done
                    && let Ok(s) = snap_setup_of(&st, t.id())
                {
                    wanted.insert((s.name, s.revision));
                }
            }
        }
    }
    for (name, rev) in wanted {
        let target = env.dirs.mount_point(&name, rev);
        let blob = env.dirs.blob(&name, rev);
        if let Err(e) = fs::create_dir_all(&target)
            .map_err(anyhow::Error::from)
            .and_then(|()| {
                env.mounter
                    .mount_squashfs(&blob, &target)
                    .map_err(anyhow::Error::from)
            })
        {
            // One broken revision must not keep the daemon, and every other snap, down.
            tracing::error!("cannot mount {name} revision {rev}: {e:#}");
        }
    }
    Ok(())
}

/// Deletes spooled uploads no unfinished change refers to (the daemon died mid-upload).
pub fn remove_stale_uploads(store: &StateStore, dirs: &Dirs) -> anyhow::Result<()> {
    let referenced: BTreeSet<PathBuf> = {
        let st = store.lock();
        st.changes()
            .filter(|c| !c.is_ready())
            .flat_map(|c| st.change_tasks(c.id()))
            .filter_map(|t| t.get::<SnapSetup>(SETUP_KEY).ok().flatten())
            .filter_map(|s| s.snap_path)
            .collect()
    };
    let Ok(entries) = fs::read_dir(dirs.upload_dir()) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if !referenced.contains(&e.path()) {
            let _ = fs::remove_file(e.path());
        }
    }
    Ok(())
}
