//! Plugs and slots as the daemon keeps and shows them, and connections between them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use snap_core::{AttrValue, Endpoint, SnapYaml};

use crate::catalogue::{SYSTEM_SNAP, catalogue};

/// A plug of an installed snap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlugEnd {
    /// The snap's instance name.
    pub snap: String,
    pub plug: String,
    pub interface: String,
    /// Static attributes from snap.yaml (after the interface's normalisation: a content plug
    /// without a `content` label gets its name, as in snapd).
    #[serde(default)]
    pub attrs: BTreeMap<String, serde_json::Value>,
    /// The apps it is bound to, then its hooks as `hook.NAME`, each sorted.
    #[serde(default)]
    pub apps: Vec<String>,
}

/// A slot of an installed snap, or an implicit slot of [`SYSTEM_SNAP`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotEnd {
    pub snap: String,
    pub slot: String,
    pub interface: String,
    #[serde(default)]
    pub attrs: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub apps: Vec<String>,
}

/// A plug connected to a slot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub plug: PlugEnd,
    pub slot: SlotEnd,
}

impl PlugEnd {
    /// `snap:plug`, as snapd writes a plug reference.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.snap, self.plug)
    }

    pub(crate) fn attr_str(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).and_then(|v| v.as_str())
    }
}

impl SlotEnd {
    /// `snap:slot`, as snapd writes a slot reference.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.snap, self.slot)
    }

    pub(crate) fn attr_str(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).and_then(|v| v.as_str())
    }
}

/// An attribute value as JSON. Floats JSON cannot hold (NaN, infinities) become `null`.
pub fn attr_to_json(value: &AttrValue) -> serde_json::Value {
    use serde_json::Value;
    match value {
        AttrValue::String(s) => Value::String(s.clone()),
        AttrValue::Int(i) => Value::from(*i),
        AttrValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        AttrValue::Bool(b) => Value::Bool(*b),
        AttrValue::List(l) => Value::Array(l.iter().map(attr_to_json).collect()),
        AttrValue::Map(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), attr_to_json(v)))
                .collect(),
        ),
    }
}

/// The apps then hooks (`hook.NAME`) an endpoint is bound to. Component hooks (which have no
/// profiles of their own yet) are left out.
fn bound(ep: &Endpoint) -> Vec<String> {
    let mut out: Vec<String> = ep.apps.iter().cloned().collect();
    out.extend(
        ep.hooks
            .iter()
            .filter(|h| !h.contains('+'))
            .map(|h| format!("hook.{h}")),
    );
    out
}

fn attrs(ep: &Endpoint) -> BTreeMap<String, serde_json::Value> {
    let mut out: BTreeMap<String, serde_json::Value> = ep
        .attrs
        .iter()
        .map(|(k, v)| (k.clone(), attr_to_json(v)))
        .collect();
    if ep.interface == "content" {
        default_content_label(&mut out, &ep.name);
    }
    out
}

/// snapd's content normalisation: without a non-empty `content` or `compatibility` label, the
/// content label is the plug's (slot's) name.
fn default_content_label(attrs: &mut BTreeMap<String, serde_json::Value>, name: &str) {
    let non_empty = |key: &str| {
        attrs
            .get(key)
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.is_empty())
    };
    if !non_empty("content") && !non_empty("compatibility") {
        attrs.insert("content".into(), serde_json::Value::String(name.to_owned()));
    }
}

/// Every plug of `snap` (under its store name; see [`plugs_of_instance`]).
pub fn plugs_of(snap: &SnapYaml) -> Vec<PlugEnd> {
    plugs_of_instance(snap, &snap.name)
}

/// Every plug of the instance `instance` (`foo_bar`) of `snap`.
pub fn plugs_of_instance(snap: &SnapYaml, instance: &str) -> Vec<PlugEnd> {
    snap.plugs
        .values()
        .map(|p| PlugEnd {
            snap: instance.to_owned(),
            plug: p.name.clone(),
            interface: p.interface.clone(),
            attrs: attrs(p),
            apps: bound(p),
        })
        .collect()
}

/// Every slot of `snap` (under its store name; see [`slots_of_instance`]).
pub fn slots_of(snap: &SnapYaml) -> Vec<SlotEnd> {
    slots_of_instance(snap, &snap.name)
}

