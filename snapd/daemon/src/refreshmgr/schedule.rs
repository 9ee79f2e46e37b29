//! snapd's `refresh.timer` schedules: parsing, the next window, and a point in it.
//!
//! The syntax and its meaning follow snapd's `timeutil` (spec/auto-refresh.md has the
//! grammar and examples). Events are separated by `,,`; within an event, `,` separates
//! days and times, days first:
//!
//! * a day is `mon`..`sun`, optionally numbered `mon1`..`mon5` (the nth Monday of the month,
//!   `5` the last one); `mon-fri` is a range (it may wrap, `fri-mon`), `mon1-fri` runs from
//!   the first Monday to the Friday after it and `mon-fri1` from the Monday before the first
//!   Friday to that Friday;
//! * a time is `H:MM`/`HH:MM` (`24:00` is the end of the day), `9:00-11:00` a range (at
//!   once when it is reached), `9:00~11:00` a span (at a random point in it), either may
//!   wrap midnight, and `/N` splits one into N windows.
//!
//! All calendar work happens in a time zone the caller passes, at a `now` the caller passes.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::MAX_POSTPONEMENT;

/// snapd's default `refresh.timer`: four windows a day, a random point in each.
pub const DEFAULT_TIMER: &str = "00:00~24:00/4";

/// The most windows `/N` may split a range into. snapd accepts any 32-bit count, but more
/// windows than there are minutes in a day only repeat the same minutes (and a huge count
/// would make every look-up loop billions of times).
pub const MAX_SPLIT: u32 = 1440;

/// How many days ahead an event's next window is looked for. Every event recurs at least
/// once a month, so this is never reached by a valid schedule; it bounds the loop anyway.
const SEARCH_DAYS: i32 = 400;

/// snapd keeps the random point this far before a spread window's end, so that the refresh
/// still starts inside the window.
const SPREAD_END_MARGIN: SignedDuration = SignedDuration::from_mins(5);

const MINUTES_PER_DAY: u16 = 24 * 60;
const NANOS_PER_MINUTE: i128 = 60_000_000_000;

/// Why a timer string was refused. Each names the part that could not be read, as snapd's
/// messages do (`cannot parse "25:00": ...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "cannot parse {event:?}: empty item (events are separated by \",,\", days and times \
         within an event by \",\")"
    )]
    EmptyItem { event: String },
    #[error("cannot parse {item:?}: not a valid time (expected H:MM or HH:MM, 0:00 to 24:00)")]
    BadTime { item: String },
    #[error("cannot parse {item:?}: the count after \"/\" must be a number from 1 to {MAX_SPLIT}")]
    BadCount { item: String },
    #[error(
        "cannot parse {item:?}: {day:?} is not a valid weekday (mon, tue, wed, thu, fri, sat or \
         sun, optionally followed by the week of the month, 1 to 5)"
    )]
    BadWeekday { item: String, day: String },
    #[error("cannot parse {item:?}: a day range has one \"-\"")]
    BadDayRange { item: String },
    #[error("cannot parse {item:?}: the range ends in an earlier week of the month than it starts")]
    WeeksReversed { item: String },
    #[error("cannot parse {item:?}: days must come before the times of an event")]
    DayAfterTime { item: String },
}

/// A parsed `refresh.timer`: one or more events, any of which opens a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    events: Vec<Event>,
}

/// One event: the days it applies to (none: every day) and its times (none: midnight).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Event {
    days: Vec<DaySpan>,
    times: Vec<ClockSpan>,
}

/// A day of the week, in every week (`week == 0`), the nth of the month (1 to 4), or the
/// last of the month (5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Day {
    weekday: Weekday,
    week: u8,
}

const LAST_WEEK: u8 = 5;

/// A range of days, `start == end` for a single day. After parsing at most one end is
/// numbered, or both ends are the same numbered day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DaySpan {
    start: Day,
    end: Day,
}

