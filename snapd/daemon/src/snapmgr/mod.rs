//! The snap manager: installing and removing snaps, as changes of tasks.

pub mod handlers;
pub mod model;
pub mod ops;
pub mod plan;
pub mod profiles;
pub mod setup;
pub mod view;
