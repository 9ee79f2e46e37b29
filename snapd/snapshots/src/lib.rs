//! Snapshots of snap data, as snapd's `snap save`/`saved`/`check-snapshot`/`restore`/`forget`/
//! `export-snapshot`/`import-snapshot` and the automatic snapshot on removal.
//!
//! A set holds one snapshot per snap: `var/snap/NAME/{REV,common}` and each user's
//! `~/snap/NAME/{REV,common}` as zstd-compressed tar archives with SHA-256 checksums and the
//! snap's metadata and configuration. The format is in `spec/snapshots.md`.
//!
//! Pure parts (`meta`, `entry`, `plan`, `pax`) decide; `pack`, `unpack`, `store`, `restore`,
//! `export` do the file I/O. The daemon calls [`Snapshots`] from a blocking thread.

#![forbid(unsafe_code)]

mod creds;
pub mod digest;
pub mod entry;
mod error;
mod export;
pub mod meta;
mod pack;
mod pax;
pub mod plan;
mod restore;
mod store;
mod unpack;
mod users;
mod xattr;

pub use error::{Result, SnapshotError};
pub use export::{EXPORT_FILE, Imported};
pub use meta::Snapshot;
pub use pack::Compression;
pub use plan::{DEFAULT_AUTOMATIC_RETENTION, RestoreRequest, SaveRequest, SnapInfo};
pub use restore::Restored;
pub use store::{Listing, Snapshots};
pub use users::{User, discover_users};