/// Every slot of the instance `instance` of `snap`.
pub fn slots_of_instance(snap: &SnapYaml, instance: &str) -> Vec<SlotEnd> {
    snap.slots
        .values()
        .map(|s| SlotEnd {
            snap: instance.to_owned(),
            slot: s.name.clone(),
            interface: s.interface.clone(),
            attrs: attrs(s),
            apps: bound(s),
        })
        .collect()
}

/// The implicit slots of [`SYSTEM_SNAP`]: one per interface of the catalogue with
/// `system_slot`, named after the interface, without attributes or apps.
pub fn system_slots() -> Vec<SlotEnd> {
    catalogue()
        .iter()
        .filter(|d| d.system_slot)
        .map(|d| SlotEnd {
            snap: SYSTEM_SNAP.to_owned(),
            slot: d.name.to_owned(),
            interface: d.name.to_owned(),
            attrs: BTreeMap::new(),
            apps: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const YAML: &[u8] = br#"
name: consumer
version: "1"
plugs:
  shared:
    interface: content
    target: $SNAP/shared
    default-provider: provider
  fonts:
    interface: content
    content: font-data
    target: $SNAP_DATA/fonts
  net: network
  ratio:
    interface: personal-files
    read: [$HOME/.config/x]
    weight: 1.5
slots:
  out:
    interface: content
    read: [$SNAP/out]
apps:
  a:
    command: bin/a
    plugs: [net, camera]
  b:
    command: bin/b
hooks:
  configure:
    plugs: [net]
  install: {}
"#;

    fn snap() -> SnapYaml {
        snap_core::parse_snap_yaml(YAML).unwrap()
    }

    #[test]
    fn plugs_with_attrs_and_binding() {
        let plugs = plugs_of(&snap());
        let names: Vec<&str> = plugs.iter().map(|p| p.plug.as_str()).collect();
        assert_eq!(names, ["camera", "fonts", "net", "ratio", "shared"]);
        let get = |n: &str| plugs.iter().find(|p| p.plug == n).unwrap();
        // Listed by an app: bound to it only (and to the hook listing it).
        assert_eq!(get("net").apps, ["a", "hook.configure"]);
        assert_eq!(get("net").interface, "network");
        assert_eq!(get("camera").apps, ["a"]);
        // Listed by nobody: bound to every app and hook.
        assert_eq!(
            get("shared").apps,
            ["a", "b", "hook.configure", "hook.install"]
        );
        assert_eq!(get("shared").attrs["target"], json!("$SNAP/shared"));
        // The content label defaults to the plug's name, as snapd normalises it.
        assert_eq!(get("shared").attrs["content"], json!("shared"));
        assert_eq!(get("fonts").attrs["content"], json!("font-data"));
        assert_eq!(get("ratio").attrs["read"], json!(["$HOME/.config/x"]));
        assert_eq!(get("ratio").attrs["weight"], json!(1.5));
        assert!(plugs.iter().all(|p| p.snap == "consumer"));

        let slots = slots_of(&snap());
        assert_eq!(slots.len(), 1);
        assert_eq!(slots[0].attrs["content"], json!("out"));
        assert_eq!(slots[0].reference(), "consumer:out");

        let inst = plugs_of_instance(&snap(), "consumer_x");
        assert!(inst.iter().all(|p| p.snap == "consumer_x"));
    }

    #[test]
    fn system_slots_one_per_implicit_interface() {
        let slots = system_slots();
        assert!(
            slots
                .iter()
                .all(|s| s.snap == SYSTEM_SNAP && s.slot == s.interface)
        );
        let names: Vec<&str> = slots.iter().map(|s| s.slot.as_str()).collect();
        for n in ["network", "home", "camera", "kvm", "x11", "snapd-control"] {
            assert!(names.contains(&n), "{n}");
        }
        for n in ["content", "serial-port", "dbus", "gpio"] {
            assert!(!names.contains(&n), "{n}");
        }
    }

    #[test]
    fn json_shape() {
        let c = Connection {
            plug: plugs_of(&snap()).remove(2),
            slot: system_slots()
                .into_iter()
                .find(|s| s.slot == "network")
                .unwrap(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["plug"]["plug"], json!("net"));
        assert_eq!(v["slot"]["snap"], json!("snapd"));
        let back: Connection = serde_json::from_value(v).unwrap();
        assert_eq!(back, c);
        assert_eq!(attr_to_json(&AttrValue::Float(f64::NAN)), json!(null));
    }
}
