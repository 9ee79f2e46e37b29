//! Containers that know what changed since the last checkpoint.
//!
//! A checkpoint appends to the journal only what changed (see
//! [`crate::journal`]), so every mutation must be recorded. These types make
//! that structural: their contents can only be reached mutably through
//! methods that record the mutation, so no code path can change an object
//! without it being journaled.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::ops::Deref;

use serde::Serialize;

/// An object plus its cached JSON text. Any mutable access drops the cache,
/// so serialization only re-serializes what changed since the last one.
#[derive(Debug)]
struct Slot<T> {
    value: T,
    json: Option<Box<str>>,
}

impl<T: Serialize> Slot<T> {
    /// The cached JSON, serializing it first if needed.
    fn json(&mut self) -> &str {
        self.json.get_or_insert_with(|| {
            serde_json::to_string(&self.value)
                .expect("tasks and changes always serialize")
                .into()
        })
    }
}

/// Changes or tasks by id, with per-object JSON cache and dirty tracking.
///
/// * `dirty`: ids inserted or mutably accessed since the last checkpoint;
/// * `removed`: ids removed since the last checkpoint (and not re-inserted).
#[derive(Debug)]
pub(crate) struct Slots<K, T> {
    map: BTreeMap<K, Slot<T>>,
    dirty: BTreeSet<K>,
    removed: BTreeSet<K>,
}

impl<K, T> Default for Slots<K, T> {
    fn default() -> Self {
        Slots {
            map: BTreeMap::new(),
            dirty: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Copy + std::fmt::Display, T: Serialize> Slots<K, T> {
    pub(crate) fn get(&self, id: &K) -> Option<&T> {
        self.map.get(id).map(|s| &s.value)
    }

    pub(crate) fn contains_key(&self, id: &K) -> bool {
        self.map.contains_key(id)
    }

    /// Mutable access: drops the JSON cache and marks the object dirty.
    pub(crate) fn get_mut(&mut self, id: &K) -> Option<&mut T> {
        let slot = self.map.get_mut(id)?;
        slot.json = None;
        self.dirty.insert(*id);
        Some(&mut slot.value)
    }

    /// Adds (or replaces) an object; it is dirty.
    pub(crate) fn insert(&mut self, id: K, value: T) {
        self.map.insert(id, Slot { value, json: None });
        self.removed.remove(&id);
        self.dirty.insert(id);
    }

    /// Removes an object; the removal is journaled.
    pub(crate) fn remove(&mut self, id: &K) -> Option<T> {
        let slot = self.map.remove(id)?;
        self.dirty.remove(id);
        self.removed.insert(*id);
        Some(slot.value)
    }

    /// Adds an object read from disk: clean, and `json` is its cache.
    pub(crate) fn load(&mut self, id: K, value: T, json: Box<str>) {
        self.map.insert(
            id,
            Slot {
                value,
                json: Some(json),
            },
        );
    }

    /// Removes an object as replayed from the journal (not a new change).
    pub(crate) fn unload(&mut self, id: &K) {
        self.map.remove(id);
    }

    pub(crate) fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.map.keys()
    }

    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.map.values().map(|s| &s.value)
    }

    /// Whether anything was inserted, mutated or removed since the last
    /// [`Slots::clear_dirty`].
    pub(crate) fn is_dirty(&self) -> bool {
        !self.dirty.is_empty() || !self.removed.is_empty()
    }

    pub(crate) fn clear_dirty(&mut self) {
        self.dirty.clear();
        self.removed.clear();
    }

    /// Ids inserted, mutated or removed since the last checkpoint.
    pub(crate) fn dirty_ids(&self) -> impl Iterator<Item = K> + '_ {
        self.dirty.iter().chain(&self.removed).copied()
    }

    /// Writes `{"<id>":<json>,...}` for every object (snapshot), reusing
    /// and filling the caches.
    pub(crate) fn write_all(&mut self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (id, slot)) in self.map.iter_mut().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Ids are decimal, so they need no escaping.
            write!(out, "\"{id}\":").expect("writing to a Vec cannot fail");
            out.extend_from_slice(slot.json().as_bytes());
        }
        out.push(b'}');
    }

    /// Writes `{"<id>":<json>,...}` for the dirty objects only.
    pub(crate) fn write_dirty(&mut self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for id in &self.dirty {
            // Dirty ids are present: removal takes them out of `dirty`.
            let Some(slot) = self.map.get_mut(id) else {
                debug_assert!(false, "dirty id {id} is missing");
                continue;
            };
            if !first {
                out.push(b',');
            }
            first = false;
            write!(out, "\"{id}\":").expect("writing to a Vec cannot fail");
            out.extend_from_slice(slot.json().as_bytes());
        }
        out.push(b'}');
    }

    /// Whether some object was changed or added (not only removed).
    pub(crate) fn has_changed(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Ids removed since the last checkpoint.
    pub(crate) fn removed(&self) -> &BTreeSet<K> {
        &self.removed
    }
}

/// A value whose mutation is recorded by a dirty flag (warnings, unknown
/// top-level keys). Read through `Deref`; write through [`Tracked::get_mut`].
#[derive(Debug, Default)]
pub(crate) struct Tracked<T> {
    value: T,
    dirty: bool,
}

impl<T> Tracked<T> {
    /// Mutable access; marks the value dirty.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.dirty = true;
        &mut self.value
    }

    /// Replaces the value as read from disk (clean).
    pub(crate) fn load(&mut self, value: T) {
        self.value = value;
    }

    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub(crate) fn clear_dirty(&mut self) {
        self.dirty = false;
    }
}

impl<T> Deref for Tracked<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskId;

    #[test]
    fn slots_track_mutation_insertion_and_removal() {
        let mut s: Slots<TaskId, u32> = Slots::default();
        s.load(TaskId(1), 1, "1".into());
        s.load(TaskId(2), 2, "2".into());
        assert!(!s.is_dirty());
        *s.get_mut(&TaskId(1)).unwrap() = 10;
        s.insert(TaskId(3), 3);
        assert_eq!(s.remove(&TaskId(2)), Some(2));
        let mut out = Vec::new();
        s.write_dirty(&mut out);
        assert_eq!(out, br#"{"1":10,"3":3}"#);
        assert_eq!(s.removed().iter().copied().collect::<Vec<_>>(), [TaskId(2)]);
        // Removing something dirty forgets its update.
        s.remove(&TaskId(3));
        out.clear();
        s.write_dirty(&mut out);
        assert_eq!(out, br#"{"1":10}"#);
        s.clear_dirty();
        assert!(!s.is_dirty());
        out.clear();
        s.write_all(&mut out);
        assert_eq!(out, br#"{"1":10}"#);
    }
}
