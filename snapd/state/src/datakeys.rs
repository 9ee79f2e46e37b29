//! Top-level `data` keys of the state (`snaps`, `conns`, `config`...).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

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

    /// The entries of an object value, splitting a raw object first.
    fn entries_mut(
        &mut self,
        key: &str,
    ) -> Result<&mut BTreeMap<String, Box<RawValue>>, StateError> {
        if let DataValue::Raw(raw) = self {
            let map: BTreeMap<String, Box<RawValue>> = from_raw(key, raw)?;
            *self = DataValue::Map(map);
        }
        match self {
            DataValue::Map(map) => Ok(map),
            DataValue::Raw(_) => unreachable!("converted above"),
        }
    }
}

/// What changed in one key since the last checkpoint.
#[derive(Debug)]
enum KeyDirty {
    /// Replaced or removed as a whole: journal the whole value (or removal).
    Whole,
    /// Only these entries of an object value were set or removed.
    Entries(BTreeSet<String>),
}

/// The `data` keys plus what changed in them since the last checkpoint.
/// Every mutation goes through a method here, which records it.
#[derive(Debug, Default)]
pub(crate) struct DataKeys {
    map: BTreeMap<String, DataValue>,
    dirty: BTreeMap<String, KeyDirty>,
}

impl DataKeys {
    pub(crate) fn get(&self, key: &str) -> Option<&DataValue> {
        self.map.get(key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &DataValue)> {
        self.map.iter()
    }

    fn mark_whole(&mut self, key: &str) {
        self.dirty.insert(key.to_owned(), KeyDirty::Whole);
    }

    fn mark_entry(&mut self, key: &str, entry: &str) {
        match self.dirty.entry(key.to_owned()) {
            Entry::Vacant(v) => {
                v.insert(KeyDirty::Entries(BTreeSet::from([entry.to_owned()])));
            }
            Entry::Occupied(mut o) => {
                if let KeyDirty::Entries(set) = o.get_mut() {
                    set.insert(entry.to_owned());
                }
            }
        }
    }

    /// Replaces a whole value.
    pub(crate) fn set(&mut self, key: &str, value: DataValue) {
        self.map.insert(key.to_owned(), value);
        self.mark_whole(key);
    }

    /// Removes a whole value; returns whether it existed.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        let had = self.map.remove(key).is_some();
        if had {
            self.mark_whole(key);
        }
        had
    }

    /// Sets `key.entry`, creating `key` as an object if absent.
    pub(crate) fn set_entry(
        &mut self,
        key: &str,
        entry: &str,
        raw: Box<RawValue>,
    ) -> Result<(), StateError> {
        let existed = self.map.contains_key(key);
        self.insert_entry(key, entry, raw)?;
        if existed {
            self.mark_entry(key, entry);
        } else {
            // A new key is journaled whole, so that it exists after replay
            // even if its entries are all removed again before the next
            // checkpoint.
            self.mark_whole(key);
        }
        Ok(())
    }

    /// Removes `key.entry`; returns whether it existed.
    pub(crate) fn remove_entry(&mut self, key: &str, entry: &str) -> Result<bool, StateError> {
        let had = self.delete_entry(key, entry)?;
        if had {
            self.mark_entry(key, entry);
        }
        Ok(had)
    }

    fn insert_entry(
        &mut self,
        key: &str,
        entry: &str,
        raw: Box<RawValue>,
    ) -> Result<(), StateError> {
        let value = match self.map.get_mut(key) {
            Some(v) => v,
            None => self
                .map
                .entry(key.to_owned())
                .or_insert_with(|| DataValue::Map(BTreeMap::new())),
        };
        value.entries_mut(key)?.insert(entry.to_owned(), raw);
        Ok(())
    }

    fn delete_entry(&mut self, key: &str, entry: &str) -> Result<bool, StateError> {
        match self.map.get_mut(key) {
            None => Ok(false),
            Some(v) => Ok(v.entries_mut(key)?.remove(entry).is_some()),
        }
    }

    // ----- loading (what is read from disk is not a change) ------------

    pub(crate) fn load(&mut self, key: String, value: DataValue) {
        self.map.insert(key, value);
    }

    pub(crate) fn unload(&mut self, key: &str) {
        self.map.remove(key);
    }

    pub(crate) fn load_entry(
        &mut self,
        key: &str,
        entry: &str,
        raw: Box<RawValue>,
    ) -> Result<(), StateError> {
        self.insert_entry(key, entry, raw)
    }

