//! The objects inside `result`, with snapd's field names. Optional fields are omitted when
//! empty, as snapd does, because clients distinguish "absent" from "empty" in places.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A snap as `GET /v2/snaps` and `GET /v2/snaps/{name}` describe it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Snap {
    /// The store's snap-id; empty for snaps installed from a local file.
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_date: Option<String>,
    pub name: String,
    #[serde(default)]
    pub developer: String,
    /// `active` for the current revision of an enabled snap, `installed` otherwise.
    #[serde(default)]
    pub status: String,
    #[serde(rename = "type", default)]
    pub snap_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_channel: Option<String>,
    #[serde(default)]
    pub ignore_validation: bool,
    /// `"42"` for store revisions, `"x1"` for local ones.
    #[serde(default)]
    pub revision: String,
    #[serde(default)]
    pub confinement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub devmode: bool,
    #[serde(default)]
    pub jailmode: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<App>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounted_from: Option<String>,
    #[serde(default)]
    pub contact: String,
    /// What the snap last reported with `snapctl set-health`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<SnapHealth>,
}

/// snapd's health object: `status` is okay, waiting, blocked, error or unknown.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SnapHealth {
    pub revision: String,
    pub timestamp: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
}

/// An app of a snap, as listed in [`Snap::apps`] and by `/v2/apps`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct App {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snap: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_id: Option<String>,
}

/// A change as `/v2/changes` shows it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Change {
    pub id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<String>,
    #[serde(default)]
    pub spawn_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_time: Option<String>,
    /// The change's `api-data`: `snap-name`, `snap-names`, ... what clients print from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A task of a change.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Task {
    pub id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    #[serde(default)]
    pub progress: Progress,
    #[serde(default)]
    pub spawn_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub done: u64,
    #[serde(default)]
    pub total: u64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            label: String::new(),
            done: 0,
            total: 1,
        }
    }
}

/// `GET /v2/system-info`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct SystemInfo {
    pub series: String,
    pub version: String,
    #[serde(default)]
    pub build_id: String,
    pub os_release: OsRelease,
    pub on_classic: bool,
    #[serde(default)]
    pub managed: bool,
    #[serde(default)]
    pub kernel_version: String,
    #[serde(default)]
    pub architecture: String,
    pub locations: Locations,
    /// snapd-glib expects an object here even when nothing is scheduled.
    #[serde(default)]
    pub refresh: Value,
    #[serde(default)]
    pub confinement: String,
    #[serde(default)]
    pub sandbox_features: Value,
    #[serde(default)]
    pub system_mode: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct OsRelease {
    pub id: String,
    #[serde(default)]
    pub version_id: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Locations {
    pub snap_mount_dir: String,
    pub snap_bin_dir: String,
}

/// A warning as `GET /v2/warnings` lists it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Warning {
    pub message: String,
    pub first_added: String,
    pub last_added: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_shown: Option<String>,
    pub expire_after: String,
    pub repeat_after: String,
}

/// A plug as `/v2/connections`, `/v2/interfaces` and the legacy interfaces listing show it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Plug {
    pub snap: String,
    pub plug: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The slots this plug is connected to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<SlotRef>,
}

/// A slot, the counterpart of [`Plug`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Slot {
    pub snap: String,
    pub slot: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The plugs connected to this slot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<PlugRef>,
}

/// `{"snap", "plug"}`: names a plug. In a connect or disconnect request an empty snap stands for
/// the system snap (on the slot side) and an empty name for "the only one that fits".
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlugRef {
    #[serde(default)]
    pub snap: String,
    #[serde(default)]
    pub plug: String,
}

/// `{"snap", "slot"}`: names a slot.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct SlotRef {
    #[serde(default)]
    pub snap: String,
    #[serde(default)]
    pub slot: String,
}

/// One connection of `GET /v2/connections`. `manual` is a connection a user made (not an
/// automatic one); `gadget` one the gadget snap asked for.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Connection {
    pub slot: SlotRef,
    pub plug: PlugRef,
    pub interface: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub manual: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub gadget: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slot_attrs: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plug_attrs: BTreeMap<String, Value>,
}

/// `GET /v2/connections`: the connections (`undesired` lists automatic connections a user
/// disconnected, only with `select=all`), and the plugs and slots they involve (with
/// `select=all`, also the unconnected ones).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Connections {
    #[serde(default)]
    pub established: Vec<Connection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undesired: Vec<Connection>,
    #[serde(default)]
    pub plugs: Vec<Plug>,
    #[serde(default)]
    pub slots: Vec<Slot>,
}

/// One interface of `GET /v2/interfaces?select=...`; `plugs` and `slots` only when asked for.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Interface {
    pub name: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugs: Option<Vec<Plug>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<Vec<Slot>>,
}

/// `GET /v2/interfaces` without `select`: every plug and slot with its connections (what the
/// deprecated `snap interfaces` reads).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LegacyInterfaces {
    #[serde(default)]
    pub plugs: Vec<Plug>,
    #[serde(default)]
    pub slots: Vec<Slot>,
}

/// The body of `POST /v2/interfaces`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct InterfaceAction {
    #[serde(default)]
    pub action: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub forget: bool,
    #[serde(default)]
    pub plugs: Vec<PlugRef>,
    #[serde(default)]
    pub slots: Vec<SlotRef>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
