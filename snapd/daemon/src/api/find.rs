//! `GET /v2/find`: the store's snaps, as snapd's find answers (`name=` one snap, `q=` a
//! search; `sources: ["store"]`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use serde_json::{Value, json};
use snapd_api::{Response, kinds};

use super::reply::{self, ApiResult, Reply, internal};
use super::store::store_error;
use crate::daemon::Daemon;
use crate::storemgr::StoreMgrError;
use crate::storemgr::view::{search, store_snap};

pub async fn find(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    if let Some(select) = q.get("select").filter(|s| !s.is_empty()) {
        return Err(reply::bad_request_kind(
            format!("select={select} is not supported"),
            kinds::BAD_QUERY,
            Value::Null,
        ));
    }
    let name = q.get("name").cloned().filter(|n| !n.is_empty());
    let query = q.get("q").cloned().unwrap_or_default();
    if name.is_some() && !query.is_empty() {
        return Err(reply::bad_request_kind(
            "cannot use 'q' and 'name' together",
            kinds::BAD_QUERY,
            Value::Null,
        ));
    }
    let found =
        tokio::task::spawn_blocking(move || -> Result<Option<Vec<Value>>, StoreMgrError> {
            let index = d.storemgr.index()?;
            let seed = d.storemgr.seed()?;
            Ok(match &name {
                Some(n) => store_snap(&index, n, seed).map(|s| vec![s]),
                None => Some(
                    search(&index, &query)
                        .into_iter()
                        .filter_map(|n| store_snap(&index, n, seed))
                        .collect(),
                ),
            })
        })
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(store_error)?;
    match found {
        Some(snaps) => Ok(Reply(Response {
            sources: Some(vec!["store".into()]),
            ..Response::sync(json!(snaps))
        })),
        // snapd's answer for a name the store does not know.
        None => Err(Reply(Response::error(
            404,
            "snap not found",
            Some(kinds::SNAP_NOT_FOUND),
            None,
        ))),
    }
}
