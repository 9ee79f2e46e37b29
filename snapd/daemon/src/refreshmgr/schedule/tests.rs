use jiff::civil::date;
use jiff::tz::Offset;
use proptest::prelude::*;

use super::*;

fn utc() -> TimeZone {
    TimeZone::UTC
}

/// Central Europe with its DST rules, from a POSIX TZ string (no tzdb needed).
fn cet() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

/// A local wall-clock time (`2026-11-25T10:00`) in `tz`.
fn local(tz: &TimeZone, s: &str) -> Timestamp {
    tz.to_timestamp(s.parse::<DateTime>().unwrap()).unwrap()
}

fn win(tz: &TimeZone, start: &str, end: &str, spread: bool) -> Window {
    Window {
        start: local(tz, start),
        end: local(tz, end),
        spread,
    }
}

fn sched(s: &str) -> Schedule {
    parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

#[test]
fn refreshmgr_timers_from_snapds_documentation_parse_to_their_canonical_form() {
    for (input, canonical) in [
        ("00:00~24:00/4", "00:00~24:00/4"),
        ("mon,10:00,,fri,15:00", "mon,10:00,,fri,15:00"),
        ("mon,fri,10:00,15:00", "mon,fri,10:00,15:00"),
        ("mon-wed,fri,9:00-11:00/2", "mon-wed,fri,09:00-11:00/2"),
        (
            "mon,9:00~11:00,,wed,22:00~23:00",
            "mon,09:00~11:00,,wed,22:00~23:00",
        ),
        ("mon,wed", "mon,wed"),
        ("mon,,wed", "mon,,wed"),
        ("mon1-wed", "mon1-wed"),
        ("mon-wed1", "mon-wed1"),
        ("mon1", "mon1"),
        ("mon1-mon", "mon1-mon"),
        ("mon5,9:00", "mon5,09:00"),
        ("fri-mon,23:00-01:00", "fri-mon,23:00-01:00"),
        ("9:00-11:00,,20:00-22:00", "09:00-11:00,,20:00-22:00"),
        ("0:00~24:00", "00:00~24:00"),
        ("24:00", "24:00"),
        // Ranges numbered at both ends are anchored at the start, as snapd does.
        ("mon1-fri3", "mon1-fri"),
        ("mon2-fri2", "mon2-fri"),
        ("tue3-tue3", "tue3"),
        // A count on a single time is accepted (and means nothing), as by snapd.
        ("10:00/2", "10:00"),
        ("10:00-10:00", "10:00"),
        ("24:00~24:00", "24:00"),
    ] {
        assert_eq!(sched(input).to_string(), canonical, "{input}");
        assert_eq!(sched(canonical).to_string(), canonical, "{canonical}");
    }
}

#[test]
fn refreshmgr_bad_timers_are_refused_naming_the_bad_item() {
    let item = "(events are separated by \",,\", days and times within an event by \",\")";
    let time = "not a valid time (expected H:MM or HH:MM, 0:00 to 24:00)";
    let count = "the count after \"/\" must be a number from 1 to 1440";
    let wday = "is not a valid weekday (mon, tue, wed, thu, fri, sat or sun, optionally \
                followed by the week of the month, 1 to 5)";
    for (input, message) in [
        ("", format!("cannot parse \"\": empty item {item}")),
        ("mon,", format!("cannot parse \"mon,\": empty item {item}")),
        ("mon,,", format!("cannot parse \"\": empty item {item}")),
        (
            "mon,,,10:00",
            format!("cannot parse \",10:00\": empty item {item}"),
        ),
        ("25:00", format!("cannot parse \"25:00\": {time}")),
        ("24:01", format!("cannot parse \"24:01\": {time}")),
        ("9:60", format!("cannot parse \"9:60\": {time}")),
        ("9:0", format!("cannot parse \"9:0\": {time}")),
        ("009:00", format!("cannot parse \"009:00\": {time}")),
        (" 9:00", format!("cannot parse \" 9:00\": {time}")),
        ("+9:00", format!("cannot parse \"+9:00\": {time}")),
        ("10:00-", format!("cannot parse \"10:00-\": {time}")),
        (
            "10:00-11:00-12:00",
            format!("cannot parse \"10:00-11:00-12:00\": {time}"),
        ),
        (
            "10:00~11:00~12:00",
            format!("cannot parse \"10:00~11:00~12:00\": {time}"),
        ),
        (
            "10:00-11:00/0",
            format!("cannot parse \"10:00-11:00/0\": {count}"),
        ),
        (
            "10:00-11:00/x",
            format!("cannot parse \"10:00-11:00/x\": {count}"),
        ),
        (
            "10:00-11:00/1441",
            format!("cannot parse \"10:00-11:00/1441\": {count}"),
        ),
        (
            "10:00-11:00/1/2",
            format!("cannot parse \"10:00-11:00/1/2\": {count}"),
        ),
        ("xyz", format!("cannot parse \"xyz\": \"xyz\" {wday}")),
        ("MON", format!("cannot parse \"MON\": \"MON\" {wday}")),
        ("mon0", format!("cannot parse \"mon0\": \"mon0\" {wday}")),
        ("mon6", format!("cannot parse \"mon6\": \"mon6\" {wday}")),
        ("mon-", format!("cannot parse \"mon-\": \"\" {wday}")),
        (
            "monday",
            format!("cannot parse \"monday\": \"monday\" {wday}"),
        ),
        ("mo€", format!("cannot parse \"mo€\": \"mo€\" {wday}")),
        (
            "mon-tue-wed",
            "cannot parse \"mon-tue-wed\": a day range has one \"-\"".to_owned(),
        ),
        (
            "mon4-mon1",
            "cannot parse \"mon4-mon1\": the range ends in an earlier week of the month than it \
             starts"
                .to_owned(),
        ),
        (
            "10:00,mon",
            "cannot parse \"mon\": days must come before the times of an event".to_owned(),
        ),
    ] {
        let err = parse(input).expect_err(input);
        assert_eq!(err.to_string(), message, "{input:?}");
    }
}

#[test]
fn refreshmgr_an_empty_config_is_the_default_timer() {
    assert_eq!(from_config("").unwrap(), Schedule::default());
    assert_eq!(from_config("mon").unwrap().to_string(), "mon");
    assert!(from_config("xyz").is_err());
    assert_eq!("mon,10:00".parse::<Schedule>().unwrap(), sched("mon,10:00"));
}

#[test]
fn refreshmgr_the_default_timer_has_four_spread_windows_a_day() {
    let tz = utc();
    let s = Schedule::default();
    // Wednesday 2026-11-25, 10:00; last refresh long ago: the window under way.
    let now = local(&tz, "2026-11-25T10:00");
    let last = Some(now - days(2));
    assert_eq!(
        s.next_window(&tz, now, last),
        win(&tz, "2026-11-25T06:00", "2026-11-25T12:00", true)
    );
    // Refreshed in this window already: the next one.
    let last = Some(local(&tz, "2026-11-25T07:00"));
    assert_eq!(
        s.next_window(&tz, now, last),
        win(&tz, "2026-11-25T12:00", "2026-11-25T18:00", true)
    );
    // The last window of the day ends at midnight; refreshed in it, the next day's first.
    let now = local(&tz, "2026-11-25T19:00");
    assert_eq!(
        s.next_window(&tz, now, Some(now - days(1))),
        win(&tz, "2026-11-25T18:00", "2026-11-26T00:00", true)
    );
    let last = Some(local(&tz, "2026-11-25T18:30"));
    assert_eq!(
        s.next_window(&tz, now, last),
        win(&tz, "2026-11-26T00:00", "2026-11-26T06:00", true)
    );
}

#[test]
fn refreshmgr_a_window_holding_the_last_refresh_is_skipped_even_at_its_edges() {
    let tz = utc();
    let s = Schedule::default();
    let now = local(&tz, "2026-11-25T12:00");
    // Windows include both ends, as snapd's: a refresh at 12:00 sharp counts for both.
    let last = Some(local(&tz, "2026-11-25T12:00"));
    assert_eq!(
        s.next_window(&tz, now, last),
        win(&tz, "2026-11-25T18:00", "2026-11-26T00:00", true)
    );
}

#[test]
fn refreshmgr_single_times_ranges_and_days() {
    let tz = utc();
    let last = Some(local(&tz, "2026-11-20T00:00"));
    let at = |s: &str| local(&tz, s);
    // 10:00 every day.
    let s = sched("10:00");
    assert_eq!(
        s.next_window(&tz, at("2026-11-25T09:00"), last),
        win(&tz, "2026-11-25T10:00", "2026-11-25T10:00", false)
    );
    assert_eq!(
        s.next_window(&tz, at("2026-11-25T10:30"), last),
        win(&tz, "2026-11-26T10:00", "2026-11-26T10:00", false)
    );
    // On Mondays only (2026-11-25 is a Wednesday).
    assert_eq!(
        sched("mon,10:00").next_window(&tz, at("2026-11-25T09:00"), last),
        win(&tz, "2026-11-30T10:00", "2026-11-30T10:00", false)
    );
    // Days without times: midnight of those days.
    assert_eq!(
        sched("mon").next_window(&tz, at("2026-11-25T09:00"), last),
        win(&tz, "2026-11-30T00:00", "2026-11-30T00:00", false)
    );
    // Weekday ranges, wrapping over the weekend.
    assert_eq!(
        sched("fri-mon,10:00").next_window(&tz, at("2026-11-25T09:00"), last),
        win(&tz, "2026-11-27T10:00", "2026-11-27T10:00", false)
    );
    assert_eq!(
        sched("fri-mon,10:00").next_window(&tz, at("2026-11-30T11:00"), last),
        win(&tz, "2026-12-04T10:00", "2026-12-04T10:00", false)
    );
    assert_eq!(
        sched("sat-sun,10:00").next_window(&tz, at("2026-11-29T11:00"), last),
        win(&tz, "2026-12-05T10:00", "2026-12-05T10:00", false)
    );
    // Several times in one event: the earliest still to come.
    assert_eq!(
        sched("mon,fri,15:00,10:00").next_window(&tz, at("2026-11-27T11:00"), last),
        win(&tz, "2026-11-27T15:00", "2026-11-27T15:00", false)
    );
}

#[test]
fn refreshmgr_ranges_can_wrap_midnight() {
    let tz = utc();
    let at = |s: &str| local(&tz, s);
    let s = sched("23:00-01:00");
    // Under way since yesterday 23:00.
    assert_eq!(
        s.next_window(&tz, at("2026-11-25T00:30"), Some(at("2026-11-20T00:00"))),
        win(&tz, "2026-11-24T23:00", "2026-11-25T01:00", false)
    );
    // Refreshed in it already: tonight's.
    assert_eq!(
        s.next_window(&tz, at("2026-11-25T00:30"), Some(at("2026-11-24T23:10"))),
        win(&tz, "2026-11-25T23:00", "2026-11-26T01:00", false)
    );
    // A day range applies to the day a window starts on.
    assert_eq!(
        sched("fri,23:00~01:00").next_window(&tz, at("2026-11-28T00:30"), None),
        win(&tz, "2026-11-27T23:00", "2026-11-28T01:00", true)
    );
}

#[test]
fn refreshmgr_a_count_splits_a_range_into_equal_windows_cut_to_the_minute() {
    let split = |s: &str| -> Vec<String> {
        let sched = sched(s);
        sched.events[0]
            .flattened_spans()
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        split("00:00~24:00/4"),
        ["00:00~06:00", "06:00~12:00", "12:00~18:00", "18:00~00:00"]
    );
    assert_eq!(split("9:00-11:00/2"), ["09:00-10:00", "10:00-11:00"]);
    assert_eq!(split("22:00-02:00/2"), ["22:00-00:00", "00:00-02:00"]);
    // 60 min / 7 = 8 min 34.29 s: each start and end is cut to the minute.
    assert_eq!(
        split("10:00-11:00/7"),
        [
            "10:00-10:08",
            "10:08-10:16",
            "10:17-10:25",
            "10:25-10:33",
            "10:34-10:42",
            "10:42-10:50",
            "10:51-10:59"
        ]
    );
    assert_eq!(split("10:00-11:00/1"), ["10:00-11:00/1"]);

    // The split windows of a wrapping range, from a day's view.
    let tz = utc();
    let s = sched("22:00-02:00/2");
    let last = Some(local(&tz, "2026-11-24T22:30"));
    assert_eq!(
        s.next_window(&tz, local(&tz, "2026-11-24T23:00"), last),
        win(&tz, "2026-11-25T00:00", "2026-11-25T02:00", false)
    );
}

#[test]
fn refreshmgr_numbered_days_follow_snapds_calendar_examples() {
    // From snapd's comments, on the July/August 2018 calendar (1 August 2018 a Wednesday).
    let matching = |spec: &str, year: i16, month: i8| -> Vec<i8> {
        let span = sched(spec).events[0].days[0];
        let first = date(year, month, 1);
        (0..first.days_in_month())
            .map(|i| first.checked_add(i64::from(i).days()).unwrap())
            .filter(|d| span.matches(*d))
            .map(|d| d.day())
            .collect()
    };
    assert_eq!(matching("mon1-fri", 2018, 8), [6, 7, 8, 9, 10]);
    assert_eq!(matching("mon-fri2", 2018, 8), [6, 7, 8, 9, 10]);
    assert_eq!(matching("fri1-mon", 2018, 8), [3, 4, 5, 6]);
    assert_eq!(matching("mon-fri1", 2018, 7), [2, 3, 4, 5, 6, 30, 31]);
    assert_eq!(matching("mon-fri1", 2018, 8), [1, 2, 3]);
    assert_eq!(matching("fri4-thu", 2018, 7), [27, 28, 29, 30, 31]);
    assert_eq!(
        matching("fri4-thu", 2018, 8),
        [1, 2, 24, 25, 26, 27, 28, 29, 30]
    );
    assert_eq!(matching("mon1", 2018, 8), [6]);
    assert_eq!(matching("mon5", 2018, 7), [30]);
    assert_eq!(matching("fri5", 2018, 8), [31]);
    assert_eq!(matching("mon1-mon", 2018, 8), [6, 7, 8, 9, 10, 11, 12, 13]);
}

#[test]
fn refreshmgr_numbered_days_find_their_window_across_months() {
    let tz = utc();
    let at = |s: &str| local(&tz, s);
    let last = Some(at("2026-11-01T00:00"));
    // First Monday of December 2026 (1 December is a Tuesday).
    assert_eq!(
        sched("mon1,10:00").next_window(&tz, at("2026-11-25T10:00"), last),
        win(&tz, "2026-12-07T10:00", "2026-12-07T10:00", false)
    );
    // Last Monday and last Friday of November 2026.
    assert_eq!(
        sched("mon5,10:00").next_window(&tz, at("2026-11-25T10:00"), last),
        win(&tz, "2026-11-30T10:00", "2026-11-30T10:00", false)
    );
    assert_eq!(
        sched("fri5,10:00").next_window(&tz, at("2026-11-25T10:00"), last),
        win(&tz, "2026-11-27T10:00", "2026-11-27T10:00", false)
    );
    // The week ending with January 2027's first Friday (1 January) starts in December.
    assert_eq!(
        sched("mon-fri1,10:00").next_window(&tz, at("2026-12-08T10:00"), last),
        win(&tz, "2026-12-28T10:00", "2026-12-28T10:00", false)
    );
    // The last Friday of January 2027 (29th) to the Monday after it, in February.
    assert_eq!(
        sched("fri5-mon,10:00").next_window(&tz, at("2027-01-31T11:00"), last),
        win(&tz, "2027-02-01T10:00", "2027-02-01T10:00", false)
    );
}

/// Whether `d` is the `week`th `wd` of its month (5: the last), counted the plain way.
fn naive_is(d: Date, wd: Weekday, week: u8) -> bool {
    if d.weekday() != wd {
        return false;
    }
    if week == LAST_WEEK {
        d.checked_add(7.days()).unwrap().month() != d.month()
    } else {
        (d.day() - 1) / 7 + 1 == week as i8
    }
}

/// The reading of a day range written out by hand: a weekly range is the weekdays from its
/// start to its end; a numbered one is the days from its numbered end, walking towards the
/// other end's weekday (eight days when both are the same weekday).
fn naive_matches(span: DaySpan, d: Date) -> bool {
    let (s, e) = (span.start, span.end);
    if s.week == 0 && e.week == 0 {
        let mut wd = s.weekday;
        loop {
            if wd == d.weekday() {
                return true;
            }
            if wd == e.weekday {
                return false;
            }
            wd = wd.next();
        }
    }
    let mut len = 0;
    let mut wd = s.weekday;
    while wd != e.weekday || (len == 0 && s != e) {
        wd = wd.next();
        len += 1;
    }
    (0..=len).any(|k| {
        if s.week != 0 {
            naive_is(d.checked_sub(k.days()).unwrap(), s.weekday, s.week)
        } else {
            naive_is(d.checked_add(k.days()).unwrap(), e.weekday, e.week)
        }
    })
}

#[test]
fn refreshmgr_every_day_range_matches_the_days_a_plain_count_gives() {
    let weekdays = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    let mut spans = Vec::new();
    for &a in &weekdays {
        for &b in &weekdays {
            spans.push(DaySpan {
                start: Day {
                    weekday: a,
                    week: 0,
                },
                end: Day {
                    weekday: b,
                    week: 0,
                },
            });
            for week in 1..=5 {
                spans.push(DaySpan {
                    start: Day { weekday: a, week },
                    end: Day {
                        weekday: b,
                        week: 0,
                    },
                });
                spans.push(DaySpan {
                    start: Day {
                        weekday: a,
                        week: 0,
                    },
                    end: Day { weekday: b, week },
                });
            }
        }
        for week in 1..=5 {
            let d = Day { weekday: a, week };
            spans.push(DaySpan { start: d, end: d });
        }
    }
    // Three years, a leap year among them, every month length and first weekday.
    let first = date(2027, 12, 1);
    for span in spans {
        let mut matched = 0;
        for i in 0..3 * 366 {
            let d = first.checked_add((i as i64).days()).unwrap();
            let m = span.matches(d);
            assert_eq!(m, naive_matches(span, d), "{span} on {d}");
            matched += m as u32;
        }
        assert!(matched > 0, "{span} never matches");
    }
}

#[test]
fn refreshmgr_the_earliest_event_wins_and_ties_go_to_the_first() {
    let tz = utc();
    let at = |s: &str| local(&tz, s);
    let last = Some(at("2026-11-20T00:00"));
    let s = sched("fri,15:00,,thu,11:00,,mon,9:00");
    assert_eq!(
        s.next_window(&tz, at("2026-11-25T10:00"), last),
        win(&tz, "2026-11-26T11:00", "2026-11-26T11:00", false)
    );
    let s = sched("10:00-12:00,,10:00~11:00");
    assert_eq!(
        s.next_window(&tz, at("2026-11-25T09:00"), last),
        win(&tz, "2026-11-25T10:00", "2026-11-25T12:00", false)
    );
}

#[test]
fn refreshmgr_no_refresh_is_put_off_past_the_maximum_postponement() {
    let tz = utc();
    let now = local(&tz, "2026-11-25T10:00");
    let monthly = sched("mon1,10:00");
    // Last refresh 95 days ago less an hour: the capped hour comes before 7 December.
    let last = now - days(95) + hours(1);
    let w = monthly.next_window(&tz, now, Some(last));
    assert_eq!(
        (w.start, w.end, w.spread),
        (now + hours(1), now + hours(2), false)
    );
    assert_eq!(monthly.next(&tz, now, Some(last), 7), now + hours(1));
    // 100 days ago: overdue, at once.
    let last = now - days(100);
    assert_eq!(monthly.next(&tz, now, Some(last), 7), now);
    // 30 days ago: the timer decides.
    let last = now - days(30);
    assert_eq!(
        monthly.next(&tz, now, Some(last), 7),
        local(&tz, "2026-12-07T10:00")
    );
}

#[test]
fn refreshmgr_windows_are_in_local_time() {
    let tz = TimeZone::fixed(Offset::constant(2));
    let s = sched("10:00");
    let now: Timestamp = "2026-11-25T07:00:00Z".parse().unwrap();
    let w = s.next_window(&tz, now, Some(now - days(1)));
    assert_eq!(w.start, "2026-11-25T08:00:00Z".parse().unwrap());
    // Which day it is is local too: 22:30 UTC on Sunday is Monday in +02:00.
    let s = sched("mon,01:00");
    let now: Timestamp = "2026-11-29T22:30:00Z".parse().unwrap();
    let w = s.next_window(&tz, now, Some(now - days(1)));
    assert_eq!(w.start, "2026-11-29T23:00:00Z".parse().unwrap());
}

#[test]
fn refreshmgr_windows_across_daylight_saving_changes() {
    let tz = cet();
    let last = Some("2027-03-01T00:00:00Z".parse().unwrap());
    // 28 March 2027: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and moves on to
    // 03:30 CEST.
    let s = sched("02:30");
    let now: Timestamp = "2027-03-28T00:00:00Z".parse().unwrap();
    assert_eq!(
        s.next_window(&tz, now, last).start,
        "2027-03-28T01:30:00Z".parse().unwrap()
    );
    // The first six-hour window of that day is five hours long.
    let w = Schedule::default().next_window(&tz, now, last);
    assert_eq!(w.start, "2027-03-27T23:00:00Z".parse().unwrap());
    assert_eq!(w.end.duration_since(w.start), hours(5));
    // 31 October 2027: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice and the
    // first one counts.
    let last = Some("2027-10-01T00:00:00Z".parse().unwrap());
    let now: Timestamp = "2027-10-30T23:00:00Z".parse().unwrap();
    assert_eq!(
        s.next_window(&tz, now, last).start,
        "2027-10-31T00:30:00Z".parse().unwrap()
    );
    let w = Schedule::default().next_window(&tz, now, last);
    assert_eq!(w.end.duration_since(w.start), hours(7));
}

#[test]
fn refreshmgr_a_last_time_in_the_future_puts_the_window_after_it() {
    // The end of a hold passed as the last refresh: the first window after it.
    let tz = utc();
    let now = local(&tz, "2026-11-25T10:00");
    let until = local(&tz, "2026-11-27T15:00");
    assert_eq!(
        Schedule::default().next_window(&tz, now, Some(until)),
        win(&tz, "2026-11-27T18:00", "2026-11-28T00:00", true)
    );
}

#[test]
fn refreshmgr_a_device_never_refreshed_refreshes_now() {
    let tz = utc();
    let now = local(&tz, "2026-11-25T10:00");
    assert_eq!(sched("mon1,10:00").next(&tz, now, None, 1), now);
    // Its window is the first one not over.
    assert_eq!(
        Schedule::default().next_window(&tz, now, None),
        win(&tz, "2026-11-25T06:00", "2026-11-25T12:00", true)
    );
}

#[test]
fn refreshmgr_unspread_windows_refresh_at_their_start_or_at_once_inside_them() {
    let tz = utc();
    let s = sched("9:00-11:00");
    let last = Some(local(&tz, "2026-11-24T09:30"));
    let at = |s: &str| local(&tz, s);
    assert_eq!(
        s.next(&tz, at("2026-11-25T08:00"), last, 1),
        at("2026-11-25T09:00")
    );
    assert_eq!(
        s.next(&tz, at("2026-11-25T10:15"), last, 1),
        at("2026-11-25T10:15")
    );
    assert_eq!(
        s.next(&tz, at("2026-11-25T11:15"), last, 1),
        at("2026-11-26T09:00")
    );
}

#[test]
fn refreshmgr_spread_windows_place_devices_by_their_seed() {
    let tz = utc();
    let s = Schedule::default();
    let now = local(&tz, "2026-11-25T11:00");
    let last = Some(local(&tz, "2026-11-25T07:00"));
    let w = win(&tz, "2026-11-25T12:00", "2026-11-25T18:00", true);
    let mut seen = std::collections::BTreeSet::new();
    let (mut early, mut late) = (0, 0);
    for seed in 0..400u64 {
        let at = s.next(&tz, now, last, seed);
        assert_eq!(at, s.next(&tz, now, last, seed), "same seed, same point");
        assert!(w.start <= at && at < w.end - mins(5), "{at} outside {w:?}");
        seen.insert(at);
        if at < w.start + hours(3) {
            early += 1;
        } else {
            late += 1;
        }
    }
    assert!(seen.len() > 390, "only {} distinct points", seen.len());
    assert!(early > 150 && late > 150, "{early} early, {late} late");
}

#[test]
fn refreshmgr_one_seed_lands_at_different_points_of_different_windows() {
    let tz = utc();
    let s = Schedule::default();
    let mut offsets = std::collections::BTreeSet::new();
    let mut last = local(&tz, "2026-11-25T01:00");
    for _ in 0..8 {
        let at = s.next(&tz, last, Some(last), 42);
        let w = s.next_window(&tz, last, Some(last));
        offsets.insert(at.duration_since(w.start).as_secs());
        last = at;
    }
    assert!(offsets.len() >= 7, "{offsets:?}");
}

#[test]
fn refreshmgr_the_planned_point_holds_still_as_time_passes() {
    let tz = utc();
    let s = Schedule::default();
    let last = Some(local(&tz, "2026-11-25T07:00"));
    let start = local(&tz, "2026-11-25T11:00");
    for seed in [1, 2, 3, 99, u64::MAX] {
        let planned = s.next(&tz, start, last, seed);
        let mut now = start;
        while now <= planned {
            assert_eq!(s.next(&tz, now, last, seed), planned);
            now += mins(7);
        }
        // Past it (the refresh not done yet): at once.
        assert_eq!(s.next(&tz, now, last, seed), now);
    }
}

#[test]
fn refreshmgr_short_spread_windows_use_their_whole_length() {
    let w = Window {
        start: "2026-11-25T10:00:00Z".parse().unwrap(),
        end: "2026-11-25T10:03:00Z".parse().unwrap(),
        spread: true,
    };
    for seed in 0..50 {
        let off = spread_offset(&w, seed);
        assert!(off >= SignedDuration::ZERO && off < mins(3), "{off:?}");
    }
    let empty = Window { end: w.start, ..w };
    assert_eq!(spread_offset(&empty, 5), SignedDuration::ZERO);
}

fn day() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec!["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
    (names, 0..=5u8).prop_map(|(d, w)| {
        if w == 0 {
            d.to_owned()
        } else {
            format!("{d}{w}")
        }
    })
}

fn day_item() -> impl Strategy<Value = String> {
    (day(), prop::option::of(day())).prop_map(|(a, b)| match b {
        Some(b) => format!("{a}-{b}"),
        None => a,
    })
}

fn clock() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..24u16, 0..60u16).prop_map(|(h, m)| format!("{h}:{m:02}")),
        (0..24u16, 0..60u16).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        Just("24:00".to_owned()),
    ]
}

