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
    /// For services: the argument vectors of `stop`, `reload` and `post-stop` (the
    /// `stop-command`, `reload-command` and `post-stop-command`, command-chain first), which
    /// the launcher runs instead of [`Profile::command`] for `--command=NAME`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub service_commands: std::collections::BTreeMap<String, Vec<String>>,
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
    /// Any TCP port may be bound (the `network-bind` interface): the launcher does not
    /// restrict TCP binds at all, and `tcp_bind` is empty.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tcp_bind_any: bool,
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
///
/// Syscall names are those of the architecture the profile was computed for (names that
/// architecture does not have are left out when the profile is built).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SeccompPolicy {
    /// What every other syscall gets: `errno` (EPERM) for strict, `log` for devmode, `allow`
    /// for classic (no filter: the compiled program is empty). `errno:N` and `kill-process`
    /// are understood too.
    pub default_action: String,
    /// Syscalls allowed whatever their arguments.
    pub allow: Vec<String>,
    /// Syscalls allowed only with these argument values. Several rules for one syscall are
    /// alternatives; a syscall also in [`SeccompPolicy::allow`] is allowed whatever its
    /// arguments.
    #[serde(default)]
    pub allow_if: Vec<ArgRule>,
    /// Syscalls that fail with a chosen errno whatever their arguments, checked before
    /// everything else (e.g. `clone3` fails with ENOSYS so that the C library falls back to
    /// `clone`, whose flags the filter can see).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errno: Vec<ErrnoRule>,
}

/// `syscall` is allowed when argument `arg` (0-based) compared with `value` under `op`
/// (`eq`, `ne`, `lt`, `le`, `gt`, `ge`, `masked-eq:MASK`) holds, and so does every condition
/// in `and`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ArgRule {
    pub syscall: String,
    pub arg: u8,
    pub op: String,
    pub value: u64,
    /// How much of the argument is compared: 64 (the whole register) or 32 (its low half, for
    /// `int` and `unsigned int` arguments, which the kernel truncates: comparing all 64 bits
    /// would let a caller slip a denied value past `ne` by setting a high bit).
    #[serde(default = "default_bits", skip_serializing_if = "is_default_bits")]
    pub bits: u8,
    /// More conditions on the same call, all of which must hold too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub and: Vec<ArgCond>,
}

/// One more condition of an [`ArgRule`], with the same meaning as its own.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ArgCond {
    pub arg: u8,
    pub op: String,
    pub value: u64,
    #[serde(default = "default_bits", skip_serializing_if = "is_default_bits")]
    pub bits: u8,
}

/// `syscall` fails with `errno` (e.g. 38, ENOSYS) whatever its arguments.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ErrnoRule {
    pub syscall: String,
    pub errno: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_bits() -> u8 {
    64
}

fn is_default_bits(bits: &u8) -> bool {
    *bits == 64
}

impl ArgCond {
    /// A condition on the low 32 bits of an argument (an `int` or `unsigned int`).
    pub fn u32(arg: u8, op: &str, value: u32) -> ArgCond {
        ArgCond {
            arg,
            op: op.to_owned(),
            value: u64::from(value),
            bits: 32,
        }
    }

    /// A condition on a whole 64-bit argument (a pointer-sized integer).
    pub fn u64(arg: u8, op: &str, value: u64) -> ArgCond {
        ArgCond {
            arg,
            op: op.to_owned(),
            value,
            bits: 64,
        }
    }
}

impl ArgRule {
    /// `syscall` allowed when every condition holds; `None` without conditions.
    pub fn all(syscall: &str, conds: Vec<ArgCond>) -> Option<ArgRule> {
        let mut conds = conds.into_iter();
        let first = conds.next()?;
        Some(ArgRule {
            syscall: syscall.to_owned(),
            arg: first.arg,
            op: first.op,
            value: first.value,
            bits: first.bits,
            and: conds.collect(),
        })
    }

    /// Every condition of the rule, its own first.
    pub fn conditions(&self) -> Vec<ArgCond> {
        let mut out = vec![ArgCond {
            arg: self.arg,
            op: self.op.clone(),
            value: self.value,
            bits: self.bits,
        }];
        out.extend(self.and.iter().cloned());
        out
    }
}

