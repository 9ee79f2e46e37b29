//! The shapes of the D-Bus API's values, built from the same views the REST API shows
//! (`snapmgr::view`, `ifacemgr::view`, the state's change info): the two front ends cannot
//! disagree about a snap or a connection.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value as Json;
use snap_state::ChangeInfo;
use zbus::zvariant::{OwnedValue, Type, Value};

/// One installed snap, `(ssssssssss)`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Type)]
pub struct SnapEntry {
    pub name: String,
    pub title: String,
    pub version: String,
    pub revision: String,
    /// `app`, `base`, `gadget`, `kernel`, `snapd`, `os`.
    pub snap_type: String,
    pub confinement: String,
    /// The publisher (developer) account; empty for snaps installed from a file.
    pub publisher: String,
    /// Path of the snap's icon (`meta/gui/icon.png` or `.svg`), empty if it has none.
    pub icon: String,
    /// `active` or `installed`.
    pub status: String,
    /// When the refresh hold ends: `forever`, an RFC3339 time, or empty if not held.
    pub hold: String,
}

/// A plug or a slot, `(sssa{sv}a(ss))`: its snap, name, interface, attributes, and the other
/// ends it is connected to (empty: not connected).
#[derive(Clone, Debug, PartialEq, Serialize, Type)]
pub struct Endpoint {
    pub snap: String,
    pub name: String,
    pub interface: String,
    pub attrs: HashMap<String, OwnedValue>,
    pub connections: Vec<(String, String)>,
}

/// A change's progress and result, `(ssssbsuu)`.
#[derive(Clone, Debug, PartialEq, Serialize, Type)]
pub struct ChangeEntry {
    pub id: String,
    pub kind: String,
    pub summary: String,
    /// snapd's status names: `Do`, `Doing`, `Done`, `Error`, `Undoing`, `Undone`, `Hold`...
    pub status: String,
    pub ready: bool,
    /// Why it failed; empty unless its status is `Error`.
    pub error: String,
    /// Tasks finished, of `total`.
    pub done: u32,
    pub total: u32,
}

impl ChangeEntry {
    pub fn from_info(info: &ChangeInfo) -> ChangeEntry {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        ChangeEntry {
            id: info.id.to_string(),
            kind: info.kind.clone(),
            summary: info.summary.clone(),
            status: info.status.as_str().to_owned(),
            ready: info.ready,
            error: info.err.clone().unwrap_or_default(),
            done: count(info.tasks.iter().filter(|t| t.status.is_ready()).count()),
            total: count(info.tasks.len()),
        }
    }
}

/// A plug of the API view as an endpoint.
pub fn plug_endpoint(p: &snapd_api::Plug) -> Endpoint {
    Endpoint {
        snap: p.snap.clone(),
        name: p.plug.clone(),
        interface: p.interface.clone(),
        attrs: attrs(&p.attrs),
        connections: p
            .connections
            .iter()
            .map(|s| (s.snap.clone(), s.slot.clone()))
            .collect(),
    }
}

/// A slot of the API view as an endpoint.
pub fn slot_endpoint(s: &snapd_api::Slot) -> Endpoint {
    Endpoint {
        snap: s.snap.clone(),
        name: s.slot.clone(),
        interface: s.interface.clone(),
        attrs: attrs(&s.attrs),
        connections: s
            .connections
            .iter()
            .map(|p| (p.snap.clone(), p.plug.clone()))
            .collect(),
    }
}

fn attrs(a: &BTreeMap<String, Json>) -> HashMap<String, OwnedValue> {
    a.iter()
        .map(|(k, v)| (k.clone(), owned(json_to_value(v))))
        .collect()
}

fn owned(v: Value<'static>) -> OwnedValue {
    // Only file descriptors fail to convert, and JSON has none.
    OwnedValue::try_from(v).expect("JSON values hold no file descriptors")
}

/// A JSON attribute as a D-Bus variant: strings `s`, booleans `b`, integers `x` (`t` above
/// i64), other numbers `d`, arrays `av`, objects `a{sv}`, null an empty string.
pub fn json_to_value(v: &Json) -> Value<'static> {
    match v {
        Json::Null => Value::from(String::new()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::from(s.clone()),
        Json::Array(items) => {
            let mut arr = zbus::zvariant::Array::new(&zbus::zvariant::Signature::Variant);
            for item in items {
                arr.append(Value::Value(Box::new(json_to_value(item))))
                    .expect("variants fit an array of variants");
            }
            Value::Array(arr)
        }
        Json::Object(map) => {
            let dict: HashMap<String, Value<'static>> = map
                .iter()
                .map(|(k, v)| (k.clone(), Value::Value(Box::new(json_to_value(v)))))
                .collect();
            Value::from(dict)
        }
    }
}

/// The icon a snap ships, as snapd finds it: `meta/gui/icon.{png,svg}` in the mounted
/// revision. `mount_dir` is `<root>/snap/NAME/REV`.
pub fn icon_path(mount_dir: &std::path::Path) -> String {
    ["png", "svg"]
        .iter()
        .map(|ext| mount_dir.join(format!("meta/gui/icon.{ext}")))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signatures_are_the_documented_ones() {
        assert_eq!(SnapEntry::SIGNATURE.to_string(), "(ssssssssss)");
        assert_eq!(Endpoint::SIGNATURE.to_string(), "(sssa{sv}a(ss))");
        assert_eq!(ChangeEntry::SIGNATURE.to_string(), "(ssssbsuu)");
    }

    #[test]
    fn json_attributes_become_variants() {
        assert_eq!(json_to_value(&json!("x")), Value::from("x"));
        assert_eq!(json_to_value(&json!(true)), Value::from(true));
        assert_eq!(json_to_value(&json!(-3)), Value::from(-3i64));
        assert_eq!(json_to_value(&json!(u64::MAX)), Value::from(u64::MAX));
        assert_eq!(json_to_value(&json!(1.5)), Value::from(1.5f64));
        let arr = json_to_value(&json!(["/dev/ttyS0", 1]));
        assert_eq!(arr.value_signature().to_string(), "av");
        let obj = json_to_value(&json!({"read": ["/a"], "n": null}));
        assert_eq!(obj.value_signature().to_string(), "a{sv}");
        let Value::Dict(d) = obj else { panic!() };
        let n: Option<Value<'_>> = d.get(&"n").unwrap();
        assert_eq!(n, Some(Value::Value(Box::new(Value::from("")))));
    }

    #[test]
    fn icons_are_found_in_the_mounted_revision() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(icon_path(tmp.path()), "");
        std::fs::create_dir_all(tmp.path().join("meta/gui")).unwrap();
        std::fs::write(tmp.path().join("meta/gui/icon.svg"), "<svg/>").unwrap();
        assert_eq!(
            icon_path(tmp.path()),
            tmp.path().join("meta/gui/icon.svg").display().to_string()
        );
    }
}
