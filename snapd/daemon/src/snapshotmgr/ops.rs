//! The snapshot operations the API asks for: each checks the request, then creates a change
//! whose tasks do the work (`handlers`).

use serde::{Deserialize, Serialize};
use snap_snapshots::{SnapshotError, Snapshots};
use snap_state::{ChangeConflict, ChangeId, State, StateError, TaskId};

use super::policy::change_summary;
use super::{AllocError, allocate_set_id};
use crate::daemon::Daemon;
use crate::snapmgr::model::{Installed, all_snaps};
use crate::snapmgr::ops::new_change;

/// What each snapshot task works on (task data `snapshot-setup`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotSetup {
    /// Zero until an automatic snapshot's handler allocates it.
    #[serde(default)]
    pub set_id: u64,
    pub snaps: Vec<String>,
    /// Users asked for; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(default)]
    pub auto: bool,
}

pub const SNAPSHOT_SETUP_KEY: &str = "snapshot-setup";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotOpError {
    #[error("snap {0:?} is not installed")]
    NotInstalled(String),
    #[error("cannot save a snapshot: no snaps installed")]
    NothingInstalled,
    #[error("{}", .0.message())]
    Conflict(ChangeConflict),
    /// Unknown set, or a snap not in the set (snapd answers 404).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StateError> for SnapshotOpError {
    fn from(e: StateError) -> Self {
        SnapshotOpError::Internal(e.to_string())
    }
}

impl From<AllocError> for SnapshotOpError {
    fn from(e: AllocError) -> Self {
        SnapshotOpError::Internal(e.to_string())
    }
}

impl From<SnapshotError> for SnapshotOpError {
    fn from(e: SnapshotError) -> Self {
        match e {
            SnapshotError::SetNotFound(_) | SnapshotError::SnapNotInSet { .. } => {
                SnapshotOpError::NotFound(e.to_string())
            }
            other => SnapshotOpError::Internal(other.to_string()),
        }
    }
}

/// `snap save [SNAP...]`: one change, one `save-snapshot` task for the whole set (the engine
/// saves a set all or nothing; see `spec/snapshots.md`, "In the daemon"). Returns the change,
/// the set id and the snaps.
pub fn save(
    d: &Daemon,
    names: &[String],
    users: &[String],
) -> Result<(ChangeId, u64, Vec<String>), SnapshotOpError> {
    let engine = Snapshots::new(&d.dirs);
    let mut st = d.store.lock();
    let snaps: Vec<String> = if names.is_empty() {
        // As snap save with no names: every app snap.
        let all: Vec<String> = all_snaps(&st)?
            .into_iter()
            .filter(|(_, s)| s.snap_type == "app")
            .map(|(n, _)| n)
            .collect();
        if all.is_empty() {
            return Err(SnapshotOpError::NothingInstalled);
        }
        all
    } else {
        let mut v = names.to_vec();
        v.sort();
        v.dedup();
        for n in &v {
            if st.snap(n).is_none() {
                return Err(SnapshotOpError::NotInstalled(n.clone()));
            }
        }
        v
    };
    check_conflicts(&st, &snaps)?;
    let set_id = allocate_set_id(&mut st, &engine)?;
    let summary = match snaps.as_slice() {
        [one] => format!("Snapshot snap {one:?}"),
        _ => format!("Snapshot snaps {}", quoted(&snaps)),
    };
    let chg = new_change(&mut st, "snapshot-snap", &summary, &refs(&snaps))?;
    let setup = SnapshotSetup {
        set_id,
        snaps: snaps.clone(),
        users: users.to_vec(),
        auto: false,
    };
    add_task(
        &mut st,
        chg,
        "save-snapshot",
        &format!("Save data of snaps {}", quoted(&snaps)),
        &setup,
    )?;
    st.change_mut(chg).expect("just created").set(
        "api-data",
        &serde_json::json!({"set-id": set_id, "snap-names": snaps}),
    )?;
    st.commit()?;
    Ok((chg, set_id, snaps))
}

