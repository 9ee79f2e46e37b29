//! The snap manager: installing and removing snaps, as changes of tasks.

pub mod datacopy;
pub mod handlers;
pub mod holds;
pub mod model;
pub mod ops;
pub mod plan;
pub mod profiles;
pub mod refresh_ops;
pub mod setup;
pub mod store_ops;
pub mod switch;
pub mod userdata;
pub mod view;
