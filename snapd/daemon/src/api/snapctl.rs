//! `POST /v2/snapctl` on the socket for snaps: `{"context-id", "args"}` in, `{"stdout",
//! "stderr"}` out; a command that ran and failed answers snapd's `unsuccessful` error with
//! its output and exit code.

use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use serde::Deserialize;
use serde_json::json;
use snapd_api::Response;

use super::Peer;
use super::reply::{ApiResult, Reply, bad_request, internal, sync};
use crate::ctlcmd::{self, CtlError};
use crate::daemon::Daemon;

#[derive(Deserialize)]
struct Request {
    #[serde(rename = "context-id", default)]
    context_id: String,
    #[serde(default)]
    args: Vec<String>,
}

pub async fn post(
    State(d): State<Arc<Daemon>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    body: axum::body::Bytes,
) -> ApiResult {
    let req: Request = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("cannot decode snapctl request: {e}")))?;
    if req.args.is_empty() {
        return Err(bad_request("snapctl cannot run without args"));
    }
    let out =
        tokio::task::spawn_blocking(move || ctlcmd::run(&d, &req.context_id, peer.uid, &req.args))
            .await
            .map_err(|e| internal(e.to_string()))?;
    match out {
        Ok(o) => sync(json!({"stdout": o.stdout, "stderr": o.stderr})),
        Err(CtlError::Unsuccessful {
            stdout,
            stderr,
            code,
        }) => Err(Reply(Response::error(
            400,
            if stderr.is_empty() {
                format!("exit status {code}")
            } else {
                stderr.clone()
            },
            Some("unsuccessful"),
            Some(json!({"stdout": stdout, "stderr": stderr, "exit-code": code})),
        ))),
        Err(CtlError::Forbidden(m)) => Err(Reply(Response::error(403, m, None, None))),
        Err(CtlError::Refused(m)) => Err(bad_request(m)),
        Err(CtlError::Internal(m)) => Err(internal(m)),
    }
}
