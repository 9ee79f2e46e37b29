//! The launcher's one error type. Each variant names the operation, the path or field, and the
//! reason; `main` prints it as `error: cannot run SNAP.APP: <error>`.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad command line (printed with the usage).
    #[error("{0}")]
    Usage(String),

    #[error("snap-confine must not be setuid or setgid (real and effective ids differ)")]
    Setuid,

    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },

    #[error("cannot parse profile {path}: {source}")]
    ParseProfile {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error(
        "profile {path} has format {found}, this snap-confine understands only format {expected}"
    )]
    Format {
        path: PathBuf,
        found: u32,
        expected: u32,
    },

    /// The profile parsed but says something the launcher cannot apply safely.
    #[error("profile {path}: {reason}")]
    Profile { path: PathBuf, reason: String },

    #[error("seccomp program {path}: {reason}")]
    Program { path: PathBuf, reason: String },

    #[error("cannot find uid {0} in the password database")]
    NoUser(u32),

    /// A filesystem or syscall operation on a path failed.
    #[error("cannot {op} {path}: {source}")]
    Path {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// A syscall that is not about one path failed.
    #[error("cannot {op}: {source}")]
    Sys { op: String, source: io::Error },

    /// Something under the root is not what it must be (owner, type, symlink).
    #[error("{path}: {reason}")]
    Unsafe { path: PathBuf, reason: String },

    #[error("a required mount point is missing from the base snap: {0}")]
    MissingTarget(String),

    #[error("landlock: {0}")]
    Landlock(#[from] landlock::RulesetError),

    #[error("capabilities: {0}")]
    Caps(String),

    #[error("seccomp: {0}")]
    Seccomp(String),

    #[error("invalid environment: {0}")]
    Env(String),

    #[error("cannot execute {program}: {source}")]
    Exec { program: String, source: io::Error },
}

impl Error {
    pub(crate) fn path(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Path {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn sys(op: impl Into<String>, source: impl Into<io::Error>) -> Error {
        Error::Sys {
            op: op.into(),
            source: source.into(),
        }
    }
}
