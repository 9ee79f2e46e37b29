use std::collections::HashMap;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::json;
use snapd_api::{Response, kinds};

use super::reply::{self, ApiResult, Reply, accepted, bad_request, internal, sync};
use super::upload;
use crate::daemon::Daemon;
use crate::snapmgr::holds::{Hold, active_hold};
use crate::snapmgr::model::{Installed, SnapState, all_snaps};
use crate::snapmgr::ops::{self, OpError};
use crate::snapmgr::plan::{InstallFlags, Refusal};
use crate::snapmgr::view::{health_object, snap_object};

/// `GET /v2/snaps?select=all|enabled&snaps=a,b`.
pub async fn list(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Reply, Reply> {
    let select = q.get("select").map(String::as_str).unwrap_or("");
    if !matches!(select, "" | "all" | "enabled") {
        return Err(bad_request(format!("invalid select parameter: {select:?}")));
    }
    let wanted: Option<Vec<&str>> = q
        .get("snaps")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').collect());
    let (snaps, holds, healths) = {
        let st = d.store.lock();
        let snaps: Vec<(String, SnapState)> = match &wanted {
            // Decode only what was asked for: clients ask for one snap after each install.
            Some(names) => names
                .iter()
                .filter_map(|n| st.snap(n).map(|s| (n.to_string(), s)))
                .collect(),
            None => all_snaps(&st)
                .map_err(|e| internal(e.to_string()))?
                .into_iter()
                .collect(),
        };
        let holds: HashMap<String, Hold> = snaps
            .iter()
            .filter_map(|(n, _)| active_hold(&st, n).map(|h| (n.clone(), h)))
            .collect();
        let healths: HashMap<String, snapd_api::SnapHealth> = snaps
            .iter()
            .filter_map(|(n, _)| {
                let h = crate::healthmgr::get(&st, n).ok().flatten()?;
                Some((n.clone(), health_object(&h)))
            })
            .collect();
        (snaps, holds, healths)
    };
    let mut out = Vec::new();
    for (name, state) in &snaps {
        if select == "enabled" && !state.active {
            continue;
        }
        for info in &state.sequence {
            if select == "all" || info.revision == state.current {
                let mut snap = snap_object(&d.dirs, name, state, info);
                snap.health = healths.get(name).cloned();
                out.push(with_hold(snap, holds.get(name)));
            }
        }
    }
    Ok(Reply(Response::sync_local_list(
        serde_json::to_value(out).expect("snaps serialize"),
    )))
}

/// `GET /v2/snaps/{name}`.
pub async fn one(State(d): State<Arc<Daemon>>, Path(name): Path<String>) -> ApiResult {
    let (state, hold, health) = {
        let st = d.store.lock();
        let state = st.snap(&name).ok_or_else(|| reply::snap_not_found(&name))?;
        let health = crate::healthmgr::get(&st, &name).ok().flatten();
        (state, active_hold(&st, &name), health)
    };
    let info = state
        .current_info()
        .ok_or_else(|| reply::snap_not_found(&name))?;
    let mut snap = snap_object(&d.dirs, &name, &state, info);
    snap.health = health.as_ref().map(health_object);
    sync(with_hold(snap, hold.as_ref()))
}

#[derive(Deserialize)]
struct SnapAction {
    action: String,
    #[serde(default)]
    snaps: Vec<String>,
    /// `hold`: `forever` or an RFC3339 time.
    #[serde(default)]
    time: String,
    /// `hold`: `general` (the default) or `auto-refresh`.
    #[serde(default, rename = "hold-level")]
    hold_level: String,
    /// `revert`: the revision to go back to (the one before the current when empty).
    #[serde(default)]
    revision: String,
    /// `remove`: no automatic snapshot of the data.
    #[serde(default)]
    purge: bool,
    /// `snapshot`: whose data to save (all users when empty).
    #[serde(default)]
    users: Vec<String>,
}

/// `POST /v2/snaps`: a multipart sideload, or a JSON action on several snaps.
pub async fn post_many(State(d): State<Arc<Daemon>>, req: Request) -> ApiResult {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("multipart/") {
        let multipart = Multipart::from_request(req, &())
            .await
            .map_err(|e| bad_request(format!("cannot read the upload: {e}")))?;
        return sideload(d, multipart).await;
    }
    let body = read_json_body(req).await?;
    let action: SnapAction = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into snap instruction: {e}"
        ))
    })?;
    match action.action.as_str() {
        "remove" if !action.snaps.is_empty() => {
            run_op(move || ops::remove(&d, &action.snaps, action.purge)).await
        }
        "remove" => Err(bad_request("cannot remove: no snaps given")),
        "install" => super::store::install_many(d, action.snaps).await,
        // snapd's `snap save`.
        "snapshot" => super::snapshots::save(d, action.snaps, action.users).await,
        "refresh" => super::store::refresh_many(d, action.snaps).await,
        other => Err(bad_request(format!(
            "unsupported multi-snap operation {other:?}"
        ))),
    }
}

