//! The operations the front ends ask for: each checks, then creates a change whose tasks do the
//! work. The REST API (and later D-Bus) call these; none of the logic lives in a front end.

use std::path::Path;

use snap_squashfs::{SnapFile, SquashfsError, digest_file};
use snap_state::{ChangeConflict, ChangeId, State, StateError, TaskId, Timestamp};

use super::model::{Installed, RevisionInfo, SnapState};
use super::plan::{
    InstallFlags, Refusal, TaskPlan, check_install, check_remove, install_tasks, remove_tasks,
};
use super::setup::{SETUP_KEY, SETUP_TASK_KEY, SnapSetup};
use crate::daemon::Daemon;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("{}", .0.message())]
    Conflict(ChangeConflict),
    #[error("snap {0:?} is not installed")]
    NotInstalled(String),
    #[error("snap {0:?} is already installed; refreshing from a file is not supported yet")]
    AlreadyInstalled(String),
    #[error("cannot read snap file {path:?}: {reason}")]
    NotASnap { path: String, reason: String },
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
    let not_a_snap = |reason: String| OpError::NotASnap {
        path: shown_path.to_owned(),
        reason,
    };
    let file = SnapFile::open(upload).map_err(|e| not_a_snap(reason_without_path(&e)))?;
    let snap = file
        .snap_yaml()
        .map_err(|e| not_a_snap(reason_without_path(&e)))?;
    let digest = digest_file(upload).map_err(|e| OpError::Internal(e.to_string()))?;

    let mut st = d.store.lock();
    let existing = st.snap(&snap.name);
    if existing.is_some() {
        return Err(OpError::AlreadyInstalled(snap.name.clone()));
    }
    check_install(&snap, flags, &*st)?;
    st.check_conflict(&snap.name).map_err(OpError::Conflict)?;

    let rev = SnapState::next_local_revision(existing.as_ref());
    let info = RevisionInfo::from_yaml(
        &snap,
        rev,
        digest.size,
        digest.sha384,
        Timestamp::now().to_rfc3339(),
    );
    let setup = SnapSetup {
        name: snap.name.clone(),
        revision: rev,
        snap_type: snap.snap_type.as_str().to_owned(),
        snap_path: Some(upload.to_owned()),
        devmode: flags.devmode,
        classic: flags.classic,
        info: Some(info),
        last: false,
    };
    let summary = format!("Install {:?} snap from file {shown_path:?}", snap.name);
    let chg = new_change(&mut st, "install-snap", &summary, &[snap.name.as_str()])?;
    let lane = st.new_lane();
    // As snapd: the first task carries the snap-setup, the others point at it, so the change
    // log does not repeat the snap's description in every task.
    add_chain(
        &mut st,
        chg,
        lane,
        &install_tasks(&snap.name, shown_path, rev),
        |i, _| (i == 0).then(|| setup.clone()),
    )?;
    st.change_mut(chg).expect("just created").set(
        "api-data",
        &serde_json::json!({"snap-name": snap.name, "snap-names": [snap.name]}),
    )?;
    st.commit()?;
    Ok((chg, snap.name))
}

/// Removes every revision of each named snap, each in its own lane so that one failing does
/// not roll back the others.
pub fn remove(d: &Daemon, names: &[String]) -> Result<ChangeId, OpError> {
    let mut st = d.store.lock();
    let mut states = Vec::with_capacity(names.len());
    for name in names {
        let state = st
            .snap(name)
            .ok_or_else(|| OpError::NotInstalled(name.clone()))?;
        check_remove(name, names, &*st)?;
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
        let plan = remove_tasks(name, state);
        let last_rev = state.current;
        add_chain(&mut st, chg, lane, &plan, |_, t| {
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

fn new_change(
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
fn add_chain(
    st: &mut State,
    chg: ChangeId,
    lane: u64,
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
        task.join_lane(lane);
        if let Some(p) = prev {
            st.wait_for(id, p)?;
        }
        first.get_or_insert(id);
        prev = Some(id);
    }
    Ok(())
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
