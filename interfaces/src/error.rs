//! The errors of profile and filter compilation.

/// Why a profile or a seccomp program could not be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("snap {snap:?} has no app {app:?}")]
    UnknownApp { snap: String, app: String },

    #[error("snap {snap:?} has no hook {hook:?}")]
    UnknownHook { snap: String, hook: String },

    #[error(transparent)]
    InvalidRevision(#[from] snap_core::InvalidRevision),

    #[error("invalid instance key {0:?}")]
    InvalidInstanceKey(String),

    #[error("app {app:?} of snap {snap:?} has no command")]
    NoCommand { snap: String, app: String },

    #[error("{field} points outside the snap: {path:?}")]
    OutsideSnap { field: String, path: String },

    #[error("seccomp: unknown syscall {name:?} for {arch}")]
    UnknownSyscall { name: String, arch: &'static str },

    #[error("seccomp: invalid rule for {syscall:?}: {reason}")]
    BadRule { syscall: String, reason: String },

    #[error("seccomp: invalid default action {0:?}")]
    BadDefaultAction(String),

    #[error("seccomp: no filter can be compiled for the {0} architecture")]
    UnsupportedArch(String),

    #[error("seccomp: {0}")]
    Compile(String),

    #[error("seccomp: the program has {0} instructions, more than the kernel accepts")]
    ProgramTooLarge(usize),

    #[error("seccomp: a program is a whole number of 8-byte instructions, not {0} bytes")]
    BadProgramLength(usize),
}
