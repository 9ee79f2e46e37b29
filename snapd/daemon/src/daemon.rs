//! The daemon's shared parts: the root's paths and the state store. The REST front end (and later the D-Bus one) works through this.

use std::sync::Arc;

use snap_core::dirs::Dirs;
use snap_state::StateStore;

pub struct Daemon {
    pub dirs: Dirs,
    pub store: Arc<StateStore>,
}