impl Profile {
    /// Targets of [`Profile::mounts`] under `/var/snap/` (content plugs whose `target` is in
    /// `$SNAP_DATA` or `$SNAP_COMMON`): the daemon creates these directories when it writes
    /// the profile, since the launcher skips a mount whose target is missing. Targets under
    /// `$SNAP` must exist in the snap itself.
    pub fn data_mount_targets(&self) -> Vec<&str> {
        self.mounts
            .iter()
            .map(|m| m.target.as_str())
            .filter(|t| t.starts_with("/var/snap/"))
            .collect()
    }

    /// Turns a strict profile into a devmode one, as `snap install --devmode` does: the same
    /// sandbox, with seccomp violations logged instead of denied (landlock is not enforced).
    /// Syscalls failed on purpose ([`SeccompPolicy::errno`]) keep failing only where that is
    /// how the C library is steered to a fallback (`clone3`). Other profiles are unchanged.
    pub fn make_devmode(&mut self) {
        if self.confinement != SandboxMode::Strict {
            return;
        }
        self.confinement = SandboxMode::Devmode;
        self.seccomp.default_action = "log".into();
        self.seccomp.errno.retain(|r| r.syscall == "clone3");
    }
}

/// Substitutes the user placeholders of profile values: every `$HOME` by the user's home
/// directory and every `$UID` by their uid. Plain text replacement, one pass: a value such as
/// `$UID0` means the uid followed by `0`, and nothing substituted is looked at again.
pub fn substitute_user(value: &str, home: &str, uid: u32) -> String {
    let mut out = String::with_capacity(value.len() + home.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$HOME") {
            out.push_str(home);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("$UID") {
            out.push_str(&uid.to_string());
            rest = after;
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The file names of an app's profile and program, relative to the profiles directory.
pub fn profile_file_name(snap: &str, app: &str) -> String {
    format!("snap.{snap}.{app}.json")
}

pub fn program_file_name(snap: &str, app: &str) -> String {
    format!("snap.{snap}.{app}.bpf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_placeholders() {
        for (value, want) in [
            ("$HOME/snap/a/1", "/home/al/snap/a/1"),
            ("/run/user/$UID/snap.a", "/run/user/1000/snap.a"),
            ("$UID0", "10000"),
            ("$HOMEX", "/home/alX"),
            ("$SNAP and $ alone $", "$SNAP and $ alone $"),
            ("plain", "plain"),
        ] {
            assert_eq!(substitute_user(value, "/home/al", 1000), want, "{value}");
        }
        // What is substituted is not looked at again.
        assert_eq!(substitute_user("$HOME", "/x/$UID", 5), "/x/$UID");
    }

    #[test]
    fn arg_rules_in_json() {
        // Rules written before `bits` and `and` existed still read, as 64-bit comparisons.
        let old: ArgRule =
            serde_json::from_str(r#"{"syscall":"socket","arg":0,"op":"eq","value":1}"#).unwrap();
        assert_eq!(old.bits, 64);
        assert!(old.and.is_empty());
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"syscall":"socket","arg":0,"op":"eq","value":1}"#
        );
        let rule = ArgRule::all(
            "socket",
            vec![
                ArgCond::u32(0, "eq", 2),
                ArgCond::u32(1, "masked-eq:0xf", 1),
            ],
        )
        .unwrap();
        assert_eq!(rule.conditions().len(), 2);
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(serde_json::from_str::<ArgRule>(&json).unwrap(), rule);
        assert!(ArgRule::all("socket", vec![]).is_none());
    }

    #[test]
    fn make_devmode_leaves_other_modes_alone() {
        let mut p = Profile {
            format: PROFILE_FORMAT,
            snap: "a".into(),
            app: "a".into(),
            revision: "1".into(),
            version: "1".into(),
            base: String::new(),
            confinement: SandboxMode::Classic,
            command: vec![],
            environment: vec![],
            user_dirs: vec![],
            mounts: vec![],
            landlock: LandlockPolicy::default(),
            seccomp: SeccompPolicy {
                default_action: "allow".into(),
                ..SeccompPolicy::default()
            },
            capabilities: vec![],
            service_commands: Default::default(),
        };
        let before = p.clone();
        p.make_devmode();
        assert_eq!(p, before);
    }
}
