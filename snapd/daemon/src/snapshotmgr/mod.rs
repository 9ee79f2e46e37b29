//! The snapshot manager: `snap save`, `saved`, `check-snapshot`, `restore`, `forget`,
//! `export-snapshot`/`import-snapshot` and the automatic snapshot on removal, as changes of
//! tasks around the engine (`snap-snapshots`, `spec/snapshots.md`).
//!
//! State, as snapd's: `last-snapshot-set-id` (the highest id handed out) and `snapshots`
//! (set id → `{"expiry-time"}` of automatic sets; the engine also keeps the expiry in each
//! snapshot, which is what pruning reads).

pub mod aside;
mod creds;
pub mod handlers;
pub mod ops;
pub mod policy;
pub mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use snap_core::dirs::Dirs;
use snap_snapshots::{Snapshots, User, discover_users};
use snap_state::{State, StateError, StateStore};

pub const LAST_SET_ID_KEY: &str = "last-snapshot-set-id";
pub const SNAPSHOTS_KEY: &str = "snapshots";
/// How often expired automatic snapshots are looked for (snapd checks on its ensure loop).
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Hands out the next set id and records it, so that no two changes get the same one (the
/// caller commits the state).
pub fn allocate_set_id(st: &mut State, snaps: &Snapshots) -> Result<u64, AllocError> {
    let last: u64 = st.get(LAST_SET_ID_KEY)?.unwrap_or(0);
    let id = snaps.next_set_id(last)?;
    st.set(LAST_SET_ID_KEY, &id)?;
    Ok(id)
}

#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Snapshots(#[from] snap_snapshots::SnapshotError),
}

/// The users a request names (all users when `names` is empty); names of users with no
/// `~/snap` are left out, as snapd skips them.
pub fn select_users(dirs: &Dirs, names: &[String]) -> snap_snapshots::Result<Vec<User>> {
    let all = discover_users(dirs)?;
    Ok(all
        .into_iter()
        .filter(|u| names.is_empty() || names.contains(&u.name))
        .collect())
}

/// Every data base (`var/snap/NAME`, `~/snap/NAME`) on the root, with the user owning it.
fn data_bases(dirs: &Dirs) -> Vec<(PathBuf, Option<(u32, u32)>)> {
    let mut out = Vec::new();
    let mut add = |parent: PathBuf, owner: Option<(u32, u32)>| {
        if let Ok(rd) = std::fs::read_dir(&parent) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    out.push((e.path(), owner));
                }
            }
        }
    };
    add(dirs.snap_data_root(), None);
    for u in discover_users(dirs).unwrap_or_default() {
        // Listing the user's ~/snap is itself done as the user by the recovery; here only
        // the names are read, and a symlinked ~/snap is skipped.
        let snap = u.home.join("snap");
        if snap.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            add(snap, Some((u.uid, u.gid)));
        }
    }
    out
}

/// Before the daemon serves: removes the engine's staging leftovers of an interrupted save,
/// import or forget, recovers data an interrupted restore left in hidden directories, and
/// prunes expired automatic snapshots.
pub fn startup(dirs: &Dirs, store: &StateStore) -> anyhow::Result<()> {
    let snaps = Snapshots::new(dirs);
    snaps.clean_staging()?;
    for d in aside::recover_engine_leftovers(&data_bases(dirs)) {
        tracing::warn!("put back {} after an interrupted restore", d.display());
    }
    prune(&snaps, store);
    Ok(())
}

/// Forgets expired automatic sets and their state entries.
fn prune(snaps: &Snapshots, store: &StateStore) {
    match snaps.prune_expired(SystemTime::now()) {
        Ok(ids) if !ids.is_empty() => {
            tracing::info!("pruned expired snapshot sets {ids:?}");
            let mut st = store.lock();
            for id in ids {
                let _ = st.remove_entry(SNAPSHOTS_KEY, &id.to_string());
            }
            if let Err(e) = st.commit() {
                tracing::error!("cannot record pruned snapshots: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::error!("cannot prune expired snapshots: {e}"),
    }
}

/// Prunes expired automatic snapshots every hour, on its own thread (the engine is
/// synchronous).
pub fn spawn_pruner(dirs: Dirs, store: Arc<StateStore>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("snapshot-pruner".into())
        .spawn(move || {
            let snaps = Snapshots::new(&dirs);
            loop {
                std::thread::sleep(PRUNE_INTERVAL);
                prune(&snaps, &store);
            }
        })
        .map(drop)
}
