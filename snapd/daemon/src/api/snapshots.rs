//! `/v2/snapshots` as snapd's: list (sync), save/restore/check/forget (async changes), export
//! (a stream with its length) and import (a stream in, sync answer).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::{IntoResponse, Response as HttpResponse};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::json;
use snap_snapshots::{SnapshotError, Snapshots};
use snapd_api::Response;

use super::reply::{ApiResult, Reply, bad_request, conflict, internal, not_found, sync};
use crate::daemon::Daemon;
use crate::snapshotmgr::ops::{self, SnapshotOpError};
use crate::snapshotmgr::policy::split_list;
use crate::snapshotmgr::view;

/// The media type of an export stream (snapd's).
pub const SNAPSHOT_MEDIA_TYPE: &str = "application/x.snapd.snapshot";

/// `GET /v2/snapshots[?set=ID&snaps=a,b]`.
pub async fn list(
    State(d): State<Arc<Daemon>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let set = match q.get("set").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| bad_request(format!("invalid set parameter {s:?}")))?,
        ),
    };
    let snaps = split_list(q.get("snaps").map(String::as_str));
    let engine = Snapshots::new(&d.dirs);
    let listing = tokio::task::spawn_blocking(move || engine.list())
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(|e| internal(e.to_string()))?;
    sync(view::sets(&listing, set, &snaps))
}

#[derive(Deserialize)]
struct SnapshotAction {
    action: String,
    #[serde(default)]
    set: Option<u64>,
    #[serde(default)]
    snaps: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
}

/// `POST /v2/snapshots`: an import stream, or a JSON action.
pub async fn post(State(d): State<Arc<Daemon>>, req: Request) -> ApiResult {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if ct == SNAPSHOT_MEDIA_TYPE {
        return import(d, req).await;
    }
    let body = to_bytes(req.into_body(), super::MAX_JSON_BODY)
        .await
        .map_err(|e| bad_request(format!("cannot read request body: {e}")))?;
    let a: SnapshotAction = serde_json::from_slice(&body).map_err(|e| {
        bad_request(format!(
            "cannot decode request body into snapshot operation: {e}"
        ))
    })?;
    match a.action.as_str() {
        "save" => save(d, a.snaps, a.users).await,
        "restore" | "check" | "forget" => {
            let set = a
                .set
                .filter(|s| *s != 0)
                .ok_or_else(|| bad_request("snapshot operation requires a set id"))?;
            let id = blocking(move || ops::on_set(&d, &a.action, set, &a.snaps, &a.users)).await?;
            super::reply::accepted(&id.to_string())
        }
        other => Err(bad_request(format!("unknown snapshot operation {other:?}"))),
    }
}

/// Saving, from `POST /v2/snapshots {"action":"save"}` or snapd's `POST /v2/snaps
/// {"action":"snapshot"}`: async, with `{"set-id": N}` as the result (snapd's).
pub async fn save(d: Arc<Daemon>, snaps: Vec<String>, users: Vec<String>) -> ApiResult {
    let (chg, set_id, snaps) = blocking(move || ops::save(&d, &snaps, &users)).await?;
    let mut resp = Response::accepted(&chg.to_string());
    resp.result = json!({"set-id": set_id, "snaps": snaps});
    Ok(Reply(resp))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SnapshotOpError> + Send + 'static,
) -> Result<T, Reply> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(op_error)
}

fn op_error(e: SnapshotOpError) -> Reply {
    match &e {
        SnapshotOpError::NotInstalled(name) => super::reply::snap_not_installed(name),
        SnapshotOpError::Conflict(c) => conflict(e.to_string(), &c.snap, &c.change_kind),
        SnapshotOpError::NotFound(m) => not_found(m.clone()),
        SnapshotOpError::BadRequest(m) => bad_request(m.clone()),
        SnapshotOpError::NothingInstalled => bad_request(e.to_string()),
        SnapshotOpError::Internal(m) => internal(m.clone()),
    }
}

