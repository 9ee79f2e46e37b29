//! Security policy as data: the profile of each app and hook that the launcher applies, the
//! default sandbox every strict app gets, and (with the interfaces work) plugs, slots,
//! connections and the catalogue of interfaces whose grants are added to it.
//!
//! Everything here is pure: profiles are computed when a snap is installed or its connections
//! change, written by the daemon, and only loaded by the launcher.
//!
//! * [`app_profile`] / [`hook_profile`] compute a [`Profile`] from a snap.yaml
//!   ([`app_profile_with`] / [`hook_profile_with`] take an instance key and [`Grants`]);
//! * [`compile_seccomp`] turns its [`SeccompPolicy`] into the BPF program written beside it,
//!   and [`program_from_bytes`] reads that program back for the launcher.
#![forbid(unsafe_code)]

mod arch;
mod command;
mod compile;
mod compose;
pub mod environment;
mod error;
mod grants;
pub mod profile;
pub mod seccomp;
mod template;

pub use arch::{Arch, dpkg_arch};
pub use compile::{
    MAX_INSTRUCTIONS, compile_program, compile_seccomp, compile_seccomp_for, program_from_bytes,
    program_to_bytes,
};
pub use compose::{Options, app_profile, app_profile_with, hook_profile, hook_profile_with};
pub use error::ProfileError;
pub use grants::Grants;
pub use profile::{Profile, SandboxMode, SeccompPolicy};
pub use seccompiler::{BpfProgram, sock_filter};
