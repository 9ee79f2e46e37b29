//! What first boot takes from the gadget's gadget.yaml: the `system` configuration defaults
//! and the interface connections. Pure.
//!
//! Both are keyed by snap-id (`defaults: <snap-id>: ...`, `plug: <snap-id>:<plug>`), which
//! snapd resolves through the seed's snap-declaration assertions. Our seeds are unasserted:
//! their snaps have no snap-id, so only what is keyed by `system` (or the `core` snap's id,
//! which counts as `system`) can apply. Everything else is reported as skipped, as snapd skips
//! a connection naming a snap it does not know.

use std::collections::BTreeMap;

use gadget_kernel::{Connection, DefaultValue};
use serde_json::Value;

/// The production store's snap-id of the `core` snap, whose stanza counts as `system`
/// (snapd's rule; `gadget_kernel` applies it in `system_defaults`).
const CORE_SNAP_ID: &str = "99T7MUlRhtI3U0QFgl5mXXESAiSwt776";

/// A configuration value as the config store holds it.
pub fn to_json(v: &DefaultValue) -> Value {
    match v {
        DefaultValue::String(s) => Value::String(s.clone()),
        DefaultValue::Bool(b) => Value::Bool(*b),
        DefaultValue::Int(i) => Value::from(*i),
        DefaultValue::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        DefaultValue::List(items) => Value::Array(items.iter().map(to_json).collect()),
        DefaultValue::Map(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        DefaultValue::Null => Value::Null,
    }
}

/// The stanzas of `defaults` that cannot apply: keyed by a snap-id no seeded snap has.
pub fn skipped_default_stanzas(
    defaults: &BTreeMap<String, BTreeMap<String, DefaultValue>>,
    known_ids: &BTreeMap<String, String>,
) -> Vec<String> {
    defaults
        .keys()
        .filter(|k| {
            k.as_str() != "system" && k.as_str() != CORE_SNAP_ID && !known_ids.contains_key(*k)
        })
        .cloned()
        .collect()
}

/// A gadget connection with its ends named by snap name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub plug_snap: String,
    pub plug: String,
    pub slot_snap: String,
    pub slot: String,
}

/// Resolves the ends of each connection: `system` is the system snap (`system_snap`), any
/// other id must be one of `known_ids` (snap-id → name). Returns the resolved connections and,
/// for the others, why they are skipped.
pub fn resolve_connections(
    conns: &[Connection],
    known_ids: &BTreeMap<String, String>,
    system_snap: &str,
) -> (Vec<Resolved>, Vec<String>) {
    let name_of = |id: &str| -> Option<String> {
        if id == "system" {
            Some(system_snap.to_owned())
        } else {
            known_ids.get(id).cloned()
        }
    };
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for c in conns {
        let shown = format!(
            "{}:{} {}:{}",
            c.plug.snap_id, c.plug.name, c.slot.snap_id, c.slot.name
        );
        match (name_of(&c.plug.snap_id), name_of(&c.slot.snap_id)) {
            (Some(plug_snap), Some(slot_snap)) => ok.push(Resolved {
                plug_snap,
                plug: c.plug.name.clone(),
                slot_snap,
                slot: c.slot.name.clone(),
            }),
            (p, _) => {
                let id = if p.is_none() {
                    &c.plug.snap_id
                } else {
                    &c.slot.snap_id
                };
                skipped.push(format!(
                    "gadget connection {shown} skipped: no seeded snap has snap-id {id:?} (the seed is unasserted)"
                ));
            }
        }
    }
    (ok, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gadget_kernel::ConnectionEnd;

    fn end(id: &str, name: &str) -> ConnectionEnd {
        ConnectionEnd {
            snap_id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn values_convert_to_json() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), DefaultValue::Int(3));
        m.insert(
            "b".to_owned(),
            DefaultValue::List(vec![
                DefaultValue::Bool(true),
                DefaultValue::String("x".into()),
            ]),
        );
        assert_eq!(
            to_json(&DefaultValue::Map(m)),
            serde_json::json!({"a": 3, "b": [true, "x"]})
        );
        assert_eq!(to_json(&DefaultValue::Float(0.5)), serde_json::json!(0.5));
    }

    #[test]
    fn only_known_or_system_stanzas_apply() {
        let mut d = BTreeMap::new();
        d.insert("system".to_owned(), BTreeMap::new());
        d.insert(CORE_SNAP_ID.to_owned(), BTreeMap::new());
        d.insert(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            BTreeMap::new(),
        );
        d.insert(
            "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB".to_owned(),
            BTreeMap::new(),
        );
        let mut known = BTreeMap::new();
        known.insert(
            "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB".to_owned(),
            "b".to_owned(),
        );
        assert_eq!(
            skipped_default_stanzas(&d, &known),
            ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
        );
    }

    #[test]
    fn connections_resolve_through_known_ids_and_system() {
        let conns = vec![
            Connection {
                plug: end("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "net"),
                slot: end("system", "network"),
            },
            Connection {
                plug: end("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", "cam"),
                slot: end("system", "camera"),
            },
        ];
        let mut known = BTreeMap::new();
        known.insert(
            "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB".to_owned(),
            "b".to_owned(),
        );
        let (ok, skipped) = resolve_connections(&conns, &known, "snapd");
        assert_eq!(
            ok,
            [Resolved {
                plug_snap: "b".into(),
                plug: "cam".into(),
                slot_snap: "snapd".into(),
                slot: "camera".into()
            }]
        );
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].contains("\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""),
            "{skipped:?}"
        );
    }
}
