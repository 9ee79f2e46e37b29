//! The launcher behind `snap run`: mount namespace, landlock, seccomp, capabilities, exec.
//!
//! Nothing lives here yet; see `spec/architecture.md` for what this crate will own.
