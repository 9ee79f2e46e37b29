//! At daemon start: the `seed` change that installs the seeded snaps, made once per unseeded
//! start. Everything is read and checked before the state is touched, so a refused seed leaves
//! neither a change nor a file behind.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use snap_core::SnapType;
use snap_core::dirs::Dirs;
use snap_squashfs::SnapFile;
use snap_state::{ChangeId, State, StateStore};

use super::seed::{self, SeedEntry};
use super::{CHANGE_KIND, GADGET_CONNECT, MARK_SEEDED, is_seeded};
use crate::snapmgr::model::{SnapState, all_snaps};
use crate::snapmgr::ops::{OpError, add_install_file_chain, new_change};
use crate::snapmgr::plan::{InstallFlags, check_install};

/// Where the seed of a classic-style image (no grade) is: `var/lib/snapd/seed/` in
/// `system-data`, which is the device's root once booted.
pub fn seed_dir(dirs: &Dirs) -> PathBuf {
    dirs.root().join("var/lib/snapd/seed")
}

/// [`ensure_seeding`] at daemon start: a seed that cannot be used is logged and kept as a
/// warning (`snap warnings`), and the daemon serves anyway, unseeded.
pub fn at_start(store: &StateStore, dirs: &Dirs) {
    if let Err(e) = ensure_seeding(store, dirs) {
        let msg = format!("cannot seed the system: {e:#}");
        tracing::error!("{msg}");
        let mut st = store.lock();
        // snapd's default: shown again a day later if it is still there.
        st.add_warning(&msg, std::time::Duration::from_secs(24 * 3600));
        if let Err(e) = st.commit() {
            tracing::error!("cannot record the seeding warning: {e}");
        }
    }
}

/// What to do at start: `None` when there is no seed or the device is seeded; else the
/// `seed` change to wait for (the unfinished one of an earlier start, or a new one). A seed
/// that cannot be used is an error: nothing is installed, and the next start tries again.
pub fn ensure_seeding(store: &StateStore, dirs: &Dirs) -> anyhow::Result<Option<ChangeId>> {
    let dir = seed_dir(dirs);
    let seed_yaml = dir.join("seed.yaml");
    if !seed_yaml.exists() {
        return Ok(None);
    }
    {
        let st = store.lock();
        if is_seeded(&st) {
            return Ok(None);
        }
        // A daemon stopped (or killed) while seeding: the runner resumes that change.
        if let Some(c) = st
            .changes()
            .find(|c| c.kind() == CHANGE_KIND && !c.is_ready())
        {
            return Ok(Some(c.id()));
        }
    }
    let text = fs::read_to_string(&seed_yaml)
        .with_context(|| format!("cannot read {}", seed_yaml.display()))?;
    let entries = seed::parse(&text)?;
    let ordered = read_and_order(&dir, entries)?;

    // The uploads the chains take ownership of; a start that dies before the change is
    // committed leaves them to `remove_stale_uploads` of the next start.
    let mut uploads = Vec::with_capacity(ordered.len());
    for (e, _) in &ordered {
        let from = dir.join("snaps").join(&e.file);
        let to = dirs.upload_dir().join(format!("seed-{}", e.file));
        if let Err(err) = fs::copy(&from, &to) {
            remove_all(&uploads);
            let _ = fs::remove_file(&to);
            return Err(err)
                .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()));
        }
        uploads.push(to);
    }
    let mut st = store.lock();
    let made = check_all(&st, &ordered, &uploads)
        .and_then(|()| build_change(&mut st, &dir, &ordered, &uploads));
    match made {
        Ok(chg) => {
            st.commit()?;
            tracing::info!("seeding: change {chg} installs {} snaps", ordered.len());
            Ok(Some(chg))
        }
        Err(e) => {
            drop(st);
            remove_all(&uploads);
            Err(e)
        }
    }
}

/// Every check of every snap, against the state as it is now and the snaps seeded before
/// it, before any task is added; and no other change may touch these snaps.
fn check_all(
    st: &State,
    ordered: &[(SeedEntry, SnapType)],
    uploads: &[PathBuf],
) -> anyhow::Result<()> {
    let mut view = all_snaps(st)?;
    for ((e, _), upload) in ordered.iter().zip(uploads) {
        let snap = SnapFile::open(upload)
            .and_then(|f| f.snap_yaml())
            .with_context(|| format!("seed snap {}", e.file))?;
        check_install(&snap, &flags(e), &view)
            .with_context(|| format!("cannot seed snap {:?}", e.name))?;
        view.insert(e.name.clone(), planned_entry(&snap));
    }
    let names: Vec<&str> = ordered.iter().map(|(e, _)| e.name.as_str()).collect();
    st.check_conflict_many(&names, None)
        .map_err(|c| anyhow::anyhow!("cannot seed now: {}", c.message()))
}

