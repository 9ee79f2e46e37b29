use proptest::prelude::*;

use super::*;
use crate::refreshmgr::schedule;

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The inputs a test varies; `inputs()` lends them to [`decide`].
struct Case {
    now: Timestamp,
    tz: TimeZone,
    last_refresh: Option<Timestamp>,
    schedule: Schedule,
    seed: u64,
    hold_all: Option<HoldUntil>,
    snap_holds: BTreeMap<String, Hold>,
    metered_connection: bool,
    metered: MeteredPolicy,
    running: BTreeMap<String, Option<Timestamp>>,
    max_inhibition_days: u32,
    candidates: Vec<String>,
}

impl Case {
    /// Wednesday 2026-11-25 at noon UTC, refreshed at 08:00, timer `9:00-11:00,,15:00-17:00`
    /// (unspread, so times are exact), updates for `a`, `b` and `c`.
    fn new() -> Case {
        Case {
            now: t("2026-11-25T12:00:00Z"),
            tz: TimeZone::UTC,
            last_refresh: Some(t("2026-11-25T08:00:00Z")),
            schedule: schedule::parse("9:00-11:00,,15:00-17:00").unwrap(),
            seed: 7,
            hold_all: None,
            snap_holds: BTreeMap::new(),
            metered_connection: false,
            metered: MeteredPolicy::Refresh,
            running: BTreeMap::new(),
            max_inhibition_days: 0,
            candidates: vec!["a".into(), "b".into(), "c".into()],
        }
    }

    fn at(mut self, now: &str) -> Case {
        self.now = t(now);
        self
    }

