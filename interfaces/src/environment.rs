//! The environment of an app or hook, as `snap run`, snap-confine and snap-exec build it
//! together, and snap-exec's `$VAR` expansion.
//!
//! Values that depend on the user keep the profile placeholders `$HOME` (their real home) and
//! `$UID`; everything else is expanded here, when the profile is computed.

use crate::profile::SandboxMode;

/// The search path snap-confine sets for confined apps.
const SYSTEM_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games";

/// Where snapd points `SNAP_LIBRARY_PATH` when no driver libraries are exported.
const LIBRARY_PATH: &str = "/var/lib/snapd/lib/gl:/var/lib/snapd/lib/gl32";

/// What the environment of one app or hook depends on.
pub(crate) struct Target<'a> {
    /// The store name (`foo`), used under `/snap` and `/var/snap`.
    pub name: &'a str,
    /// The instance key (`bar` of `foo_bar`), empty for the plain instance.
    pub instance_key: &'a str,
    pub revision: &'a str,
    pub version: &'a str,
    pub mode: SandboxMode,
    pub has_components: bool,
    /// `SNAP_APP_*` values; `None` for hooks.
    pub app: Option<AppVars<'a>>,
}

pub(crate) struct AppVars<'a> {
    pub name: &'a str,
    pub common_id: Option<&'a str>,
    pub bus_name: Option<&'a str>,
}

impl Target<'_> {
    pub fn instance_name(&self) -> String {
        if self.instance_key.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}_{}", self.name, self.instance_key)
        }
    }

    /// `$SNAP`: `/snap/NAME/REV`, with the store name even for parallel instances (the
    /// sandbox maps the instance's directories there).
    pub fn mount_dir(&self) -> String {
        format!("/snap/{}/{}", self.name, self.revision)
    }

    pub fn data_dir(&self) -> String {
        format!("/var/snap/{}/{}", self.name, self.revision)
    }

    pub fn common_dir(&self) -> String {
        format!("/var/snap/{}/common", self.name)
    }

    pub fn user_data_dir(&self) -> String {
        format!("$HOME/snap/{}/{}", self.instance_name(), self.revision)
    }

    pub fn user_common_dir(&self) -> String {
        format!("$HOME/snap/{}/common", self.instance_name())
    }

    /// `XDG_RUNTIME_DIR` of confined apps.
    pub fn runtime_dir(&self) -> String {
        format!("/run/user/$UID/snap.{}", self.instance_name())
    }
}

/// An ordered environment: setting a variable again replaces its value in place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Env(Vec<(String, String)>);

