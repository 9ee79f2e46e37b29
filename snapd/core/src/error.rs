//! The one error type `parse_snap_yaml` returns.

use std::fmt;

/// Why a snap.yaml was refused. Every variant names where in the document the problem is, so a
/// developer can go straight to the offending field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapYamlError {
    /// Refused before parsing: the size cap keeps a hostile file from costing memory or time.
    #[error("invalid snap.yaml: file is {size} bytes, larger than the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    /// Not UTF-8, not YAML, a YAML resource budget exceeded, or a value of the wrong shape.
    #[error("cannot parse snap.yaml: {}", with_path(.path, .reason))]
    Parse { path: String, reason: String },
    /// Well-formed YAML that breaks one of snapd's snap.yaml rules.
    #[error("invalid snap.yaml: {}", with_path(.path, .reason))]
    Invalid { path: String, reason: String },
}

fn with_path(path: &str, reason: &str) -> PathAndReason {
    PathAndReason(path.to_owned(), reason.to_owned())
}

struct PathAndReason(String, String);

impl fmt::Display for PathAndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str(&self.1)
        } else {
            write!(f, "{}: {}", self.0, self.1)
        }
    }
}

impl SnapYamlError {
    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Self {
        SnapYamlError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn parse(path: impl Into<String>, reason: impl Into<String>) -> Self {
        SnapYamlError::Parse {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// The field path the error is about (`apps.foo.daemon`); empty for the whole document.
    pub fn path(&self) -> &str {
        match self {
            SnapYamlError::TooLarge { .. } => "",
            SnapYamlError::Parse { path, .. } | SnapYamlError::Invalid { path, .. } => path,
        }
    }

    /// The reason alone, without the path.
    pub fn reason(&self) -> String {
        match self {
            SnapYamlError::TooLarge { size, max } => {
                format!("file is {size} bytes, larger than the {max}-byte limit")
            }
            SnapYamlError::Parse { reason, .. } | SnapYamlError::Invalid { reason, .. } => {
                reason.clone()
            }
        }
    }
}

/// Builds dotted field paths; keys that would make the path ambiguous are quoted.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'));
    let key = if plain {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_path_and_reason() {
        let e = SnapYamlError::invalid("apps.foo.daemon", "bad");
        assert_eq!(e.to_string(), "invalid snap.yaml: apps.foo.daemon: bad");
        assert_eq!(e.path(), "apps.foo.daemon");
        let e = SnapYamlError::parse("", "not yaml");
        assert_eq!(e.to_string(), "cannot parse snap.yaml: not yaml");
        let e = SnapYamlError::TooLarge { size: 10, max: 5 };
        assert!(e.to_string().contains("10 bytes"));
    }

    #[test]
    fn join_quotes_odd_keys() {
        assert_eq!(join("", "apps"), "apps");
        assert_eq!(join("apps", "foo"), "apps.foo");
        assert_eq!(join("layout", "/usr/foo"), "layout.\"/usr/foo\"");
        assert_eq!(join("x", ""), "x.\"\"");
    }
}