/// `POST /v2/snaps/{name}`: an action on one snap.
pub async fn post_one(
    State(d): State<Arc<Daemon>>,
    Path(name): Path<String>,
    req: Request,
) -> ApiResult {
    let body = read_json_body(req).await?;
    let action: SnapAction = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into snap instruction: {e}"
        ))
    })?;
    match action.action.as_str() {
        "remove" => run_op(move || ops::remove(&d, &[name], action.purge)).await,
        "hold" | "unhold" => hold_action(d, name, action).await,
        "revert" => {
            let revision = match action.revision.as_str() {
                "" => None,
                r => Some(
                    r.parse::<snap_core::Revision>()
                        .map_err(|_| bad_request(format!("invalid revision {r:?}")))?,
                ),
            };
            run_op(move || ops::revert(&d, &name, revision)).await
        }
        "install" => super::store::install(d, name, &body).await,
        "refresh" => super::store::refresh_one(d, name, &body).await,
        "switch" => super::store::switch(d, name, &body).await,
        "enable" | "disable" => Err(bad_request(format!(
            "snap action {:?} is not available yet: only installing from a file and removing are",
            action.action
        ))),
        other => Err(bad_request(format!("unknown action {other:?}"))),
    }
}

/// `hold` and `unhold` take effect at once, with no change: snapd answers them in sync.
async fn hold_action(d: Arc<Daemon>, name: String, action: SnapAction) -> ApiResult {
    use crate::snapmgr::holds::{self, HoldError};
    let done = tokio::task::spawn_blocking(move || match action.action.as_str() {
        "hold" => holds::hold(&d, &name, &action.time, &action.hold_level).map(drop),
        _ => holds::unhold(&d, &name),
    })
    .await
    .map_err(|e| internal(e.to_string()))?;
    match done {
        Ok(()) => sync(serde_json::Value::Null),
        Err(HoldError::NotInstalled(name)) => Err(reply::snap_not_installed(&name)),
        Err(e @ HoldError::Internal(_)) => Err(internal(e.to_string())),
        Err(e) => Err(bad_request(e.to_string())),
    }
}

/// The snap object with its refresh hold (`"hold": time`), which only snaps still held have.
fn with_hold(snap: snapd_api::Snap, hold: Option<&Hold>) -> serde_json::Value {
    let mut v = serde_json::to_value(snap).expect("snap serializes");
    if let Some(h) = hold {
        v["hold"] = serde_json::Value::String(h.until_shown());
    }
    v
}

async fn read_json_body(req: Request) -> Result<axum::body::Bytes, Reply> {
    to_bytes(req.into_body(), super::MAX_JSON_BODY)
        .await
        .map_err(|e| bad_request(format!("cannot read request body: {e}")))
}

async fn run_op(
    op: impl FnOnce() -> Result<snap_state::ChangeId, OpError> + Send + 'static,
) -> ApiResult {
    // Creating a change writes the state to disk; keep that off the async workers.
    let id = tokio::task::spawn_blocking(op)
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(op_error)?;
    accepted(&id.to_string())
}

async fn sideload(d: Arc<Daemon>, multipart: Multipart) -> ApiResult {
    let mut form = upload::receive(&d.dirs.upload_dir(), multipart).await?;
    // snapd installs unless the action is "try"; snapd-glib sends no action at all.
    match form.fields.get("action").map(String::as_str) {
        None | Some("install") => {}
        Some(other) => {
            return Err(bad_request(format!(
                "unsupported sideload action {other:?}"
            )));
        }
    }
    if form.files.len() != 1 {
        return Err(bad_request(format!(
            "cannot install: expected one snap file, got {}",
            form.files.len()
        )));
    }
    let flags = InstallFlags {
        dangerous: form.flag("dangerous"),
        devmode: form.flag("devmode"),
        classic: form.flag("classic"),
    };
    let file = form.files.remove(0);
    let shown = form
        .fields
        .get("snap-path")
        .cloned()
        .unwrap_or_else(|| file.filename.clone());
    let (result, file) = tokio::task::spawn_blocking(move || {
        (ops::install_file(&d, &file.path, &shown, &flags), file)
    })
    .await
    .map_err(|e| internal(e.to_string()))?;
    let (id, _name) = result.map_err(op_error)?;
    // The change owns the upload now; its first task moves it into place.
    file.keep();
    accepted(&id.to_string())
}

/// Each refusal as snapd words and classifies it.
pub(crate) fn op_error(e: OpError) -> Reply {
    let message = e.to_string();
    match e {
        OpError::Conflict(c) => reply::conflict(c.message(), &c.snap, &c.change_kind),
        OpError::NotInstalled(name) => reply::snap_not_installed(&name),
        // snapd gives this no kind: clients reserve `snap-not-a-snap` for `snap try` on a
        // directory and would print advice about snapcraft.
        OpError::NotASnap { .. } => bad_request(message),
        OpError::Refused(Refusal::NeedsDevmode(name)) => {
            reply::bad_request_kind(message, kinds::SNAP_NEEDS_DEVMODE, json!(name))
        }
        OpError::Refused(Refusal::NeedsClassic(name)) => {
            reply::bad_request_kind(message, kinds::SNAP_NEEDS_CLASSIC, json!(name))
        }
        OpError::Refused(_) | OpError::Revert(_) => bad_request(message),
        OpError::Internal(_) => internal(message),
    }
}
