//! The snapshot decisions that need no I/O: how long automatic snapshots are kept, whether a
//! removal takes one, and which snaps and users a request names. Unit-tested here.

use std::time::Duration;

use serde_json::Value;

/// snapd's floor for `snapshots.automatic.retention`: shorter values are refused there; here a
/// shorter (or unreadable) value falls back to the default rather than losing data early.
pub const MIN_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// How automatic snapshots are taken, from the system configuration document (`core`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// `snapshots.automatic.retention=no`: no automatic snapshot on removal (snapd's switch).
    Disabled,
    Keep(Duration),
}

/// Reads `snapshots.automatic.retention` (a duration such as `72h` or `31d`, or `no`).
pub fn retention(core_config: &Value) -> Retention {
    let default = Retention::Keep(snap_snapshots::DEFAULT_AUTOMATIC_RETENTION);
    match core_config.pointer("/snapshots/automatic/retention") {
        Some(Value::String(s)) if s == "no" => Retention::Disabled,
        Some(Value::String(s)) => match humantime::parse_duration(s) {
            Ok(d) if d >= MIN_RETENTION => Retention::Keep(d),
            _ => default,
        },
        _ => default,
    }
}

/// Whether removing a snap of this type takes an automatic snapshot: app snaps only (snapd),
/// not with `--purge`, not when switched off.
pub fn auto_snapshot_on_remove(snap_type: &str, purge: bool, retention: Retention) -> bool {
    snap_type == "app" && !purge && retention != Retention::Disabled
}

/// Splits a `snaps=a,b` query value; empty items are dropped.
pub fn split_list(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How snapd words the summary of a snapshot change: `Save snapshot set #3 of snaps "a", "b"`.
pub fn change_summary(verb: &str, set: u64, snaps: &[String]) -> String {
    if snaps.is_empty() {
        return format!("{verb} of snapshot set #{set}");
    }
    let names = snaps
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{verb} of snapshot set #{set} for snaps {names}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retention_defaults_and_overrides() {
        let default = Retention::Keep(snap_snapshots::DEFAULT_AUTOMATIC_RETENTION);
        assert_eq!(retention(&json!({})), default);
        assert_eq!(
            retention(&json!({"snapshots": {"automatic": {"retention": "72h"}}})),
            Retention::Keep(Duration::from_secs(72 * 3600))
        );
        assert_eq!(
            retention(&json!({"snapshots": {"automatic": {"retention": "no"}}})),
            Retention::Disabled
        );
        // Too short or unreadable: the default, never a shorter life for the data.
        assert_eq!(
            retention(&json!({"snapshots": {"automatic": {"retention": "1h"}}})),
            default
        );
        assert_eq!(
            retention(&json!({"snapshots": {"automatic": {"retention": "soon"}}})),
            default
        );
    }

    #[test]
    fn only_app_snaps_without_purge_get_an_automatic_snapshot() {
        let keep = Retention::Keep(MIN_RETENTION);
        assert!(auto_snapshot_on_remove("app", false, keep));
        assert!(!auto_snapshot_on_remove("app", true, keep));
        assert!(!auto_snapshot_on_remove("base", false, keep));
        assert!(!auto_snapshot_on_remove("app", false, Retention::Disabled));
    }

    #[test]
    fn lists_and_summaries() {
        assert_eq!(split_list(Some("a,,b ")), vec!["a", "b"]);
        assert!(split_list(None).is_empty());
        assert_eq!(
            change_summary("Restore", 3, &["a".into(), "b".into()]),
            "Restore of snapshot set #3 for snaps \"a\", \"b\""
        );
        assert_eq!(
            change_summary("Forget", 2, &[]),
            "Forget of snapshot set #2"
        );
    }
}
