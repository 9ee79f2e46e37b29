//! Snap configuration: snapd's nested document per snap (`snap get/set/unset`, `snapctl
//! get/set/unset`), changed through transactions that the configure hook validates.

pub mod doc;
pub mod ops;
pub mod tx;

/// The state key holding one configuration document per snap.
pub const CONFIG_KEY: &str = "config";
