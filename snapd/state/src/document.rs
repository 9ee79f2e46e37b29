//! The `state.json` document (the snapshot): incremental serialization and
//! loading. The journal's records are in `journal.rs`.

use std::collections::BTreeMap;
use std::io::Write as _;

use serde_json::value::RawValue;

use crate::change::Change;
use crate::datakeys::DataValue;
use crate::task::Task;
use crate::warning::Warning;
use crate::{ChangeId, State, Timestamp};

/// Top-level key of `state.json` naming the last journal record the
/// snapshot includes (see [`crate::journal`]). Written by the store only.
pub(crate) const JOURNAL_SEQ_KEY: &str = "journal-seq";

/// Writes `{"k":<raw>,...}`.
pub(crate) fn write_raw_map<'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a str, &'a str)>,
) {
    out.push(b'{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_key(out, k);
        out.extend_from_slice(v.as_bytes());
    }
    out.push(b'}');
}

fn write_key(out: &mut Vec<u8>, key: &str) {
    serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
    out.push(b':');
}

impl State {
    /// Serializes the whole document (snapd's `state.json` layout) into
    /// `out`, reusing the cached JSON of every change and task that was not
    /// touched since the previous call.
    pub fn write_json(&mut self, out: &mut Vec<u8>) {
        self.write_document(out, None);
    }

