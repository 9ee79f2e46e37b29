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
use crate::snapmgr::model::{Installed, SnapState, all_snaps};
use crate::snapmgr::ops::{self, OpError};
use crate::snapmgr::plan::{InstallFlags, Refusal};
use crate::snapmgr::view::snap_object;

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
    let snaps: Vec<(String, SnapState)> = {
        let st = d.store.lock();
        match &wanted {
            // Decode only what was asked for: clients ask for one snap after each install.
            Some(names) => names
                .iter()
                .filter_map(|n| st.snap(n).map(|s| (n.to_string(), s)))
                .collect(),
            None => all_snaps(&st)
                .map_err(|e| internal(e.to_string()))?
                .into_iter()
                .collect(),
        }
    };
    let mut out = Vec::new();
    for (name, state) in &snaps {
        if select == "enabled" && !state.active {
            continue;
        }
        for info in &state.sequence {
            if select == "all" || info.revision == state.current {
                out.push(snap_object(&d.dirs, name, state, info));
            }
        }
    }
    Ok(Reply(Response::sync_local_list(
        serde_json::to_value(out).expect("snaps serialize"),
    )))
}

/// `GET /v2/snaps/{name}`.
pub async fn one(State(d): State<Arc<Daemon>>, Path(name): Path<String>) -> ApiResult {
    let state = d
        .store
        .lock()
        .snap(&name)
        .ok_or_else(|| reply::snap_not_found(&name))?;
    let info = state
        .current_info()
        .ok_or_else(|| reply::snap_not_found(&name))?;
    sync(serde_json::to_value(snap_object(&d.dirs, &name, &state, info)).expect("snap serializes"))
}

#[derive(Deserialize)]
struct SnapAction {
    action: String,
    #[serde(default)]
    snaps: Vec<String>,
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
            run_op(move || ops::remove(&d, &action.snaps)).await
        }
        "remove" => Err(bad_request("cannot remove: no snaps given")),
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
        "remove" => run_op(move || ops::remove(&d, &[name])).await,
        "install" | "refresh" | "revert" | "switch" | "enable" | "disable" | "hold" | "unhold" => {
            Err(bad_request(format!(
                "snap action {:?} is not available yet: only installing from a file and removing are",
                action.action
            )))
        }
        other => Err(bad_request(format!("unknown action {other:?}"))),
    }
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
fn op_error(e: OpError) -> Reply {
    let message = e.to_string();
    match e {
        OpError::Conflict(c) => reply::conflict(c.message(), &c.snap, &c.change_kind),
        OpError::NotInstalled(name) => reply::snap_not_installed(&name),
        OpError::AlreadyInstalled(_) => bad_request(message),
        // snapd gives this no kind: clients reserve `snap-not-a-snap` for `snap try` on a
        // directory and would print advice about snapcraft.
        OpError::NotASnap { .. } => bad_request(message),
        OpError::Refused(Refusal::NeedsDevmode(name)) => {
            reply::bad_request_kind(message, kinds::SNAP_NEEDS_DEVMODE, json!(name))
        }
        OpError::Refused(Refusal::NeedsClassic(name)) => {
            reply::bad_request_kind(message, kinds::SNAP_NEEDS_CLASSIC, json!(name))
        }
        OpError::Refused(_) => bad_request(message),
        OpError::Internal(_) => internal(message),
    }
}
