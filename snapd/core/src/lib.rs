//! The snap.yaml model and its validation: pure logic, no syscalls.
//!
//! [`parse_snap_yaml`] reads a `meta/snap.yaml` and applies every rule snapd applies when it
//! packs or installs a snap from it (snapd's `InfoFromSnapYaml` followed by `Validate`).
//! Checks that depend on the running snapd rather than on the file alone (supported
//! `assumes`, supported system users) are in [`install`].
#![forbid(unsafe_code)]

mod attr;
pub mod bounded_yaml;
mod convert;
mod duration;
mod epoch;
mod error;
mod exec;
pub mod hooks;
pub mod install;
mod layout;
mod license;
mod links;
mod model;
pub mod naming;
mod paths;
mod plugs;
mod raw;
mod timer;
mod validate;
mod yaml;

// Paths and revisions, shared by the daemon, the CLI and the launcher.
pub mod dirs;
mod revision;
pub use revision::{InvalidRevision, Revision};

pub use attr::AttrValue;
pub use duration::parse_duration;
pub use epoch::{Epoch, EpochError};
pub use error::SnapYamlError;
pub use exec::{ExecPath, ExecPathKind};
pub use layout::{LAYOUT_REJECTED_PATHS, LAYOUT_TOP_LEVEL_DIRS, Layout, LayoutKind};
pub use license::validate_license;
pub use links::validate_links;
pub use model::{
    App, Component, ComponentType, Confinement, DaemonScope, DaemonType, Endpoint, Environment,
    Grade, Hook, InstallMode, Plug, RefreshMode, RestartCondition, Slot, SnapType, SnapYaml,
    Socket, StopMode, SystemUsername, Timeout,
};
pub use paths::{clean as clean_path, expand_snap_variables};
pub use plugs::any_well_formed_interface;
pub use timer::validate_timer;
pub use validate::validate;
pub use yaml::{MAX_SNAP_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES};

/// Parses and validates a snap.yaml. Plugs and slots with a malformed name or interface name
/// are dropped into [`SnapYaml::bad_interfaces`] (snapd warns about them; it does not refuse
/// the snap). To also drop interfaces this system does not know, use
/// [`parse_snap_yaml_with_interfaces`].
pub fn parse_snap_yaml(bytes: &[u8]) -> Result<SnapYaml, SnapYamlError> {
    parse_snap_yaml_with_interfaces(bytes, &any_well_formed_interface)
}

/// [`parse_snap_yaml`], with the caller saying which interface names exist; plugs and slots
/// of other interfaces go to [`SnapYaml::bad_interfaces`] before validation, as in snapd.
pub fn parse_snap_yaml_with_interfaces(
    bytes: &[u8],
    is_known_interface: &dyn Fn(&str) -> bool,
) -> Result<SnapYaml, SnapYamlError> {
    let raw = yaml::decode(bytes)?;
    let snap = convert::build(raw, &|iface| {
        any_well_formed_interface(iface) && is_known_interface(iface)
    })?;
    validate(&snap)?;
    Ok(snap)
}

impl SnapYaml {
    /// Declares a hook found only as a file in `meta/hooks/` (snapd adds those after reading
    /// snap.yaml). It receives every unscoped plug and slot. Returns false, changing nothing,
    /// for names snapd does not know or hooks already declared. Call [`validate`] afterwards:
    /// e.g. `base: none` forbids any hook.
    pub fn add_implicit_hook(&mut self, name: &str) -> bool {
        if !hooks::is_supported_hook(name) || self.hooks.contains_key(name) {
            return false;
        }
        let mut hook = Hook::new(name, false);
        for plug in self.plugs.values_mut().filter(|p| p.unscoped) {
            plug.hooks.insert(name.to_owned());
            hook.plugs.insert(plug.name.clone());
        }
        for slot in self.slots.values_mut().filter(|s| s.unscoped) {
            slot.hooks.insert(name.to_owned());
            hook.slots.insert(slot.name.clone());
        }
        self.hooks.insert(name.to_owned(), hook);
        true
    }
}
