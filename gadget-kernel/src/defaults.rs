//! `defaults` (configuration applied when snaps are seeded) and `connections` (interface
//! connections made at seeding).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

/// snap-id of the `core` snap in the production store; its defaults stanza counts as `system`.
pub const CORE_SNAP_ID: &str = "99T7MUlRhtI3U0QFgl5mXXESAiSwt776";

/// A configuration value under `defaults`.
#[derive(Clone, Debug, PartialEq)]
pub enum DefaultValue {
    String(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    List(Vec<DefaultValue>),
    Map(BTreeMap<String, DefaultValue>),
    /// A YAML null; snapd refuses it ("invalid scalar"), so a parsed gadget never holds one.
    Null,
}

impl DefaultValue {
    /// The first null found inside this value, as a path like `a.b[2]`.
    pub(crate) fn find_null(&self, path: &str) -> Option<String> {
        match self {
            Self::Null => Some(path.to_owned()),
            Self::List(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| v.find_null(&format!("{path}[{i}]"))),
            Self::Map(map) => map
                .iter()
                .find_map(|(k, v)| v.find_null(&format!("{path}.{k}"))),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for DefaultValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = DefaultValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a configuration value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(DefaultValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(DefaultValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(DefaultValue::Int)
                    .map_err(|_| E::custom(format!("invalid scalar: {v}")))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(DefaultValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(DefaultValue::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(DefaultValue::String(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(DefaultValue::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(DefaultValue::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                DefaultValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<DefaultValue>()? {
                    items.push(item);
                }
                Ok(DefaultValue::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, DefaultValue>()? {
                    out.insert(k, v);
                }
                Ok(DefaultValue::Map(out))
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Checks the `defaults` stanzas: each is keyed by `system` or a snap-id and holds no null.
pub(crate) fn check_defaults(
    defaults: &BTreeMap<String, BTreeMap<String, DefaultValue>>,
) -> Result<(), String> {
    for (key, stanza) in defaults {
        if key != "system" && snap_core::naming::validate_snap_id(key).is_err() {
            return Err(format!(
                r#"default stanza not keyed by "system" or snap-id: {key}"#
            ));
        }
        for (name, value) in stanza {
            if let Some(at) = value.find_null(name) {
                return Err(format!(
                    "default value of {key:?}: invalid scalar: null (at {at})"
                ));
            }
        }
    }
    Ok(())
}

/// The system configuration defaults (the `system` stanza, or the `core` snap's), flattened
/// with dots: `{refresh: {retain: 2}}` becomes `refresh.retain = 2`.
pub fn system_defaults(
    defaults: &BTreeMap<String, BTreeMap<String, DefaultValue>>,
) -> Option<BTreeMap<String, DefaultValue>> {
    let stanza = defaults
        .get("system")
        .or_else(|| defaults.get(CORE_SNAP_ID))?;
    let mut out = BTreeMap::new();
    for (key, value) in stanza {
        flatten(key, value, &mut out);
    }
    Some(out)
}

fn flatten(path: &str, value: &DefaultValue, out: &mut BTreeMap<String, DefaultValue>) {
    match value {
        DefaultValue::Map(map) => {
            for (k, v) in map {
                flatten(&format!("{path}.{k}"), v, out);
            }
        }
        other => {
            out.insert(path.to_owned(), other.clone());
        }
    }
}

/// One end of a gadget connection: a snap-id (or `system`) and a plug or slot name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionEnd {
    pub snap_id: String,
    pub name: String,
}

/// A `connections` entry; a missing `slot` means the system slot named like the plug.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub plug: ConnectionEnd,
    pub slot: ConnectionEnd,
}

/// Parses `<snap-id>:<name>` (exactly one colon, both sides non-empty).
pub(crate) fn parse_connection_end(s: &str, what: &str) -> Result<ConnectionEnd, String> {
    let mut parts = s.split(':');
    let (id, name) = match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(name), None) => (id, name),
        _ => ("", ""),
    };
    if id.is_empty() || name.is_empty() {
        return Err(format!(
            r#"in gadget connection {what}: expected "(<snap-id>|system):name" not {s:?}"#
        ));
    }
    Ok(ConnectionEnd {
        snap_id: id.to_owned(),
        name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ends() {
        assert_eq!(
            parse_connection_end("snapid1:plg1", "plug").unwrap(),
            ConnectionEnd {
                snap_id: "snapid1".into(),
                name: "plg1".into()
            }
        );
        assert_eq!(
            parse_connection_end(":", "plug").unwrap_err(),
            r#"in gadget connection plug: expected "(<snap-id>|system):name" not ":""#
        );
        assert!(parse_connection_end("foo:", "slot").is_err());
        assert!(parse_connection_end("a:b:c", "slot").is_err());
        assert!(parse_connection_end("ab", "slot").is_err());
    }

    #[test]
    fn defaults_keys() {
        let mut d = BTreeMap::new();
        d.insert("system".to_owned(), BTreeMap::new());
        d.insert(
            "otheridididididididididididididi".to_owned(),
            BTreeMap::new(),
        );
        assert!(check_defaults(&d).is_ok());
        d.insert("foo".to_owned(), BTreeMap::new());
        assert_eq!(
            check_defaults(&d).unwrap_err(),
            r#"default stanza not keyed by "system" or snap-id: foo"#
        );
    }

    #[test]
    fn null_defaults_are_refused() {
        let mut stanza = BTreeMap::new();
        let mut inner = BTreeMap::new();
        inner.insert("b".to_owned(), DefaultValue::Null);
        stanza.insert("a".to_owned(), DefaultValue::Map(inner));
        let mut d = BTreeMap::new();
        d.insert("system".to_owned(), stanza);
        assert!(check_defaults(&d).unwrap_err().contains("(at a.b)"));
    }

    #[test]
    fn flattening() {
        let mut inner = BTreeMap::new();
        inner.insert("retain".to_owned(), DefaultValue::Int(2));
        let mut stanza = BTreeMap::new();
        stanza.insert("refresh".to_owned(), DefaultValue::Map(inner));
        stanza.insert("x".to_owned(), DefaultValue::Bool(true));
        let mut d = BTreeMap::new();
        d.insert(CORE_SNAP_ID.to_owned(), stanza);
        let flat = system_defaults(&d).unwrap();
        assert_eq!(flat.get("refresh.retain"), Some(&DefaultValue::Int(2)));
        assert_eq!(flat.get("x"), Some(&DefaultValue::Bool(true)));
        assert_eq!(system_defaults(&BTreeMap::new()), None);
    }
}
