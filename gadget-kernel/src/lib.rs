//! gadget.yaml, disk images for boards, kernel snaps, boot environment and try-boot.
//!
//! Nothing lives here yet; see `spec/architecture.md` for what this crate will own.
#![forbid(unsafe_code)]