impl Env {
    pub fn set(&mut self, key: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets each variable in order, its value expanded against what is set before it (the
    /// variables of the chain included), as snap-exec's `ExtendWithExpanded` does.
    pub fn extend_expanded<'a>(&mut self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) {
        for (key, value) in vars {
            let expanded = expand(value, &|name| self.get(name).map(str::to_owned));
            self.set(key, expanded);
        }
    }

    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

/// The environment snapd gives the app or hook, before snap.yaml's `environment:` entries.
pub(crate) fn base_environment(t: &Target) -> Env {
    let mut env = Env::default();
    let snap = t.mount_dir();
    let mut set = |k: &str, v: String| env.set(k, v);
    set("SNAP", snap.clone());
    set("SNAP_COMMON", t.common_dir());
    set("SNAP_DATA", t.data_dir());
    set("SNAP_NAME", t.name.to_owned());
    set("SNAP_INSTANCE_NAME", t.instance_name());
    set("SNAP_INSTANCE_KEY", t.instance_key.to_owned());
    set("SNAP_VERSION", t.version.to_owned());
    set("SNAP_REVISION", t.revision.to_owned());
    set("SNAP_ARCH", crate::arch::dpkg_arch().to_owned());
    set("SNAP_LIBRARY_PATH", LIBRARY_PATH.to_owned());
    // snapd passes the caller's value through; the launcher passes nothing through.
    set("SNAP_REEXEC", String::new());
    set("SNAP_UID", "$UID".to_owned());
    set("SNAP_EUID", "$UID".to_owned());
    if t.has_components {
        set(
            "SNAP_COMPONENTS",
            format!("/snap/{}/components/{}", t.name, t.revision),
        );
    }
    if let Some(app) = &t.app {
        set("SNAP_APP_NAME", app.name.to_owned());
        if let Some(id) = app.common_id {
            set("SNAP_APP_COMMON_ID", id.to_owned());
        }
        if let Some(bus) = app.bus_name {
            set("SNAP_APP_BUS_NAME", bus.to_owned());
        }
    }
    set("SNAP_USER_COMMON", t.user_common_dir());
    set("SNAP_USER_DATA", t.user_data_dir());
    match t.mode {
        SandboxMode::Strict | SandboxMode::Devmode => {
            set("HOME", t.user_data_dir());
            set("XDG_RUNTIME_DIR", t.runtime_dir());
        }
        // Classic apps keep the user's home and runtime directory; the launcher passes no
        // environment through, so they are spelled out.
        SandboxMode::Classic => {
            set("HOME", "$HOME".to_owned());
            set("XDG_RUNTIME_DIR", "/run/user/$UID".to_owned());
        }
    }
    set("SNAP_REAL_HOME", "$HOME".to_owned());
    // The private /tmp of the sandbox (snapd carries the caller's TMPDIR across; a path
    // outside the sandbox would not be writable there).
    set("TMPDIR", "/tmp".to_owned());
    let snap_path = format!("{snap}/usr/sbin:{snap}/usr/bin:{snap}/sbin:{snap}/bin:{SYSTEM_PATH}");
    match t.mode {
        SandboxMode::Strict | SandboxMode::Devmode => {
            set("PATH", snap_path);
            set("SHELL", "/bin/bash".to_owned());
        }
        SandboxMode::Classic => set("PATH", format!("{snap_path}:/snap/bin")),
    }
    env
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}` in `value` the
/// way snapd does (Go's `os.Expand` plus the two conditional forms): unknown variables
/// expand to nothing, a `$` not followed by a name stays, malformed `${` is dropped.
pub fn expand(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut copied = 0;
    let mut j = 0;
    while j < bytes.len() {
        if bytes[j] == b'$' && j + 1 < bytes.len() {
            out.push_str(&value[copied..j]);
            let (name, width) = shell_name(&value[j + 1..]);
            match (name.is_empty(), width) {
                (true, 0) => out.push('$'),
                (true, _) => {} // bad syntax: eaten
                (false, _) => out.push_str(&lookup_var(name, lookup)),
            }
            j += width;
            copied = j + 1;
        }
        j += 1;
    }
    out.push_str(&value[copied.min(value.len())..]);
    out
}

/// The value of `name`, which may be `VAR:-default` or `VAR:+alternative`.
fn lookup_var(name: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let var_len = name
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let rest = &name[var_len..];
    let value = |var: &str| lookup(var).unwrap_or_default();
    if var_len > 0 {
        if let Some(default) = rest.strip_prefix(":-") {
            let v = value(&name[..var_len]);
            return if v.is_empty() {
                expand(default, lookup)
            } else {
                v
            };
        }
        if let Some(alternative) = rest.strip_prefix(":+") {
            let v = value(&name[..var_len]);
            return if v.is_empty() {
                String::new()
            } else {
                expand(alternative, lookup)
            };
        }
    }
    value(name)
}

fn is_special(b: u8) -> bool {
    matches!(
        b,
        b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
    )
}

/// The variable name at the start of `s` (just after a `$`) and how many bytes it spans.
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        return match s[1..].find('}') {
            Some(0) => ("", 2),
            Some(i) => (&s[1..=i], i + 2),
            None => ("", 1),
        };
    }
    if is_special(b[0]) {
        return (&s[..1], 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (&s[..n], n)
}

/// snap-exec's treatment of a command's words at launch: each word is expanded against the
/// app's environment (after the launcher substituted `$HOME` and `$UID` in it), and words
/// that expand to nothing are dropped.
pub fn expand_args(words: &[String], env: &[(String, String)]) -> Vec<String> {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    words
        .iter()
        .map(|w| expand(w, &lookup))
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn expansion_like_snapd() {
        let env = env_of(&[("A", "x"), ("EMPTY", ""), ("B_1", "y")]);
        for (input, want) in [
            ("$A", "x"),
            ("${A}", "x"),
            ("$A/b", "x/b"),
            ("${A}b", "xb"),
            ("$Ab", ""),
            ("$B_1:$A", "y:x"),
            ("$NOPE", ""),
            ("a$", "a$"),
            ("$/x", "$/x"),
            ("${}", ""),
            ("${A", "A"),
            ("pre${A", "preA"),
            ("$$", ""),
            ("${EMPTY:-def}", "def"),
            ("${A:-def}", "x"),
            ("${NOPE:-$A}", "x"),
            ("${A:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("no vars", "no vars"),
            ("", ""),
        ] {
            assert_eq!(expand(input, &env), want, "{input:?}");
        }
    }

    #[test]
    fn args_expanded_and_empty_ones_dropped() {
        let env = vec![
            ("SNAP_DATA".to_string(), "/var/snap/a/1".to_string()),
            ("HOME".to_string(), "/home/u/snap/a/1".to_string()),
        ];
        let words: Vec<String> = ["/snap/a/1/bin/x", "--dir=$SNAP_DATA/c", "$UNSET", "$HOME"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            expand_args(&words, &env),
            [
                "/snap/a/1/bin/x",
                "--dir=/var/snap/a/1/c",
                "/home/u/snap/a/1"
            ]
        );
    }

    #[test]
    fn later_values_see_earlier_ones_and_replace_in_place() {
        let mut env = Env::default();
        env.set("PATH", "/bin".into());
        env.set("SNAP", "/snap/a/1".into());
        env.extend_expanded([
            ("PATH", "$SNAP/bin:$PATH"),
            ("X", "$Y"),
            ("Y", "1"),
            ("Z", "$Y$X"),
        ]);
        assert_eq!(
            env.into_vec(),
            [
                ("PATH".to_string(), "/snap/a/1/bin:/bin".to_string()),
                ("SNAP".to_string(), "/snap/a/1".to_string()),
                ("X".to_string(), String::new()),
                ("Y".to_string(), "1".to_string()),
                ("Z".to_string(), "1".to_string()),
            ]
        );
    }
}
