//! `/v2/snaps/{name}/conf`: `snap get` and `snap set`/`unset`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::reply::{self, ApiResult, accepted, bad_request, internal, sync};
use super::snaps::op_error;
use crate::configmgr::doc::ConfError;
use crate::configmgr::ops::{self, ConfOpError};
use crate::daemon::Daemon;

#[derive(Deserialize)]
pub struct Keys {
    #[serde(default)]
    keys: String,
}

pub async fn get(
    State(d): State<Arc<Daemon>>,
    Path(name): Path<String>,
    Query(q): Query<Keys>,
) -> ApiResult {
    let keys: Vec<String> = q
        .keys
        .split(',')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect();
    match ops::get(&d, &name, &keys) {
        Ok(v) => sync(v),
        Err(e) => Err(conf_error(e)),
    }
}

pub async fn put(
    State(d): State<Arc<Daemon>>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult {
    let patch: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("cannot decode request body into patch values: {e}")))?;
    let id = tokio::task::spawn_blocking(move || ops::set(&d, &name, patch))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(conf_error)?;
    accepted(&id.to_string())
}

fn conf_error(e: ConfOpError) -> reply::Reply {
    match e {
        ConfOpError::Op(e) => op_error(e),
        ConfOpError::Conf(ConfError::NotFound { snap, key }) => reply::bad_request_kind(
            ConfError::NotFound {
                snap: snap.clone(),
                key: key.clone(),
            }
            .to_string(),
            "option-not-found",
            json!({"SnapName": snap, "Key": key}),
        ),
        ConfOpError::Conf(e) => bad_request(e.to_string()),
    }
}
