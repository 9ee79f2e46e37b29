//! Automatic refresh: when a device refreshes its snaps by itself, as snapd's auto-refresh
//! (spec/auto-refresh.md). The schedule (`refresh.timer`) and the policy that turns the clock,
//! the holds, the network and the running apps into a decision are pure (every time is passed
//! in); `auto.rs` is the loop that reads them and acts, `running.rs` finds running apps.
pub mod auto;
pub mod policy;
pub mod running;
pub mod schedule;

use std::time::SystemTime;

use jiff::SignedDuration;

/// snapd's `maxPostponement`: an automatic refresh is never put off for longer than this
/// after the last one, by the timer or by a metered connection (though a user's hold, which
/// may be "forever", still wins).
pub const MAX_POSTPONEMENT: SignedDuration = SignedDuration::from_hours(95 * 24);

/// The daemon's time as the calendar code's. Out of the calendar's range (years ±9999) it
/// saturates, which only matters for inputs no clock produces.
pub fn to_jiff(t: snap_state::Timestamp) -> jiff::Timestamp {
    match jiff::Timestamp::try_from(t.to_system_time()) {
        Ok(t) => t,
        Err(_) if t.unix_secs() < 0 => jiff::Timestamp::MIN,
        Err(_) => jiff::Timestamp::MAX,
    }
}

/// The calendar code's time as the daemon's (every calendar time is a `SystemTime`).
pub fn from_jiff(t: jiff::Timestamp) -> snap_state::Timestamp {
    SystemTime::try_from(t)
        .map(snap_state::Timestamp::from)
        .unwrap_or_else(|_| snap_state::Timestamp::from_unix_secs(t.as_second()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshmgr_times_convert_both_ways_to_the_nanosecond() {
        for s in [
            "2026-11-25T10:00:00Z",
            "1969-07-20T20:17:40.123456789Z",
            "2099-02-28T23:59:59.5+02:00",
        ] {
            let t = snap_state::Timestamp::parse_rfc3339(s).unwrap();
            let j = to_jiff(t);
            assert_eq!(j, s.parse::<jiff::Timestamp>().unwrap());
            assert_eq!(from_jiff(j), t);
        }
    }
}
