//! The REST API as it travels on the wire: snapd's response envelope, error kinds, the snap,
//! app, change and task objects, and a client over the unix socket.
//!
//! Field names, status texts and error kinds are snapd's, because existing clients (Debian's
//! `snap`, snapd-glib) read them.
#![forbid(unsafe_code)]

mod client;
mod envelope;
pub mod kinds;
mod services;
mod types;

pub use client::{Client, ClientError, MultipartFile};
pub use envelope::{ErrorResult, Maintenance, Response, ResponseType, status_text};
pub use services::*;
pub use types::*;
