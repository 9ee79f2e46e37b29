//! Name rules for snaps and the things a snap declares, as snapd enforces them.
//!
//! Every rule here is a small hand-written matcher rather than a regex: the grammars are tiny
//! and this keeps the crate free of a regex engine.

use std::fmt;

/// What kind of name a [`NameError::Invalid`] was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Snap,
    App,
    Hook,
    Plug,
    Slot,
    Interface,
    Alias,
    Socket,
    Component,
    SnapId,
    SystemUsername,
    LinksKey,
    Tag,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Snap => "snap",
            NameKind::App => "app",
            NameKind::Hook => "hook",
            NameKind::Plug => "plug",
            NameKind::Slot => "slot",
            NameKind::Interface => "interface",
            NameKind::Alias => "alias",
            NameKind::Socket => "socket",
            NameKind::Component => "component",
            NameKind::SnapId => "snap-id",
            NameKind::SystemUsername => "system username",
            NameKind::LinksKey => "links key",
            NameKind::Tag => "tag",
        }
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid {kind} name: {name:?}")]
    Invalid { kind: NameKind, name: String },
    #[error("invalid instance key: {0:?}")]
    InstanceKey(String),
    #[error("{0}")]
    Version(String),
    #[error("invalid provenance: must not be empty")]
    EmptyProvenance,
    #[error("invalid provenance: {0:?}")]
    Provenance(String),
}

fn invalid(kind: NameKind, name: &str) -> NameError {
    NameError::Invalid {
        kind,
        name: name.to_owned(),
    }
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `^F(?:-?R)*$`: a first character from `first`, then characters from `rest` where single
/// dashes may separate them (no leading, trailing or doubled dash).
fn dash_separated(s: &str, first: fn(u8) -> bool, rest: fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let Some((&head, tail)) = b.split_first() else {
        return false;
    };
    if !first(head) {
        return false;
    }
    let mut prev_dash = false;
    for &c in tail {
        if c == b'-' {
            if prev_dash {
                return false;
            }
            prev_dash = true;
        } else if rest(c) {
            prev_dash = false;
        } else {
            return false;
        }
    }
    !prev_dash
}

/// Snap, socket and interface-tag names: `[a-z0-9-]`, at least one letter, single inner dashes.
fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

pub fn validate_snap_name(name: &str) -> Result<(), NameError> {
    if (2..=40).contains(&name.len()) && is_valid_name(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Snap, name))
    }
}

/// Components follow the snap-name rules.
pub fn validate_component_name(name: &str) -> Result<(), NameError> {
    validate_snap_name(name).map_err(|_| invalid(NameKind::Component, name))
}

/// `<snap>` or `<snap>_<key>` with a key of 1–10 `[a-z0-9]`.
pub fn validate_instance_name(name: &str) -> Result<(), NameError> {
    match name.split_once('_') {
        None => validate_snap_name(name),
        Some((snap, key)) => {
            validate_snap_name(snap)?;
            if (1..=10).contains(&key.len()) && key.bytes().all(is_lower_alnum) {
                Ok(())
            } else {
                Err(NameError::InstanceKey(key.to_owned()))
            }
        }
    }
}

/// Splits `snap_key` into the snap name and the (possibly empty) instance key.
pub fn split_instance_name(name: &str) -> (&str, &str) {
    name.split_once('_').unwrap_or((name, ""))
}

pub fn validate_app_name(name: &str) -> Result<(), NameError> {
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    if dash_separated(name, alnum, alnum) {
        Ok(())
    } else {
        Err(invalid(NameKind::App, name))
    }
}

fn plug_slot_iface_like(name: &str) -> bool {
    dash_separated(name, |c| c.is_ascii_lowercase(), is_lower_alnum)
}

pub fn validate_hook_name(name: &str) -> Result<(), NameError> {
    if plug_slot_iface_like(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Hook, name))
    }
}

pub fn validate_plug_name(name: &str) -> Result<(), NameError> {
    if plug_slot_iface_like(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Plug, name))
    }
}

pub fn validate_slot_name(name: &str) -> Result<(), NameError> {
    if plug_slot_iface_like(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Slot, name))
    }
}

pub fn validate_interface_name(name: &str) -> Result<(), NameError> {
    if plug_slot_iface_like(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Interface, name))
    }
}

/// `^[a-zA-Z0-9][-_.a-zA-Z0-9]*$`
pub fn validate_alias(alias: &str) -> Result<(), NameError> {
    let b = alias.as_bytes();
    let ok = b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(NameKind::Alias, alias))
    }
}

/// Socket names (for socket activation) share the snap-name grammar without its length limit.
pub fn validate_socket_name(name: &str) -> Result<(), NameError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Socket, name))
    }
}

