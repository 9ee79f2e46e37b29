//! A task: one unit of work with a do and (optionally) an undo handler.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::data::DataMap;
use crate::status::int_serde;
use crate::{ChangeId, StateError, Status, TaskId, Timestamp};

/// How many log lines a task keeps (the API shows only these).
pub const MAX_LOG_LINES: usize = 10;

/// Prefix kinds of task log lines: `<RFC3339> INFO <msg>` / `<RFC3339> ERROR <msg>`.
pub const LOG_INFO: &str = "INFO";
/// See [`LOG_INFO`].
pub const LOG_ERROR: &str = "ERROR";

/// Progress of a task as reported to the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub label: String,
    pub done: u64,
    pub total: u64,
}

/// A task as stored in the state.
///
/// Obtain it read-only through [`crate::State::task`]; mutate data, log and
/// lanes through [`crate::State::task_mut`]. Status and dependency edges go
/// through `State` methods because they also touch other tasks/the change.
#[derive(Debug, Clone)]
pub struct Task {
    pub(crate) id: TaskId,
    pub(crate) kind: String,
    pub(crate) summary: String,
    pub(crate) status: Status,
    pub(crate) waited_status: Status,
    pub(crate) clean: bool,
    pub(crate) progress: Option<Progress>,
    pub(crate) data: DataMap,
    pub(crate) wait_tasks: Vec<TaskId>,
    pub(crate) halt_tasks: Vec<TaskId>,
    pub(crate) lanes: Vec<u64>,
    pub(crate) log: Vec<String>,
    pub(crate) change: Option<ChangeId>,
    pub(crate) spawn_time: Timestamp,
    pub(crate) ready_time: Option<Timestamp>,
    pub(crate) doing_time_ns: u64,
    pub(crate) undoing_time_ns: u64,
    pub(crate) at_time: Option<Timestamp>,
}

impl Task {
    pub(crate) fn new(id: TaskId, kind: &str, summary: &str, now: Timestamp) -> Self {
        Task {
            id,
            kind: kind.to_owned(),
            summary: summary.to_owned(),
            status: Status::Do,
            waited_status: Status::Done,
            clean: false,
            progress: None,
            data: DataMap::default(),
            wait_tasks: Vec::new(),
            halt_tasks: Vec::new(),
            lanes: Vec::new(),
            log: Vec::new(),
            change: None,
            spawn_time: now,
            ready_time: None,
            doing_time_ns: 0,
            undoing_time_ns: 0,
            at_time: None,
        }
    }

    pub fn id(&self) -> TaskId {
        self.id
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn summary(&self) -> &str {
        &self.summary
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The status a task in `Wait` takes once the wait is resolved.
    pub fn waited_status(&self) -> Status {
        self.waited_status
    }

    /// Whether the cleanup for this task has run (only once the change is ready).
    pub fn is_clean(&self) -> bool {
        self.clean
    }

    /// `(label, done, total)`; defaults to `("", 0, 1)` while Do and
    /// `("", 1, 1)` otherwise, as snapd reports.
    pub fn progress(&self) -> (String, u64, u64) {
        match &self.progress {
            Some(p) => (p.label.clone(), p.done, p.total),
            None if self.status == Status::Do => (String::new(), 0, 1),
            None => (String::new(), 1, 1),
        }
    }

    /// Deserializes task data `key`, `Ok(None)` when absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        self.data.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.data.has(key)
    }

    /// All task data.
    pub fn data(&self) -> &DataMap {
        &self.data
    }

    /// Predecessors: this task's Do waits until they are all Done.
    pub fn wait_tasks(&self) -> &[TaskId] {
        &self.wait_tasks
    }

    /// Successors: this task's Undo waits until they are all ready.
    pub fn halt_tasks(&self) -> &[TaskId] {
        &self.halt_tasks
    }

    /// Lanes the task is in; a task that joined none is in lane 0.
    pub fn lanes(&self) -> Vec<u64> {
        if self.lanes.is_empty() {
            vec![0]
        } else {
            self.lanes.clone()
        }
    }

    /// The last [`MAX_LOG_LINES`] log lines, oldest first.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    pub fn change(&self) -> Option<ChangeId> {
        self.change
    }

    pub fn spawn_time(&self) -> Timestamp {
        self.spawn_time
    }

    pub fn ready_time(&self) -> Option<Timestamp> {
        self.ready_time
    }

    /// Earliest time the task may run (set by `Retry { after }`).
    pub fn at_time(&self) -> Option<Timestamp> {
        self.at_time
    }

    /// Accumulated time spent in do handlers.
    pub fn doing_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.doing_time_ns)
    }

    /// Accumulated time spent in undo handlers.
    pub fn undoing_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.undoing_time_ns)
    }

    /// Sets task data `key`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), StateError> {
        self.data.set(key, value)
    }

    /// Sets task data `key` from already-serialized JSON.
    pub fn set_raw(&mut self, key: &str, raw: Box<RawValue>) {
        self.data.set_raw(key, raw);
    }

    /// Removes task data `key`.
    pub fn remove(&mut self, key: &str) -> bool {
        self.data.remove(key)
    }

    /// Appends an `INFO` log line.
    pub fn log_info(&mut self, msg: impl std::fmt::Display) {
        self.add_log(LOG_INFO, &msg.to_string());
    }

    /// Appends an `ERROR` log line (these build the change's `err`).
    pub fn log_error(&mut self, msg: impl std::fmt::Display) {
        self.add_log(LOG_ERROR, &msg.to_string());
    }

    fn add_log(&mut self, level: &str, msg: &str) {
        if self.log.len() >= MAX_LOG_LINES {
            self.log.drain(..=self.log.len() - MAX_LOG_LINES);
        }
        self.log.push(format!(
            "{} {level} {msg}",
            Timestamp::now().to_rfc3339_secs()
        ));
    }

    /// Adds the task to `lane` (see [`crate::State::new_lane`]).
    pub fn join_lane(&mut self, lane: u64) {
        if !self.lanes.contains(&lane) {
            self.lanes.push(lane);
        }
    }

    pub(crate) fn set_progress(&mut self, label: &str, done: u64, total: u64) {
        // As snapd: nonsense values reset to the default rather than lie.
        self.progress = (total > 0 && done <= total).then(|| Progress {
            label: label.to_owned(),
            done,
            total,
        });
    }
}

