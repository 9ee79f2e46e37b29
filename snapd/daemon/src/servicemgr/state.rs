//! What the state remembers of a snap's services (one entry per snap under `services`): which
//! are enabled (started at boot) and which should be running (started again if they died
//! while no daemon watched). Written by the daemon only; the running processes themselves are
//! found through their cgroups.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use snap_state::{State, StateError};

pub const SERVICES_KEY: &str = "services";
/// The boot the services were last started in: after a reboot every enabled service starts.
pub const BOOT_ID_KEY: &str = "services-boot-id";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct AppState {
    pub enabled: bool,
    /// Asked to run (started and not stopped since).
    pub active: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct SnapServices {
    pub apps: BTreeMap<String, AppState>,
}

pub fn get(st: &State, snap: &str) -> Result<SnapServices, StateError> {
    Ok(st.get_entry(SERVICES_KEY, snap)?.unwrap_or_default())
}

pub fn set(st: &mut State, snap: &str, s: &SnapServices) -> Result<(), StateError> {
    if s.apps.is_empty() {
        st.remove_entry(SERVICES_KEY, snap).map(|_| ())
    } else {
        st.set_entry(SERVICES_KEY, snap, s)
    }
}

pub fn all(st: &State) -> Result<BTreeMap<String, SnapServices>, StateError> {
    let mut out = BTreeMap::new();
    for n in st.entry_names(SERVICES_KEY)? {
        out.insert(n.clone(), get(st, &n)?);
    }
    Ok(out)
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`). Tests stand for a reboot with
/// `SNAPD_TEST_BOOT_ID`.
pub fn current_boot_id() -> String {
    if let Ok(id) = std::env::var("SNAPD_TEST_BOOT_ID")
        && !id.is_empty()
    {
        return id;
    }
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