/// A minute of the day, 0 to 1440 (24:00, the end of the day).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Clock(u16);

/// A time (`start == end`), range or span of the day, possibly wrapping midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ClockSpan {
    start: Clock,
    end: Clock,
    /// How many windows the range is split into (0: not split).
    split: u32,
    /// `~`: the refresh happens at a random point of the window rather than at its start.
    spread: bool,
}

/// A time window in which a refresh may happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The refresh goes at a random point of the window (a `~` span), not at its start.
    pub spread: bool,
}

impl Window {
    /// Whether `t` is in the window, both ends included (as snapd's `Includes`).
    pub fn includes(&self, t: Timestamp) -> bool {
        self.start <= t && t <= self.end
    }
}

/// Parses a `refresh.timer` value.
pub fn parse(spec: &str) -> Result<Schedule, ScheduleError> {
    let events = spec
        .split(",,")
        .map(parse_event)
        .collect::<Result<_, _>>()?;
    Ok(Schedule { events })
}

/// Parses the configured `refresh.timer`, the default when it is unset (empty).
pub fn from_config(value: &str) -> Result<Schedule, ScheduleError> {
    if value.is_empty() {
        Ok(Schedule::default())
    } else {
        parse(value)
    }
}

impl Default for Schedule {
    fn default() -> Self {
        parse(DEFAULT_TIMER).expect("the default timer parses")
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

fn parse_event(event: &str) -> Result<Event, ScheduleError> {
    let mut days = Vec::new();
    let mut times = Vec::new();
    for item in event.split(',') {
        if item.is_empty() {
            return Err(ScheduleError::EmptyItem {
                event: event.to_owned(),
            });
        }
        // As snapd: an item with a colon is a time, anything else a day; days come first.
        if item.contains(':') {
            times.push(parse_clock_span(item)?);
        } else if times.is_empty() {
            days.push(parse_day_span(item)?);
        } else {
            return Err(ScheduleError::DayAfterTime {
                item: item.to_owned(),
            });
        }
    }
    Ok(Event { days, times })
}

fn parse_clock_span(item: &str) -> Result<ClockSpan, ScheduleError> {
    let bad_time = || ScheduleError::BadTime {
        item: item.to_owned(),
    };
    let (rest, split) = match item.split_once('/') {
        None => (item, 0),
        Some((rest, count)) => {
            let count = parse_digits(count)
                .filter(|c| (1..=u64::from(MAX_SPLIT)).contains(c))
                .ok_or_else(|| ScheduleError::BadCount {
                    item: item.to_owned(),
                })?;
            (rest, count as u32)
        }
    };
    // Only the first `~` turns into a range separator, so `9:00~10:00~11:00` still fails.
    let spread = rest.contains('~');
    let rest = rest.replacen('~', "-", 1);
    let (start, end) = match rest.split_once('-') {
        Some((a, b)) => (
            parse_clock(a).ok_or_else(bad_time)?,
            parse_clock(b).ok_or_else(bad_time)?,
        ),
        None => {
            let t = parse_clock(&rest).ok_or_else(bad_time)?;
            (t, t)
        }
    };
    // A single time is one instant: neither spreading nor splitting changes it (and snapd's
    // canonical form drops both).
    let single = start == end;
    Ok(ClockSpan {
        start,
        end,
        split: if single { 0 } else { split },
        spread: spread && !single,
    })
}

/// `H:MM` or `HH:MM` from 0:00 to 23:59, or `24:00`.
fn parse_clock(s: &str) -> Option<Clock> {
    let (h, m) = s.split_once(':')?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let (h, m) = (parse_digits(h)?, parse_digits(m)?);
    match (h, m) {
        (24, 0) => Some(Clock(MINUTES_PER_DAY)),
        (0..=23, 0..=59) => Some(Clock((h * 60 + m) as u16)),
        _ => None,
    }
}

/// ASCII digits only (no sign, no spaces), as Go's `ParseUint`; `None` past `u64`.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_day_span(item: &str) -> Result<DaySpan, ScheduleError> {
    let mut parts = item.split('-');
    let first = parts.next().unwrap_or_default();
    let second = parts.next();
    if parts.next().is_some() {
        return Err(ScheduleError::BadDayRange {
            item: item.to_owned(),
        });
    }
    let day = |s: &str| {
        parse_day(s).ok_or_else(|| ScheduleError::BadWeekday {
            item: item.to_owned(),
            day: s.to_owned(),
        })
    };
    let start = day(first)?;
    let mut end = match second {
        Some(s) => day(s)?,
        None => start,
    };
    if start.week != 0 && end.week != 0 && start != end {
        if end.week < start.week {
            return Err(ScheduleError::WeeksReversed {
                item: item.to_owned(),
            });
        }
        // As snapd since 2.43: `mon1-fri3` could mean different days depending on the
        // calendar, so a range numbered at both ends is anchored at its start (`mon1-fri`).
        end.week = 0;
    }
    Ok(DaySpan { start, end })
}

fn parse_day(s: &str) -> Option<Day> {
    let (name, week) = match s.len() {
        3 => (s, 0),
        4 => {
            let (name, week) = (s.get(..3)?, s.get(3..)?);
            let week = parse_digits(week).filter(|w| (1..=5).contains(w))?;
            (name, week as u8)
        }
        _ => return None,
    };
    let weekday = match name {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    };
    Some(Day { weekday, week })
}

impl Schedule {
    /// The next window at or after `max(now, last)`: the earliest one that has not ended
    /// and does not contain `last` (the window of the last refresh is done), as snapd's
    /// `timeutil.Next`. With a last refresh, a window later than [`MAX_POSTPONEMENT`] after
    /// it is replaced by the hour starting then, so a refresh is never put off longer; when
    /// that moment has passed, that window is open (until now, at least). `last` may be in the future
    /// (the end of a hold): the window then comes after it.
    pub fn next_window(&self, tz: &TimeZone, now: Timestamp, last: Option<Timestamp>) -> Window {
        let after = last.map_or(now, |l| l.max(now));
        let cap = last.map(|l| {
            let start = l.saturating_add(MAX_POSTPONEMENT).unwrap_or(Timestamp::MAX);
            let hour = start
                .saturating_add(SignedDuration::from_hours(1))
                .unwrap_or(Timestamp::MAX);
            // Overdue: the window stays open until now.
            Window {
                start,
                end: hour.max(after),
                spread: false,
            }
        });
        let fallback = cap.unwrap_or(Window {
            start: after,
            end: after,
            spread: false,
        });
        // snapd takes each event's next window and keeps the first that starts strictly
        // earlier, beginning with the cap.
        let mut best = cap;
        for event in &self.events {
            if let Some(w) = event.next_window(tz, after, last)
                && best.is_none_or(|b| w.start < b.start)
            {
                best = Some(w);
            }
        }
        best.unwrap_or(fallback)
    }

