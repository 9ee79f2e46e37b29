//! The interface manager: plugs, slots and the connections between them. Connections live in
//! the state (`conns`); every change to them rewrites the security profiles of the snaps at
//! both ends. The policy (which interfaces exist, what auto-connects, what a connection
//! grants) is the `snap-interfaces` crate's.

pub mod conns;
pub mod handlers;
pub mod hooks;
pub mod ops;
pub mod repo;
pub mod view;
