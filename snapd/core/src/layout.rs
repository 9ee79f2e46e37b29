//! `layout:` entries: paths in the snap's mount namespace replaced by something of its own.

use crate::error::{SnapYamlError, join};
use crate::paths::{
    check_no_apparmor_regexp, check_path_variables, clean, expand_snap_variables, is_abs_and_clean,
    is_at_or_under,
};
use crate::raw::RawLayout;
use std::collections::BTreeMap;

/// What appears at a layout path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// A directory bind-mounted from the given source.
    Bind(String),
    /// A file bind-mounted from the given source.
    BindFile(String),
    /// A symlink pointing at the given target.
    Symlink(String),
    /// A fresh tmpfs.
    Tmpfs,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub path: String,
    pub kind: LayoutKind,
    pub user: String,
    pub group: String,
    pub mode: u32,
}

/// Targets nothing may be layered over: the kernel's and snapd's own areas, other snaps' data,
/// user data, and places the kernel loads code from.
pub const LAYOUT_REJECTED_PATHS: &[&str] = &[
    "/dev",
    "/proc",
    "/sys",
    "/media",
    "/run",
    "/var/run",
    "/tmp",
    "/var/lib/snapd",
    "/lib/firmware",
    "/usr/lib/firmware",
    "/lib/modules",
    "/usr/lib/modules",
    "/var/snap",
    "/home",
    "/boot",
    "/lost+found",
];

/// Top-level directories a layout may live under: new ones would need a writable `/`.
pub const LAYOUT_TOP_LEVEL_DIRS: &[&str] = &[
    "bin", "etc", "lib", "lib64", "meta", "mnt", "opt", "root", "sbin", "snap", "srv", "usr",
    "var", "writable",
];

fn err(path: &str, reason: String) -> SnapYamlError {
    SnapYamlError::invalid(join("layout", path), reason)
}

/// Reads one entry: exactly one of bind, bind-file, symlink or `type: tmpfs`; owner root; an
/// octal mode.
pub(crate) fn from_raw(path: &str, raw: &RawLayout) -> Result<Layout, SnapYamlError> {
    let nonempty = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let mut kinds = Vec::new();
    if let Some(s) = nonempty(&raw.bind) {
        kinds.push(LayoutKind::Bind(s));
    }
    if let Some(s) = nonempty(&raw.bind_file) {
        kinds.push(LayoutKind::BindFile(s));
    }
    if let Some(t) = nonempty(&raw.fs_type) {
        if t != "tmpfs" {
            return Err(err(
                path,
                format!("layout {path:?} uses invalid filesystem {t:?}"),
            ));
        }
        kinds.push(LayoutKind::Tmpfs);
    }
    if let Some(s) = nonempty(&raw.symlink) {
        kinds.push(LayoutKind::Symlink(s));
    }
    if kinds.len() != 1 {
        return Err(err(
            path,
            format!("layout {path:?} must define a bind mount, a filesystem mount or a symlink"),
        ));
    }
    let mode = match nonempty(&raw.mode) {
        None => 0o755,
        Some(m) => u32::from_str_radix(&m, 8)
            .ok()
            .filter(|_| m.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| err(path, format!("layout {path:?} uses invalid mode {m:?}")))?,
    };
    if mode & 0o1777 != mode {
        return Err(err(
            path,
            format!("layout {path:?} uses invalid mode {mode:#o}"),
        ));
    }
    // Only root is supported until snapd can map snap-declared users into the mount.
    let owner = |v: &Option<String>, what: &str| match nonempty(v).as_deref() {
        None | Some("root") => Ok("root".to_owned()),
        Some(other) => Err(err(
            path,
            format!("layout {path:?} uses invalid {what} {other:?}"),
        )),
    };
    Ok(Layout {
        path: path.to_owned(),
        kind: kinds.remove(0),
        user: owner(&raw.user, "user")?,
        group: owner(&raw.group, "group")?,
        mode,
    })
}

/// A source (bind) or symlink target must be a clean path inside the snap's own areas.
fn check_source(path: &str, what: &str, source: &str, snap: &str) -> Result<(), SnapYamlError> {
    check_path_variables(source).map_err(|e| {
        err(
            path,
            format!("layout {path:?} uses invalid {what} {source:?}: {e}"),
        )
    })?;
    let expanded = expand_snap_variables(source, snap);
    if !is_abs_and_clean(&expanded) {
        return Err(err(
            path,
            format!("layout {path:?} uses invalid {what} {source:?}: must be absolute and clean"),
        ));
    }
    let inside = ["$SNAP", "$SNAP_DATA", "$SNAP_COMMON"]
        .iter()
        .any(|v| expanded.starts_with(&expand_snap_variables(v, snap)));
    if !inside {
        return Err(err(
            path,
            format!(
                "layout {path:?} uses invalid {what} {source:?}: must start with $SNAP, \
                 $SNAP_DATA or $SNAP_COMMON"
            ),
        ));
    }
    check_no_apparmor_regexp(source)
        .map_err(|e| err(path, format!("layout {path:?} uses invalid {what}: {e}")))
}

