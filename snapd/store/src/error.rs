use std::path::PathBuf;

/// Everything that can go wrong in the store, publisher or device side. Each variant names the
/// operation and the file, URL, snap or field concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid channel {channel:?}: {reason}")]
    InvalidChannel { channel: String, reason: String },

    #[error("invalid key file {path}: {reason}")]
    InvalidKeyFile { path: PathBuf, reason: String },

    #[error("invalid public key {key:?}: {reason}")]
    InvalidPublicKey { key: String, reason: String },

    #[error("{what} is not valid canonical-JSON material: {reason}")]
    Canonical { what: String, reason: String },

    #[error("the index from {source_name} is malformed: {reason}")]
    MalformedIndex { source_name: String, reason: String },

    #[error("the index from {source_name} carries no signature")]
    Unsigned { source_name: String },

    #[error(
        "the index from {source_name} is not signed by a trusted key (signatures by: {keyids})"
    )]
    UntrustedKey { source_name: String, keyids: String },

    #[error("the index from {source_name} has a bad signature by trusted key {keyid}")]
    BadSignature { source_name: String, keyid: String },

    #[error(
        "the index from {source_name} has serial {got}, older than the {seen} already seen (a replayed index)"
    )]
    Rollback {
        source_name: String,
        got: u64,
        seen: u64,
    },

    #[error("snap {name:?} is not in the store")]
    UnknownSnap { name: String },

    #[error("snap {name:?} has no revision on channel {channel} or any channel it follows")]
    NoRevision { name: String, channel: String },

    #[error("snap {name:?} has no open channel {channel}")]
    ChannelNotOpen { name: String, channel: String },

    #[error("snap {name:?} has no revision {revision}")]
    UnknownRevision { name: String, revision: u64 },

    #[error("rollout percentage {value} is out of range (0 to 100)")]
    InvalidRollout { value: u64 },

    #[error("{path} is not a snap the store accepts: {reason}")]
    BadSnap { path: PathBuf, reason: String },

    #[error("repository {path}: {reason}")]
    Repo { path: PathBuf, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("GET {url}: {reason}")]
    Http { url: String, reason: String },

    #[error("GET {url}: unexpected status {status}")]
    HttpStatus { url: String, status: u16 },

    #[error("download of {url}: {reason}")]
    Download { url: String, reason: String },

    #[error(
        "download of {url}: expected {expected_size} bytes with SHA-384 {expected_sha384}, got {got_size} bytes with SHA-384 {got_sha384}"
    )]
    DigestMismatch {
        url: String,
        expected_size: u64,
        expected_sha384: String,
        got_size: u64,
        got_sha384: String,
    },

    #[error("download of {url} cancelled after {done} bytes (the partial file is kept)")]
    Cancelled { url: String, done: u64 },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}
