//! Untyped YAML values, and the attribute tree plugs, slots and system-usernames keep.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// An interface attribute value, after snapd's normalisation: map keys are strings and there is
/// no null.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<AttrValue>),
    Map(BTreeMap<String, AttrValue>),
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[AttrValue]> {
        match self {
            AttrValue::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, AttrValue>> {
        match self {
            AttrValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The value as a list of strings, when it is exactly that.
    pub fn as_string_list(&self) -> Option<Vec<&str>> {
        self.as_list()?.iter().map(AttrValue::as_str).collect()
    }
}

/// A YAML node as the YAML layer typed it (YAML 1.1 booleans and octal included, as snapd's
/// YAML library reads them). Mapping keys keep their type so non-string keys can be refused.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers above `i64::MAX`, which snapd cannot keep as attributes.
    BigUint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(Yaml, Yaml)>),
}

impl Yaml {
    /// A short name of the node's type for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "bool",
            Yaml::Int(_) | Yaml::BigUint(_) => "int",
            Yaml::Float(_) => "float",
            Yaml::Str(_) => "string",
            Yaml::Seq(_) => "list",
            Yaml::Map(_) => "map",
        }
    }

    /// A scalar as text (for values snapd ignores but we keep for reference).
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::BigUint(u) => Some(u.to_string()),
            Yaml::Float(f) => Some(f.to_string()),
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Null | Yaml::Seq(_) | Yaml::Map(_) => None,
        }
    }
}

impl fmt::Display for Yaml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Yaml::Null => f.write_str("null"),
            Yaml::Seq(_) => f.write_str("[...]"),
            Yaml::Map(_) => f.write_str("{...}"),
            other => f.write_str(&other.scalar_text().unwrap_or_default()),
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_none<E>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Yaml, E> {
        Ok(i64::try_from(v).map_or(Yaml::BigUint(v), Yaml::Int))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Yaml, E> {
        Err(E::custom("integer out of range"))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Yaml, E> {
        Err(E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Yaml, E> {
        String::from_utf8(v.to_vec())
            .map(Yaml::Str)
            .map_err(|_| E::custom("binary value is not UTF-8"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Yaml::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = map.next_entry()? {
            out.push(entry);
        }
        Ok(Yaml::Map(out))
    }
}

/// Turns a YAML value into an attribute value the way snapd normalises attributes: null, keys
/// that are not strings and integers beyond 64-bit signed are refused.
pub(crate) fn normalize(value: &Yaml) -> Result<AttrValue, String> {
    Ok(match value {
        Yaml::Str(s) => AttrValue::String(s.clone()),
        Yaml::Bool(b) => AttrValue::Bool(*b),
        Yaml::Int(i) => AttrValue::Int(*i),
        Yaml::Float(f) => AttrValue::Float(*f),
        Yaml::Null | Yaml::BigUint(_) => return Err(format!("invalid scalar: {value}")),
        Yaml::Seq(items) => AttrValue::List(items.iter().map(normalize).collect::<Result<_, _>>()?),
        Yaml::Map(entries) => {
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let Yaml::Str(k) = k else {
                    return Err(format!("non-string key: {k}"));
                };
                out.insert(k.clone(), normalize(v)?);
            }
            AttrValue::Map(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_scalars_lists_maps() {
        let v = Yaml::Map(vec![
            (Yaml::Str("a".into()), Yaml::Int(1)),
            (
                Yaml::Str("b".into()),
                Yaml::Seq(vec![Yaml::Bool(true), Yaml::Float(1.5)]),
            ),
        ]);
        let n = normalize(&v).unwrap();
        let m = n.as_map().unwrap();
        assert_eq!(m["a"], AttrValue::Int(1));
        assert_eq!(
            m["b"],
            AttrValue::List(vec![AttrValue::Bool(true), AttrValue::Float(1.5)])
        );
    }

    #[test]
    fn normalize_refuses_null_and_non_string_keys() {
        assert_eq!(normalize(&Yaml::Null).unwrap_err(), "invalid scalar: null");
        assert_eq!(
            normalize(&Yaml::BigUint(u64::MAX)).unwrap_err(),
            format!("invalid scalar: {}", u64::MAX)
        );
        let v = Yaml::Map(vec![(Yaml::Int(1), Yaml::Str("x".into()))]);
        assert_eq!(normalize(&v).unwrap_err(), "non-string key: 1");
        let nested = Yaml::Seq(vec![Yaml::Null]);
        assert!(normalize(&nested).is_err());
    }

    #[test]
    fn string_list_view() {
        let l = AttrValue::List(vec![AttrValue::String("a".into())]);
        assert_eq!(l.as_string_list(), Some(vec!["a"]));
        let mixed = AttrValue::List(vec![AttrValue::Int(1)]);
        assert_eq!(mixed.as_string_list(), None);
    }
}
