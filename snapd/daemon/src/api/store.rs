//! `POST /v2/snaps/{name}` `{"action": "install"}`: an install from the store, and how the
//! store's refusals are answered (as snapd classifies them).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use snapd_api::{Response, kinds};

use super::reply::{self, ApiResult, Reply, accepted, bad_request, internal};
use crate::daemon::Daemon;
use crate::snapmgr::refresh_ops;
use crate::snapmgr::store_ops::{
    StoreInstall, StoreOpError, install_from_store, install_many_from_store,
};
use crate::storemgr::StoreMgrError;

#[derive(Deserialize)]
struct InstallBody {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    devmode: bool,
    #[serde(default)]
    classic: bool,
}

pub async fn install(d: Arc<Daemon>, name: String, body: &[u8]) -> ApiResult {
    let b: InstallBody = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into snap instruction: {e}"
        ))
    })?;
    if b.devmode && b.classic {
        return Err(bad_request(
            "cannot use devmode and classic confinement together",
        ));
    }
    let req = StoreInstall {
        channel: Some(b.channel).filter(|c| !c.is_empty()),
        devmode: b.devmode,
        classic: b.classic,
    };
    let id = tokio::task::spawn_blocking(move || install_from_store(&d, &name, &req))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(store_op_error)?;
    accepted(&id.to_string())
}

/// `POST /v2/snaps {"action":"install","snaps":[...]}`: one change, all or nothing.
pub async fn install_many(d: Arc<Daemon>, names: Vec<String>) -> ApiResult {
    if names.is_empty() {
        return Err(bad_request("cannot install: no snaps given"));
    }
    let id = tokio::task::spawn_blocking(move || install_many_from_store(&d, &names))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(store_op_error)?;
    accepted(&id.to_string())
}

fn store_op_error(e: StoreOpError) -> Reply {
    match e {
        StoreOpError::Store(e) => store_error(e),
        StoreOpError::Op(e) => super::snaps::op_error(e),
        StoreOpError::AlreadyInstalled(name) => reply::bad_request_kind(
            format!("snap {name:?} is already installed"),
            kinds::SNAP_ALREADY_INSTALLED,
            json!({"snaps": [name]}),
        ),
        e @ StoreOpError::InvalidName { .. } => bad_request(e.to_string()),
    }
}

/// The store's errors as snapd answers them: an unknown snap is 404 `snap-not-found`, a
/// channel with nothing for the device 404 `snap-channel-not-available`.
pub fn store_error(e: StoreMgrError) -> Reply {
    let message = e.to_string();
    match e {
        StoreMgrError::SnapNotFound(name) => Reply(Response::error(
            404,
            message,
            Some(kinds::SNAP_NOT_FOUND),
            Some(json!(name)),
        )),
        StoreMgrError::NoRevision { name, channel } => Reply(Response::error(
            404,
            message,
            Some("snap-channel-not-available"),
            Some(json!({"snap-name": name, "channel": channel})),
        )),
        StoreMgrError::NotConfigured | StoreMgrError::BadChannel(_) => bad_request(message),
        StoreMgrError::Unreachable(_) | StoreMgrError::Refused(_) | StoreMgrError::Internal(_) => {
            internal(message)
        }
    }
}

#[derive(Deserialize, Default)]
struct RefreshBody {
    #[serde(default)]
    channel: String,
}

/// `POST /v2/snaps/{name}` `{"action": "refresh", "channel"?}`.
pub async fn refresh_one(d: Arc<Daemon>, name: String, body: &[u8]) -> ApiResult {
    let b: RefreshBody = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into snap instruction: {e}"
        ))
    })?;
    let channel = Some(b.channel).filter(|c| !c.is_empty());
    refreshed(
        tokio::task::spawn_blocking(move || {
            refresh_ops::refresh(&d, &[name], channel.as_deref(), "refresh-snap")
        })
        .await,
        None,
    )
}

/// `POST /v2/snaps` `{"action": "refresh", "snaps": [...]}`: every snap from the store when
/// none are named; one change, all or nothing. Nothing to do is a change done at once, with
/// no snap names, as snapd answers it ("All snaps up to date").
pub async fn refresh_many(d: Arc<Daemon>, names: Vec<String>) -> ApiResult {
    let d2 = d.clone();
    refreshed(
        tokio::task::spawn_blocking(move || {
            refresh_ops::refresh(&d2, &names, None, "refresh-snap")
        })
        .await,
        Some(d),
    )
}

// Reply is a whole envelope on its way out (see reply.rs).
#[allow(clippy::result_large_err)]
fn refreshed(
    out: Result<Result<refresh_ops::Refreshed, refresh_ops::RefreshError>, tokio::task::JoinError>,
    daemon: Option<Arc<Daemon>>,
) -> ApiResult {
    match out.map_err(|e| internal(e.to_string()))? {
        Ok(refresh_ops::Refreshed::Change(id)) => accepted(&id.to_string()),
        Ok(refresh_ops::Refreshed::UpToDate) => {
            let d = daemon.ok_or_else(|| internal("no daemon to record the change"))?;
            let id = refresh_ops::nothing_to_refresh(&d).map_err(|e| internal(e.to_string()))?;
            accepted(&id.to_string())
        }
        Err(refresh_ops::RefreshError::Store(e)) => Err(store_error(e)),
        Err(refresh_ops::RefreshError::Op(e)) => Err(super::snaps::op_error(e)),
        Err(refresh_ops::RefreshError::NoUpdate(name)) => Err(reply::bad_request_kind(
            refresh_ops::RefreshError::NoUpdate(name.clone()).to_string(),
            "snap-no-update-available",
            json!(name),
        )),
        Err(e @ refresh_ops::RefreshError::NotFromStore(_)) => Err(reply::bad_request_kind(
            e.to_string(),
            "snap-local",
            serde_json::Value::Null,
        )),
        Err(e) => Err(bad_request(e.to_string())),
    }
}

/// `POST /v2/snaps/{name}` `{"action": "switch", "channel": C}`.
pub async fn switch(d: Arc<Daemon>, name: String, body: &[u8]) -> ApiResult {
    let b: RefreshBody = serde_json::from_slice(body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into snap instruction: {e}"
        ))
    })?;
    if b.channel.is_empty() {
        return Err(bad_request("cannot switch: no channel given"));
    }
    let out = tokio::task::spawn_blocking(move || refresh_ops::switch(&d, &name, &b.channel))
        .await
        .map_err(|e| internal(e.to_string()))?;
    match out {
        Ok(id) => accepted(&id.to_string()),
        Err(refresh_ops::RefreshError::Store(e)) => Err(store_error(e)),
        Err(refresh_ops::RefreshError::Op(e)) => Err(super::snaps::op_error(e)),
        Err(e) => Err(bad_request(e.to_string())),
    }
}
