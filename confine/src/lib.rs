//! `snap-confine`: the launcher behind `snap run`. It loads an app's precompiled profile, builds
//! the app's mount namespace, applies no_new_privs, landlock, the capability bounding and the
//! seccomp program, and execs the app's command. Small, single-threaded, fails closed: any
//! problem before `execve` ends the launch with `error: cannot run SNAP.APP: ...` and exit
//! status 1, and nothing of the app runs.
//!
//! # Design: the caller's own privileges, never more
//!
//! snapd's snap-confine is setuid root (lately: file capabilities) because AppArmor profiles and
//! a root-owned mount namespace need it. This one is an ordinary executable that runs with the
//! privileges of whoever starts it:
//!
//! * a caller that is root (effective uid 0) gets a new mount namespace
//!   (`unshare(CLONE_NEWNS)`);
//! * any other caller gets a new user namespace *and* a mount namespace
//!   (`unshare(CLONE_NEWUSER | CLONE_NEWNS)`) in which its uid and gid map to themselves
//!   (`setgroups` is denied, `uid_map` is `U U 1`, `gid_map` is `G G 1`). The capabilities it
//!   holds in that namespace only let it arrange mounts it can already read; files keep their
//!   owners and permissions, so it never reaches anything it could not reach before.
//!
//! Because the launcher is never more privileged than its caller, nothing in the environment is
//! security-relevant to it: the one variable it reads, `SNAPPY_GLOBAL_ROOT`, only chooses which
//! root (which profiles, snaps and data) the caller runs an app from, which the caller could do
//! anyway. The launcher refuses to run if it was made setuid or setgid (real and effective ids
//! differ), rather than trusting its environment with privilege it was not designed for. The
//! caller's identity comes from the kernel (real uid and gid) and its home from the password
//! database, never from `$HOME`.
//!
//! # Layout
//!
//! The pure parts, unit-tested without root: [`args`] (the command line), [`env`](mod@env) (the app's
//! environment, `$VAR` expansion, `$HOME`/`$UID` substitution), [`plan`] (the mount plan as a
//! list of steps), [`profile`] (loading and checking the profile and the seccomp program) and
//! the mappings in [`sandbox`] (profile access → landlock rights, capability names). The
//! syscall-doing parts are thin: [`host`] (directories prepared before entering the sandbox),
//! [`mounts`] (namespaces, the mounts, `pivot_root`), [`sandbox`] (no_new_privs, landlock,
//! capabilities, seccomp), [`exec`] and [`identity`]. [`launch`] runs the steps in order.

pub mod args;
pub mod env;
pub mod error;
pub mod exec;
pub mod host;
pub mod identity;
pub mod launch;
pub mod mounts;
pub mod plan;
pub mod profile;
pub mod sandbox;
pub mod service;

pub use error::Error;
pub use launch::main_with_args;
