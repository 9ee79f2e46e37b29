//! The connections the daemon remembers, kept in the state as one entry per connection of the
//! `conns` key, as snapd's state.json: `"PLUGSNAP:PLUG SLOTSNAP:SLOT"` → [`ConnState`].
//!
//! An entry with `undesired: true` is not a connection: it is an automatic connection a user
//! took down, remembered so that it is never made again automatically. Removing a snap forgets
//! every entry naming it, undesired ones included.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use snap_state::{State, StateError};

/// The state key holding every connection's entry.
pub const CONNS_KEY: &str = "conns";

/// One plug and one slot: what a connection joins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnRef {
    pub plug: PlugRef,
    pub slot: SlotRef,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PlugRef {
    pub snap: String,
    pub plug: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotRef {
    pub snap: String,
    pub slot: String,
}

impl ConnRef {
    pub fn new(plug_snap: &str, plug: &str, slot_snap: &str, slot: &str) -> ConnRef {
        ConnRef {
            plug: PlugRef {
                snap: plug_snap.to_owned(),
                plug: plug.to_owned(),
            },
            slot: SlotRef {
                snap: slot_snap.to_owned(),
                slot: slot.to_owned(),
            },
        }
    }

    /// The entry name in `conns`: `"PLUGSNAP:PLUG SLOTSNAP:SLOT"`.
    pub fn key(&self) -> String {
        self.to_string()
    }

    pub fn parse(key: &str) -> Option<ConnRef> {
        let (plug, slot) = key.split_once(' ')?;
        let (plug_snap, plug_name) = plug.split_once(':')?;
        let (slot_snap, slot_name) = slot.split_once(':')?;
        if [plug_snap, plug_name, slot_snap, slot_name]
            .iter()
            .any(|s| s.is_empty() || s.contains([' ', ':']))
        {
            return None;
        }
        Some(ConnRef::new(plug_snap, plug_name, slot_snap, slot_name))
    }

    /// Whether either end is on `snap`.
    pub fn involves(&self, snap: &str) -> bool {
        self.plug.snap == snap || self.slot.snap == snap
    }

    /// The snaps of both ends.
    pub fn snaps(&self) -> [&str; 2] {
        [&self.plug.snap, &self.slot.snap]
    }
}

impl fmt::Display for ConnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} {}:{}",
            self.plug.snap, self.plug.plug, self.slot.snap, self.slot.slot
        )
    }
}

/// snapd's ConnState: what is remembered of one connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConnState {
    pub interface: String,
    /// Made by auto-connection, not by a user.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub by_gadget: bool,
    /// An automatic connection a user disconnected: not connected, never auto-connected again.
    #[serde(default, skip_serializing_if = "is_false")]
    pub undesired: bool,
    /// The plug's attributes from its snap.yaml when the connection was made.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plug_static: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plug_dynamic: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slot_static: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slot_dynamic: BTreeMap<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ConnState {
    /// Whether this entry is a live connection (not a remembered disconnection).
    pub fn is_connected(&self) -> bool {
        !self.undesired
    }
}

/// Every entry of `conns`, by connection. Entries whose name does not parse are skipped (with a
/// log line): they were not written by this daemon.
pub fn all_conns(st: &State) -> Result<BTreeMap<ConnRef, ConnState>, StateError> {
    let mut out = BTreeMap::new();
    for key in st.entry_names(CONNS_KEY)? {
        let Some(cref) = ConnRef::parse(&key) else {
            tracing::warn!("ignoring malformed connection key {key:?} in the state");
            continue;
        };
        if let Some(c) = st.get_entry::<ConnState>(CONNS_KEY, &key)? {
            out.insert(cref, c);
        }
    }
    Ok(out)
}

pub fn get_conn(st: &State, cref: &ConnRef) -> Result<Option<ConnState>, StateError> {
    st.get_entry(CONNS_KEY, &cref.key())
}

pub fn set_conn(st: &mut State, cref: &ConnRef, conn: &ConnState) -> Result<(), StateError> {
    st.set_entry(CONNS_KEY, &cref.key(), conn)
}

pub fn remove_conn(st: &mut State, cref: &ConnRef) -> Result<bool, StateError> {
    st.remove_entry(CONNS_KEY, &cref.key())
}

/// Sets the entry to `conn`, or removes it for `None`: how undo puts back what was there.
pub fn put_conn(
    st: &mut State,
    cref: &ConnRef,
    conn: Option<&ConnState>,
) -> Result<(), StateError> {
    match conn {
        Some(c) => set_conn(st, cref, c),
        None => remove_conn(st, cref).map(|_| ()),
    }
}

/// What one task changed in `conns`: each connection with the entry before and after, so that
/// doing it again (after a crash) and undoing it are both exact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnChanges(pub Vec<ConnChange>);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnChange {
    pub conn: ConnRef,
    pub old: Option<ConnState>,
    pub new: Option<ConnState>,
}

impl ConnChanges {
    pub fn apply(&self, st: &mut State) -> Result<(), StateError> {
        for c in &self.0 {
            put_conn(st, &c.conn, c.new.as_ref())?;
        }
        Ok(())
    }

    pub fn revert(&self, st: &mut State) -> Result<(), StateError> {
        for c in self.0.iter().rev() {
            put_conn(st, &c.conn, c.old.as_ref())?;
        }
        Ok(())
    }

    /// The snaps whose connections changed (both ends of each).
    pub fn snaps(&self) -> BTreeSet<String> {
        self.0
            .iter()
            .flat_map(|c| c.conn.snaps())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let c = ConnRef::new("hello", "network", "snapd", "network");
        assert_eq!(c.key(), "hello:network snapd:network");
        assert_eq!(ConnRef::parse(&c.key()), Some(c));
        for bad in ["", "a:b", "a:b c", "a: c:d", ":b c:d", "a:b c:d e"] {
            assert_eq!(ConnRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn conn_state_has_snapds_field_names() {
        let c = ConnState {
            interface: "network".into(),
            auto: true,
            undesired: true,
            ..ConnState::default()
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"interface": "network", "auto": true, "undesired": true})
        );
        assert_eq!(serde_json::from_value::<ConnState>(v).unwrap(), c);
    }

    #[test]
    fn changes_apply_and_revert() {
        let mut st = State::new();
        let a = ConnRef::new("a", "p", "snapd", "network");
        let before = ConnState {
            interface: "network".into(),
            auto: true,
            undesired: true,
            ..ConnState::default()
        };
        set_conn(&mut st, &a, &before).unwrap();
        let b = ConnRef::new("a", "cam", "snapd", "camera");
        let changes = ConnChanges(vec![
            ConnChange {
                conn: a.clone(),
                old: Some(before.clone()),
                new: None,
            },
            ConnChange {
                conn: b.clone(),
                old: None,
                new: Some(ConnState {
                    interface: "camera".into(),
                    ..ConnState::default()
                }),
            },
        ]);
        changes.apply(&mut st).unwrap();
        assert_eq!(get_conn(&st, &a).unwrap(), None);
        assert!(get_conn(&st, &b).unwrap().is_some());
        changes.revert(&mut st).unwrap();
        assert_eq!(get_conn(&st, &a).unwrap(), Some(before));
        assert_eq!(get_conn(&st, &b).unwrap(), None);
        assert_eq!(
            changes.snaps().into_iter().collect::<Vec<_>>(),
            ["a", "snapd"]
        );
    }
}
