//! Pre-serialized key → JSON maps used for task, change and state data.
//!
//! Values are stored as the JSON text they serialize to. A checkpoint then
//! copies bytes instead of re-serializing every value, and a value is only
//! serialized once, when it is set.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::StateError;

pub(crate) fn to_raw<T: Serialize + ?Sized>(
    key: &str,
    value: &T,
) -> Result<Box<RawValue>, StateError> {
    serde_json::value::to_raw_value(value).map_err(|source| StateError::Encode {
        key: key.to_owned(),
        source,
    })
}

pub(crate) fn from_raw<T: DeserializeOwned>(key: &str, raw: &RawValue) -> Result<T, StateError> {
    serde_json::from_str(raw.get()).map_err(|source| StateError::Decode {
        key: key.to_owned(),
        source,
    })
}

/// A map of named JSON values (the `data` of a task or change).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DataMap(BTreeMap<String, Box<RawValue>>);

impl DataMap {
    /// Deserializes the value under `key`, `Ok(None)` when absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        self.0.get(key).map(|raw| from_raw(key, raw)).transpose()
    }

    /// The stored JSON text under `key`.
    pub fn get_raw(&self, key: &str) -> Option<&RawValue> {
        self.0.get(key).map(|b| &**b)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Serializes `value` under `key`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), StateError> {
        let raw = to_raw(key, value)?;
        self.0.insert(key.to_owned(), raw);
        Ok(())
    }

    /// Stores already-serialized JSON under `key`.
    pub fn set_raw(&mut self, key: &str, raw: Box<RawValue>) {
        self.0.insert(key.to_owned(), raw);
    }

    /// Removes `key`, returning whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        self.0.remove(key).is_some()
    }

    /// Keys in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