/// Tags used by interfaces to match plugs with slots (e.g. content tags).
pub fn validate_iface_tag(name: &str) -> Result<(), NameError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(invalid(NameKind::Tag, name))
    }
}

/// 32 ASCII alphanumerics.
pub fn validate_snap_id(id: &str) -> Result<(), NameError> {
    if id.len() == 32 && id.bytes().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(invalid(NameKind::SnapId, id))
    }
}

/// The provenance value that means "uploaded through the global store".
pub const DEFAULT_PROVENANCE: &str = "global-upload";

pub fn validate_provenance(prov: &str) -> Result<(), NameError> {
    if prov.is_empty() {
        return Err(NameError::EmptyProvenance);
    }
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    if dash_separated(prov, alnum, alnum) {
        Ok(())
    } else {
        Err(NameError::Provenance(prov.to_owned()))
    }
}

/// `system-usernames` keys: `_name_` or a plain lower-case user name.
pub fn validate_system_username(name: &str) -> Result<(), NameError> {
    let b = name.as_bytes();
    let body = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-._".contains(c);
    let wrapped = b.len() >= 3 && b[0] == b'_' && b[b.len() - 1] == b'_';
    let ok = if wrapped {
        b[1..b.len() - 1].iter().all(body)
    } else {
        b.first().is_some_and(|&c| is_lower_alnum(c)) && b.iter().all(body)
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(NameKind::SystemUsername, name))
    }
}

/// `links` keys: `^[a-zA-Z](?:-?[a-zA-Z0-9])*$`.
pub fn validate_links_key(key: &str) -> Result<(), NameError> {
    if dash_separated(
        key,
        |c| c.is_ascii_alphabetic(),
        |c| c.is_ascii_alphanumeric(),
    ) {
        Ok(())
    } else {
        Err(invalid(NameKind::LinksKey, key))
    }
}

fn is_version_middle(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b":.+~-".contains(&c)
}

fn is_version_last(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'~'
}

/// 1–32 characters of `[a-zA-Z0-9:.+~-]`, starting alphanumeric and ending alphanumeric,
/// `+` or `~`. The error lists every reason the version fails, as snapd's does.
pub fn validate_version(version: &str) -> Result<(), NameError> {
    let b = version.as_bytes();
    let valid = match b {
        [] => false,
        [only] => only.is_ascii_alphanumeric(),
        [first, middle @ .., last] => {
            b.len() <= 32
                && first.is_ascii_alphanumeric()
                && middle.iter().all(|&c| is_version_middle(c))
                && is_version_last(*last)
        }
    };
    if valid {
        return Ok(());
    }
    let fail = |s: String| Err(NameError::Version(s));
    if b.is_empty() {
        return fail("invalid snap version: cannot be empty".into());
    }
    if !b.iter().all(|c| c.is_ascii_graphic()) {
        return fail(format!(
            "invalid snap version {}: must be printable, non-whitespace ASCII",
            ascii_quote(version)
        ));
    }
    let mut reasons = Vec::new();
    if b.len() > 32 {
        reasons.push(format!(
            "cannot be longer than 32 characters (got: {})",
            b.len()
        ));
    }
    if !b[0].is_ascii_alphanumeric() {
        reasons.push(format!(
            "must start with an ASCII alphanumeric (and not {:?})",
            b[0] as char
        ));
    }
    if b.len() > 1 {
        let last = b[b.len() - 1];
        if !is_version_last(last) {
            reasons.push(format!(
                "must end with an ASCII alphanumeric or one of '+' or '~' (and not {:?})",
                last as char
            ));
        }
        if b.len() > 2 {
            let bad = invalid_runs(&version[1..version.len() - 1]);
            if !bad.is_empty() {
                let quoted: Vec<String> = bad.iter().map(|s| format!("{s:?}")).collect();
                reasons.push(format!(
                    "contains invalid characters: {}",
                    quoted.join(", ")
                ));
            }
        }
    }
    let msg = match reasons.as_slice() {
        [] => format!("invalid snap version {version:?}"),
        [one] => format!("invalid snap version {version:?}: {one}"),
        [init @ .., last] => format!(
            "invalid snap version {version:?}: {}, and {last}",
            init.join(", ")
        ),
    };
    fail(msg)
}