    /// When the next automatic refresh should happen: the start of the next window, or a
    /// point in it drawn from `seed` when the window is spread (`~`). Never before `now`:
    /// a time already passed means "now". Never refreshed (`last` is `None`): now, as snapd.
    ///
    /// The point is a pure function of the seed and the window, so asking again later gives
    /// the same answer until the refresh is done; a device keeping one random seed lands at
    /// a different point of each window, and devices with different seeds spread over it.
    pub fn next(
        &self,
        tz: &TimeZone,
        now: Timestamp,
        last: Option<Timestamp>,
        seed: u64,
    ) -> Timestamp {
        if last.is_none() {
            return now;
        }
        let w = self.next_window(tz, now, last);
        let at = if w.spread {
            w.start
                .saturating_add(spread_offset(&w, seed))
                .unwrap_or(w.start)
        } else {
            w.start
        };
        at.max(now)
    }
}

/// The random offset into a spread window: uniform in [0, length - 5 min) (the whole
/// length for windows of 5 minutes or less), as snapd's `randDur`, but drawn from the seed
/// mixed with the window's start instead of a global random source.
fn spread_offset(w: &Window, seed: u64) -> SignedDuration {
    let mut len = w.end.duration_since(w.start);
    if len > SPREAD_END_MARGIN {
        len -= SPREAD_END_MARGIN;
    }
    let len = len.as_nanos();
    if len <= 0 {
        return SignedDuration::ZERO;
    }
    let draw = splitmix64(seed ^ splitmix64(w.start.as_second() as u64));
    // Lemire's multiply-shift: an unbiased-enough map of 64 random bits onto [0, len).
    let nanos = (u128::from(draw) * len as u128) >> 64;
    SignedDuration::from_nanos_i128(nanos as i128)
}

/// SplitMix64's output function: a fixed, well-mixed map from 64 bits to 64 bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Event {
    /// This event's first window that ends at or after `after` and does not contain
    /// `last`: day by day, the earliest-starting one of the first day that has any.
    fn next_window(
        &self,
        tz: &TimeZone,
        after: Timestamp,
        last: Option<Timestamp>,
    ) -> Option<Window> {
        let spans = self.flattened_spans();
        // A window of the day before may wrap past midnight into `after`.
        let mut day = tz.to_datetime(after).date().yesterday().ok()?;
        for _ in 0..SEARCH_DAYS {
            if self.days.is_empty() || self.days.iter().any(|d| d.matches(day)) {
                let best = spans
                    .iter()
                    .filter_map(|s| s.window(tz, day))
                    .filter(|w| w.end >= after && !last.is_some_and(|l| w.includes(l)))
                    .reduce(|a, b| if b.start < a.start { b } else { a });
                if best.is_some() {
                    return best;
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The times with every `/N` split applied; no times at all is midnight.
    fn flattened_spans(&self) -> Vec<ClockSpan> {
        if self.times.is_empty() {
            return vec![ClockSpan {
                start: Clock(0),
                end: Clock(0),
                split: 0,
                spread: false,
            }];
        }
        self.times.iter().flat_map(ClockSpan::subspans).collect()
    }
}

impl ClockSpan {
    /// The windows `/N` splits this range into, each as long as the range divided by N,
    /// cut to the minute as snapd's `Clock.Add` does.
    fn subspans(&self) -> Vec<ClockSpan> {
        if self.split <= 1 || self.start == self.end {
            return vec![*self];
        }
        let (start, end) = (i128::from(self.start.0), i128::from(self.end.0));
        let len = if end >= start {
            end - start
        } else {
            end + i128::from(MINUTES_PER_DAY) - start
        };
        let step = len * NANOS_PER_MINUTE / i128::from(self.split);
        let clock = |nanos: i128| {
            Clock((nanos.div_euclid(NANOS_PER_MINUTE) % i128::from(MINUTES_PER_DAY)) as u16)
        };
        (0..i128::from(self.split))
            .map(|i| {
                let s = clock(start * NANOS_PER_MINUTE + i * step);
                ClockSpan {
                    start: s,
                    end: clock(i128::from(s.0) * NANOS_PER_MINUTE + step),
                    split: 0,
                    spread: self.spread,
                }
            })
            .collect()
    }

    /// This span's window on `day`: from its start that day to its end, the next day if
    /// the end is earlier than the start. Local times in a DST gap move forward, times in a
    /// fold take the earlier instant (jiff's "compatible", as Go's `time.Date` does).
    fn window(&self, tz: &TimeZone, day: Date) -> Option<Window> {
        let start = self.start.on(day)?;
        let end_day = if self.end < self.start {
            day.tomorrow().ok()?
        } else {
            day
        };
        let start = tz.to_timestamp(start).ok()?;
        // A start in a DST gap moves forward and may pass the end (`2:30-3:10` on the day
        // clocks jump from 2:00 to 3:00): such a window is just its start.
        let end = tz.to_timestamp(self.end.on(end_day)?).ok()?.max(start);
        Some(Window {
            start,
            end,
            spread: self.spread,
        })
    }
}

impl Clock {
    fn on(self, day: Date) -> Option<DateTime> {
        if self.0 == MINUTES_PER_DAY {
            return Some(day.tomorrow().ok()?.at(0, 0, 0, 0));
        }
        Some(day.at((self.0 / 60) as i8, (self.0 % 60) as i8, 0, 0))
    }
}

impl DaySpan {
    /// Whether `day` is in this range of days.
    fn matches(&self, day: Date) -> bool {
        if self.start.week == 0 && self.end.week == 0 {
            let (s, e) = (
                sunday_zero(self.start.weekday),
                sunday_zero(self.end.weekday),
            );
            let d = sunday_zero(day.weekday());
            // `fri-mon` wraps past the end of the week (Sunday is 0, as in Go).
            return if s <= e {
                s <= d && d <= e
            } else {
                d >= s || d <= e
            };
        }
        // A numbered range is at most eight days around its numbered end, so it can reach
        // into `day`'s month from the month before or after.
        let first = day.first_of_month();
        let months = [
            first.yesterday().map(Date::first_of_month).ok(),
            Some(first),
            day.last_of_month().tomorrow().ok(),
        ];
        months
            .into_iter()
            .flatten()
            .filter_map(|month| self.dates_in(month))
            .any(|(from, to)| from <= day && day <= to)
    }

    /// The first and last day of this numbered range, anchored at its numbered end in
    /// `month`: `mon1-fri` is the first Monday and the Friday after it, `mon-fri1` the first
    /// Friday and the Monday before it; `mon1-mon` is eight days.
    fn dates_in(&self, month: Date) -> Option<(Date, Date)> {
        let at_start = self.start.week != 0;
        let anchor = if at_start { self.start } else { self.end };
        let nth = if anchor.week == LAST_WEEK {
            -1
        } else {
            anchor.week as i8
        };
        let anchor = month.nth_weekday_of_month(nth, anchor.weekday).ok()?;
        let mut len =
            (sunday_zero(self.end.weekday) - sunday_zero(self.start.weekday)).rem_euclid(7);
        if len == 0 && self.start != self.end {
            len = 7;
        }
        let len = i64::from(len).days();
        if at_start {
            Some((anchor, anchor.checked_add(len).ok()?))
        } else {
            Some((anchor.checked_sub(len).ok()?, anchor))
        }
    }
}

fn sunday_zero(w: Weekday) -> i8 {
    w.to_sunday_zero_offset()
}

/// The canonical form, as snapd's `String()`: two-digit hours, numbered range ends dropped.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                f.write_str(",,")?;
            }
            let days = event.days.iter().map(ToString::to_string);
            let times = event.times.iter().map(ToString::to_string);
            let items: Vec<String> = days.chain(times).collect();
            f.write_str(&items.join(","))?;
        }
        Ok(())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.weekday {
            Weekday::Monday => "mon",
            Weekday::Tuesday => "tue",
            Weekday::Wednesday => "wed",
            Weekday::Thursday => "thu",
            Weekday::Friday => "fri",
            Weekday::Saturday => "sat",
            Weekday::Sunday => "sun",
        };
        f.write_str(name)?;
        if self.week != 0 {
            write!(f, "{}", self.week)?;
        }
        Ok(())
    }
}

impl fmt::Display for DaySpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Display for ClockSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            return write!(f, "{}", self.start);
        }
        let sep = if self.spread { '~' } else { '-' };
        write!(f, "{}{sep}{}", self.start, self.end)?;
        if self.split > 0 {
            write!(f, "/{}", self.split)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
