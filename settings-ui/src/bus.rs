//! The daemon's D-Bus API as the UI sees it (`spec/dbus/dev.snappy.Snapd1.xml`): a blocking
//! proxy for the calls, and a thread that turns the daemon's signals into [`Signal`]s.

use std::collections::HashMap;
use std::sync::mpsc::Sender;

use serde::Deserialize;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Type};

/// One installed snap.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Type)]
pub struct Snap {
    pub name: String,
    pub title: String,
    pub version: String,
    pub revision: String,
    pub snap_type: String,
    pub confinement: String,
    pub publisher: String,
    pub icon: String,
    pub status: String,
    pub hold: String,
}

/// A plug or a slot and what it is connected to.
#[derive(Clone, Debug, PartialEq, Deserialize, Type)]
pub struct Endpoint {
    pub snap: String,
    pub name: String,
    pub interface: String,
    pub attrs: HashMap<String, OwnedValue>,
    pub connections: Vec<(String, String)>,
}

impl Endpoint {
    pub fn is_connected(&self) -> bool {
        !self.connections.is_empty()
    }
}

/// A change's progress and result.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Type)]
pub struct Change {
    pub id: String,
    pub kind: String,
    pub summary: String,
    pub status: String,
    pub ready: bool,
    pub error: String,
    pub done: u32,
    pub total: u32,
}

#[zbus::proxy(
    interface = "dev.snappy.Snapd1",
    default_service = "dev.snappy.Snapd1",
    default_path = "/dev/snappy/Snapd1",
    gen_async = false,
    blocking_name = "Snapd1"
)]
pub trait Snapd1Api {
    fn list_snaps(&self) -> zbus::Result<Vec<Snap>>;
    fn get_plugs_and_slots(&self, snap: &str) -> zbus::Result<(Vec<Endpoint>, Vec<Endpoint>)>;
    fn connect(
        &self,
        plug_snap: &str,
        plug: &str,
        slot_snap: &str,
        slot: &str,
    ) -> zbus::Result<String>;
    fn disconnect(
        &self,
        plug_snap: &str,
        plug: &str,
        slot_snap: &str,
        slot: &str,
    ) -> zbus::Result<String>;
    fn get_change(&self, id: &str) -> zbus::Result<Change>;
    fn hold(&self, snap: &str, time: &str, level: &str) -> zbus::Result<String>;
    fn unhold(&self, snap: &str) -> zbus::Result<()>;
}

/// What the daemon announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    ChangeChanged {
        id: String,
        status: String,
        done: u32,
        total: u32,
    },
    ChangeReady {
        id: String,
        status: String,
        error: String,
    },
    SnapsChanged,
    ConnectionsChanged,
}

/// Connects to the bus at `address`, or the system bus.
pub fn connect(address: Option<&str>) -> zbus::Result<Connection> {
    match address {
        Some(a) => zbus::blocking::connection::Builder::address(a)?.build(),
        None => Connection::system(),
    }
}

/// Forwards the daemon's signals to `tx` from a thread of its own, until the UI goes.
pub fn watch_signals(conn: &Connection, tx: Sender<Signal>) -> zbus::Result<()> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("dev.snappy.Snapd1")?
        .path("/dev/snappy/Snapd1")?
        .build();
    let messages = zbus::blocking::MessageIterator::for_match_rule(rule, conn, Some(64))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for msg in messages.flatten() {
                if let Some(sig) = decode(&msg)
                    && tx.send(sig).is_err()
                {
                    return;
                }
            }
        })
        .map_err(|e| zbus::Error::Failure(e.to_string()))?;
    Ok(())
}

fn decode(msg: &zbus::Message) -> Option<Signal> {
    let header = msg.header();
    let member = header.member()?;
    let body = msg.body();
    Some(match member.as_str() {
        "ChangeChanged" => {
            let (id, _kind, status, done, total): (String, String, String, u32, u32) =
                body.deserialize().ok()?;
            Signal::ChangeChanged {
                id,
                status,
                done,
                total,
            }
        }
        "ChangeReady" => {
            let (id, status, error): (String, String, String) = body.deserialize().ok()?;
            Signal::ChangeReady { id, status, error }
        }
        "SnapsChanged" => Signal::SnapsChanged,
        "ConnectionsChanged" => Signal::ConnectionsChanged,
        _ => return None,
    })
}

/// The message of a failed call, as a person should read it (the D-Bus error's text, without
/// its name unless there is no text).
pub fn error_text(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(name, Some(text), _) => {
            let short = name.as_str().rsplit('.').next().unwrap_or(name.as_str());
            if short == "AccessDenied" {
                format!("permission denied: {text}")
            } else {
                text.clone()
            }
        }
        zbus::Error::MethodError(name, None, _) => name.to_string(),
        other => other.to_string(),
    }
}