fn time_item() -> impl Strategy<Value = String> {
    (
        clock(),
        prop::option::of((prop::bool::ANY, clock(), prop::option::of(1..=12u32))),
    )
        .prop_map(|(a, rest)| match rest {
            None => a,
            Some((spread, b, split)) => {
                let sep = if spread { '~' } else { '-' };
                let split = split.map(|n| format!("/{n}")).unwrap_or_default();
                format!("{a}{sep}{b}{split}")
            }
        })
}

fn timer() -> impl Strategy<Value = String> {
    let event = (
        prop::collection::vec(day_item(), 0..3),
        prop::collection::vec(time_item(), 0..3),
    )
        .prop_filter("an event has an item", |(d, t)| {
            !d.is_empty() || !t.is_empty()
        })
        .prop_map(|(d, t)| [d, t].concat().join(","));
    prop::collection::vec(event, 1..4).prop_map(|e| e.join(",,"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn refreshmgr_prop_canonical_form_reparses_to_the_same_schedule(spec in timer()) {
        // Ranges numbered at both ends with the end earlier are refused; skip those.
        if let Ok(s) = parse(&spec) {
            let canonical = s.to_string();
            let again = parse(&canonical).unwrap();
            prop_assert_eq!(again.to_string(), canonical.clone());
            let tz = utc();
            let now: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
            let last = Some(now - days(3));
            prop_assert_eq!(s.next_window(&tz, now, last), again.next_window(&tz, now, last));
        }
    }

    #[test]
    fn refreshmgr_prop_next_window_is_open_and_not_the_last_ones(
        spec in timer(),
        now_secs in 1_700_000_000i64..1_900_000_000,
        ago_mins in 0i64..200_000,
        seed in any::<u64>(),
        east in prop::bool::ANY,
    ) {
        let Ok(s) = parse(&spec) else { return Ok(()) };
        let tz = if east { cet() } else { TimeZone::fixed(Offset::constant(-7)) };
        let now = Timestamp::from_second(now_secs).unwrap();
        let last = now - mins(ago_mins);
        let w = s.next_window(&tz, now, Some(last));
        prop_assert!(w.end >= now, "{:?} ended before {}", w, now);
        prop_assert!(!w.includes(last), "{:?} holds the last refresh {}", w, last);
        prop_assert!(w.start <= last + MAX_POSTPONEMENT, "{:?} past the cap", w);
        let at = s.next(&tz, now, Some(last), seed);
        prop_assert!(at >= now);
        prop_assert!(at == now || (w.start <= at && at <= w.end), "{} outside {:?}", at, w);
        if !w.spread {
            prop_assert_eq!(at, w.start.max(now));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn refreshmgr_prop_any_text_parses_or_is_refused_without_panicking(
        spec in "[a-z0-9:~/,€ -]{0,24}",
    ) {
        match parse(&spec) {
            Ok(s) => {
                let tz = utc();
                let now: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
                let w = s.next_window(&tz, now, Some(now - days(1)));
                prop_assert!(w.end >= now);
                prop_assert_eq!(parse(&s.to_string()).map(|s| s.to_string()), Ok(s.to_string()));
            }
            Err(e) => prop_assert!(e.to_string().starts_with("cannot parse \"")),
        }
    }
}