/// `snap restore`, `check-snapshot`, `forget`: one task per snap of the set (all of them when
/// none are named), in one chain, so that a failure undoes the snaps already done.
pub fn on_set(
    d: &Daemon,
    action: &str,
    set_id: u64,
    names: &[String],
    users: &[String],
) -> Result<ChangeId, SnapshotOpError> {
    let (kind, verb) = match action {
        "restore" => ("restore-snapshot", "Restore"),
        "check" => ("check-snapshot", "Check"),
        "forget" => ("forget-snapshot", "Forget"),
        other => {
            return Err(SnapshotOpError::BadRequest(format!(
                "unknown snapshot operation {other:?}"
            )));
        }
    };
    if action == "forget" && !users.is_empty() {
        return Err(SnapshotOpError::BadRequest(
            "snapshot \"forget\" action does not support \"users\"".into(),
        ));
    }
    // Reads the set's metadata (small files) before taking the state lock.
    let set = Snapshots::new(&d.dirs).set(set_id)?;
    for n in names {
        if !set.iter().any(|m| &m.snap == n) {
            return Err(SnapshotError::SnapNotInSet {
                set: set_id,
                snap: n.clone(),
            }
            .into());
        }
    }
    let snaps: Vec<String> = set
        .iter()
        .map(|m| m.snap.clone())
        .filter(|s| names.is_empty() || names.contains(s))
        .collect();
    let mut st = d.store.lock();
    check_conflicts(&st, &snaps)?;
    let chg = new_change(
        &mut st,
        kind,
        &change_summary(verb, set_id, &snaps),
        &refs(&snaps),
    )?;
    let mut prev: Option<TaskId> = None;
    for snap in &snaps {
        let setup = SnapshotSetup {
            set_id,
            snaps: vec![snap.clone()],
            users: users.to_vec(),
            auto: false,
        };
        let summary = match action {
            "restore" => format!("Restore data of snap {snap:?} from snapshot set #{set_id}"),
            "check" => format!("Check data of snap {snap:?} in snapshot set #{set_id}"),
            _ => format!("Remove data of snap {snap:?} from snapshot set #{set_id}"),
        };
        let id = add_task(&mut st, chg, kind, &summary, &setup)?;
        if let Some(p) = prev {
            st.wait_for(id, p)?;
        }
        prev = Some(id);
    }
    if action == "restore" {
        // As snapd's `cleanup-after-restore`: the old data goes once every snap is restored,
        // before the change is reported done.
        let setup = SnapshotSetup {
            set_id,
            snaps: snaps.clone(),
            users: Vec::new(),
            auto: false,
        };
        let id = add_task(
            &mut st,
            chg,
            "cleanup-after-restore",
            &format!("Clean up after restoring snapshot set #{set_id}"),
            &setup,
        )?;
        if let Some(p) = prev {
            st.wait_for(id, p)?;
        }
    }
    st.change_mut(chg).expect("just created").set(
        "api-data",
        &serde_json::json!({"set-id": set_id, "snap-names": snaps}),
    )?;
    st.commit()?;
    Ok(chg)
}

fn add_task(
    st: &mut State,
    chg: ChangeId,
    kind: &str,
    summary: &str,
    setup: &SnapshotSetup,
) -> Result<TaskId, StateError> {
    let id = st.new_task_in(chg, kind, summary)?;
    let t = st.task_mut(id).expect("just created");
    t.set(SNAPSHOT_SETUP_KEY, setup)?;
    // What the conflict checks and the CLI read (snapd's key).
    t.set("affected-snaps", &setup.snaps)?;
    Ok(id)
}

fn check_conflicts(st: &State, snaps: &[String]) -> Result<(), SnapshotOpError> {
    st.check_conflict_many(&refs(snaps), None)
        .map_err(SnapshotOpError::Conflict)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn quoted(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
