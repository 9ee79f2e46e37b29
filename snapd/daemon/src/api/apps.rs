//! `/v2/apps`: the services and their control, as snapd's.
#![allow(clippy::result_large_err)] // See reply.rs: a Reply is a whole envelope either way.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use serde_json::json;
use snapd_api::{App, AppsAction, Response, kinds};

use super::reply::{ApiResult, Reply, accepted, bad_request, conflict, internal, sync};
use crate::daemon::Daemon;
use crate::servicemgr::ops::{ControlOpError, service_control};
use crate::servicemgr::supervisor::ActiveState;
use crate::servicemgr::{Action, ControlError};

/// The answer for names that do not exist, as snapd words it.
pub fn control_error(e: ControlError) -> Reply {
    match e {
        ControlError::SnapNotFound(s) => Reply(Response::error(
            404,
            format!("snap {s:?} not found"),
            Some(kinds::SNAP_NOT_FOUND),
            Some(json!(s)),
        )),
        ControlError::AppNotFound { snap, app } => Reply(Response::error(
            404,
            format!("snap {snap:?} has no service {app:?}"),
            Some(kinds::APP_NOT_FOUND),
            Some(json!(format!("{snap}.{app}"))),
        )),
        other => internal(other.to_string()),
    }
}

fn names_of(q: &HashMap<String, String>) -> Vec<String> {
    q.get("names")
        .map(|s| {
            s.split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /v2/apps?names=SNAP,SNAP.APP&select=service`.
pub async fn get(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let select = q.get("select").map(String::as_str).unwrap_or("");
    if !matches!(select, "" | "service") {
        return Err(bad_request(format!("invalid select parameter: {select:?}")));
    }
    let names = names_of(&q);
    let mgr = d.services.clone();
    let statuses = tokio::task::spawn_blocking(move || mgr.statuses(&names))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(control_error)?;
    // Apps that are not services are listed only without select=service; this daemon's
    // clients ask for services, so only those are listed.
    let out: Vec<serde_json::Value> = statuses
        .into_iter()
        .map(|s| {
            let status = s.active.as_str();
            let mut v = serde_json::to_value(App {
                snap: Some(s.snap),
                name: s.app,
                daemon: Some(s.daemon),
                daemon_scope: Some("system".into()),
                enabled: Some(s.enabled),
                active: Some(s.active == ActiveState::Active),
                common_id: None,
            })
            .expect("apps serialize");
            // Beyond snapd's object: systemd's ActiveState (`failed` after a crash loop), and
            // the main pid; clients that do not know them ignore them.
            v["status"] = json!(status);
            if let Some(p) = s.main_pid {
                v["main-pid"] = json!(p);
            }
            v
        })
        .collect();
    sync(serde_json::to_value(out).expect("apps serialize"))
}

/// `POST /v2/apps {"action": "start"|"stop"|"restart", "names": [...], "enable", "disable"}`:
/// an async `service-control` change.
pub async fn post(State(d): State<Arc<Daemon>>, body: Bytes) -> ApiResult {
    let a: AppsAction = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into service operation: {e}"
        ))
    })?;
    let action = match (a.action.as_str(), a.reload) {
        ("start", _) => Action::Start,
        ("stop", _) => Action::Stop,
        ("restart", false) => Action::Restart,
        ("restart", true) => Action::ReloadOrRestart,
        (other, _) => return Err(bad_request(format!("unknown action {other:?}"))),
    };
    let d2 = d.clone();
    let made = tokio::task::spawn_blocking(move || {
        service_control(&d2, &d2.services, action, &a.names, a.enable, a.disable)
    })
    .await
    .map_err(|e| internal(e.to_string()))?;
    match made {
        Ok(chg) => accepted(&chg.to_string()),
        Err(ControlOpError::Control(e)) => Err(control_error(e)),
        Err(ControlOpError::Invalid(m)) => Err(bad_request(m)),
        Err(ControlOpError::Conflict(c)) => Err(conflict(c.message(), &c.snap, &c.change_kind)),
        Err(e) => Err(internal(e.to_string())),
    }
}