fn engine_error(e: SnapshotError) -> Reply {
    match e {
        SnapshotError::SetNotFound(_) | SnapshotError::SnapNotInSet { .. } => {
            not_found(e.to_string())
        }
        SnapshotError::Import(_)
        | SnapshotError::HostileEntry { .. }
        | SnapshotError::Checksum { .. }
        | SnapshotError::BadMeta { .. }
        | SnapshotError::BadName(_)
        | SnapshotError::Archive { .. } => bad_request(e.to_string()),
        other => internal(other.to_string()),
    }
}

/// `GET /v2/snapshots/{id}/export`: the set as one stream, its length announced first.
pub async fn export(
    State(d): State<Arc<Daemon>>,
    Path(id): Path<String>,
) -> Result<HttpResponse, Reply> {
    let id: u64 = id
        .parse()
        .map_err(|_| bad_request(format!("invalid snapshot set id {id:?}")))?;
    let engine = Snapshots::new(&d.dirs);
    let len = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || engine.export_len(id))
            .await
            .map_err(|e| internal(e.to_string()))?
            .map_err(engine_error)?
    };
    let (tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(4);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            ChannelWriter {
                tx: Some(tx),
                handle,
            },
        );
        // A failure mid-stream ends the body short of its length: the client sees it.
        if let Err(e) = engine.export(id, &mut w).and_then(|_| {
            w.flush().map_err(|e| SnapshotError::Io {
                op: "send",
                path: Default::default(),
                source: e,
            })
        }) {
            tracing::error!("cannot export snapshot set #{id}: {e}");
            if let Ok(mut inner) = w.into_inner()
                && let Some(tx) = inner.tx.take()
            {
                tx.abort(std::io::Error::other(e.to_string()));
            }
        }
    });
    Ok((
        [
            (CONTENT_TYPE, SNAPSHOT_MEDIA_TYPE.to_owned()),
            (CONTENT_LENGTH, len.to_string()),
        ],
        Body::new(body),
    )
        .into_response())
}

/// Sends what the engine writes (on a blocking thread) to the response body.
struct ChannelWriter {
    tx: Option<http_body_util::channel::Sender<Bytes, std::io::Error>>,
    handle: tokio::runtime::Handle,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let tx = self
            .tx
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stream closed"))?;
        self.handle
            .block_on(tx.send_data(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Feeds the request body (arriving on the async side) to the engine's import (a blocking
/// reader), chunk by chunk: nothing is held in memory beyond a few chunks.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.cur = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

/// Import: snapd requires the length; the answer is sync `{"set-id": N, "snaps": [...]}`.
async fn import(d: Arc<Daemon>, req: Request) -> ApiResult {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| bad_request("cannot import a snapshot without a Content-Length"))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let last = {
        let st = d.store.lock();
        st.get::<u64>(crate::snapshotmgr::LAST_SET_ID_KEY)
            .map_err(|e| internal(e.to_string()))?
            .unwrap_or(0)
    };
    let dd = d.clone();
    let job = tokio::task::spawn_blocking(move || {
        let engine = Snapshots::new(&dd.dirs);
        let reader = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        let imported = engine.import(reader, last)?;
        // Keep the counter past the new id, as a save would.
        let mut st = dd.store.lock();
        let recorded: u64 = st
            .get(crate::snapshotmgr::LAST_SET_ID_KEY)
            .ok()
            .flatten()
            .unwrap_or(0);
        if imported.set_id > recorded {
            let _ = st.set(crate::snapshotmgr::LAST_SET_ID_KEY, &imported.set_id);
            let _ = st.commit();
        }
        Ok::<_, SnapshotError>(imported)
    });
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| bad_request(format!("cannot read the snapshot: {e}")))?;
        if let Ok(data) = frame.into_data()
            && tx.send(data).await.is_err()
        {
            // The engine stopped reading (it refused the stream): its error says why.
            break;
        }
    }
    drop(tx);
    let imported = job
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(engine_error)?;
    sync(json!({"set-id": imported.set_id, "snaps": imported.snaps}))
}
