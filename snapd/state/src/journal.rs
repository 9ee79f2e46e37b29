//! The state journal: one appended record per checkpoint, holding only what
//! changed since the previous one.
//!
//! # File format
//!
//! `state.journal` (next to `state.json`) is a sequence of frames:
//!
//! ```text
//! frame   := len:u32le crc:u32le payload[len]
//! crc     := CRC-32 (IEEE, as zlib/crc32fast) of len:u32le ++ payload
//! payload := one JSON object (a record), UTF-8
//! ```
//!
//! A frame that is cut short (a crash mid-append), whose checksum does not
//! match or whose length is zero ends the journal: it and everything after
//! it are ignored and cut off at load. Such a record was never acknowledged:
//! a checkpoint returns only after its frame was written and fdatasync'ed.
//!
//! # Records
//!
//! ```json
//! {"seq":12,
//!  "changes":{"5":{...full change...}}, "changes-del":["3"],
//!  "tasks":{"41":{...full task...}},     "tasks-del":["17","18"],
//!  "data":{"seeded":true},               "data-del":["old-key"],
//!  "entries":{"snaps":{"hello":{...}}},  "entries-del":{"snaps":["bye"]},
//!  "warnings":[...all warnings...],      "extra":{...all unknown top-level keys...},
//!  "last-change-id":5,"last-task-id":41,"last-lane-id":2,"last-notice-id":0}
//! ```
//!
//! Every section but `seq` and the counters is omitted when empty. Records
//! are state-based, not operation logs: each names the final value of every
//! object, data key or entry that was touched since the previous record, or
//! its removal. Replaying one is therefore idempotent, and a record is
//! correct on top of any state between the previous checkpoint and its own.
//!
//! `seq` grows by one per record. `state.json` carries `"journal-seq": N`,
//! the last record it includes: at load, records `<= N` are skipped (left
//! over by a compaction that crashed before it emptied the journal) and the
//! rest must follow on `N+1, N+2...`; a gap means the journal belongs to
//! another snapshot and the load fails rather than guess. Unknown sections
//! fail the load too (a journal written by a newer daemon), rather than
//! being dropped silently.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::change::Change;
use crate::datakeys::DataValue;
use crate::document::write_raw_map;
use crate::task::Task;
use crate::warning::Warning;
use crate::{ChangeId, State, StateError, TaskId};

