//! Refresh holds: a user asks that a snap not be refreshed until a time (or forever), either
//! by any refresh (`general`) or only by automatic ones (`auto-refresh`), as snapd's
//! `snap refresh --hold`. Kept in the state under `snaps-hold`, one entry per snap, so that a
//! later auto-refresh decides with [`refresh_held`]. Both front ends (REST and D-Bus) call
//! [`hold`] and [`unhold`].

use serde::{Deserialize, Serialize};
use snap_state::{State, StateError, Timestamp};

use super::model::Installed;
use crate::daemon::Daemon;

/// The state key holding every snap's hold.
pub const HOLDS_KEY: &str = "snaps-hold";

/// What "forever" is shown as where a time is expected (the REST snap object's `hold`):
/// the last second clients' date parsers accept.
const FOREVER_SHOWN: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldLevel {
    /// Held from every refresh, asked for or automatic.
    General,
    /// Held from automatic refreshes only.
    AutoRefresh,
}

impl HoldLevel {
    pub fn parse(s: &str) -> Result<HoldLevel, HoldError> {
        match s {
            "" | "general" => Ok(HoldLevel::General),
            "auto-refresh" => Ok(HoldLevel::AutoRefresh),
            other => Err(HoldError::BadLevel(other.to_owned())),
        }
    }
}

/// One snap's hold, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Hold {
    pub level: HoldLevel,
    pub first_held: Timestamp,
    /// `None`: forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

impl Hold {
    /// Whether the hold still applies at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|u| u > now)
    }

    /// The end of the hold as clients read it: RFC3339, forever being the far end of time.
    pub fn until_shown(&self) -> String {
        self.until
            .unwrap_or_else(|| Timestamp::from_unix_secs(FOREVER_SHOWN))
            .to_rfc3339_secs()
    }

    /// `forever` or the RFC3339 end, for displays that can say so in words (D-Bus).
    pub fn until_text(&self) -> String {
        match self.until {
            None => "forever".to_owned(),
            Some(t) => t.to_rfc3339_secs(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("snap {0:?} is not installed")]
    NotInstalled(String),
    #[error("invalid hold time {0:?}: expected \"forever\" or an RFC3339 time")]
    BadTime(String),
    #[error("cannot hold until {0}: that time has passed")]
    InThePast(String),
    #[error("invalid hold level {0:?}: expected \"general\" or \"auto-refresh\"")]
    BadLevel(String),
    #[error("{0}")]
    Internal(String),
}

impl From<StateError> for HoldError {
    fn from(e: StateError) -> Self {
        HoldError::Internal(e.to_string())
    }
}

/// Checks a request (`time`: `forever` or RFC3339; `level`: empty for general) against `now`.
pub fn parse_request(time: &str, level: &str, now: Timestamp) -> Result<Hold, HoldError> {
    let level = HoldLevel::parse(level)?;
    let until = match time {
        "forever" => None,
        t => {
            let at = Timestamp::parse_rfc3339(t).map_err(|_| HoldError::BadTime(t.to_owned()))?;
            if at <= now {
                return Err(HoldError::InThePast(t.to_owned()));
            }
            Some(at)
        }
    };
    Ok(Hold {
        level,
        first_held: now,
        until,
    })
}

/// Whether a refresh of a snap with `hold` must skip it: a general hold stops every refresh,
/// an auto-refresh hold only automatic ones; an expired hold stops nothing.
pub fn refresh_held(hold: Option<&Hold>, automatic: bool, now: Timestamp) -> bool {
    hold.is_some_and(|h| h.is_active(now) && (automatic || h.level == HoldLevel::General))
}

/// The hold of `name` that still applies, if any.
pub fn active_hold(st: &State, name: &str) -> Option<Hold> {
    let hold: Option<Hold> = st.get_entry(HOLDS_KEY, name).unwrap_or_else(|e| {
        tracing::error!("cannot decode the refresh hold of snap {name}: {e}");
        None
    });
    hold.filter(|h| h.is_active(Timestamp::now()))
}

/// Holds refreshes of `name` until `time` at `level`. A later hold replaces an earlier one
/// (keeping when the snap was first held).
pub fn hold(d: &Daemon, name: &str, time: &str, level: &str) -> Result<Hold, HoldError> {
    let now = Timestamp::now();
    let mut new = parse_request(time, level, now)?;
    let mut st = d.store.lock();
    if st.snap(name).is_none() {
        return Err(HoldError::NotInstalled(name.to_owned()));
    }
    if let Some(old) = active_hold(&st, name) {
        new.first_held = old.first_held;
    }
    st.set_entry(HOLDS_KEY, name, &new)?;
    st.commit()?;
    Ok(new)
}

/// Removes the hold of `name`; a snap that was not held stays so.
pub fn unhold(d: &Daemon, name: &str) -> Result<(), HoldError> {
    let mut st = d.store.lock();
    if st.snap(name).is_none() {
        return Err(HoldError::NotInstalled(name.to_owned()));
    }
    st.remove_entry(HOLDS_KEY, name)?;
    st.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn requests_are_checked() {
        let now = t("2030-01-01T00:00:00Z");
        let h = parse_request("forever", "", now).unwrap();
        assert_eq!((h.level, h.until), (HoldLevel::General, None));
        let h = parse_request("2030-02-01T00:00:00Z", "auto-refresh", now).unwrap();
        assert_eq!(h.level, HoldLevel::AutoRefresh);
        assert_eq!(h.until, Some(t("2030-02-01T00:00:00Z")));
        assert!(matches!(
            parse_request("tomorrow", "", now),
            Err(HoldError::BadTime(_))
        ));
        assert!(matches!(
            parse_request("2029-12-31T00:00:00Z", "", now),
            Err(HoldError::InThePast(_))
        ));
        assert!(matches!(
            parse_request("forever", "sometimes", now),
            Err(HoldError::BadLevel(_))
        ));
    }

    #[test]
    fn holds_stop_refreshes_by_level_until_they_expire() {
        let now = t("2030-01-01T00:00:00Z");
        let general = parse_request("2030-01-02T00:00:00Z", "general", now).unwrap();
        let auto = parse_request("forever", "auto-refresh", now).unwrap();
        assert!(refresh_held(Some(&general), true, now));
        assert!(refresh_held(Some(&general), false, now));
        assert!(refresh_held(Some(&auto), true, now));
        assert!(!refresh_held(Some(&auto), false, now));
        assert!(!refresh_held(None, true, now));
        let later = t("2030-01-03T00:00:00Z");
        assert!(!refresh_held(Some(&general), true, later));
        assert!(refresh_held(Some(&auto), true, later));
    }

    #[test]
    fn forever_shows_as_the_far_end_of_time() {
        let now = t("2030-01-01T00:00:00Z");
        let h = parse_request("forever", "", now).unwrap();
        assert_eq!(h.until_shown(), "9999-12-31T23:59:59Z");
        assert_eq!(h.until_text(), "forever");
        let h = parse_request("2030-01-02T03:04:05Z", "", now).unwrap();
        assert_eq!(h.until_shown(), "2030-01-02T03:04:05Z");
    }

    #[test]
    fn stored_form_round_trips() {
        let h = parse_request("forever", "auto-refresh", t("2030-01-01T00:00:00Z")).unwrap();
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["level"], "auto-refresh");
        assert!(v.get("until").is_none());
        assert_eq!(serde_json::from_value::<Hold>(v).unwrap(), h);
    }
}
