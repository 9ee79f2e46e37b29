//! The daemon's shared parts: the root's paths and the state store. The REST front end (and later the D-Bus one) works through this.

use std::sync::Arc;

use snap_core::dirs::Dirs;
use snap_state::StateStore;

pub struct Daemon {
    pub dirs: Dirs,
    pub store: Arc<StateStore>,
    /// The running hooks, which `snapctl` calls reach by their context id.
    pub hook_contexts: Arc<crate::hookmgr::contexts::Contexts>,
    /// The services: start, stop, restart, status (`/v2/apps`, `snapctl`).
    pub services: Arc<crate::servicemgr::ServiceManager>,
    /// The configured store: its index, the device's seed, downloads (`/v2/find`, installs).
    pub storemgr: Arc<crate::storemgr::StoreManager>,
    /// What the automatic refresh last decided (`refresh` of `/v2/system-info`).
    pub refresh_status: Arc<std::sync::Mutex<crate::refreshmgr::auto::Status>>,
}