/// Bytes of a frame header (length and checksum).
pub(crate) const FRAME_HEADER: usize = 8;

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) lookup table.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Continues a CRC-32 over `bytes` (start with `0`).
pub(crate) fn crc32_update(crc: u32, bytes: &[u8]) -> u32 {
    let mut c = !crc;
    for b in bytes {
        c = CRC_TABLE[((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Starts a frame in `buf`: reserves the header. Write the payload after
/// it, then call [`finish_frame`].
pub(crate) fn begin_frame(buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(&[0; FRAME_HEADER]);
}

/// Fills in the header of the frame started by [`begin_frame`].
pub(crate) fn finish_frame(buf: &mut [u8]) {
    let len = u32::try_from(buf.len() - FRAME_HEADER).expect("journal record under 4 GiB");
    let len = len.to_le_bytes();
    let crc = crc32_update(crc32_update(0, &len), &buf[FRAME_HEADER..]);
    buf[..4].copy_from_slice(&len);
    buf[4..FRAME_HEADER].copy_from_slice(&crc.to_le_bytes());
}

/// The intact frames of a journal, and where the intact part ends.
#[derive(Debug)]
pub(crate) struct Frames<'a> {
    pub(crate) payloads: Vec<&'a [u8]>,
    /// Length of the valid prefix; anything after it is a torn or corrupt
    /// frame and what follows it.
    pub(crate) valid_len: usize,
}

/// Splits a journal into frames, stopping at the first bad one.
pub(crate) fn scan(bytes: &[u8]) -> Frames<'_> {
    let mut payloads = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= FRAME_HEADER {
        let len_bytes: [u8; 4] = bytes[pos..pos + 4].try_into().expect("4 bytes");
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(len_bytes) as usize;
        let start = pos + FRAME_HEADER;
        if len == 0 || bytes.len() - start < len {
            break;
        }
        let payload = &bytes[start..start + len];
        if crc32_update(crc32_update(0, &len_bytes), payload) != crc {
            break;
        }
        payloads.push(payload);
        pos = start + len;
    }
    Frames {
        payloads,
        valid_len: pos,
    }
}

/// A parsed record; see the module docs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct Record {
    pub(crate) seq: u64,
    #[serde(default)]
    changes: BTreeMap<String, Box<RawValue>>,
    #[serde(default)]
    changes_del: Vec<ChangeId>,
    #[serde(default)]
    tasks: BTreeMap<String, Box<RawValue>>,
    #[serde(default)]
    tasks_del: Vec<TaskId>,
    #[serde(default)]
    data: BTreeMap<String, Box<RawValue>>,
    #[serde(default)]
    data_del: Vec<String>,
    #[serde(default)]
    entries: BTreeMap<String, BTreeMap<String, Box<RawValue>>>,
    #[serde(default)]
    entries_del: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    warnings: Option<Vec<Warning>>,
    #[serde(default)]
    extra: Option<BTreeMap<String, Box<RawValue>>>,
    last_change_id: u64,
    last_task_id: u64,
    last_lane_id: u64,
    last_notice_id: u64,
}

impl Record {
    pub(crate) fn parse(payload: &[u8]) -> Result<Record, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

impl State {
    /// Whether anything but the counters changed since the last checkpoint.
    pub(crate) fn has_dirty_objects(&self) -> bool {
        self.changes.is_dirty()
            || self.tasks.is_dirty()
            || self.data.is_dirty()
            || self.warnings.is_dirty()
            || self.extra.is_dirty()
    }

    /// Forgets what changed: it is now all on disk.
    pub(crate) fn clear_dirty(&mut self) {
        self.changes.clear_dirty();
        self.tasks.clear_dirty();
        self.data.clear_dirty();
        self.warnings.clear_dirty();
        self.extra.clear_dirty();
    }

    /// Appends the record for what changed since the last checkpoint.
    /// Does not forget it: that is [`State::clear_dirty`], once the record
    /// is durable.
    pub(crate) fn write_record(&mut self, seq: u64, out: &mut Vec<u8>) {
        use std::io::Write as _;
        write!(out, "{{\"seq\":{seq}").expect("writing to a Vec cannot fail");
        if self.changes.has_changed() {
            out.extend_from_slice(b",\"changes\":");
            self.changes.write_dirty(out);
        }
        if !self.changes.removed().is_empty() {
            out.extend_from_slice(b",\"changes-del\":");
            serde_json::to_writer(&mut *out, self.changes.removed()).expect("ids serialize");
        }
        if self.tasks.has_changed() {
            out.extend_from_slice(b",\"tasks\":");
            self.tasks.write_dirty(out);
        }
        if !self.tasks.removed().is_empty() {
            out.extend_from_slice(b",\"tasks-del\":");
            serde_json::to_writer(&mut *out, self.tasks.removed()).expect("ids serialize");
        }
        self.data.write_dirty(out);
        if self.warnings.is_dirty() {
            out.extend_from_slice(b",\"warnings\":");
            self.write_warnings(out);
        }
        if self.extra.is_dirty() {
            out.extend_from_slice(b",\"extra\":");
            write_raw_map(out, self.extra.iter().map(|(k, v)| (k.as_str(), v.get())));
        }
        self.write_counters(out);
        out.push(b'}');
    }

    /// Applies a record read back from the journal. What it sets is clean
    /// (it is on disk), and the parsed text becomes each object's cache.
    pub(crate) fn apply_record(&mut self, rec: Record) -> Result<(), StateError> {
        let seq = rec.seq;
        let bad = |source| StateError::JournalCorrupt { seq, source };
        for id in &rec.changes_del {
            self.changes.unload(id);
        }
        for raw in rec.changes.values() {
            let chg: Change = serde_json::from_str(raw.get()).map_err(bad)?;
            self.changes.load(chg.id, chg, raw.get().into());
        }
        for id in &rec.tasks_del {
            self.tasks.unload(id);
        }
        for raw in rec.tasks.values() {
            let t: Task = serde_json::from_str(raw.get()).map_err(bad)?;
            self.tasks.load(t.id, t, raw.get().into());
        }
        for key in &rec.data_del {
            self.data.unload(key);
        }
        for (key, raw) in rec.data {
            self.data.load(key, DataValue::from_raw(raw));
        }
        for (key, names) in &rec.entries_del {
            for name in names {
                self.data.unload_entry(key, name)?;
            }
        }
        for (key, entries) in rec.entries {
            for (name, raw) in entries {
                self.data.load_entry(&key, &name, raw)?;
            }
        }
        if let Some(ws) = rec.warnings {
            self.warnings
                .load(ws.into_iter().map(|w| (w.message.clone(), w)).collect());
        }
        if let Some(extra) = rec.extra {
            self.extra.load(extra);
        }
        self.last_change_id = rec.last_change_id;
        self.last_task_id = rec.last_task_id;
        self.last_lane_id = rec.last_lane_id;
        self.last_notice_id = rec.last_notice_id;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32_update(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32_update(crc32_update(0, b"1234"), b"56789"),
            0xCBF4_3926
        );
        assert_eq!(crc32_update(0, b""), 0);
    }

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        begin_frame(&mut buf);
        buf.extend_from_slice(payload);
        finish_frame(&mut buf);
        buf
    }

    #[test]
    fn scan_stops_at_torn_or_corrupt_frames() {
        let mut j = frame(b"{\"a\":1}");
        j.extend(frame(b"{\"b\":2}"));
        let whole = j.len();
        let f = scan(&j);
        assert_eq!(f.payloads, [&b"{\"a\":1}"[..], &b"{\"b\":2}"[..]]);
        assert_eq!(f.valid_len, whole);
        let first = FRAME_HEADER + 7;
        // Every cut inside the second frame leaves only the first.
        for cut in first..whole {
            let f = scan(&j[..cut]);
            assert_eq!(f.payloads.len(), 1, "cut at {cut}");
            assert_eq!(f.valid_len, first);
        }
        // A flipped bit anywhere in the second frame invalidates it.
        for i in first..whole {
            let mut bad = j.clone();
            bad[i] ^= 0x10;
            let f = scan(&bad);
            assert_eq!(f.valid_len, first, "flip at {i}");
        }
        // Zeros (a file extended but not written) are not a frame.
        let mut z = j.clone();
        z.extend([0u8; 64]);
        assert_eq!(scan(&z).valid_len, whole);
    }

    #[test]
    fn record_round_trip() {
        let mut st = State::new();
        st.set("seeded", &true).unwrap();
        st.set_entry("snaps", "a", &1).unwrap();
        let c = st.new_change("k", "s");
        let t = st.new_task_in(c, "t", "T").unwrap();
        st.add_warning("w", std::time::Duration::from_secs(60));
        let mut out = Vec::new();
        st.write_record(1, &mut out);
        st.clear_dirty();
        let mut back = State::default();
        back.apply_record(Record::parse(&out).unwrap()).unwrap();
        assert_eq!(back.to_json(), st.to_json());

        // Only what changed goes into the next record.
        st.task_mut(t).unwrap().set("x", &2).unwrap();
        st.set_entry("snaps", "b", &2).unwrap();
        st.remove_entry("snaps", "a").unwrap();
        st.remove("seeded");
        out.clear();
        st.write_record(2, &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains("\"changes\""), "{text}");
        assert!(text.contains("\"entries\":{\"snaps\":{\"b\":2}}"), "{text}");
        assert!(
            text.contains("\"entries-del\":{\"snaps\":[\"a\"]}"),
            "{text}"
        );
        assert!(text.contains("\"data-del\":[\"seeded\"]"), "{text}");
        assert!(!text.contains("warnings"), "{text}");
        back.apply_record(Record::parse(&out).unwrap()).unwrap();
        assert_eq!(back.to_json(), st.to_json());
    }
}
