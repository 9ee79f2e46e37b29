//! Error kinds, as snapd spells them; clients branch on these strings.

pub const LOGIN_REQUIRED: &str = "login-required";
pub const SNAP_NOT_FOUND: &str = "snap-not-found";
pub const SNAP_NOT_INSTALLED: &str = "snap-not-installed";
pub const SNAP_ALREADY_INSTALLED: &str = "snap-already-installed";
pub const SNAP_CHANGE_CONFLICT: &str = "snap-change-conflict";
pub const SNAP_NEEDS_DEVMODE: &str = "snap-needs-devmode";
pub const SNAP_NEEDS_CLASSIC: &str = "snap-needs-classic";
pub const SNAP_NOT_A_SNAP: &str = "snap-not-a-snap";
pub const BAD_QUERY: &str = "bad-query";
pub const APP_NOT_FOUND: &str = "app-not-found";
pub const INTERFACES_UNCHANGED: &str = "interfaces-unchanged";
