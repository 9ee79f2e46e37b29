//! The profile of one app or hook: everything `snap-confine` applies, as data. The daemon
//! writes it as `<root>/var/lib/snapd/profiles/snap.SNAP.APP.json` (hooks:
//! `snap.SNAP.hook.HOOK.json`), beside the compiled seccomp program `... .bpf`, when the snap is
//! installed (and when its connections change). A launch reads the two files and nothing else
//! decides what the app may do.
//!
//! Paths are as the app sees them inside its sandbox. Paths that depend on the user running the
//! app start with `$HOME` (their home directory from the password database, never from the
//! environment), `$UID` stands for their numeric uid; the launcher substitutes both.

use serde::{Deserialize, Serialize};

/// Bumped whenever the meaning of a field changes; the launcher refuses other formats.
pub const PROFILE_FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Profile {
    pub format: u32,
    /// The snap's instance name.
    pub snap: String,
    /// The app's name, or `hook.NAME` for a hook.
    pub app: String,
    /// `x1`, `42`.
    pub revision: String,
    pub version: String,
    /// The base snap whose mounted revision becomes the sandbox's `/`. Empty for `base: none`
    /// snaps (which have no apps) and for classic snaps, which run on the host's root.
    pub base: String,
    pub confinement: SandboxMode,
    /// The argument vector the launcher executes, before the user's arguments:
    /// command-chain entries then the command's words, as absolute paths inside the sandbox
    /// (`/snap/NAME/REV/bin/app`). Words may contain `$SNAP`-style variables, expanded from
    /// [`Profile::environment`] as snapd's snap-exec does.
    pub command: Vec<String>,
    /// Environment set for the app, in order; values may use `$HOME` and `$UID`. The caller's
    /// own environment is not passed through except the harmless variables the launcher keeps
    /// (terminal, locale, display).
    pub environment: Vec<(String, String)>,
    /// Directories created for the user on the first run (e.g. `$HOME/snap/NAME/REV`).
    pub user_dirs: Vec<String>,
    /// Extra bind mounts into the sandbox (layouts, content sharing).
    #[serde(default)]
    pub mounts: Vec<MountEntry>,
    pub landlock: LandlockPolicy,
    pub seccomp: SeccompPolicy,
    /// Capabilities the app keeps (normally none; every other one is dropped).
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// How strictly the app is confined.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Mount namespace, landlock, seccomp (default deny with EPERM), no capabilities.
    Strict,
    /// The same namespace, but violations are only logged: the seccomp filter's default action
    /// is LOG and no landlock ruleset is enforced (landlock has no complain mode).
    Devmode,
    /// No sandbox: the host's namespace, unfiltered; only the environment is set.
    Classic,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MountEntry {
    /// Where the content comes from, as a path inside the sandbox before the mount.
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

/// Landlock rules: what the app may touch. Landlock only allows, so everything not listed is
/// denied once the ruleset is enforced.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LandlockPolicy {
    pub paths: Vec<PathRule>,
    /// TCP ports the app may bind (listen on). Empty: none.
    #[serde(default)]
    pub tcp_bind: Vec<u16>,
    /// TCP ports the app may connect to; `None` means any port (the network interface).
    #[serde(default)]
    pub tcp_connect: Option<Vec<u16>>,
    /// Forbid connecting to abstract unix sockets created outside the sandbox.
    #[serde(default)]
    pub scope_abstract_unix: bool,
    /// Forbid sending signals to processes outside the sandbox.
    #[serde(default)]
    pub scope_signal: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PathRule {
    /// A path inside the sandbox; missing paths are skipped at launch.
    pub path: String,
    pub access: Access,
}

/// Rights on a file or a directory tree.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read files and list directories.
    Read,
    /// Read and execute.
    ReadExec,
    /// Read, write, create, remove, truncate (no execute).
    ReadWrite,
    /// Everything.
    Full,
    /// Read and write an existing device node (ioctl included), nothing else.
    Device,
}

/// The seccomp filter's source, kept for `snap run --debug` and audits; the launcher loads the
/// compiled program from the `.bpf` file beside the profile.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SeccompPolicy {
    /// `errno` (EPERM) for strict, `log` for devmode.
    pub default_action: String,
    /// Syscalls allowed whatever their arguments.
    pub allow: Vec<String>,
    /// Syscalls allowed only with these argument values.
    #[serde(default)]
    pub allow_if: Vec<ArgRule>,
}

/// `syscall` is allowed when argument `arg` (0-based) compared with `value` under `op`
/// (`eq`, `ne`, `masked-eq:MASK`) holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ArgRule {
    pub syscall: String,
    pub arg: u8,
    pub op: String,
    pub value: u64,
}

/// The file names of an app's profile and program, relative to the profiles directory.
pub fn profile_file_name(snap: &str, app: &str) -> String {
    format!("snap.{snap}.{app}.json")
}

pub fn program_file_name(snap: &str, app: &str) -> String {
    format!("snap.{snap}.{app}.bpf")
}