    /// The snapshot the store writes: the document plus the last journal
    /// record it includes.
    pub(crate) fn write_document(&mut self, out: &mut Vec<u8>, journal_seq: Option<u64>) {
        out.extend_from_slice(b"{\"data\":{");
        for (i, (k, v)) in self.data.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, k);
            v.write_json(out);
        }
        out.extend_from_slice(b"},\"changes\":");
        self.changes.write_all(out);
        out.extend_from_slice(b",\"tasks\":");
        self.tasks.write_all(out);
        if !self.warnings.is_empty() {
            out.extend_from_slice(b",\"warnings\":");
            self.write_warnings(out);
        }
        for (k, v) in self.extra.iter() {
            out.push(b',');
            write_key(out, k);
            out.extend_from_slice(v.get().as_bytes());
        }
        if let Some(seq) = journal_seq {
            write!(out, ",\"{JOURNAL_SEQ_KEY}\":{seq}").expect("writing to a Vec cannot fail");
        }
        self.write_counters(out);
        out.push(b'}');
    }

    /// `[<warning>,...]`, by message.
    pub(crate) fn write_warnings(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(&mut *out, &self.warnings.values().collect::<Vec<_>>())
            .expect("warnings always serialize");
    }

    /// `,"last-change-id":N,...` (the four id counters).
    pub(crate) fn write_counters(&self, out: &mut Vec<u8>) {
        write!(
            out,
            ",\"last-change-id\":{},\"last-task-id\":{},\"last-lane-id\":{},\"last-notice-id\":{}",
            self.last_change_id, self.last_task_id, self.last_lane_id, self.last_notice_id
        )
        .expect("writing to a Vec cannot fail");
    }

    /// The whole document as JSON (e.g. for `snap debug state`).
    pub fn to_json(&mut self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).expect("JSON text is UTF-8")
    }

    /// Parses a `state.json` document (ours or one written by snapd).
    pub fn from_json(bytes: &[u8]) -> Result<State, serde_json::Error> {
        let (mut st, _) = Self::parse_document(bytes)?;
        st.finish_load();
        Ok(st)
    }

    /// Parses a document without the post-load repairs (the store replays
    /// the journal first); also returns its journal sequence number (0 if
    /// none: written before the journal existed, or by snapd).
    pub(crate) fn parse_document(bytes: &[u8]) -> Result<(State, u64), serde_json::Error> {
        let top: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(bytes)?;
        let mut st = State::default();
        let mut journal_seq = 0;
        let mut extra = BTreeMap::new();
        for (key, raw) in top {
            match key.as_str() {
                "data" => {
                    let data: Option<BTreeMap<String, Box<RawValue>>> =
                        serde_json::from_str(raw.get())?;
                    for (k, v) in data.unwrap_or_default() {
                        st.data.load(k, DataValue::from_raw(v));
                    }
                }
                "changes" => {
                    let map: Option<BTreeMap<String, Box<RawValue>>> =
                        serde_json::from_str(raw.get())?;
                    for raw in map.unwrap_or_default().into_values() {
                        let chg: Change = serde_json::from_str(raw.get())?;
                        // The text we just parsed is a valid cache of this change.
                        st.changes.load(chg.id, chg, raw.get().into());
                    }
                }
                "tasks" => {
                    let map: Option<BTreeMap<String, Box<RawValue>>> =
                        serde_json::from_str(raw.get())?;
                    for raw in map.unwrap_or_default().into_values() {
                        let t: Task = serde_json::from_str(raw.get())?;
                        st.tasks.load(t.id, t, raw.get().into());
                    }
                }
                "warnings" => {
                    let ws: Option<Vec<Warning>> = serde_json::from_str(raw.get())?;
                    st.warnings.load(
                        ws.unwrap_or_default()
                            .into_iter()
                            .map(|w| (w.message.clone(), w))
                            .collect(),
                    );
                }
                "last-change-id" => st.last_change_id = serde_json::from_str(raw.get())?,
                "last-task-id" => st.last_task_id = serde_json::from_str(raw.get())?,
                "last-lane-id" => st.last_lane_id = serde_json::from_str(raw.get())?,
                "last-notice-id" => st.last_notice_id = serde_json::from_str(raw.get())?,
                JOURNAL_SEQ_KEY => journal_seq = serde_json::from_str(raw.get())?,
                _ => {
                    extra.insert(key, raw);
                }
            }
        }
        st.extra.load(extra);
        Ok((st, journal_seq))
    }

    /// Repairs what a hand-edited or foreign file may leave inconsistent.
    /// What it repairs is marked changed, so the next checkpoint writes it.
    pub(crate) fn finish_load(&mut self) {
        // Counters must stay ahead of every id in use.
        self.last_change_id = self
            .last_change_id
            .max(self.changes.keys().next_back().map_or(0, |c| c.0));
        self.last_task_id = self
            .last_task_id
            .max(self.tasks.keys().next_back().map_or(0, |t| t.0));
        let now = Timestamp::now();
        let ids: Vec<ChangeId> = self.changes.keys().copied().collect();
        for id in ids {
            let chg = self.changes.get(&id).expect("listed above");
            let ready = (chg.status.is_some() || !chg.task_ids.is_empty())
                && self.derive_status(chg).is_ready();
            if ready && chg.ready_time.is_none() {
                self.changes.get_mut(&id).expect("present").ready_time = Some(now);
            }
        }
        self.modified = false;
        self.transitions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Status, TaskId};
    use serde_json::json;

    #[test]
    fn json_round_trip_keeps_everything() {
        let mut st = State::new();
        st.set("seeded", &true).unwrap();
        st.set_entry(
            "snaps",
            "hello",
            &json!({"sequence": [{"name": "hello", "revision": "42"}]}),
        )
        .unwrap();
        let chg = st.new_change("install-snap", "Install \"hello\" snap");
        st.change_mut(chg)
            .unwrap()
            .set("api-data", &json!({"snap-names": ["hello"]}))
            .unwrap();
        let a = st.new_task_in(chg, "download-snap", "Download").unwrap();
        let b = st.new_task_in(chg, "link-snap", "Link").unwrap();
        st.wait_for(b, a).unwrap();
        let lane = st.new_lane();
        st.task_mut(a).unwrap().join_lane(lane);
        st.task_mut(a).unwrap().log_info("hello");
        st.extra.get_mut().insert(
            "notices".into(),
            RawValue::from_string("[]".into()).unwrap(),
        );
        let text = st.to_json();
        let mut back = State::from_json(text.as_bytes()).unwrap();
        assert!(!back.is_modified());
        assert_eq!(back.to_json(), text);
        assert_eq!(back.task(b).unwrap().wait_tasks(), [a]);
        assert_eq!(back.task(a).unwrap().halt_tasks(), [b]);
        assert_eq!(back.task(a).unwrap().lanes(), [lane]);
        assert_eq!(back.new_change("x", "y"), ChangeId(2));
        assert_eq!(back.new_task("x", "y"), TaskId(3));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["tasks"]["2"]["wait-tasks"], json!(["1"]));
        assert_eq!(v["changes"]["1"]["task-ids"], json!(["1", "2"]));
        assert_eq!(v["data"]["snaps"]["hello"]["sequence"][0]["revision"], "42");
        assert_eq!(v["last-task-id"], 2);
    }

    #[test]
    fn reads_a_snapd_written_document() {
        let text = r#"{"data":{"seeded":true,"snaps":{}},"changes":{"5":{"id":"5","kind":"install-snap","summary":"Install","status":0,"clean":true,"data":{"snap-names":["x"]},"task-ids":["9"],"spawn-time":"2024-05-01T10:00:00.1+02:00","ready-time":"2024-05-01T10:00:01+02:00","last-recorded-notice-status":4}},"tasks":{"9":{"id":"9","kind":"link-snap","summary":"s","status":4,"waited-status":4,"clean":true,"data":{},"change":"5","spawn-time":"2024-05-01T10:00:00+02:00","ready-time":"2024-05-01T10:00:01+02:00","doing-time":12345}},"warnings":[{"message":"hi","first-added":"2024-05-01T10:00:00Z","last-added":"2024-05-01T10:00:00Z","expire-after":"672h0m0s","repeat-after":"24h0m0s"}],"notices":[],"last-notice-timestamp":"2024-05-01T10:00:00Z","last-change-id":5,"last-task-id":9,"last-lane-id":0,"last-notice-id":3}"#;
        let st = State::from_json(text.as_bytes()).unwrap();
        assert_eq!(st.change_status(ChangeId(5)), Some(Status::Done));
        assert!(st.change(ChangeId(5)).unwrap().is_ready());
        assert_eq!(st.task(TaskId(9)).unwrap().doing_time().as_nanos(), 12345);
        assert!(st.extra.contains_key("notices"));
        assert_eq!(st.warnings.len(), 1);
        assert_eq!(st.last_notice_id, 3);
    }
}
