//! Times as `snap changes` shows them: "today at 14:03 UTC", "yesterday at ...", or the date.

/// Formats an RFC3339 UTC timestamp relative to `now` (also RFC3339); anything unparsable is
/// shown as given, and an empty one as `-`.
pub fn human(ts: &str, now: &str) -> String {
    if ts.is_empty() {
        return "-".into();
    }
    let (Some((date, hm)), Some((today, _))) = (split(ts), split(now)) else {
        return ts.to_owned();
    };
    if date == today {
        format!("today at {hm} UTC")
    } else if days(&date)
        .zip(days(&today))
        .is_some_and(|(d, t)| t - d == 1)
    {
        format!("yesterday at {hm} UTC")
    } else {
        date
    }
}

/// ("YYYY-MM-DD", "HH:MM") of an RFC3339 timestamp.
fn split(ts: &str) -> Option<(String, String)> {
    let (date, rest) = ts.split_once('T')?;
    Some((date.to_owned(), rest.get(..5)?.to_owned()))
}

/// Days since the epoch of a proleptic Gregorian date (the usual civil-from-days inverse).
fn days(date: &str) -> Option<i64> {
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146097 + doe - 719468)
}

/// Now, as RFC3339 UTC (seconds precision is all the display needs).
pub fn now_rfc3339() -> String {
    rfc3339_in(0)
}

/// `secs` seconds from now, as RFC3339 UTC.
pub fn rfc3339_in(after: i64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        .saturating_add(after);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_days() {
        let now = "2026-03-01T10:00:00Z";
        assert_eq!(human("2026-03-01T09:05:33.1Z", now), "today at 09:05 UTC");
        assert_eq!(human("2026-02-28T23:59:00Z", now), "yesterday at 23:59 UTC");
        assert_eq!(human("2026-02-20T23:59:00Z", now), "2026-02-20");
        assert_eq!(human("", now), "-");
    }

    #[test]
    fn civil_round_trip() {
        for d in [-1000, 0, 1, 19000, 20000, 25000] {
            let (y, m, dd) = civil(d);
            assert_eq!(days(&format!("{y:04}-{m:02}-{dd:02}")), Some(d));
        }
    }
}
