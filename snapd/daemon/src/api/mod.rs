//! The REST API on the unix socket, shaped like snapd's.

mod changes;
mod peer;
mod reply;
mod snaps;
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
        .route("/v2/snaps", get(snaps::list).post(snaps::post_many))
        .route("/v2/snaps/{name}", get(snaps::one).post(snaps::post_one))
        .route("/v2/changes", get(changes::list))
        .route("/v2/changes/{id}", get(changes::one).post(changes::abort))
        .route("/v2/warnings", get(system::warnings))
        .fallback(reply::unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(access))
        // Uploads are streamed to disk by the sideload handler, which applies its own limit.
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
    if !reading && !peer.is_root() {
        return reply::forbidden().into_response();
    }
    next.run(req).await
}
