//! RFC3339 UTC timestamps.
//!
//! Hand-written instead of pulling a date crate: the engine only ever needs
//! "now" in UTC, formatting with nanoseconds (the shape Go's `time.Time`
//! marshals to, which `snap changes` parses) and parsing what it wrote
//! (plus the `±hh:mm` offsets a real snapd `state.json` may contain).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, shown and stored as an RFC3339 UTC string
/// (`2024-05-01T10:00:00.123456789Z`; trailing fractional zeros trimmed, as
/// Go's `RFC3339Nano`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Nanoseconds since the Unix epoch; signed so pre-1970 input still parses.
    nanos: i128,
}

const NANOS_PER_SEC: i128 = 1_000_000_000;

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// Builds a timestamp from whole seconds since the epoch.
    pub fn from_unix_secs(secs: i64) -> Self {
        Self {
            nanos: i128::from(secs) * NANOS_PER_SEC,
        }
    }

    /// Seconds since the epoch (floored).
    pub fn unix_secs(self) -> i64 {
        self.nanos.div_euclid(NANOS_PER_SEC) as i64
    }

    /// Converts back to a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        if self.nanos >= 0 {
            UNIX_EPOCH + duration_from_nanos(self.nanos)
        } else {
            UNIX_EPOCH - duration_from_nanos(-self.nanos)
        }
    }

    /// How long after `earlier` this is (zero if it is not later).
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        let diff = self.nanos - earlier.nanos;
        if diff <= 0 {
            Duration::ZERO
        } else {
            duration_from_nanos(diff)
        }
    }

    /// Seconds-precision form used in task log lines (`2024-05-01T10:00:01Z`).
    pub fn to_rfc3339_secs(self) -> String {
        let (date, secs_of_day, _) = self.split();
        format_parts(date, secs_of_day, None)
    }

    /// Full form with nanoseconds, trailing zeros trimmed.
    pub fn to_rfc3339(self) -> String {
        let (date, secs_of_day, frac) = self.split();
        format_parts(date, secs_of_day, Some(frac))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)`.
    pub fn parse_rfc3339(s: &str) -> Result<Self, crate::StateError> {
        parse(s).ok_or_else(|| crate::StateError::BadTimestamp(s.to_owned()))
    }

    fn split(self) -> ((i64, u32, u32), i64, u32) {
        let secs = self.nanos.div_euclid(NANOS_PER_SEC) as i64;
        let frac = self.nanos.rem_euclid(NANOS_PER_SEC) as u32;
        let days = secs.div_euclid(86_400);
        let secs_of_day = secs.rem_euclid(86_400);
        (civil_from_days(days), secs_of_day, frac)
    }
}

fn duration_from_nanos(n: i128) -> Duration {
    Duration::new((n / NANOS_PER_SEC) as u64, (n % NANOS_PER_SEC) as u32)
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        let nanos = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Self { nanos }
    }
}

/// `t + d`, saturating.
impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, d: Duration) -> Timestamp {
        Timestamp {
            nanos: self.nanos.saturating_add(d.as_nanos() as i128),
        }
    }
}

/// `t - d`, saturating.
impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, d: Duration) -> Timestamp {
        Timestamp {
            nanos: self.nanos.saturating_sub(d.as_nanos() as i128),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

fn format_parts((y, m, d): (i64, u32, u32), secs_of_day: i64, frac: Option<u32>) -> String {
    let (hh, mm, ss) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if let Some(frac) = frac.filter(|f| *f != 0) {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's well-known civil-from-days algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac: i128 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Keep nanosecond precision; extra digits are truncated.
        let digits = &s[start..i];
        let mut padded: String = digits.chars().take(9).collect();
        while padded.len() < 9 {
            padded.push('0');
        }
        frac = padded.parse().ok()?;
    }
    let offset_secs: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let off = oh * 3600 + om * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss - offset_secs;
    Some(Timestamp {
        nanos: i128::from(secs) * NANOS_PER_SEC + frac,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(
            Timestamp::from_unix_secs(0).to_rfc3339(),
            "1970-01-01T00:00:00Z"
        );
        let t = Timestamp::from_unix_secs(1_714_557_600) + Duration::from_nanos(123_456_789);
        assert_eq!(t.to_rfc3339(), "2024-05-01T10:00:00.123456789Z");
        assert_eq!(t.to_rfc3339_secs(), "2024-05-01T10:00:00Z");
        let t = Timestamp::from_unix_secs(951_782_400) + Duration::from_millis(500);
        assert_eq!(t.to_rfc3339(), "2000-02-29T00:00:00.5Z");
    }

    #[test]
    fn parses_what_it_writes_and_offsets() {
        for secs in [0i64, 951_782_400, 1_714_557_600, 4_102_444_800, -86_400] {
            for nanos in [0u64, 1, 500_000_000, 999_999_999] {
                let t = Timestamp::from_unix_secs(secs) + Duration::from_nanos(nanos);
                assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
            }
        }
        let a = Timestamp::parse_rfc3339("2024-05-01T12:00:00+02:00").unwrap();
        let b = Timestamp::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(a, b);
        assert!(Timestamp::parse_rfc3339("2024-05-01 10:00").is_err());
        assert!(Timestamp::parse_rfc3339("2024-13-01T10:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2024-05-01T10:00:00").is_err());
    }

    #[test]
    fn system_time_round_trip() {
        let now = SystemTime::now();
        let t = Timestamp::from(now);
        assert_eq!(t.to_system_time(), now);
    }
}
