//! Injectable crash points for crash-safety tests.
//!
//! # Syntax of `SNAPD_CRASH_AFTER_TASK`
//!
//! ```text
//! SNAPD_CRASH_AFTER_TASK=<point>[,<point>...]
//! <point> := <kind>[:<status>]
//! ```
//!
//! * `<kind>` is a task kind (`mount-snap`) or `*` for any kind.
//! * `<status>` is one of `Do`, `Doing`, `Done`, `Undo`, `Undoing`,
//!   `Undone`, `Error`, `Hold`, `Abort`, `Wait` (case-insensitive);
//!   without it the point means `Done`.
//!
//! The process calls `std::process::abort()` right after a checkpoint that
//! persisted a task of that kind entering that status — i.e. the status is
//! durable on disk (its journal record fdatasync'ed, or the snapshot that
//! includes it renamed into place) and nothing after it has happened. Examples:
//! `mount-snap` (after mount-snap is recorded Done), `link-snap:Doing`
//! (after link-snap is recorded as started, before its handler runs),
//! `copy-snap-data:undoing,*:error`.
//!
//! Because the runner records "task N Done" and "task N+1 Doing" in one
//! checkpoint, `a:Done` and `b:Doing` for consecutive tasks `a`, `b` crash at
//! the same write. Remove the variable before restarting the daemon, or it
//! crashes again at the same point once the task is re-run.

use crate::{StateError, Status, Transition};

/// Environment variable read by [`CrashPoints::from_env`].
pub const CRASH_ENV: &str = "SNAPD_CRASH_AFTER_TASK";

/// One `<kind>[:<status>]` point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashPoint {
    /// `None` matches any kind (`*`).
    pub kind: Option<String>,
    pub status: Status,
}

/// A set of crash points; the process aborts at the first one reached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CrashPoints(pub Vec<CrashPoint>);

impl CrashPoints {
    /// Parses the syntax documented at module level.
    pub fn parse(spec: &str) -> Result<Self, StateError> {
        let bad = |reason: String| StateError::CrashSpec {
            spec: spec.to_owned(),
            reason,
        };
        let mut points = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (kind, status) = match item.split_once(':') {
                Some((k, s)) => (
                    k.trim(),
                    s.trim().parse::<Status>().map_err(|e| bad(e.to_string()))?,
                ),
                None => (item, Status::Done),
            };
            if kind.is_empty() {
                return Err(bad(format!("empty task kind in {item:?}")));
            }
            if kind != "*"
                && !kind
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad(format!("invalid task kind {kind:?}")));
            }
            points.push(CrashPoint {
                kind: (kind != "*").then(|| kind.to_owned()),
                status,
            });
        }
        if points.is_empty() {
            return Err(bad("no crash point given".into()));
        }
        Ok(CrashPoints(points))
    }

    /// Reads [`CRASH_ENV`]; `Ok(None)` when unset or empty.
    pub fn from_env() -> Result<Option<Self>, StateError> {
        match std::env::var(CRASH_ENV) {
            Ok(v) if !v.trim().is_empty() => Self::parse(&v).map(Some),
            _ => Ok(None),
        }
    }

    /// The first point matched by a persisted transition.
    pub fn find<'a>(&self, persisted: &'a [Transition]) -> Option<&'a Transition> {
        persisted.iter().find(|tr| {
            self.0
                .iter()
                .any(|p| p.status == tr.status && p.kind.as_deref().is_none_or(|k| k == tr.kind))
        })
    }

    /// Aborts the process if a persisted transition matches.
    pub(crate) fn check(&self, persisted: &[Transition]) {
        if let Some(tr) = self.find(persisted) {
            eprintln!(
                "{CRASH_ENV}: crashing after task {} ({}) was persisted as {}",
                tr.task, tr.kind, tr.status
            );
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TaskId;

    fn tr(kind: &str, status: Status) -> Transition {
        Transition {
            task: TaskId(1),
            kind: kind.into(),
            status,
        }
    }

    #[test]
    fn parses_syntax() {
        let p = CrashPoints::parse("mount-snap").unwrap();
        assert_eq!(
            p.0,
            [CrashPoint {
                kind: Some("mount-snap".into()),
                status: Status::Done
            }]
        );
        let p = CrashPoints::parse(" link-snap:Doing , *:error,copy-snap-data:undoing ").unwrap();
        assert_eq!(p.0.len(), 3);
        assert_eq!(p.0[0].status, Status::Doing);
        assert_eq!(
            p.0[1],
            CrashPoint {
                kind: None,
                status: Status::Error
            }
        );
        assert_eq!(p.0[2].status, Status::Undoing);
        for bad in ["", ",", ":Done", "x:Finished", "a b", "x:Done:y"] {
            assert!(CrashPoints::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn matching() {
        let p = CrashPoints::parse("link-snap:Doing,*:Undone").unwrap();
        assert!(p.find(&[tr("link-snap", Status::Done)]).is_none());
        assert!(
            p.find(&[
                tr("mount-snap", Status::Done),
                tr("link-snap", Status::Doing)
            ])
            .is_some()
        );
        assert!(p.find(&[tr("anything", Status::Undone)]).is_some());
    }
}
