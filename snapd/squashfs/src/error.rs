use std::path::PathBuf;

use crate::tree_check::TreeError;

/// Everything that can go wrong reading or packing a `.snap`.
#[derive(Debug, thiserror::Error)]
pub enum SquashfsError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid snap: not a squashfs image or corrupt ({reason})")]
    NotSquashfs { path: PathBuf, reason: String },
    #[error("{path}: no file {inner} in the snap")]
    NoSuchFile { path: PathBuf, inner: String },
    #[error("{path}: {inner} is not a regular file in the snap")]
    NotRegular { path: PathBuf, inner: String },
    #[error("{path}: {inner} is larger than {limit} bytes")]
    TooLarge {
        path: PathBuf,
        inner: String,
        limit: u64,
    },
    #[error("{path}: cannot read {inner}: {reason}")]
    Read {
        path: PathBuf,
        inner: String,
        reason: String,
    },
    #[error("{path}: {source}")]
    InvalidSnapYaml {
        path: PathBuf,
        source: snap_core::SnapYamlError,
    },
    #[error("cannot pack {dir}: {source}")]
    InvalidTree { dir: PathBuf, source: TreeError },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("cannot use {name:?} as the output name: it must be a relative path without \"..\"")]
    BadFileName { name: PathBuf },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}