/// On-disk shape, field names and order as snapd's `state.json`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct TaskWire<'a> {
    id: TaskId,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    summary: std::borrow::Cow<'a, str>,
    #[serde(with = "int_serde")]
    status: Option<Status>,
    #[serde(with = "int_serde", default)]
    waited_status: Option<Status>,
    #[serde(default, skip_serializing_if = "is_false")]
    clean: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    progress: Option<std::borrow::Cow<'a, Progress>>,
    #[serde(default, skip_serializing_if = "DataMap::is_empty")]
    data: std::borrow::Cow<'a, DataMap>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    wait_tasks: std::borrow::Cow<'a, [TaskId]>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    halt_tasks: std::borrow::Cow<'a, [TaskId]>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    lanes: std::borrow::Cow<'a, [u64]>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    log: std::borrow::Cow<'a, [String]>,
    #[serde(default, with = "change_ref")]
    change: Option<ChangeId>,
    spawn_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ready_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "is_zero")]
    doing_time: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    undoing_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at_time: Option<Timestamp>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// snapd writes `"change": ""` for a task not attached to a change.
mod change_ref {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &Option<ChangeId>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(id) => s.collect_str(id),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ChangeId>, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(serde::de::Error::custom)
        }
    }
}

impl Serialize for Task {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use std::borrow::Cow::Borrowed;
        TaskWire {
            id: self.id,
            kind: Borrowed(&self.kind),
            summary: Borrowed(&self.summary),
            status: Some(self.status),
            waited_status: Some(self.waited_status),
            clean: self.clean,
            progress: self.progress.as_ref().map(Borrowed),
            data: Borrowed(&self.data),
            wait_tasks: Borrowed(&self.wait_tasks),
            halt_tasks: Borrowed(&self.halt_tasks),
            lanes: Borrowed(&self.lanes),
            log: Borrowed(&self.log),
            change: self.change,
            spawn_time: self.spawn_time,
            ready_time: self.ready_time,
            doing_time: self.doing_time_ns,
            undoing_time: self.undoing_time_ns,
            at_time: self.at_time,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Task {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = TaskWire::deserialize(d)?;
        Ok(Task {
            id: w.id,
            kind: w.kind.into_owned(),
            summary: w.summary.into_owned(),
            // snapd's "default" status of a task means Do.
            status: w.status.unwrap_or(Status::Do),
            waited_status: w.waited_status.unwrap_or(Status::Done),
            clean: w.clean,
            progress: w.progress.map(|p| p.into_owned()),
            data: w.data.into_owned(),
            wait_tasks: w.wait_tasks.into_owned(),
            halt_tasks: w.halt_tasks.into_owned(),
            lanes: w.lanes.into_owned(),
            log: w.log.into_owned(),
            change: w.change,
            spawn_time: w.spawn_time,
            ready_time: w.ready_time,
            doing_time_ns: w.doing_time,
            undoing_time_ns: w.undoing_time,
            at_time: w.at_time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keeps_last_ten() {
        let mut t = Task::new(TaskId(1), "k", "s", Timestamp::now());
        for i in 0..25 {
            if i % 2 == 0 {
                t.log_info(format!("line {i}"))
            } else {
                t.log_error(format!("line {i}"))
            }
        }
        assert_eq!(t.log().len(), MAX_LOG_LINES);
        assert!(t.log()[0].ends_with(" ERROR line 15"), "{:?}", t.log());
        assert!(t.log()[9].ends_with(" INFO line 24"));
        assert!(t.log()[8].ends_with(" ERROR line 23"));
    }

    #[test]
    fn progress_defaults_and_bounds() {
        let mut t = Task::new(TaskId(1), "k", "s", Timestamp::now());
        assert_eq!(t.progress(), (String::new(), 0, 1));
        t.set_progress("dl", 5, 10);
        assert_eq!(t.progress(), ("dl".into(), 5, 10));
        t.set_progress("dl", 11, 10);
        assert_eq!(t.progress(), (String::new(), 0, 1));
        t.status = Status::Done;
        assert_eq!(t.progress(), (String::new(), 1, 1));
    }

    #[test]
    fn wire_round_trip_and_snapd_shape() {
        let mut t = Task::new(
            TaskId(3),
            "link-snap",
            "Make snap available",
            Timestamp::from_unix_secs(0),
        );
        t.set("snap-setup-task", "1").unwrap();
        t.wait_tasks.push(TaskId(2));
        t.change = Some(ChangeId(1));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"id":"3","kind":"link-snap","summary":"Make snap available","status":2,"waited-status":4,"data":{"snap-setup-task":"1"},"wait-tasks":["2"],"change":"1","spawn-time":"1970-01-01T00:00:00Z"}"#
        );
        let back: Task = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        // snapd's "default" (0) status and empty change are accepted.
        let raw = r#"{"id":"9","kind":"k","summary":"s","status":0,"change":"","spawn-time":"2010-11-09T22:04:10.320985653Z"}"#;
        let t: Task = serde_json::from_str(raw).unwrap();
        assert_eq!((t.status(), t.change()), (Status::Do, None));
    }
}
