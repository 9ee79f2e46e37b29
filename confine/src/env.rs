//! The app's environment and argument vector, built from the profile (pure).
//!
//! The environment starts empty. In order:
//! 1. `PATH` is snapd's default and `HOME` the user's home as the app sees it (so both are set
//!    even if the profile says nothing);
//! 2. the caller's *harmless* variables are copied ([`is_kept`]): terminal, locale, time zone,
//!    display and session-bus addresses. These only describe the user's session; none of them
//!    makes a program load code or trust a path (unlike `LD_*`, `PATH`, `PYTHONPATH`, `HOME`,
//!    `TMPDIR`, `SHELL`, ...). `XAUTHORITY` and `DBUS_SESSION_BUS_ADDRESS` are addresses: what
//!    they point at is still governed by the mount namespace and landlock;
//! 3. the profile's `environment`, in order, with `$HOME` and `$UID` substituted
//!    ([`substitute_user`], the profile crate's own); a later entry replaces an earlier one with
//!    the same name.
//!
//! The command's words are then expanded from that final environment the way snapd's snap-exec
//! does (the profile crate's [`expand`]: Go's `os.Expand` plus `${A:-b}`/`${A:+b}`; unknown
//! names expand to nothing, a word that expands to nothing is dropped), and the user's
//! arguments are appended unexpanded.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use snap_interfaces::environment::expand;
/// The profile's placeholder substitution (`$HOME`, `$UID`), as its producer defines it.
pub use snap_interfaces::profile::substitute_user;

/// snap-confine's `PATH` for non-classic apps (the profile normally sets its own).
pub const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games";

/// Caller variables passed through to the app.
pub const KEPT: &[&str] = &[
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "LANG",
    "LANGUAGE",
    "TZ",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
];

/// Whether the caller's variable `name` is passed through: [`KEPT`] and the locale categories
/// `LC_*` (`LC_` then upper-case letters and underscores).
pub fn is_kept(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    if KEPT.contains(&name) {
        return true;
    }
    match name.strip_prefix("LC_") {
        Some(rest) => !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        None => false,
    }
}

/// An ordered environment; setting a name again replaces its value in place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env(Vec<(OsString, OsString)>);

impl Env {
    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        let (name, value) = (name.into(), value.into());
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_os_str())
    }

    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.0
    }
}

/// Builds the app's environment (see the module documentation). `profile_env` names must be
/// non-empty and contain neither `=` nor NUL, and values no NUL.
pub fn build_env(
    caller: impl IntoIterator<Item = (OsString, OsString)>,
    profile_env: &[(String, String)],
    home: &str,
    uid: u32,
) -> Result<Env, String> {
    let mut env = Env::default();
    env.set("PATH", DEFAULT_PATH);
    env.set("HOME", home);
    for (name, value) in caller {
        if is_kept(&name) && !value.as_bytes().contains(&0) {
            env.set(name, value);
        }
    }
    for (name, value) in profile_env {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(format!("invalid variable name {name:?}"));
        }
        if value.contains('\0') {
            return Err(format!("value of {name} contains NUL"));
        }
        env.set(name.as_str(), substitute_user(value, home, uid));
    }
    Ok(env)
}

/// The directories of the snap layout a classic app's profile names (`$SNAP`, `$SNAP_DATA`,
/// `$SNAP_COMMON` and what lies below them), which live under the root.
const LAYOUT_DIRS: &[&str] = &["/snap", "/var/snap"];

