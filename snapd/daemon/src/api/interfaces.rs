//! `/v2/interfaces` and `/v2/connections`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use snapd_api::{InterfaceAction, Response, kinds};

use super::reply::{self, ApiResult, Reply, accepted, bad_request, internal, sync};
use crate::daemon::Daemon;
use crate::ifacemgr::ops::{self, IfaceOpError};
use crate::ifacemgr::repo::remap_snap;
use crate::ifacemgr::view::{self, Filter, InfoOptions};
use crate::snapmgr::model::Installed;

/// `GET /v2/interfaces`: with `select=all|connected` the list of interfaces (`names=a,b`,
/// `plugs=true`, `slots=true`); without `select` the legacy object of every plug and slot.
pub async fn get(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    blocking(move || list_interfaces(&d, &q).unwrap_or_else(|e| e)).await
}

#[allow(clippy::result_large_err)] // a Reply is the answer either way
fn list_interfaces(d: &Daemon, q: &HashMap<String, String>) -> ApiResult {
    let select = q.get("select").map(String::as_str).unwrap_or("");
    let st = d.store.lock();
    if select.is_empty() {
        return sync(json_of(
            &view::legacy(&st).map_err(|e| internal(e.to_string()))?,
        ));
    }
    if select != "all" && select != "connected" {
        return Err(bad_request("unsupported select qualifier"));
    }
    let opts = InfoOptions {
        names: q
            .get("names")
            .filter(|n| !n.is_empty())
            .map(|n| n.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        plugs: q.get("plugs").is_some_and(|v| v == "true"),
        slots: q.get("slots").is_some_and(|v| v == "true"),
        connected: select == "connected",
    };
    sync(json_of(
        &view::interfaces(&st, &opts).map_err(|e| internal(e.to_string()))?,
    ))
}

/// `POST /v2/interfaces`: connect or disconnect. Debian's client sends the JSON body with no
/// Content-Type, so none is required.
pub async fn post(State(d): State<Arc<Daemon>>, body: Bytes) -> ApiResult {
    let action: InterfaceAction = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into an interface action: {e}"
        ))
    })?;
    let id = tokio::task::spawn_blocking(move || ops::change_interfaces(&d, &action))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(op_error)?;
    accepted(&id.to_string())
}

/// `GET /v2/connections?snap=NAME&interface=NAME&select=all`.
pub async fn connections(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    blocking(move || list_connections(&d, &q).unwrap_or_else(|e| e)).await
}

#[allow(clippy::result_large_err)] // a Reply is the answer either way
fn list_connections(d: &Daemon, q: &HashMap<String, String>) -> ApiResult {
    let select = q.get("select").map(String::as_str).unwrap_or("");
    if select != "all" && !select.is_empty() {
        return Err(bad_request("unsupported select qualifier"));
    }
    let snap = q
        .get("snap")
        .filter(|s| !s.is_empty())
        .map(|s| remap_snap(s));
    let st = d.store.lock();
    if let Some(name) = &snap
        && name != snap_interfaces::SYSTEM_SNAP
        && st.snap(name).is_none()
    {
        return Err(reply::snap_not_found(name));
    }
    let filter = Filter {
        snap,
        interface: q.get("interface").filter(|s| !s.is_empty()).cloned(),
        connected_only: select.is_empty(),
    };
    sync(json_of(
        &view::connections(&st, &filter).map_err(|e| internal(e.to_string()))?,
    ))
}

fn json_of(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).expect("API objects serialize")
}

/// Reading the state of many snaps (and the lock) is kept off the async workers. Success and
/// error answers alike are replies.
async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> ApiResult {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(e.to_string()))
}

fn op_error(e: IfaceOpError) -> Reply {
    let message = e.to_string();
    match e {
        IfaceOpError::BadRequest(_) => bad_request(message),
        IfaceOpError::Unchanged(_) => Reply(Response::error(
            400,
            message,
            Some(kinds::INTERFACES_UNCHANGED),
            None,
        )),
        IfaceOpError::NotImplemented(_) => Reply(Response::error(501, message, None, None)),
        IfaceOpError::Conflict(c) => reply::conflict(c.message(), &c.snap, &c.change_kind),
        IfaceOpError::Internal(_) => internal(message),
    }
}
