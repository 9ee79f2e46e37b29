//! The operations the front ends ask for: each checks, then creates a change whose tasks do the
//! work. The REST API (and later D-Bus) call these; none of the logic lives in a front end.

use std::path::Path;

use snap_core::Revision;
use snap_squashfs::{SnapDigest, SnapFile, SquashfsError, digest_file};
use snap_state::{ChangeConflict, ChangeId, State, StateError, TaskId, Timestamp};

use super::model::{Installed, RevisionInfo, SnapState};
use super::plan::{
    DEFAULT_RETAIN, InstallFlags, RefreshSource, Refusal, RevertRefusal, TaskPlan, check_install,
    check_remove, install_tasks, refresh_tasks, remove_tasks, revert_target, revert_tasks,
};
use super::setup::{SETUP_KEY, SETUP_TASK_KEY, SnapSetup};
use crate::daemon::Daemon;
use crate::hookmgr::setup::{HOOK_SETUP_KEY, HookSetup};

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{}", .0.message())]
    Conflict(ChangeConflict),
    #[error("snap {0:?} is not installed")]
    NotInstalled(String),
    #[error("cannot read snap file {path:?}: {reason}")]
    NotASnap { path: String, reason: String },
    #[error("{0}")]
    Revert(RevertRefusal),
    #[error("{0}")]
    Internal(String),
}

impl From<StateError> for OpError {
    fn from(e: StateError) -> Self {
        OpError::Internal(e.to_string())
    }
}

/// Installs the snap in the spooled file `upload` (shown to users as `shown_path`).
/// On success the change owns the file.
pub fn install_file(
    d: &Daemon,
    upload: &Path,
    shown_path: &str,
    flags: &InstallFlags,
) -> Result<(ChangeId, String), OpError> {
    let (snap, digest) = read_snap_file(upload, shown_path)?;

    let mut st = d.store.lock();
    let existing = st.snap(&snap.name);
    if let Some(old) = &existing
        && old.snap_type != snap.snap_type.as_str()
    {
        return Err(Refusal::ChangeType {
            name: snap.name.clone(),
            from: old.snap_type.clone(),
            to: snap.snap_type.as_str().to_owned(),
        }
        .into());
    }
    check_install(&snap, flags, &*st)?;
    st.check_conflict(&snap.name).map_err(OpError::Conflict)?;

    let rev = SnapState::next_local_revision(existing.as_ref());
    let setup = file_setup(&snap, &digest, rev, upload, flags);
    let summary = format!("Install {:?} snap from file {shown_path:?}", snap.name);
    let chg = new_change(&mut st, "install-snap", &summary, &[snap.name.as_str()])?;
    let lane = st.new_lane();
    // Installing a file over an installed snap refreshes it to the file's revision (as
    // snapd's sideload does): the refresh chain, which keeps the old revision to go back to.
    let plan = match &existing {
        Some(old) => refresh_plan(
            d,
            &st,
            &snap.name,
            &RefreshSource::File(shown_path.to_owned()),
            old,
            rev,
        ),
        None => install_tasks(&snap.name, shown_path, rev),
    };
    // As snapd: the first task carries the snap-setup, the others point at it, so the change
    // log does not repeat the snap's description in every task. Tasks about another revision
    // (the old revision's hooks and services, revisions discarded) carry their own.
    add_chain(&mut st, chg, lane, &snap.name, &plan, |i, t| {
        if i == 0 {
            return Some(setup.clone());
        }
        let other = existing.as_ref().filter(|_| t.revision != rev)?;
        Some(SnapSetup::of_installed(&snap.name, other, t.revision))
    })?;
    st.change_mut(chg).expect("just created").set(
        "api-data",
        &serde_json::json!({"snap-name": snap.name, "snap-names": [snap.name]}),
    )?;
    st.commit()?;
    Ok((chg, snap.name))
}

