//! Turning the wire envelope into HTTP responses, and the error answers every handler shares.
//!
//! Handlers return `Result<Reply, Reply>`: both sides are whole envelopes on their way to the
//! socket, built once per request, so their size is no cost worth boxing away.
#![allow(clippy::result_large_err)]

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use serde_json::{Value, json};
use snapd_api::{Response, kinds};

/// An envelope on its way out, with the HTTP status it names.
pub struct Reply(pub Response);

impl IntoResponse for Reply {
    fn into_response(mut self) -> HttpResponse {
        // As snapd: every answer says that the system is about to restart while it is.
        if self.0.maintenance.is_none() {
            self.0.maintenance = crate::restart::maintenance();
        }
        let status =
            StatusCode::from_u16(self.0.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.0)).into_response()
    }
}

pub type ApiResult = Result<Reply, Reply>;

pub fn sync(result: Value) -> ApiResult {
    Ok(Reply(Response::sync(result)))
}

pub fn accepted(change_id: &str) -> ApiResult {
    Ok(Reply(Response::accepted(change_id)))
}

pub fn bad_request(message: impl Into<String>) -> Reply {
    Reply(Response::error(400, message, None, None))
}

pub fn bad_request_kind(message: impl Into<String>, kind: &str, value: Value) -> Reply {
    Reply(Response::error(400, message, Some(kind), Some(value)))
}

pub fn not_found(message: impl Into<String>) -> Reply {
    Reply(Response::error(404, message, None, None))
}

pub fn snap_not_found(name: &str) -> Reply {
    Reply(Response::error(
        404,
        "snap not installed",
        Some(kinds::SNAP_NOT_FOUND),
        Some(json!(name)),
    ))
}

pub fn snap_not_installed(name: &str) -> Reply {
    Reply(Response::error(
        400,
        format!("snap {name:?} is not installed"),
        Some(kinds::SNAP_NOT_INSTALLED),
        Some(json!(name)),
    ))
}

pub fn conflict(message: String, snap: &str, change_kind: &str) -> Reply {
    Reply(Response::error(
        409,
        message,
        Some(kinds::SNAP_CHANGE_CONFLICT),
        Some(json!({"snap-name": snap, "change-kind": change_kind})),
    ))
}

/// What snapd answers a caller who may read but not change: clients tell the user to use sudo.
pub fn forbidden() -> Reply {
    Reply(Response::error(
        403,
        "access denied",
        Some(kinds::LOGIN_REQUIRED),
        None,
    ))
}

pub fn method_not_allowed(method: &str, path: &str) -> Reply {
    Reply(Response::error(
        405,
        format!("method {method} not allowed on {path}"),
        None,
        None,
    ))
}

pub fn internal(message: impl Into<String>) -> Reply {
    Reply(Response::error(500, message, None, None))
}

/// An unknown endpoint: snapd answers 404 with its envelope, not an empty body.
pub async fn unknown_endpoint(uri: axum::http::Uri) -> Reply {
    not_found(format!("cannot find endpoint {}", uri.path()))
}
