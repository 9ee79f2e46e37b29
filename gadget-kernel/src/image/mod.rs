//! Disk images for boards, as ubuntu-image builds them: from an image model (gadget, kernel,
//! base and app snaps) to one `VOLUME.img` per gadget volume, with its partition table,
//! filesystems filled with the gadget's content, raw structures, `offset-write`s, a seed of
//! the snaps for first boot and the bootloader environment.
//!
//! The pure parts (the model, content resolution, the plan, table bytes, environment files)
//! are apart from the writing, which runs `mkfs.vfat`, `mtools`, `mkfs.ext4` and `debugfs`.
//! The same inputs give the same image bytes: every identifier is derived from a digest of
//! the inputs and every time stamp is the model's `source-date-epoch`.

mod build;
pub mod content;
pub mod env;
mod error;
pub mod gpt;
pub mod guid;
pub mod mbr;
pub mod model;
pub mod plan;
pub mod seed;
mod stage;
mod tools;

pub use build::{Progress, Quiet, build_images};
pub use error::ImageError;