    pub(crate) fn unload_entry(&mut self, key: &str, entry: &str) -> Result<(), StateError> {
        self.delete_entry(key, entry).map(drop)
    }

    // ----- journaling --------------------------------------------------

    pub(crate) fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    pub(crate) fn clear_dirty(&mut self) {
        self.dirty.clear();
    }

    /// Keys set or removed (whole or by entry) since the last checkpoint.
    pub(crate) fn dirty_keys(&self) -> impl Iterator<Item = &str> {
        self.dirty.keys().map(String::as_str)
    }

    /// Appends the journal sections for what changed since the last
    /// checkpoint, each as `,"<section>":<json>`, omitting empty ones:
    ///
    /// * `data`: whole values set, `{"<key>":<value>}`;
    /// * `data-del`: whole keys removed, `["<key>"]`;
    /// * `entries`: entries set, `{"<key>":{"<entry>":<value>}}`;
    /// * `entries-del`: entries removed, `{"<key>":["<entry>"]}`.
    pub(crate) fn write_dirty(&self, out: &mut Vec<u8>) {
        let mut whole = Vec::new();
        let mut deleted = Vec::new();
        let mut entries = Vec::new();
        let mut entries_del = Vec::new();
        for (key, how) in &self.dirty {
            match (how, self.map.get(key)) {
                (_, None) => deleted.push(key.as_str()),
                (KeyDirty::Entries(names), Some(DataValue::Map(map))) => {
                    let (set, del): (Vec<&String>, Vec<&String>) =
                        names.iter().partition(|n| map.contains_key(n.as_str()));
                    if !set.is_empty() {
                        entries.push((key.as_str(), map, set));
                    }
                    if !del.is_empty() {
                        entries_del.push((key.as_str(), del));
                    }
                }
                // Entries of a value that is no longer split (cannot happen:
                // replacing a value marks it whole) are journaled whole too.
                (_, Some(v)) => whole.push((key.as_str(), v)),
            }
        }
        if !whole.is_empty() {
            out.extend_from_slice(b",\"data\":{");
            for (i, (k, v)) in whole.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(out, k);
                v.write_json(out);
            }
            out.push(b'}');
        }
        if !deleted.is_empty() {
            out.extend_from_slice(b",\"data-del\":");
            serde_json::to_writer(&mut *out, &deleted).expect("strings serialize");
        }
        if !entries.is_empty() {
            out.extend_from_slice(b",\"entries\":{");
            for (i, (k, map, names)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(out, k);
                write_raw_map(
                    out,
                    names
                        .into_iter()
                        .map(|n| (n.as_str(), map[n.as_str()].get())),
                );
            }
            out.push(b'}');
        }
        if !entries_del.is_empty() {
            out.extend_from_slice(b",\"entries-del\":");
            serde_json::to_writer(
                &mut *out,
                &entries_del.into_iter().collect::<BTreeMap<_, _>>(),
            )
            .expect("strings serialize");
        }
    }
}

fn write_key(out: &mut Vec<u8>, key: &str) {
    serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
    out.push(b':');
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
        self.data.get(key).is_some()
    }

    /// Replaces `data[key]`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), StateError> {
        let raw = to_raw(key, value)?;
        self.set_raw(key, raw);
        Ok(())
    }

    /// Replaces `data[key]` with already-serialized JSON.
    pub fn set_raw(&mut self, key: &str, raw: Box<RawValue>) {
        self.data.set(key, DataValue::Raw(raw));
        self.modified = true;
    }

    /// The JSON text of `data[key]`.
    pub fn get_raw(&self, key: &str) -> Option<String> {
        self.data.get(key).map(DataValue::to_json_string)
    }

    /// Removes `data[key]`.
    pub fn remove(&mut self, key: &str) -> bool {
        let had = self.data.remove(key);
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
    /// Only this entry is serialized, now and at checkpoints (where only
    /// this entry is journaled).
    pub fn set_entry<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        entry: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let raw = to_raw(&format!("{key}.{entry}"), value)?;
        self.data.set_entry(key, entry, raw)?;
        self.modified = true;
        Ok(())
    }

    /// Removes `data[key][entry]`; returns whether it existed.
    pub fn remove_entry(&mut self, key: &str, entry: &str) -> Result<bool, StateError> {
        let had = self.data.remove_entry(key, entry)?;
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
