//! Security policy as data: the profile of each app and hook that the launcher applies, the
//! default sandbox every strict app gets, and plugs, slots, connections, the auto-connection
//! policy and the catalogue of interfaces whose grants are added to it.
//!
//! Everything here is pure: profiles are computed when a snap is installed or its connections
//! change, written by the daemon, and only loaded by the launcher.
//!
//! * [`app_profile`] / [`hook_profile`] compute a [`Profile`] from a snap.yaml
//!   ([`app_profile_with`] / [`hook_profile_with`] take an instance key and [`Grants`]);
//! * [`compile_seccomp`] turns its [`SeccompPolicy`] into the BPF program written beside it,
//!   and [`program_from_bytes`] reads that program back for the launcher;
//! * [`catalogue`] lists the interfaces; [`plugs_of`], [`slots_of`] and [`system_slots`] give
//!   the ends a snap brings; [`check_plug`], [`check_slot`] and [`check_connection`] validate
//!   them; [`auto_connect_slot`] applies the auto-connection policy; [`grants_for`] turns the
//!   connections of a snap into the [`Grants`] of one of its apps or hooks.
#![forbid(unsafe_code)]

mod arch;
mod builtin;
mod catalogue;
mod checks;
mod command;
mod compile;
mod compose;
mod ends;
pub mod environment;
mod error;
mod grants;
mod policy;
pub mod profile;
pub mod seccomp;
mod template;

pub use arch::{Arch, dpkg_arch};
pub use builtin::{
    grants_for, grants_for_instance, permanent_slot_grants, plug_grants, slot_grants,
};
pub use catalogue::{
    AutoConnect, InterfaceDef, SYSTEM_SNAP, catalogue, is_known_interface, is_system_snap, lookup,
    slot_snap_types,
};
pub use checks::{check_connection, check_plug, check_slot};
/// seccompiler's linear layout of the same program, to compare the search tree with.
#[doc(hidden)]
pub use compile::compile_program_linear;
pub use compile::{
    MAX_INSTRUCTIONS, compile_program, compile_seccomp, compile_seccomp_for, program_from_bytes,
    program_to_bytes,
};
pub use compose::{Options, app_profile, app_profile_with, hook_profile, hook_profile_with};
pub use ends::{
    Connection, PlugEnd, SlotEnd, attr_to_json, plugs_of, plugs_of_instance, slots_of,
    slots_of_instance, system_slots,
};
pub use error::ProfileError;
pub use grants::Grants;
pub use policy::{auto_connect_slot, auto_connect_slot_with};
pub use profile::{Profile, SandboxMode, SeccompPolicy};
pub use seccompiler::{BpfProgram, sock_filter};

/// Plugs and slots for tests.
#[cfg(test)]
pub(crate) mod test_util {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use crate::ends::{PlugEnd, SlotEnd};

    fn attrs(v: Value) -> BTreeMap<String, Value> {
        v.as_object()
            .expect("an object")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Plug `consumer:p` of `iface`, bound to `app`.
    pub fn plug(iface: &str, a: Value) -> PlugEnd {
        PlugEnd {
            snap: "consumer".into(),
            plug: "p".into(),
            interface: iface.into(),
            attrs: attrs(a),
            apps: vec!["app".into()],
        }
    }

    /// Slot `SNAP:s` of `iface`, bound to `srv`.
    pub fn slot(snap: &str, iface: &str, a: Value) -> SlotEnd {
        SlotEnd {
            snap: snap.into(),
            slot: "s".into(),
            interface: iface.into(),
            attrs: attrs(a),
            apps: vec!["srv".into()],
        }
    }
}
