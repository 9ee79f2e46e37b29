//! The snap manager: installing and removing snaps, as changes of tasks.

pub mod handlers;
pub mod model;
pub mod ops;
pub mod plan;
pub mod setup;
pub mod view;
