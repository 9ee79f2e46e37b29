//! The D-Bus front end: `dev.snappy.Snapd1` at `/dev/snappy/Snapd1` (see `spec/dbus/`), a
//! second front end over the operations and views the REST API uses. It serves on the system
//! bus by default, or on the bus at `--dbus-address`; with no bus to reach the daemon says so
//! once and serves REST alone.

pub mod auth;
pub mod error;
pub mod events;
pub mod names;
pub mod service;
pub mod wire;

use std::sync::Arc;

use snap_state::ChangeId;
use tokio::sync::broadcast::{self, error::RecvError};
use zbus::Connection;
use zbus::object_server::SignalEmitter;

use self::events::{ChangeTracker, Event};
use self::names::{BUS_NAME, INTERFACE, OBJECT_PATH};
use self::service::Snapd1;
use self::wire::ChangeEntry;
use crate::daemon::Daemon;

/// Where and for whom to serve.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A D-Bus address (`unix:path=...`); `None`: the system bus.
    pub address: Option<String>,
    /// The group whose members may make changes besides root.
    pub admin_group: Option<String>,
}

/// Connects to the bus, owns the name and serves the object, and starts forwarding `events`
/// as signals. Returns the connection, which serves as long as it is kept; `None` (after one
/// log line) when there is no bus to serve on.
pub async fn start(
    daemon: Arc<Daemon>,
    events: &broadcast::Sender<Event>,
    opts: Options,
) -> Option<Connection> {
    let bus = opts
        .address
        .clone()
        .unwrap_or_else(|| "the system bus".into());
    let service = Snapd1 {
        daemon: daemon.clone(),
        runtime: tokio::runtime::Handle::current(),
        admin_group: opts.admin_group.clone(),
        groups: auth::GroupDb::default(),
    };
    let connected = async {
        let builder = match &opts.address {
            Some(a) => zbus::connection::Builder::address(a.as_str())?,
            None => zbus::connection::Builder::system()?,
        };
        builder
            .name(BUS_NAME)?
            .serve_at(OBJECT_PATH, service)?
            .build()
            .await
    };
    match connected.await {
        Ok(conn) => {
            tracing::info!(
                "serving the D-Bus API as {BUS_NAME} ({INTERFACE} at {OBJECT_PATH}) on {bus}"
            );
            tokio::spawn(forward(conn.clone(), daemon, events.subscribe()));
            Some(conn)
        }
        Err(e) => {
            tracing::info!("not serving the D-Bus API: cannot use {bus}: {e}");
            None
        }
    }
}

/// Turns events into signals until the daemon stops.
async fn forward(conn: Connection, daemon: Arc<Daemon>, mut rx: broadcast::Receiver<Event>) {
    let emitter = match SignalEmitter::new(&conn, OBJECT_PATH) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("cannot emit D-Bus signals: {e}");
            return;
        }
    };
    let mut tracker = ChangeTracker::default();
    loop {
        let sent = match rx.recv().await {
            Ok(Event::Change(id)) => change_signals(&emitter, &daemon, &mut tracker, id).await,
            Ok(Event::Snaps) => Snapd1::snaps_changed(&emitter).await,
            Ok(Event::Connections) => Snapd1::connections_changed(&emitter).await,
            // Events were lost: say everything may have changed.
            Err(RecvError::Lagged(_)) => {
                let snaps = Snapd1::snaps_changed(&emitter).await;
                snaps.and(Snapd1::connections_changed(&emitter).await)
            }
            Err(RecvError::Closed) => return,
        };
        if let Err(e) = sent {
            tracing::warn!("cannot emit a D-Bus signal: {e}");
        }
    }
}

async fn change_signals(
    emitter: &SignalEmitter<'_>,
    daemon: &Arc<Daemon>,
    tracker: &mut ChangeTracker,
    id: ChangeId,
) -> zbus::Result<()> {
    let d = daemon.clone();
    // The state lock may be held by a checkpoint writing to disk: wait off the executor.
    let info = tokio::task::spawn_blocking(move || d.store.lock().change_info(id))
        .await
        .ok()
        .flatten();
    let Some(info) = info else {
        return Ok(()); // pruned meanwhile
    };
    let c = ChangeEntry::from_info(&info);
    let (news, became_ready) = tracker.update(id, &c.status, c.done, c.total, c.ready);
    if news {
        Snapd1::change_changed(emitter, &c.id, &c.kind, &c.status, c.done, c.total).await?;
    }
    if became_ready {
        Snapd1::change_ready(emitter, &c.id, &c.status, &c.error).await?;
    }
    Ok(())
}