/// Maximal runs of characters that may not appear inside a version.
fn invalid_runs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.bytes().enumerate() {
        match (is_version_middle(c), start) {
            (false, None) => start = Some(i),
            (true, Some(st)) => {
                out.push(&s[st..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// Quotes with every non-ASCII character escaped, so homoglyphs stand out in messages.
fn ascii_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snap_names() {
        for ok in [
            "aa",
            "a-b",
            "0a",
            "a0",
            "foo-bar-baz",
            &"a".repeat(40),
            "1-a",
        ] {
            assert!(validate_snap_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "-ab",
            "ab-",
            "a--b",
            "Ab",
            "a_b",
            "12",
            "a.b",
            &"a".repeat(41),
            "ab ",
        ] {
            assert!(validate_snap_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_snap_name("A").unwrap_err().to_string(),
            "invalid snap name: \"A\""
        );
    }

    #[test]
    fn instance_names() {
        assert!(validate_instance_name("foo").is_ok());
        assert!(validate_instance_name("foo_bar1").is_ok());
        assert!(validate_instance_name("foo_0123456789").is_ok());
        assert_eq!(
            validate_instance_name("foo_").unwrap_err(),
            NameError::InstanceKey(String::new())
        );
        assert!(validate_instance_name("foo_01234567890").is_err());
        assert!(validate_instance_name("foo_Bar").is_err());
        assert!(validate_instance_name("foo_a_b").is_err());
        assert!(validate_instance_name("F_bar").is_err());
        assert_eq!(split_instance_name("foo_bar"), ("foo", "bar"));
        assert_eq!(split_instance_name("foo"), ("foo", ""));
    }

    #[test]
    fn app_names() {
        for ok in ["a", "A", "0", "foo-Bar", "a-1-b"] {
            assert!(validate_app_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "a_b", "a.b", "a b"] {
            assert!(validate_app_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plug_slot_iface_hook_names() {
        for ok in ["a", "network-bind", "a1", "x-1-2"] {
            assert!(validate_plug_name(ok).is_ok());
            assert!(validate_slot_name(ok).is_ok());
            assert!(validate_interface_name(ok).is_ok());
            assert!(validate_hook_name(ok).is_ok());
        }
        for bad in ["", "1a", "A", "a-", "a--b", "a_b", "-a"] {
            assert!(validate_plug_name(bad).is_err(), "{bad}");
            assert!(validate_slot_name(bad).is_err());
            assert!(validate_interface_name(bad).is_err());
            assert!(validate_hook_name(bad).is_err());
        }
        assert_eq!(
            validate_slot_name("A").unwrap_err().to_string(),
            "invalid slot name: \"A\""
        );
    }

    #[test]
    fn aliases_sockets_ids() {
        assert!(validate_alias("foo.bar_baz-1").is_ok());
        assert!(validate_alias("_foo").is_err());
        assert!(validate_alias("").is_err());
        assert!(validate_alias("foo/bar").is_err());
        assert!(validate_socket_name("sock-1").is_ok());
        assert!(validate_socket_name(&"a".repeat(60)).is_ok());
        assert!(validate_socket_name("Sock").is_err());
        assert!(validate_snap_id(&"aB3".repeat(10)[..30]).is_err());
        assert!(validate_snap_id("0123456789abcdefABCDEF0123456789").is_ok());
    }

    #[test]
    fn provenance() {
        assert!(validate_provenance("prov-1").is_ok());
        assert_eq!(validate_provenance(""), Err(NameError::EmptyProvenance));
        assert!(validate_provenance("prov_1").is_err());
    }

    #[test]
    fn system_usernames() {
        for ok in ["snap_daemon", "_daemon_", "daemon", "a.b-c", "_a_"] {
            assert!(validate_system_username(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_", "__", "_a", "Daemon", "-a", "a b", ".a"] {
            assert!(validate_system_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_keys() {
        assert!(validate_links_key("website").is_ok());
        assert!(validate_links_key("Contact-1").is_ok());
        assert!(validate_links_key("1a").is_err());
        assert!(validate_links_key("a_b").is_err());
    }

    #[test]
    fn versions() {
        for ok in [
            "1",
            "1.0",
            "a",
            "1.0~rc1",
            "1+git",
            "1:2.3-4",
            &"1".repeat(32),
            "v1~",
        ] {
            assert!(validate_version(ok).is_ok(), "{ok}");
        }
        let err = |v: &str| validate_version(v).unwrap_err().to_string();
        assert_eq!(err(""), "invalid snap version: cannot be empty");
        assert_eq!(
            err("1.0 beta"),
            "invalid snap version \"1.0 beta\": must be printable, non-whitespace ASCII"
        );
        assert!(err("héllo").contains("\\u00e9"));
        assert_eq!(
            err(&"1".repeat(33)),
            format!(
                "invalid snap version {:?}: cannot be longer than 32 characters (got: 33)",
                "1".repeat(33)
            )
        );
        assert_eq!(
            err("-1_2-"),
            "invalid snap version \"-1_2-\": must start with an ASCII alphanumeric (and not '-'), \
             must end with an ASCII alphanumeric or one of '+' or '~' (and not '-'), and \
             contains invalid characters: \"_\""
        );
        assert!(err(".").contains("must start with"));
    }
}
