//! Whether an automatic refresh happens now, and of which snaps: snapd's auto-refresh rules
//! as a pure function of the clock, the timer, the holds, the network and the running apps
//! (spec/auto-refresh.md). The daemon gathers the inputs, calls [`decide`], and acts.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::tz::TimeZone;
use snap_state::Timestamp;

use super::schedule::Schedule;
use super::{MAX_POSTPONEMENT, from_jiff, to_jiff};
use crate::snapmgr::holds::{self, Hold};

/// How long until the daemon looks again at something that may change without it knowing
/// (the network, running apps, a hold without end): snapd's ensure loop runs every 5 min.
pub const RECHECK: Duration = Duration::from_secs(5 * 60);

/// snapd's `refreshRetryDelay`: after an auto-refresh that could not reach the store, the
/// next attempt waits at least this long.
pub const RETRY_DELAY: Duration = Duration::from_secs(20 * 60);

/// snapd's default `refresh.max-inhibition-days` (allowed 1 to 21).
pub const DEFAULT_MAX_INHIBITION_DAYS: u32 = 14;

/// How long a hold lasts: `forever`, or until a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldUntil {
    Forever,
    Until(Timestamp),
}

impl HoldUntil {
    /// The end as `None` for forever, as [`Hold::until`] stores it.
    pub fn until(self) -> Option<Timestamp> {
        match self {
            HoldUntil::Forever => None,
            HoldUntil::Until(t) => Some(t),
        }
    }

    pub fn is_active(self, now: Timestamp) -> bool {
        self.until().is_none_or(|u| u > now)
    }

    /// The `refresh.hold` option: empty (no hold), `forever`, or an RFC3339 time.
    pub fn parse_config(value: &str) -> Result<Option<HoldUntil>, ConfigError> {
        match value {
            "" => Ok(None),
            "forever" => Ok(Some(HoldUntil::Forever)),
            t => Timestamp::parse_rfc3339(t)
                .map(|t| Some(HoldUntil::Until(t)))
                .map_err(|_| ConfigError::BadHold(t.to_owned())),
        }
    }
}

/// `refresh.metered`: whether a metered connection holds automatic refreshes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MeteredPolicy {
    /// Unset: refresh on any connection.
    #[default]
    Refresh,
    /// `hold`: not on metered connections (for at most [`MAX_POSTPONEMENT`]).
    Hold,
}

impl MeteredPolicy {
    pub fn parse_config(value: &str) -> Result<MeteredPolicy, ConfigError> {
        match value {
            "" => Ok(MeteredPolicy::Refresh),
            "hold" => Ok(MeteredPolicy::Hold),
            other => Err(ConfigError::BadMetered(other.to_owned())),
        }
    }
}

/// A refresh option that does not parse (snapd's wording).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("refresh.hold cannot be parsed: {0:?} is neither \"forever\" nor an RFC3339 time")]
    BadHold(String),
    #[error("refresh.metered value {0:?} is invalid")]
    BadMetered(String),
}

/// Everything an automatic refresh decision depends on.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub now: Timestamp,
    /// The device's local time zone, in which the timer's days and times are read.
    pub time_zone: &'a TimeZone,
    /// When the last automatic refresh was launched (snapd's `last-refresh`; set at each
    /// launch, whether or not anything had an update). `None`: never.
    pub last_refresh: Option<Timestamp>,
    /// `refresh.timer` ([`super::schedule::from_config`]).
    pub schedule: &'a Schedule,
    /// The device's persistent random seed, which places it in spread windows.
    pub seed: u64,
    /// `refresh.hold`: every snap held from automatic refreshes. Keep an expired value
    /// until the next automatic refresh is launched: the refresh then waits for the first
    /// window after the hold instead of going at once, as snapd.
    pub hold_all: Option<HoldUntil>,
    /// Each snap's own hold (`snaps-hold`, [`crate::snapmgr::holds`]).
    pub snap_holds: &'a BTreeMap<String, Hold>,
    /// Whether the connection is metered now (NetworkManager's word).
    pub metered_connection: bool,
    /// `refresh.metered`.
    pub metered: MeteredPolicy,
    /// Snaps with running apps, each with when its refresh was first put off for them
    /// (snapd's `refresh-inhibited-time`; `None`: not yet, this decision starts it).
    pub running: &'a BTreeMap<String, Option<Timestamp>>,
    /// `refresh.max-inhibition-days`; 0 for unset ([`DEFAULT_MAX_INHIBITION_DAYS`]).
    pub max_inhibition_days: u32,
    /// The snaps the store has updates for.
    pub candidates: &'a [String],
}

