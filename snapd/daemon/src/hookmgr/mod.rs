//! Hooks: the `run-hook` task, which runs a snap's hook confined under its own profile with a
//! timeout, the contexts `snapctl` reaches a running hook through, and the per-snap cookies
//! that identify a snap's apps to `snapctl`.

pub mod contexts;
pub mod cookies;
pub mod handlers;
pub mod process;
pub mod setup;
