//! Reading and packing `.snap` files (squashfs images), and their digests.
//!
//! Reading never mounts: [`SnapFile`] parses the image in user space, so the daemon can look at
//! `meta/snap.yaml` of an untrusted upload before anything touches the kernel. Packing
//! ([`pack_snap`]) validates the tree first and writes a reproducible image.
#![forbid(unsafe_code)]

mod digest;
mod error;
mod pack;
mod reader;
mod tree_check;
mod writer;

pub use digest::{SnapDigest, digest_file};
pub use error::SquashfsError;
pub use pack::{PackOptions, PackedSnap, pack_snap, snap_file_name};
pub use reader::{Entry, EntryKind, MAX_READ_BYTES, SnapFile};
pub use tree_check::{TreeError, check_tree};
pub use writer::{Compression, write_image};
