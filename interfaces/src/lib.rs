//! Plugs, slots, connections, auto-connect policy and the interface catalogue, compiled into
//! pure-data security profiles.
//!
//! Nothing lives here yet; see `spec/architecture.md` for what this crate will own.
#![forbid(unsafe_code)]