fn check_target(path: &str, snap: &str, earlier: &[String]) -> Result<String, SnapYamlError> {
    if path.is_empty() {
        return Err(err(path, "layout cannot use an empty path".into()));
    }
    check_path_variables(path).map_err(|e| {
        err(
            path,
            format!("layout {path:?} uses invalid mount point: {e}"),
        )
    })?;
    let target = expand_snap_variables(path, snap);
    if !is_abs_and_clean(&target) {
        return Err(err(
            path,
            format!("layout {path:?} uses invalid mount point: must be absolute and clean"),
        ));
    }
    if LAYOUT_REJECTED_PATHS
        .iter()
        .any(|p| is_at_or_under(&target, p))
    {
        return Err(err(path, format!("layout {path:?} in an off-limits area")));
    }
    if let Some(prior) = earlier.iter().find(|p| is_at_or_under(&target, p)) {
        return Err(err(
            path,
            format!("layout {path:?} underneath prior layout item {prior:?}"),
        ));
    }
    Ok(target)
}

/// Checks all layout entries together, in path order as snapd does.
pub(crate) fn validate_all(
    layouts: &BTreeMap<String, Layout>,
    snap: &str,
) -> Result<(), SnapYamlError> {
    for path in layouts.keys() {
        check_no_apparmor_regexp(path)
            .map_err(|e| err(path, format!("invalid layout path: {e}")))?;
        let expanded = expand_snap_variables(&clean(path), snap);
        let elems: Vec<&str> = expanded.splitn(3, '/').collect();
        if elems.len() >= 2 {
            if !elems[0].is_empty() {
                return Err(err(path, format!("layout {path:?} is a relative filename")));
            }
            if !elems[1].is_empty() && !LAYOUT_TOP_LEVEL_DIRS.contains(&elems[1]) {
                return Err(err(
                    path,
                    format!(
                        "layout {path:?} defines a new top-level directory {:?}",
                        format!("/{}", elems[1])
                    ),
                ));
            }
        }
    }

    // The same source cannot be a directory for one layout and a file for another.
    let mut kinds: BTreeMap<String, bool> = BTreeMap::new();
    for (path, layout) in layouts {
        let (source, is_dir) = match &layout.kind {
            LayoutKind::Bind(s) => (s, true),
            LayoutKind::BindFile(s) => (s, false),
            _ => continue,
        };
        let key = expand_snap_variables(source, snap);
        match kinds.insert(key, is_dir) {
            Some(prev) if prev != is_dir && is_dir => {
                return Err(err(
                    path,
                    format!(
                        "layout {path:?} refers to directory {source:?} but another layout treats it as file"
                    ),
                ));
            }
            Some(prev) if prev != is_dir => {
                return Err(err(
                    path,
                    format!(
                        "layout {path:?} refers to file {source:?} but another layout treats it as a directory"
                    ),
                ));
            }
            _ => {}
        }
    }

    let own = format!("/snap/{snap}");
    for path in layouts.keys() {
        if path.starts_with("/snap/") && !path.starts_with(&own) {
            return Err(err(
                path,
                format!("layout {path:?} defines a layout in space belonging to another snap"),
            ));
        }
    }

    let mut earlier = Vec::with_capacity(layouts.len());
    for (path, layout) in layouts {
        let target = check_target(path, snap, &earlier)?;
        match &layout.kind {
            LayoutKind::Bind(s) | LayoutKind::BindFile(s) => {
                check_source(path, "bind mount source", s, snap)?
            }
            LayoutKind::Symlink(s) => check_source(path, "symlink old name", s, snap)?,
            LayoutKind::Tmpfs => {}
        }
        earlier.push(target);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: &str, value: &str) -> RawLayout {
        let mut r = RawLayout::default();
        let v = Some(value.to_owned());
        match kind {
            "bind" => r.bind = v,
            "bind-file" => r.bind_file = v,
            "symlink" => r.symlink = v,
            "type" => r.fs_type = v,
            _ => unreachable!(),
        }
        r
    }

    fn check(entries: &[(&str, RawLayout)]) -> Result<(), String> {
        let mut m = BTreeMap::new();
        for (p, r) in entries {
            m.insert(p.to_string(), from_raw(p, r).map_err(|e| e.to_string())?);
        }
        validate_all(&m, "foo").map_err(|e| e.to_string())
    }

    #[test]
    fn good_layouts() {
        assert_eq!(
            check(&[
                ("/usr/share/foo", raw("bind", "$SNAP/usr/share/foo")),
                ("/etc/foo.conf", raw("bind-file", "$SNAP_DATA/foo.conf")),
                ("/opt/foo", raw("symlink", "$SNAP_COMMON/foo")),
                ("/var/tmp/x", raw("type", "tmpfs")),
                ("$SNAP/lib/x", raw("bind", "$SNAP_DATA/x")),
            ]),
            Ok(())
        );
    }

    #[test]
    fn shape_errors() {
        let mut two = raw("bind", "$SNAP/a");
        two.symlink = Some("$SNAP/b".into());
        assert!(
            check(&[("/usr/a", two)])
                .unwrap_err()
                .contains("must define a bind mount")
        );
        assert!(check(&[("/usr/a", RawLayout::default())]).is_err());
        assert!(
            check(&[("/usr/a", raw("type", "ext4"))])
                .unwrap_err()
                .contains("invalid filesystem")
        );
        let mut m = raw("type", "tmpfs");
        m.mode = Some("0755".into());
        assert_eq!(check(&[("/usr/a", m.clone())]), Ok(()));
        m.mode = Some("999".into());
        assert!(
            check(&[("/usr/a", m.clone())])
                .unwrap_err()
                .contains("invalid mode")
        );
        m.mode = Some("4755".into());
        assert!(
            check(&[("/usr/a", m.clone())])
                .unwrap_err()
                .contains("invalid mode 0o4755")
        );
        m.mode = Some("1777".into());
        assert_eq!(check(&[("/usr/a", m.clone())]), Ok(()));
        let mut u = raw("type", "tmpfs");
        u.user = Some("daemon".into());
        assert!(
            check(&[("/usr/a", u)])
                .unwrap_err()
                .contains("invalid user")
        );
        let mut g = raw("type", "tmpfs");
        g.group = Some("root".into());
        assert_eq!(check(&[("/usr/a", g)]), Ok(()));
    }

    #[test]
    fn target_rules() {
        let e = |p: &str| check(&[(p, raw("type", "tmpfs"))]).unwrap_err();
        // Most refused areas are already outside the allowed top-level directories.
        assert!(e("/dev/foo").contains("new top-level directory \"/dev\""));
        assert!(e("/var/run/x").contains("off-limits"));
        assert!(e("/var/lib/snapd").contains("off-limits"));
        assert!(e("/var/snap/foo").contains("off-limits"));
        assert!(e("$SNAP_DATA/foo").contains("off-limits"));
        assert!(e("/lost+found").contains("new top-level directory"));
        assert!(e("/usr/lib/modules/x").contains("off-limits"));
        assert!(e("/foo/bar").contains("new top-level directory \"/foo\""));
        assert!(e("usr/bar").contains("relative filename"));
        assert!(e("bar").contains("must be absolute and clean"));
        assert!(e("/usr/./bar").contains("must be absolute and clean"));
        assert!(e("/usr/*").contains("reserved apparmor char"));
        assert!(e("/snap/other/x").contains("belonging to another snap"));
        assert!(e("$HOME/usr/x").contains("unknown variable"));
        assert!(e("").contains("empty path"));
    }

    #[test]
    fn nesting_is_refused() {
        let e = check(&[
            ("/usr/foo", raw("bind", "$SNAP/foo")),
            ("/usr/foo/bar", raw("type", "tmpfs")),
        ])
        .unwrap_err();
        assert!(
            e.contains("underneath prior layout item \"/usr/foo\""),
            "{e}"
        );
        // Sibling prefixes are not nesting.
        assert_eq!(
            check(&[
                ("/usr/foo", raw("bind", "$SNAP/foo")),
                ("/usr/foobar", raw("type", "tmpfs")),
            ]),
            Ok(())
        );
    }

    #[test]
    fn source_rules() {
        let e = |src: &str| check(&[("/usr/a", raw("bind", src))]).unwrap_err();
        assert!(e("/usr/b").contains("must start with $SNAP"));
        assert!(e("$SNAP/../b").contains("must be absolute and clean"));
        assert!(e("$SNAP_DATA/var/*").contains("reserved apparmor char"));
        assert!(e("$SNAP_USER_DATA/x").contains("unknown variable"));
        let s = check(&[("/usr/a", raw("symlink", "/etc/x"))]).unwrap_err();
        assert!(s.contains("invalid symlink old name"));
    }

    #[test]
    fn file_and_directory_of_one_source() {
        let e = check(&[
            ("/usr/a", raw("bind", "$SNAP/x")),
            ("/usr/b", raw("bind-file", "$SNAP/x")),
        ])
        .unwrap_err();
        assert!(e.contains("refers to file \"$SNAP/x\""), "{e}");
    }
}
