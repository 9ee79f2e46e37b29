//! The static store: signed indexes and `.snap` blobs in a directory tree that any HTTP server
//! or CDN serves (`spec/store.md`). The publishing side (`repo`, the `snap-store` command) and
//! the device's side (`client`) share the model (`index`), the channels, the canonical JSON and
//! the signatures.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod channel;
pub mod client;
mod edit;
mod error;
mod fsutil;
mod hex;
pub mod index;
pub mod repo;
pub mod rollout;
pub mod sign;

pub use channel::{Channel, Risk};
pub use client::{Check, Progress, StoreClient};
pub use error::StoreError;
pub use index::{Index, Resolved, RevisionEntry, snap_id_for};
pub use repo::Repo;
pub use rollout::DeviceSeed;
pub use sign::{PublicKey, SecretKey};
