//! Lexical path helpers with the exact semantics snapd's checks rely on.

/// Lexically cleans a slash-separated path: collapses `//`, drops `.`, resolves `..`
/// (never above `/`), drops the trailing slash; the empty path becomes `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Only `$SNAP`, `$SNAP_DATA` and `$SNAP_COMMON` may appear in layout paths. A variable name
/// here is the run of letters and underscores after `$`.
pub fn check_path_variables(path: &str) -> Result<(), String> {
    let mut rest = path;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphabetic() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if !matches!(name, "SNAP" | "SNAP_DATA" | "SNAP_COMMON") {
            return Err(format!("reference to unknown variable \"${name}\""));
        }
        rest = &rest[end..];
    }
    Ok(())
}

/// Where `$SNAP`, `$SNAP_DATA` and `$SNAP_COMMON` point for a snap, for lexical checks. No
/// revision is known while reading snap.yaml, so a fixed placeholder stands in for it.
pub fn expand_snap_variables(path: &str, snap_name: &str) -> String {
    const REVISION: &str = "unset";
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        // A shell-style name: the whole alphanumeric run is the variable.
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        match &rest[..end] {
            "SNAP" => out.push_str(&format!("/snap/{snap_name}/{REVISION}")),
            "SNAP_DATA" => out.push_str(&format!("/var/snap/{snap_name}/{REVISION}")),
            "SNAP_COMMON" => out.push_str(&format!("/var/snap/{snap_name}/common")),
            "" if end == 0 => out.push('$'),
            _ => {}
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Absolute (or starting with a variable) and already clean.
pub fn is_abs_and_clean(path: &str) -> bool {
    (path.starts_with('/') || path.starts_with('$')) && clean(path) == path
}

/// `prefix` equals `path` or is one of its ancestor directories.
pub fn is_at_or_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Characters that would turn a path into an AppArmor pattern or break its quoting.
pub const APPARMOR_RESERVED: &str = "?*[]{}^\"\0";

pub fn check_no_apparmor_regexp(s: &str) -> Result<(), String> {
    if s.contains(|c| APPARMOR_RESERVED.contains(c)) {
        Err(format!(
            "{s:?} contains a reserved apparmor char from {:?}",
            APPARMOR_RESERVED
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("a/b/", "a/b"),
            ("//a//b", "/a/b"),
            ("/a/./b/../c", "/a/c"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("a/..", "."),
            ("$SNAP/x/", "$SNAP/x"),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
    }

    #[test]
    fn path_variables() {
        assert!(check_path_variables("$SNAP/a").is_ok());
        assert!(check_path_variables("$SNAP_DATA/a$SNAP_COMMON").is_ok());
        assert_eq!(
            check_path_variables("$HOME/a").unwrap_err(),
            "reference to unknown variable \"$HOME\""
        );
        assert!(check_path_variables("${SNAP}/a").is_err());
        assert!(check_path_variables("/a/$").is_err());
    }

    #[test]
    fn expansion() {
        assert_eq!(expand_snap_variables("$SNAP/a", "foo"), "/snap/foo/unset/a");
        assert_eq!(
            expand_snap_variables("$SNAP_DATA/a", "foo"),
            "/var/snap/foo/unset/a"
        );
        assert_eq!(
            expand_snap_variables("$SNAP_COMMON", "foo"),
            "/var/snap/foo/common"
        );
        assert_eq!(expand_snap_variables("/usr/x", "foo"), "/usr/x");
        assert_eq!(expand_snap_variables("$SNAP2/x", "foo"), "/x");
    }

    #[test]
    fn prefix_and_clean_checks() {
        assert!(is_abs_and_clean("/a/b"));
        assert!(is_abs_and_clean("$SNAP/b"));
        assert!(!is_abs_and_clean("a/b"));
        assert!(!is_abs_and_clean("/a/b/"));
        assert!(is_at_or_under("/dev", "/dev"));
        assert!(is_at_or_under("/dev/x", "/dev"));
        assert!(!is_at_or_under("/devices", "/dev"));
        assert!(check_no_apparmor_regexp("/a/b").is_ok());
        assert!(check_no_apparmor_regexp("/a/*").is_err());
    }
}
