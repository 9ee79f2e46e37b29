//! The REST API on the unix socket, shaped like snapd's.

mod apps;
mod changes;
mod conf;
mod find;
mod interfaces;
mod logs;
mod peer;
mod reply;
mod snapctl;
mod snaps;
mod snapshots;
mod store;
mod system;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use peer::Peer;

use crate::daemon::Daemon;

/// JSON bodies are small; anything larger is a mistake or an attack.
const MAX_JSON_BODY: usize = 1 << 20;

pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/v2/system-info", get(system::system_info))
        // Sideloads stream to disk with their own cap; JSON bodies there are capped by hand.
        .route(
            "/v2/snaps",
            get(snaps::list)
                .post(snaps::post_many)
                .layer(DefaultBodyLimit::max(
                    upload::MAX_UPLOAD_BYTES as usize + (1 << 20),
                )),
        )
        .route("/v2/snaps/{name}", get(snaps::one).post(snaps::post_one))
        .route("/v2/snaps/{name}/conf", get(conf::get).put(conf::put))
        .route("/v2/find", get(find::find))
        .route("/v2/changes", get(changes::list))
        .route("/v2/changes/{id}", get(changes::one).post(changes::abort))
        .route("/v2/warnings", get(system::warnings))
        .route(
            "/v2/interfaces",
            get(interfaces::get).post(interfaces::post),
        )
        .route("/v2/connections", get(interfaces::connections))
        .route("/v2/apps", get(apps::get).post(apps::post))
        .route("/v2/logs", get(logs::get))
        // Imports stream to the engine, which bounds what it accepts; JSON actions are capped
        // by hand.
        .route(
            "/v2/snapshots",
            get(snapshots::list)
                .post(snapshots::post)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/v2/snapshots/{id}/export", get(snapshots::export))
        .fallback(reply::unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(access))
        .layer(middleware::map_response(envelope_every_error))
        // Uploads are streamed to disk by the sideload handler, which applies its own limit.
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(daemon)
}

/// The API on the socket for snaps: `snapctl` only. Any caller may connect; each call is
/// judged by the context id it carries and the uid the socket reports.
pub fn snap_router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/v2/snapctl", axum::routing::post(snapctl::post))
        .fallback(reply::unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::map_response(envelope_every_error))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(daemon)
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> reply::Reply {
    reply::method_not_allowed(method.as_str(), uri.path())
}

/// snapd's rule for this socket: anyone may read, only root may change. Other callers get
/// 403 `login-required`, which clients turn into "use sudo".
async fn access(ConnectInfo(peer): ConnectInfo<Peer>, req: Request, next: Next) -> Response {
    if peer.uid.is_none() {
        return reply::forbidden().into_response();
    }
    let reading = matches!(*req.method(), Method::GET | Method::HEAD);
    // A snap's configuration may hold secrets: as snapd, only root reads it (snaps read their
    // own through snapctl).
    let private = req.uri().path().ends_with("/conf");
    if (!reading || private) && !peer.is_root() {
        return reply::forbidden().into_response();
    }
    next.run(req).await
}

/// Errors raised before a handler runs (axum's own rejections: an undecodable path, a body over
/// the limit) come as plain text; clients expect snapd's JSON envelope for every error, so
/// they are rewrapped here, in one place, with their status and text.
async fn envelope_every_error(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    reply::Reply(snapd_api::Response::error(
        status.as_u16(),
        message,
        None,
        None,
    ))
    .into_response()
}
