#![allow(clippy::result_large_err)] // See reply.rs: a Reply is a whole envelope either way.
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use snap_state::ChangeId;

use super::reply::{ApiResult, Reply, bad_request, not_found, sync};
use crate::daemon::Daemon;

/// `GET /v2/changes?select=in-progress|ready|all&for=SNAP`.
pub async fn list(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let select = q.get("select").map(String::as_str).unwrap_or("in-progress");
    let wanted: fn(bool) -> bool = match select {
        "in-progress" => |ready| !ready,
        "ready" => |ready| ready,
        "all" => |_| true,
        other => {
            return Err(bad_request(format!(
                "select should be one of: all,in-progress,ready (got {other:?})"
            )));
        }
    };
    let st = d.store.lock();
    let mut out = Vec::new();
    for chg in st.changes() {
        if !wanted(chg.is_ready()) {
            continue;
        }
        if let Some(snap) = q.get("for")
            && !st.change_affected_snaps(chg.id()).iter().any(|n| n == snap)
        {
            continue;
        }
        if let Some(info) = st.change_info(chg.id()) {
            out.push(info);
        }
    }
    sync(serde_json::to_value(out).expect("change info serializes"))
}

fn parse_id(id: &str) -> Result<ChangeId, Reply> {
    id.parse()
        .map_err(|_| not_found(format!("cannot find change with id {id:?}")))
}

/// `GET /v2/changes/{id}`.
pub async fn one(State(d): State<Arc<Daemon>>, Path(id): Path<String>) -> ApiResult {
    let cid = parse_id(&id)?;
    let st = d.store.lock();
    let info = st
        .change_info(cid)
        .ok_or_else(|| not_found(format!("cannot find change with id {id:?}")))?;
    sync(serde_json::to_value(info).expect("change info serializes"))
}

#[derive(Deserialize)]
struct ChangeAction {
    action: String,
}

/// `POST /v2/changes/{id}` with `{"action": "abort"}`.
pub async fn abort(State(d): State<Arc<Daemon>>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let cid = parse_id(&id)?;
    let req: ChangeAction = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into a change action: {e}"
        ))
    })?;
    if req.action != "abort" {
        return Err(bad_request(format!(
            "change action {:?} is unsupported",
            req.action
        )));
    }
    tokio::task::spawn_blocking(move || {
        let mut st = d.store.lock();
        let chg = st
            .change(cid)
            .ok_or_else(|| not_found(format!("cannot find change with id {id:?}")))?;
        if chg.is_ready() {
            return Err(bad_request(format!(
                "cannot abort change {id} with nothing pending"
            )));
        }
        st.abort_change(cid)
            .map_err(|e| super::reply::internal(e.to_string()))?;
        let info = st.change_info(cid).expect("the change exists");
        sync(serde_json::to_value(info).expect("change info serializes"))
    })
    .await
    .map_err(|e| super::reply::internal(e.to_string()))?
}
