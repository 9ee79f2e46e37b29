//! Top-level `data` keys of the state (`snaps`, `conns`, `config`...).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::data::{from_raw, to_raw};
use crate::document::write_raw_map;
use crate::{State, StateError};

/// A top-level `data` value. Object-valued keys (`snaps`, `conns`,
/// `config`...) are kept split one level deep so that updating one snap's
/// entry neither parses nor re-serializes the other 499.
#[derive(Debug)]
pub(crate) enum DataValue {
    Raw(Box<RawValue>),
    Map(BTreeMap<String, Box<RawValue>>),
}

impl DataValue {
    pub(crate) fn from_raw(raw: Box<RawValue>) -> Self {
        if raw.get().starts_with('{')
            && let Ok(map) = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(raw.get())
        {
            return DataValue::Map(map);
        }
        DataValue::Raw(raw)
    }

    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            DataValue::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
            DataValue::Map(map) => {
                write_raw_map(out, map.iter().map(|(k, v)| (k.as_str(), v.get())))
            }
        }
    }

    fn to_json_string(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).expect("JSON text is UTF-8")
    }
}

impl State {
    /// Deserializes `data[key]`, `Ok(None)` when absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        match self.data.get(key) {
            None => Ok(None),
            Some(DataValue::Raw(raw)) => from_raw(key, raw).map(Some),
            Some(v @ DataValue::Map(_)) => serde_json::from_str(&v.to_json_string())
                .map(Some)
                .map_err(|source| StateError::Decode {
                    key: key.to_owned(),
                    source,
                }),
        }
    }

    /// Whether `data[key]` exists.
    pub fn has(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }

    /// Replaces `data[key]`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), StateError> {
        let raw = to_raw(key, value)?;
        self.set_raw(key, raw);
        Ok(())
    }

    /// Replaces `data[key]` with already-serialized JSON.
    pub fn set_raw(&mut self, key: &str, raw: Box<RawValue>) {
        self.data.insert(key.to_owned(), DataValue::Raw(raw));
        self.modified = true;
    }

    /// The JSON text of `data[key]`.
    pub fn get_raw(&self, key: &str) -> Option<String> {
        self.data.get(key).map(DataValue::to_json_string)
    }

    /// Removes `data[key]`.
    pub fn remove(&mut self, key: &str) -> bool {
        let had = self.data.remove(key).is_some();
        self.modified |= had;
        had
    }

    /// Deserializes `data[key][entry]` for object-valued keys (e.g. one
    /// snap's entry of `snaps`) without decoding the rest of the object.
    pub fn get_entry<T: DeserializeOwned>(
        &self,
        key: &str,
        entry: &str,
    ) -> Result<Option<T>, StateError> {
        let ctx = || format!("{key}.{entry}");
        match self.data.get(key) {
            None => Ok(None),
            Some(DataValue::Map(map)) => {
                map.get(entry).map(|raw| from_raw(&ctx(), raw)).transpose()
            }
            Some(DataValue::Raw(raw)) => {
                let map: BTreeMap<String, Box<RawValue>> = from_raw(key, raw)?;
                map.get(entry).map(|raw| from_raw(&ctx(), raw)).transpose()
            }
        }
    }

    /// Sets `data[key][entry]`, creating `data[key]` as an object if needed.
    /// Only this entry is serialized, now and at checkpoints.
    pub fn set_entry<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        entry: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let raw = to_raw(&format!("{key}.{entry}"), value)?;
        self.entry_map(key)?.insert(entry.to_owned(), raw);
        self.modified = true;
        Ok(())
    }

    /// Removes `data[key][entry]`; returns whether it existed.
    pub fn remove_entry(&mut self, key: &str, entry: &str) -> Result<bool, StateError> {
        if !self.data.contains_key(key) {
            return Ok(false);
        }
        let had = self.entry_map(key)?.remove(entry).is_some();
        self.modified |= had;
        Ok(had)
    }

    /// Entry names of the object `data[key]` (empty if absent).
    pub fn entry_names(&self, key: &str) -> Result<Vec<String>, StateError> {
        match self.data.get(key) {
            None => Ok(Vec::new()),
            Some(DataValue::Map(map)) => Ok(map.keys().cloned().collect()),
            Some(DataValue::Raw(raw)) => {
                let map: BTreeMap<String, Box<RawValue>> = from_raw(key, raw)?;
                Ok(map.into_keys().collect())
            }
        }
    }

    fn entry_map(&mut self, key: &str) -> Result<&mut BTreeMap<String, Box<RawValue>>, StateError> {
        let slot = self
            .data
            .entry(key.to_owned())
            .or_insert_with(|| DataValue::Map(BTreeMap::new()));
        if let DataValue::Raw(raw) = slot {
            let map: BTreeMap<String, Box<RawValue>> = from_raw(key, raw)?;
            *slot = DataValue::Map(map);
        }
        match slot {
            DataValue::Map(map) => Ok(map),
            DataValue::Raw(_) => unreachable!("converted above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_keys_and_entries() {
        let mut st = State::new();
        assert_eq!(st.get::<u32>("seeded").unwrap(), None);
        st.set("seeded", &true).unwrap();
        assert_eq!(st.get::<bool>("seeded").unwrap(), Some(true));
        st.set_entry("snaps", "hello", &json!({"active": true}))
            .unwrap();
        st.set_entry("snaps", "core", &json!({"active": false}))
            .unwrap();
        assert_eq!(
            st.get_entry::<serde_json::Value>("snaps", "hello").unwrap(),
            Some(json!({"active": true}))
        );
        assert_eq!(st.entry_names("snaps").unwrap(), ["core", "hello"]);
        let all: serde_json::Value = st.get("snaps").unwrap().unwrap();
        assert_eq!(
            all,
            json!({"core": {"active": false}, "hello": {"active": true}})
        );
        // A whole-value set followed by an entry update keeps the other entries.
        st.set("conns", &json!({"a:b c:d": {"auto": true}}))
            .unwrap();
        st.set_entry("conns", "e:f g:h", &json!({"auto": false}))
            .unwrap();
        assert_eq!(st.entry_names("conns").unwrap().len(), 2);
        assert!(st.remove_entry("snaps", "core").unwrap());
        assert!(!st.remove_entry("snaps", "core").unwrap());
        assert!(
            st.get::<u32>("snaps").is_err(),
            "type mismatch is a decode error"
        );
        // Setting an entry under a non-object value is a decode error, not a panic.
        st.set("seeded", &true).unwrap();
        assert!(st.set_entry("seeded", "x", &1).is_err());
    }
}
