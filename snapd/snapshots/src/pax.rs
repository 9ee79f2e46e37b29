//! PAX `mtime` records: the tar header keeps whole seconds only, so nanoseconds travel in a
//! PAX extended header before the entry (POSIX.1-2001), which GNU tar and the tar crate read.

/// One PAX record, `"<len> <key>=<value>\n"`, where `<len>` counts the whole record itself.
pub fn record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

pub fn mtime_value(secs: i64, nanos: u32) -> String {
    format!("{secs}.{nanos:09}")
}

/// Parses a PAX time (`SECS[.FRACTION]`, non-negative) into seconds and nanoseconds.
pub fn parse_time(v: &str) -> Option<(i64, u32)> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos = 0u32;
    for (i, d) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
    }
    Some((secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_count_their_own_length() {
        let r = record("mtime", b"1700000000.123456789");
        assert_eq!(r, b"30 mtime=1700000000.123456789\n");
        assert_eq!(r.len(), 30);
        // Where adding the length's digits carries into one more digit.
        let r = record("k", "v".repeat(94).as_bytes());
        assert_eq!(r.len(), 101);
        assert!(r.starts_with(b"101 k="));
    }

    #[test]
    fn times_parse_with_any_precision() {
        assert_eq!(parse_time(&mtime_value(5, 7)), Some((5, 7)));
        assert_eq!(parse_time("12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_time("12"), Some((12, 0)));
        assert_eq!(parse_time("12.1234567891"), Some((12, 123_456_789)));
        assert_eq!(parse_time("-1.5"), None);
        assert_eq!(parse_time("x"), None);
    }
}
