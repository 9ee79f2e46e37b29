//! The configuration operations the front ends call: read a snap's document, or start a
//! `configure-snap` change that runs the snap's configure hook on the new values.

use serde_json::{Map, Value};
use snap_state::ChangeId;

use super::doc::{self, ConfError};
use super::tx::document;
use crate::daemon::Daemon;
use crate::hookmgr::handlers::{PATCH_KEY, SYSTEM_SNAP};
use crate::hookmgr::setup::{HOOK_SETUP_KEY, HookSetup};
use crate::snapmgr::model::get_snap;
use crate::snapmgr::ops::OpError;
use crate::snapmgr::plan::{HookPlan, hook_summary};

/// `system` is how users name the system's own configuration; snapd keeps it under `core`.
pub fn config_snap_name(name: &str) -> &str {
    if name == "system" { SYSTEM_SNAP } else { name }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfOpError {
    #[error(transparent)]
    Conf(#[from] ConfError),
    #[error(transparent)]
    Op(#[from] OpError),
}

/// The values of `keys` (all of the document when empty), as snapd's API returns them.
pub fn get(d: &Daemon, name: &str, keys: &[String]) -> Result<Value, ConfOpError> {
    let snap = config_snap_name(name);
    let st = d.store.lock();
    if snap != SYSTEM_SNAP && get_snap(&st, snap).map_err(OpError::from)?.is_none() {
        return Err(OpError::NotInstalled(name.to_owned()).into());
    }
    let document = document(&st, snap).map_err(OpError::from)?;
    if keys.is_empty() {
        return Ok(document);
    }
    let mut out = Map::new();
    for k in keys {
        match doc::get(&document, k)? {
            Some(v) => {
                out.insert(k.clone(), v.clone());
            }
            None => {
                return Err(ConfError::NotFound {
                    snap: name.to_owned(),
                    key: k.clone(),
                }
                .into());
            }
        }
    }
    Ok(Value::Object(out))
}

/// Starts a change setting (or, for `null`, unsetting) the values in `patch`.
pub fn set(d: &Daemon, name: &str, patch: Map<String, Value>) -> Result<ChangeId, ConfOpError> {
    for k in patch.keys() {
        doc::parse_key(k)?;
    }
    let snap = config_snap_name(name);
    let mut st = d.store.lock();
    // The system's own configuration has no snap, no revision and no hook to run.
    let revision = if snap == SYSTEM_SNAP {
        None
    } else {
        Some(
            get_snap(&st, snap)
                .map_err(OpError::from)?
                .ok_or_else(|| OpError::NotInstalled(name.to_owned()))?
                .current,
        )
    };
    st.check_conflict(snap).map_err(OpError::Conflict)?;
    let chg = st.new_change(
        "configure-snap",
        &format!("Change configuration of {name:?} snap"),
    );
    let hook = HookPlan::optional("configure");
    let setup = HookSetup {
        snap: snap.to_owned(),
        revision,
        hook: hook.name.to_owned(),
        optional: hook.optional,
        ignore_error: hook.ignore_error,
        use_defaults: false,
        timeout: None,
    };
    let summary = hook_summary(snap, hook.name, hook.optional);
    let task = st
        .new_task_in(chg, "run-hook", &summary)
        .map_err(OpError::from)?;
    let t = st.task_mut(task).expect("just created");
    t.set(HOOK_SETUP_KEY, &setup).map_err(OpError::from)?;
    t.set(PATCH_KEY, &patch).map_err(OpError::from)?;
    let c = st.change_mut(chg).expect("just created");
    c.set("snap-names", &[snap]).map_err(OpError::from)?;
    c.set("api-data", &serde_json::json!({"snap-names": [name]}))
        .map_err(OpError::from)?;
    st.commit().map_err(OpError::from)?;
    Ok(chg)
}
