//! Security policy as data: the profile of each app and hook that the launcher applies, the
//! default sandbox every strict app gets, and (with the interfaces work) plugs, slots,
//! connections and the catalogue of interfaces whose grants are added to it.
//!
//! Everything here is pure: profiles are computed when a snap is installed or its connections
//! change, written by the daemon, and only loaded by the launcher.
#![forbid(unsafe_code)]

pub mod profile;