fn remove_all(files: &[PathBuf]) {
    for f in files {
        let _ = fs::remove_file(f);
    }
}

fn flags(e: &SeedEntry) -> InstallFlags {
    // Seeded snaps are unasserted local files, installed as `--dangerous` ones are.
    InstallFlags {
        dangerous: true,
        devmode: e.devmode,
        classic: e.classic,
    }
}

/// What the checks of later snaps see of a snap seeded before them.
fn planned_entry(snap: &snap_core::SnapYaml) -> SnapState {
    SnapState {
        snap_type: snap.snap_type.as_str().to_owned(),
        sequence: vec![crate::snapmgr::model::RevisionInfo::from_yaml(
            snap,
            SnapState::next_local_revision(None),
            0,
            String::new(),
            String::new(),
        )],
        current: SnapState::next_local_revision(None),
        active: true,
        devmode: false,
        classic: false,
        tracking_channel: None,
        snap_id: None,
    }
}

/// Reads each file's snap.yaml, checks it against its entry, and sorts the entries into
/// install order.
fn read_and_order(
    dir: &Path,
    entries: Vec<SeedEntry>,
) -> anyhow::Result<Vec<(SeedEntry, SnapType)>> {
    let mut typed = Vec::with_capacity(entries.len());
    for e in entries {
        let path = dir.join("snaps").join(&e.file);
        let snap = SnapFile::open(&path)
            .and_then(|f| f.snap_yaml())
            .with_context(|| format!("cannot read seed snap {:?}", e.file))?;
        seed::check_file(&e, &snap.name, snap.snap_type)?;
        typed.push((e, snap.snap_type));
    }
    Ok(seed::install_order(typed))
}

/// The change: each snap's install chain after the previous one, all in one lane (so that a
/// failure anywhere undoes every snap), then `gadget-connect` and `mark-seeded`. The state is
/// modified only if every chain could be added.
fn build_change(
    st: &mut State,
    dir: &Path,
    ordered: &[(SeedEntry, SnapType)],
    uploads: &[PathBuf],
) -> anyhow::Result<ChangeId> {
    let names: Vec<&str> = ordered.iter().map(|(e, _)| e.name.as_str()).collect();
    let mut view: BTreeMap<String, SnapState> = all_snaps(st)?;
    // Checked already; this pass cannot fail on the snaps themselves.
    let chg = new_change(st, CHANGE_KIND, "Initialize system state", &names)?;
    let lane = st.new_lane();
    let mut prev_last = None;
    for ((e, _), upload) in ordered.iter().zip(uploads) {
        let shown = dir.join("snaps").join(&e.file).display().to_string();
        let (tasks, name, entry) =
            match add_install_file_chain(st, chg, lane, upload, &shown, &flags(e), &view) {
                Ok(r) => r,
                Err(err) => {
                    abandon(st, chg);
                    return Err(seed_error(&e.name, err));
                }
            };
        if let (Some(p), Some(first)) = (prev_last, tasks.first()) {
            st.wait_for(*first, p)?;
        }
        prev_last = tasks.last().copied().or(prev_last);
        view.insert(name, entry);
    }
    let connect = st.new_task_in(
        chg,
        GADGET_CONNECT,
        "Connect plugs and slots as set by the gadget",
    )?;
    let mark = st.new_task_in(chg, MARK_SEEDED, "Mark system seeded")?;
    for t in [connect, mark] {
        st.task_mut(t).expect("just created").join_lane(lane);
    }
    if let Some(p) = prev_last {
        st.wait_for(connect, p)?;
    }
    st.wait_for(mark, connect)?;
    st.change_mut(chg)
        .expect("just created")
        .set("api-data", &serde_json::json!({ "snap-names": names }))?;
    Ok(chg)
}

/// A change whose planning failed half-way: nothing of it has run, so aborting it makes it
/// ready without effects (the state is not committed by the caller either way).
fn abandon(st: &mut State, chg: ChangeId) {
    if let Err(e) = st.abort_change(chg) {
        tracing::error!("cannot abandon the seed change {chg}: {e}");
    }
}

fn seed_error(name: &str, e: OpError) -> anyhow::Error {
    anyhow::anyhow!("cannot seed snap {name:?}: {e}")
}