fn in_layout(path: &str) -> bool {
    LAYOUT_DIRS.iter().any(|d| {
        path.strip_prefix(d)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A classic app runs in its caller's namespace, where the snaps of a root other than `/` are
/// under that root: a path of the profile in `/snap` or `/var/snap` (a command word) is moved
/// under `root`. Unchanged for the root `/` and for anything else.
pub fn classic_path(word: &str, root: &Path) -> String {
    match root.to_str() {
        Some(r) if r != "/" && in_layout(word) => format!("{}{word}", r.trim_end_matches('/')),
        _ => word.to_owned(),
    }
}

/// [`classic_path`] for an environment value: each `:`-separated element (`PATH` lists
/// `$SNAP/usr/bin`, `/snap/bin`, ...).
pub fn classic_value(value: &str, root: &Path) -> String {
    value
        .split(':')
        .map(|v| classic_path(v, root))
        .collect::<Vec<_>>()
        .join(":")
}

/// The argument vector: the profile's command words expanded from `env` (words that expand to
/// nothing are dropped, as snap-exec does), then the user's arguments as given.
pub fn build_argv(
    command: &[String],
    env: &Env,
    user_args: &[OsString],
) -> Result<Vec<OsString>, String> {
    let lookup = |name: &str| env.get(name).map(|v| v.to_string_lossy().into_owned());
    let mut argv: Vec<OsString> = command
        .iter()
        .map(|w| expand(w, &lookup))
        .filter(|w| !w.is_empty())
        .map(OsString::from)
        .collect();
    if argv.is_empty() {
        return Err("the command is empty".into());
    }
    argv.extend(user_args.iter().cloned());
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(a, b)| (a.into(), b.into())).collect()
    }

    #[test]
    fn kept_variables() {
        for k in [
            "TERM",
            "LANG",
            "LC_ALL",
            "LC_CTYPE",
            "LC_MEASUREMENT",
            "TZ",
            "DISPLAY",
        ] {
            assert!(is_kept(OsStr::new(k)), "{k}");
        }
        for k in [
            "PATH",
            "HOME",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LC_",
            "LC_all",
            "LCALL",
            "SHELL",
            "TMPDIR",
            "PYTHONPATH",
            "SNAP",
            "SNAPPY_GLOBAL_ROOT",
            "USER",
            "IFS",
            "ENV",
        ] {
            assert!(!is_kept(OsStr::new(k)), "{k}");
        }
    }

    #[test]
    fn user_substitution_is_the_profiles() {
        let s = |x| substitute_user(x, "/home/al", 1000);
        assert_eq!(s("$HOME/snap/x/1"), "/home/al/snap/x/1");
        assert_eq!(
            s("/run/user/$UID/snap.x:$SNAP"),
            "/run/user/1000/snap.x:$SNAP"
        );
    }

    #[test]
    fn environment_is_built_from_scratch() {
        let caller = os(&[
            ("PATH", "/evil"),
            ("HOME", "/evil"),
            ("LD_PRELOAD", "/evil.so"),
            ("TERM", "xterm"),
            ("LC_ALL", "C.UTF-8"),
            ("SNAP", "/evil"),
        ]);
        let profile = vec![
            ("SNAP".to_owned(), "/snap/hello/x1".to_owned()),
            ("HOME".to_owned(), "$HOME/snap/hello/x1".to_owned()),
            (
                "XDG_RUNTIME_DIR".to_owned(),
                "/run/user/$UID/snap.hello".to_owned(),
            ),
            ("TERM".to_owned(), "dumb".to_owned()),
        ];
        let env = build_env(caller, &profile, "/root", 0).unwrap();
        assert_eq!(
            env.vars(),
            &os(&[
                ("PATH", DEFAULT_PATH),
                ("HOME", "/root/snap/hello/x1"),
                ("TERM", "dumb"),
                ("LC_ALL", "C.UTF-8"),
                ("SNAP", "/snap/hello/x1"),
                ("XDG_RUNTIME_DIR", "/run/user/0/snap.hello"),
            ])[..]
        );
        assert!(build_env(vec![], &[("A=B".into(), "x".into())], "/", 0).is_err());
        assert!(build_env(vec![], &[("".into(), "x".into())], "/", 0).is_err());
        assert!(build_env(vec![], &[("A".into(), "x\0".into())], "/", 0).is_err());
    }

    #[test]
    fn classic_paths_move_under_the_root() {
        let r = Path::new("/tmp/r");
        assert_eq!(
            classic_path("/snap/a/x1/bin/app", r),
            "/tmp/r/snap/a/x1/bin/app"
        );
        assert_eq!(
            classic_path("/var/snap/a/common", r),
            "/tmp/r/var/snap/a/common"
        );
        assert_eq!(classic_path("/snap", r), "/tmp/r/snap");
        for same in [
            "/snapx/a",
            "/usr/bin/x",
            "$SNAP/bin/x",
            "snap/a",
            "--x=/snap/a",
            "",
        ] {
            assert_eq!(classic_path(same, r), same);
        }
        assert_eq!(
            classic_value("/snap/a/1/usr/bin:/usr/bin:/snap/bin", r),
            "/tmp/r/snap/a/1/usr/bin:/usr/bin:/tmp/r/snap/bin"
        );
        assert_eq!(classic_value("unix:/run/x", r), "unix:/run/x");
        // The root `/`: nothing changes.
        let slash = Path::new("/");
        assert_eq!(
            classic_path("/snap/a/x1/bin/app", slash),
            "/snap/a/x1/bin/app"
        );
        assert_eq!(
            classic_value("/snap/a/1/bin:/snap/bin", slash),
            "/snap/a/1/bin:/snap/bin"
        );
    }

    #[test]
    fn argv_expands_the_command_only() {
        let mut env = Env::default();
        env.set("SNAP", "/snap/a/1");
        let argv = build_argv(
            &[
                "$SNAP/bin/app".into(),
                "$EMPTY".into(),
                "--flag=${X:-d}".into(),
            ],
            &env,
            &["$SNAP".into(), "".into()],
        )
        .unwrap();
        assert_eq!(argv, vec!["/snap/a/1/bin/app", "--flag=d", "$SNAP", ""]);
        assert!(build_argv(&["$NOTHING".into()], &env, &[]).is_err());
        assert!(build_argv(&[], &env, &["x".into()]).is_err());
    }
}