    fn decide(&self) -> Decision {
        decide(&Inputs {
            now: self.now,
            time_zone: &self.tz,
            last_refresh: self.last_refresh,
            schedule: &self.schedule,
            seed: self.seed,
            hold_all: self.hold_all,
            snap_holds: &self.snap_holds,
            metered_connection: self.metered_connection,
            metered: self.metered,
            running: &self.running,
            max_inhibition_days: self.max_inhibition_days,
            candidates: &self.candidates,
        })
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn refreshmgr_policy_waits_for_the_timer_then_refreshes_everything() {
    let d = Case::new().decide();
    assert!(!d.due);
    assert_eq!(d.next_refresh, t("2026-11-25T15:00:00Z"));
    assert_eq!(d.next_check, t("2026-11-25T15:00:00Z"));
    assert!(d.refresh.is_empty() && d.postponed.is_empty());

    let d = Case::new().at("2026-11-25T15:00:00Z").decide();
    assert!(d.due);
    assert_eq!(d.refresh, names(&["a", "b", "c"]));
    assert!(d.postponed.is_empty());
    // After this launch, the next window is tomorrow morning's.
    assert_eq!(d.next_refresh, t("2026-11-26T09:00:00Z"));
    assert_eq!(d.next_check, t("2026-11-26T09:00:00Z"));

    // Inside the window, still due until a refresh is recorded.
    let d = Case::new().at("2026-11-25T16:59:00Z").decide();
    assert!(d.due);
}

#[test]
fn refreshmgr_policy_a_device_never_refreshed_refreshes_at_once() {
    let mut c = Case::new();
    c.last_refresh = None;
    let d = c.decide();
    assert!(d.due);
    assert_eq!(d.refresh, names(&["a", "b", "c"]));
}

#[test]
fn refreshmgr_policy_spread_windows_go_at_the_seeded_point() {
    let mut c = Case::new();
    c.schedule = Schedule::default();
    c.last_refresh = Some(t("2026-11-25T07:00:00Z"));
    c.now = t("2026-11-25T11:00:00Z");
    let planned = c.decide().next_refresh;
    assert!(planned >= t("2026-11-25T12:00:00Z") && planned < t("2026-11-25T17:55:00Z"));
    c.now = planned - Duration::from_secs(1);
    let d = c.decide();
    assert!(!d.due);
    assert_eq!(d.next_check, planned);
    c.now = planned;
    assert!(c.decide().due);
    c.seed = 8;
    c.now = t("2026-11-25T11:00:00Z");
    assert_ne!(
        c.decide().next_refresh,
        planned,
        "another device, another point"
    );
}

#[test]
fn refreshmgr_policy_refresh_hold_holds_everything_until_the_window_after_it() {
    let mut c = Case::new().at("2026-11-25T15:30:00Z");
    c.hold_all = Some(HoldUntil::Until(t("2026-11-26T10:00:00Z")));
    let d = c.decide();
    assert!(!d.due);
    let held = Reason::HeldAll {
        until: Some(t("2026-11-26T10:00:00Z")),
    };
    assert_eq!(
        d.postponed,
        vec![("a".into(), held), ("b".into(), held), ("c".into(), held)]
    );
    // Tomorrow's 9:00-11:00 window holds the hold's end, so the refresh is at 15:00.
    assert_eq!(d.next_refresh, t("2026-11-26T15:00:00Z"));
    assert_eq!(d.next_check, t("2026-11-26T15:00:00Z"));
    // Expired (and kept), the hold still sets the window.
    let d = Case {
        hold_all: c.hold_all,
        ..Case::new().at("2026-11-26T10:30:00Z")
    }
    .decide();
    assert!(!d.due);
    assert_eq!(d.next_refresh, t("2026-11-26T15:00:00Z"));
    let d = Case {
        hold_all: c.hold_all,
        ..Case::new().at("2026-11-26T15:00:00Z")
    }
    .decide();
    assert!(d.due);
    assert_eq!(d.refresh, names(&["a", "b", "c"]));
}

#[test]
fn refreshmgr_policy_a_hold_forever_is_never_overridden() {
    let mut c = Case::new().at("2027-06-01T15:00:00Z");
    c.hold_all = Some(HoldUntil::Forever);
    // Months past the last refresh, on the timer, not metered: still held.
    let d = c.decide();
    assert!(!d.due);
    assert_eq!(
        d.postponed[0],
        ("a".into(), Reason::HeldAll { until: None })
    );
    assert_eq!(d.next_check, c.now + RECHECK);
    assert!(d.next_refresh >= c.now);
}

#[test]
fn refreshmgr_policy_a_snaps_own_hold_keeps_it_back_until_it_ends() {
    let mut c = Case::new().at("2026-11-25T15:00:00Z");
    let first = t("2026-11-20T00:00:00Z");
    c.snap_holds.insert(
        "a".into(),
        holds::parse_request("forever", "auto-refresh", first).unwrap(),
    );
    c.snap_holds.insert(
        "b".into(),
        holds::parse_request("2026-11-30T00:00:00Z", "general", first).unwrap(),
    );
    c.snap_holds.insert(
        "c".into(),
        holds::parse_request("2026-11-24T00:00:00Z", "general", first).unwrap(),
    );
    let d = c.decide();
    assert!(d.due);
    assert_eq!(d.refresh, names(&["c"]), "c's hold has expired");
    assert_eq!(
        d.postponed,
        vec![
            ("a".into(), Reason::Held { until: None }),
            (
                "b".into(),
                Reason::Held {
                    until: Some(t("2026-11-30T00:00:00Z"))
                }
            ),
        ]
    );
}

#[test]
fn refreshmgr_policy_metered_connections_hold_for_at_most_95_days() {
    let mut c = Case::new().at("2026-11-25T15:00:00Z");
    c.metered_connection = true;
    // Not asked to hold: refresh.
    assert!(c.decide().due);
    c.metered = MeteredPolicy::Hold;
    let d = c.decide();
    assert!(!d.due);
    let until = t("2026-11-25T08:00:00Z") + 95 * DAY;
    let m = Reason::Metered { until };
    assert_eq!(
        d.postponed,
        vec![("a".into(), m), ("b".into(), m), ("c".into(), m)]
    );
    assert_eq!(d.next_check, c.now + RECHECK);
    // Off the metered connection: refresh.
    c.metered_connection = false;
    assert!(c.decide().due);
    c.metered_connection = true;
    // 95 days after the last refresh: refresh anyway.
    c.last_refresh = Some(t("2026-08-01T00:00:00Z"));
    let d = c.decide();
    assert!(d.due, "{d:?}");
    assert_eq!(d.refresh, names(&["a", "b", "c"]));
    // Close to it: the next check is the moment it is forced.
    c.last_refresh = Some(c.now - 95 * DAY + Duration::from_secs(60));
    let d = c.decide();
    assert!(!d.due);
    assert_eq!(d.next_check, c.now + Duration::from_secs(60));
    // Never refreshed: overdue.
    c.last_refresh = None;
    assert!(c.decide().due);
}

#[test]
fn refreshmgr_policy_running_apps_put_their_snap_off_for_the_inhibition_days() {
    let mut c = Case::new().at("2026-11-25T15:00:00Z");
    c.running.insert("a".into(), None);
    c.running.insert("b".into(), Some(c.now - 13 * DAY));
    c.running.insert("c".into(), Some(c.now - 14 * DAY));
    let d = c.decide();
    assert!(d.due);
    let limit = 14 * DAY - Duration::from_secs(1);
    assert_eq!(d.refresh, names(&["c"]), "c waited 14 days: forced");
    assert_eq!(
        d.postponed,
        vec![
            (
                "a".into(),
                Reason::AppRunning {
                    since: c.now,
                    until: c.now + limit
                }
            ),
            (
                "b".into(),
                Reason::AppRunning {
                    since: c.now - 13 * DAY,
                    until: c.now - 13 * DAY + limit
                }
            ),
        ]
    );
    // A shorter limit forces b too.
    c.max_inhibition_days = 7;
    assert_eq!(c.decide().refresh, names(&["b", "c"]));
    // A held snap is held, whatever runs.
    c.snap_holds.insert(
        "c".into(),
        holds::parse_request("forever", "", c.now).unwrap(),
    );
    assert_eq!(c.decide().refresh, names(&["b"]));
}

#[test]
fn refreshmgr_policy_no_candidates_still_launches_a_due_refresh() {
    let mut c = Case::new().at("2026-11-25T15:00:00Z");
    c.candidates.clear();
    let d = c.decide();
    assert!(d.due && d.refresh.is_empty() && d.postponed.is_empty());
}

#[test]
fn refreshmgr_policy_refresh_options_parse_as_snapd_validates_them() {
    assert_eq!(HoldUntil::parse_config(""), Ok(None));
    assert_eq!(
        HoldUntil::parse_config("forever"),
        Ok(Some(HoldUntil::Forever))
    );
    assert_eq!(
        HoldUntil::parse_config("2026-12-01T10:00:00+01:00"),
        Ok(Some(HoldUntil::Until(t("2026-12-01T09:00:00Z"))))
    );
    assert_eq!(
        HoldUntil::parse_config("tomorrow").unwrap_err().to_string(),
        "refresh.hold cannot be parsed: \"tomorrow\" is neither \"forever\" nor an RFC3339 time"
    );
    assert_eq!(MeteredPolicy::parse_config(""), Ok(MeteredPolicy::Refresh));
    assert_eq!(MeteredPolicy::parse_config("hold"), Ok(MeteredPolicy::Hold));
    assert_eq!(
        MeteredPolicy::parse_config("yes").unwrap_err().to_string(),
        "refresh.metered value \"yes\" is invalid"
    );
}

proptest! {
    #[test]
    fn refreshmgr_prop_policy_decisions_are_consistent(
        now_secs in 1_700_000_000i64..1_900_000_000,
        ago_mins in prop::option::of(0u64..200_000),
        hold_mins in prop::option::of(-10_000i64..10_000),
        metered in any::<bool>(),
        seed in any::<u64>(),
        running_days in prop::option::of(0u64..30),
    ) {
        let mut c = Case::new();
        c.schedule = Schedule::default();
        c.now = Timestamp::from_unix_secs(now_secs);
        c.last_refresh = ago_mins.map(|m| c.now - Duration::from_secs(m * 60));
        c.hold_all = hold_mins.map(|m| {
            HoldUntil::Until(Timestamp::from_unix_secs(now_secs + m * 60))
        });
        c.metered_connection = metered;
        c.metered = MeteredPolicy::Hold;
        c.seed = seed;
        if let Some(days) = running_days {
            c.running.insert("b".into(), Some(c.now - Duration::from_secs(days * 86_400)));
        }
        let d = c.decide();
        prop_assert!(d.next_check > c.now, "{:?}", d);
        let mut all: Vec<String> = d.refresh.clone();
        all.extend(d.postponed.iter().map(|(n, _)| n.clone()));
        all.sort();
        if d.due {
            prop_assert_eq!(all, names(&["a", "b", "c"]));
            prop_assert!(d.refresh.contains(&"a".to_owned()));
        } else {
            prop_assert!(d.refresh.is_empty());
            prop_assert!(d.next_refresh >= c.now);
        }
        // A hold still running always stops it.
        if hold_mins.is_some_and(|m| m > 0) {
            prop_assert!(!d.due);
        }
        // Deciding again at the next check, nothing else changed, may not go backwards.
        if !d.due {
            let later = Case { now: d.next_check, ..c };
            let again = later.decide();
            prop_assert!(again.due || again.next_check > d.next_check);
        }
    }
}
