//! Errors of the state engine.

use std::path::PathBuf;

use crate::{ChangeId, Status, TaskId};

/// Everything that can go wrong when using or persisting the state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An id string that is not a canonical decimal number.
    #[error("invalid {what} id {id:?}")]
    BadId { what: &'static str, id: String },

    /// No change with that id (the daemon answers 404).
    #[error("cannot find change with id \"{0}\"")]
    NoSuchChange(ChangeId),

    /// No task with that id.
    #[error("cannot find task with id \"{0}\"")]
    NoSuchTask(TaskId),

    /// A value could not be serialized into the state.
    #[error("cannot encode state entry {key:?}: {source}")]
    Encode {
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// A stored value does not deserialize into the requested type.
    #[error("cannot decode state entry {key:?}: {source}")]
    Decode {
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// Another process (or another open in this one) holds `state.lock`.
    #[error("state is locked by another process: cannot lock {path} (is another snapd running?)")]
    Locked { path: PathBuf },

    /// A filesystem operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `state.json` exists but is not a valid state document.
    #[error("cannot read state {path}: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A state journal record passed its checksum but cannot be applied
    /// (written by a newer daemon, or a bug).
    #[error("cannot replay state journal record {seq}: {source}")]
    JournalCorrupt {
        seq: u64,
        #[source]
        source: serde_json::Error,
    },

    /// The state journal does not continue the snapshot next to it (e.g. an
    /// older `state.json` was put back by hand while a journal was pending).
    #[error("state journal {path} does not match the state snapshot: {reason}")]
    JournalMismatch { path: PathBuf, reason: String },

    /// `SNAPD_CRASH_AFTER_TASK` (or a programmatic spec) is malformed.
    #[error("invalid crash spec {spec:?}: {reason}")]
    CrashSpec { spec: String, reason: String },

    /// A status name that is not one of the ten known ones.
    #[error("unknown status {0:?}")]
    UnknownStatus(String),

    /// A string that is not an RFC3339 timestamp.
    #[error("invalid RFC3339 timestamp {0:?}")]
    BadTimestamp(String),

    /// A task can belong to one change only.
    #[error("task {task} already belongs to change {change}")]
    TaskInOtherChange { task: TaskId, change: ChangeId },

    /// `abort_change` on a change that has nothing pending (API: 400).
    #[error("cannot abort change {0} with nothing pending")]
    NothingPending(ChangeId),

    /// A status transition the engine does not allow through this call.
    #[error("cannot set task {task} to {status}: {reason}")]
    BadStatus {
        task: TaskId,
        status: Status,
        reason: &'static str,
    },
}

impl StateError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StateError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
