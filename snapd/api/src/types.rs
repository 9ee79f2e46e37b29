//! The objects inside `result`, with snapd's field names. Optional fields are omitted when
//! empty, as snapd does, because clients distinguish "absent" from "empty" in places.

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