/// Removes every revision of each named snap, each in its own lane so that one failing does
/// not roll back the others. Without `purge`, an app snap's data is saved first in an
/// automatic snapshot.
pub fn remove(d: &Daemon, names: &[String], purge: bool) -> Result<ChangeId, OpError> {
    let mut st = d.store.lock();
    let mut states = Vec::with_capacity(names.len());
    for name in names {
        let state = st
            .snap(name)
            .ok_or_else(|| OpError::NotInstalled(name.clone()))?;
        check_remove(name, names, &*st)?;
        check_not_booted(d, name, &state)?;
        if let Some(conflict) = install_needing(&st, name) {
            return Err(OpError::Conflict(conflict));
        }
        states.push(state);
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    st.check_conflict_many(&refs, None)
        .map_err(OpError::Conflict)?;
    let summary = match names {
        [one] => format!("Remove {one:?} snap"),
        many => format!(
            "Remove snaps {}",
            many.iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let chg = new_change(&mut st, "remove-snap", &summary, &refs)?;
    for (name, state) in names.iter().zip(&states) {
        let lane = st.new_lane();
        let retention = crate::snapshotmgr::policy::retention(&crate::configmgr::tx::document(
            &st,
            crate::hookmgr::handlers::SYSTEM_SNAP,
        )?);
        let auto_snapshot =
            crate::snapshotmgr::policy::auto_snapshot_on_remove(&state.snap_type, purge, retention);
        let plan = remove_tasks(name, state, auto_snapshot);
        let last_rev = state.current;
        add_chain(&mut st, chg, lane, name, &plan, |_, t| {
            Some(SnapSetup {
                name: name.clone(),
                revision: t.revision,
                snap_type: state.snap_type.clone(),
                snap_path: None,
                devmode: state.devmode,
                classic: state.classic,
                info: None,
                last: t.revision == last_rev,
            })
        })?;
    }
    st.change_mut(chg)
        .expect("just created")
        .set("api-data", &serde_json::json!({"snap-names": names}))?;
    st.commit()?;
    Ok(chg)
}

/// The tasks of refreshing `name` (installed as `old`) to `new`: a kernel snap, or the base
/// the bootloader boots, on a device whose boot the daemon manages is tried once across a
/// reboot (`bootmgr`); anything else takes the plain refresh chain.
pub(crate) fn refresh_plan(
    d: &Daemon,
    st: &State,
    name: &str,
    source: &RefreshSource,
    old: &SnapState,
    new: Revision,
) -> Vec<TaskPlan> {
    let boot = crate::bootmgr::BootConfig::from_env(&d.dirs);
    if boot.refresh_slot(&old.snap_type, name).is_some() {
        super::plan::boot_refresh_tasks(name, source, old, new, retain(st))
    } else {
        refresh_tasks(name, source, old, new, retain(st))
    }
}

/// `refresh.retain` from the system's configuration (snapd's key), within snapd's 2..=20.
pub(crate) fn retain(st: &State) -> usize {
    crate::configmgr::tx::document(st, crate::hookmgr::handlers::SYSTEM_SNAP)
        .ok()
        .and_then(|d| d.pointer("/refresh/retain").and_then(|v| v.as_u64()))
        .map_or(DEFAULT_RETAIN, |n| (n as usize).clamp(2, 20))
}

/// Reverts a snap to a retained revision: `revision`, or the one before the current.
pub fn revert(d: &Daemon, name: &str, revision: Option<Revision>) -> Result<ChangeId, OpError> {
    let mut st = d.store.lock();
    let state = st
        .snap(name)
        .ok_or_else(|| OpError::NotInstalled(name.to_owned()))?;
    let target = revert_target(name, &state, revision).map_err(OpError::Revert)?;
    st.check_conflict(name).map_err(OpError::Conflict)?;
    let chg = new_change(
        &mut st,
        "revert-snap",
        &format!("Revert {name:?} snap"),
        &[name],
    )?;
    let lane = st.new_lane();
    // A kernel, or the boot base, is booted: the reverted-to revision must become what the
    // bootloader boots, through the refresh's reboot point.
    let boot = crate::bootmgr::BootConfig::from_env(&d.dirs);
    let plan = if boot.refresh_slot(&state.snap_type, name).is_some() {
        super::plan::boot_revert_tasks(name, target, &state)
    } else {
        revert_tasks(name, target, &state)
    };
    add_chain(&mut st, chg, lane, name, &plan, |_, t| {
        Some(SnapSetup::of_installed(name, &state, t.revision))
    })?;
    st.change_mut(chg).expect("just created").set(
        "api-data",
        &serde_json::json!({"snap-name": name, "snap-names": [name]}),
    )?;
    st.commit()?;
    Ok(chg)
}

/// Refuses removing a snap any of whose revisions the boot environment names (the kernel,
/// or the boot base, of a device whose boot the daemon manages): the bootloader would be
/// left pointing at a missing file. An environment that cannot be read refuses too.
fn check_not_booted(d: &Daemon, name: &str, state: &SnapState) -> Result<(), Refusal> {
    let boot = crate::bootmgr::BootConfig::from_env(&d.dirs);
    for rev in state.sequence.iter().map(|r| r.revision) {
        let named = crate::bootmgr::revisions::naming_var(&boot, &state.snap_type, name, rev)
            .map_err(|e| Refusal::BootUnknown {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })?;
        if let Some(var) = named {
            return Err(Refusal::Booted {
                name: name.to_owned(),
                rev,
                var,
                file: crate::bootmgr::kernel_file(name, rev),
            });
        }
    }
    Ok(())
}

/// An unfinished install of a snap that runs on `base`: removing the base now would leave that
/// snap without one once it is installed.
fn install_needing(st: &State, base: &str) -> Option<ChangeConflict> {
    for chg in st.changes().filter(|c| !c.is_ready()) {
        for t in st.change_tasks(chg.id()) {
            let Ok(Some(setup)) = t.get::<SnapSetup>(SETUP_KEY) else {
                continue;
            };
            let needs = setup
                .info
                .as_ref()
                .zip(snap_core::SnapType::parse(&setup.snap_type))
                .and_then(|(info, ty)| super::plan::required_base(ty, info.base.as_deref()));
            if needs.as_deref() == Some(base) {
                return Some(ChangeConflict {
                    snap: base.to_owned(),
                    change_kind: chg.kind().to_owned(),
                    change_id: chg.id(),
                    custom_message: Some(format!(
                        "snap {base:?} is needed by snap {:?}, which has {:?} change in progress",
                        setup.name,
                        chg.kind()
                    )),
                });
            }
        }
    }
    None
}

pub(crate) fn new_change(
    st: &mut State,
    kind: &str,
    summary: &str,
    snaps: &[&str],
) -> Result<ChangeId, StateError> {
    let chg = st.new_change(kind, summary);
    st.change_mut(chg)
        .expect("just created")
        .set("snap-names", snaps)?;
    Ok(chg)
}

/// Adds the planned tasks to the change as one chain in `lane`, each waiting for the one
/// before. A task `setup_for` gives no setup of its own points at the chain's first task.
pub(crate) fn add_chain(
    st: &mut State,
    chg: ChangeId,
    lane: u64,
    snap: &str,
    plan: &[TaskPlan],
    setup_for: impl Fn(usize, &TaskPlan) -> Option<SnapSetup>,
) -> Result<(), StateError> {
    let mut first: Option<TaskId> = None;
    let mut prev = None;
    for (i, t) in plan.iter().enumerate() {
        let id = st.new_task_in(chg, t.kind, &t.summary)?;
        let task = st.task_mut(id).expect("just created");
        match (setup_for(i, t), first) {
            (Some(setup), _) => task.set(SETUP_KEY, &setup)?,
            (None, Some(f)) => task.set(SETUP_TASK_KEY, &f.to_string())?,
            (None, None) => {}
        }
        if let Some(hook) = &t.hook {
            task.set(
                HOOK_SETUP_KEY,
                &HookSetup::from_plan(snap, hook, t.revision),
            )?;
        }
        task.join_lane(lane);
        if let Some(p) = prev {
            st.wait_for(id, p)?;
        }
        first.get_or_insert(id);
        prev = Some(id);
    }
    Ok(())
}

/// The snap.yaml and digest of the snap file `upload` (shown to users as `shown_path`).
fn read_snap_file(
    upload: &Path,
    shown_path: &str,
) -> Result<(snap_core::SnapYaml, SnapDigest), OpError> {
    let not_a_snap = |reason: String| OpError::NotASnap {
        path: shown_path.to_owned(),
        reason,
    };
    let file = SnapFile::open(upload).map_err(|e| not_a_snap(reason_without_path(&e)))?;
    let snap = file
        .snap_yaml()
        .map_err(|e| not_a_snap(reason_without_path(&e)))?;
    let digest = digest_file(upload).map_err(|e| OpError::Internal(e.to_string()))?;
    Ok((snap, digest))
}

/// The setup of installing the snap file `upload` as revision `rev`, with its revision entry.
fn file_setup(
    snap: &snap_core::SnapYaml,
    digest: &SnapDigest,
    rev: Revision,
    upload: &Path,
    flags: &InstallFlags,
) -> SnapSetup {
    let info = RevisionInfo::from_yaml(
        snap,
        rev,
        digest.size,
        digest.sha384.clone(),
        Timestamp::now().to_rfc3339(),
    );
    SnapSetup {
        name: snap.name.clone(),
        revision: rev,
        snap_type: snap.snap_type.as_str().to_owned(),
        snap_path: Some(upload.to_owned()),
        devmode: flags.devmode,
        classic: flags.classic,
        info: Some(info),
        last: false,
    }
}

/// A fresh install's chain added to an existing change (first boot's seeding puts every
/// seeded snap's chain in one change). `installed` is what the checks see: the installed snaps
/// and those the change installs before this one. Returns the chain's tasks in order and the
/// entry the snap will have once linked. The change owns `upload` once this succeeds.
pub(crate) fn add_install_file_chain(
    st: &mut State,
    chg: ChangeId,
    lane: u64,
    upload: &Path,
    shown_path: &str,
    flags: &InstallFlags,
    installed: &impl Installed,
) -> Result<(Vec<TaskId>, String, SnapState), OpError> {
    let (snap, digest) = read_snap_file(upload, shown_path)?;
    if installed.snap(&snap.name).is_some() {
        return Err(OpError::Internal(format!(
            "snap {:?} is already installed",
            snap.name
        )));
    }
    // Conflicts are the caller's to check, before the change exists: the change itself
    // names the snap from its first task on.
    check_install(&snap, flags, installed)?;
    let rev = SnapState::next_local_revision(None);
    let setup = file_setup(&snap, &digest, rev, upload, flags);
    let info = setup
        .info
        .clone()
        .expect("file_setup gives the revision entry");
    let before = st.change(chg).map_or(0, |c| c.task_ids().len());
    let plan = install_tasks(&snap.name, shown_path, rev);
    add_chain(st, chg, lane, &snap.name, &plan, |i, _| {
        (i == 0).then(|| setup.clone())
    })?;
    let tasks = st
        .change(chg)
        .map(|c| c.task_ids()[before..].to_vec())
        .unwrap_or_default();
    let entry = SnapState {
        snap_type: setup.snap_type.clone(),
        sequence: vec![info],
        current: rev,
        active: true,
        devmode: flags.devmode,
        classic: flags.classic,
        tracking_channel: None,
        snap_id: None,
    };
    Ok((tasks, snap.name, entry))
}

/// What is wrong with an upload, without the spool file's path (which means nothing to the
/// user, who knows the file by the name they gave).
fn reason_without_path(e: &SquashfsError) -> String {
    match e {
        SquashfsError::NotSquashfs { reason, .. } => {
            format!("not a valid squashfs image ({reason})")
        }
        SquashfsError::NoSuchFile { inner, .. } => format!("it has no {inner}"),
        SquashfsError::InvalidSnapYaml { source, .. } => source.to_string(),
        SquashfsError::TooLarge { inner, limit, .. } => {
            format!("its {inner} is larger than {limit} bytes")
        }
        other => other.to_string(),
    }
}
