//! The one error type of the crate: each variant names the operation's object (set, snap,
//! member, entry path) and why it failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot {op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot set #{0} not found")]
    SetNotFound(u64),
    #[error("snapshot set #{set} has no snapshot of snap {snap:?}")]
    SnapNotInSet { set: u64, snap: String },
    #[error("snapshot set #{0} already exists")]
    SetExists(u64),
    #[error("nothing to save: no snaps given")]
    NothingToSave,
    #[error("invalid snapshot name {0:?}")]
    BadName(String),
    #[error("snapshot {snapshot}: {reason}")]
    BadMeta { snapshot: String, reason: String },
    #[error(
        "snapshot {snapshot}: checksum of {member} does not match (recorded {expected}, found {found})"
    )]
    Checksum {
        snapshot: String,
        member: String,
        expected: String,
        found: String,
    },
    #[error("cannot save {path:?}: {reason}")]
    Unsavable { path: PathBuf, reason: String },
    /// An archive entry that restore (or import) refuses; nothing is changed on disk.
    #[error("snapshot {snapshot}, {member}: refused entry {entry:?}: {reason}")]
    HostileEntry {
        snapshot: String,
        member: String,
        entry: String,
        reason: String,
    },
    #[error("snapshot {snapshot}, {member}: corrupt archive: {source}")]
    Archive {
        snapshot: String,
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error("not enough space to restore into {path:?}: need {need} bytes, {free} free")]
    NoSpace { path: PathBuf, need: u64, free: u64 },
    #[error("cannot import snapshot: {0}")]
    Import(String),
}

pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// Shorthand for wrapping an `io::Error` with the operation and path.
pub(crate) fn io(
    op: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let path = path.into();
    move |source| SnapshotError::Io { op, path, source }
}