/// Why a snap with an update is not refreshed now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `refresh.hold` holds every snap (`None`: forever).
    HeldAll { until: Option<Timestamp> },
    /// The snap's own hold (`None`: forever).
    Held { until: Option<Timestamp> },
    /// A metered connection and `refresh.metered=hold`, until the refresh is forced.
    Metered { until: Timestamp },
    /// Its apps are running: put off since `since` (store it when new), forced at `until`.
    AppRunning { since: Timestamp, until: Timestamp },
}

/// What to do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Launch an automatic refresh now (of `refresh`, possibly none) and record it as the
    /// last refresh.
    pub due: bool,
    /// When the timer places the next refresh (`refresh.next` of `/v2/system-info`, shown
    /// "(but held)" by `snap refresh --time` while a hold lasts). When due, the one after
    /// this launch.
    pub next_refresh: Timestamp,
    /// When to decide again at the latest (always after `now`).
    pub next_check: Timestamp,
    /// Snaps to refresh now.
    pub refresh: Vec<String>,
    /// Snaps with updates that wait, and why.
    pub postponed: Vec<(String, Reason)>,
}

/// snapd's auto-refresh rules, in order: `refresh.hold` holds everything; otherwise
/// nothing happens before the timer's next point; then a metered connection with
/// `refresh.metered=hold` puts everything off, for at most [`MAX_POSTPONEMENT`] since the
/// last refresh; then each candidate is refreshed unless its own hold applies or its apps
/// run (put off for at most `refresh.max-inhibition-days`, then refreshed anyway).
pub fn decide(inp: &Inputs<'_>) -> Decision {
    let now = inp.now;
    let tz = inp.time_zone;
    let next_at = |anchor: Option<Timestamp>| {
        let at = inp
            .schedule
            .next(tz, to_jiff(now), anchor.map(to_jiff), inp.seed);
        from_jiff(at)
    };
    // The timer counts from the last refresh, or from the end of a hold if later (snapd
    // recomputes its next refresh from the hold's end when a hold expires).
    let hold_end = inp.hold_all.and_then(HoldUntil::until);
    let anchor = match (inp.last_refresh, hold_end) {
        (Some(l), Some(h)) => Some(l.max(h)),
        (l, h) => l.or(h),
    };
    let planned = next_at(anchor);
    let all = |reason: Reason| -> Vec<(String, Reason)> {
        inp.candidates.iter().map(|c| (c.clone(), reason)).collect()
    };
    let waiting = |next_check: Timestamp, postponed| Decision {
        due: false,
        next_refresh: planned,
        next_check,
        refresh: Vec::new(),
        postponed,
    };

    if let Some(hold) = inp.hold_all.filter(|h| h.is_active(now)) {
        let postponed = all(Reason::HeldAll {
            until: hold.until(),
        });
        return match hold {
            // The planned point is after the hold's end (it is the anchor).
            HoldUntil::Until(_) => waiting(planned, postponed),
            HoldUntil::Forever => waiting(now + RECHECK, postponed),
        };
    }
    if planned > now {
        return waiting(planned, Vec::new());
    }
    if inp.metered_connection && inp.metered == MeteredPolicy::Hold {
        // Never refreshed counts as overdue, as in snapd.
        let forced_at = inp.last_refresh.map(|l| {
            from_jiff(
                to_jiff(l)
                    .saturating_add(MAX_POSTPONEMENT)
                    .unwrap_or(jiff::Timestamp::MAX),
            )
        });
        if let Some(forced_at) = forced_at.filter(|f| *f > now) {
            let recheck = (now + RECHECK).min(forced_at);
            return waiting(recheck, all(Reason::Metered { until: forced_at }));
        }
    }

    let days = match inp.max_inhibition_days {
        0 => DEFAULT_MAX_INHIBITION_DAYS,
        d => d,
    };
    // snapd takes a second off so the first notice does not already read one day less.
    let max_inhibition = Duration::from_secs(u64::from(days) * 24 * 3600 - 1);
    let mut refresh = Vec::new();
    let mut postponed = Vec::new();
    for name in inp.candidates {
        let hold = inp.snap_holds.get(name);
        if holds::refresh_held(hold, true, now) {
            let until = hold.and_then(|h| h.until);
            postponed.push((name.clone(), Reason::Held { until }));
        } else if let Some(since) = inp.running.get(name) {
            let since = since.unwrap_or(now);
            let until = since + max_inhibition;
            if now < until {
                postponed.push((name.clone(), Reason::AppRunning { since, until }));
            } else {
                refresh.push(name.clone());
            }
        } else {
            refresh.push(name.clone());
        }
    }
    // The next point as if this launch is the last refresh.
    let after = next_at(Some(now));
    Decision {
        due: true,
        next_refresh: after,
        next_check: after.max(now + Duration::from_secs(1)),
        refresh,
        postponed,
    }
}

#[cfg(test)]
mod tests;
