//! Durations in the syntax snapd (Go) accepts: a sequence of decimal numbers with a unit each,
//! e.g. `300ms`, `-1.5h`, `2h45m`. Units: ns, us (µs, μs), ms, s, m, h. A bare `0` is allowed.

use crate::model::Timeout;

const LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a duration; the error says what is wrong with it.
pub fn parse_duration(text: &str) -> Result<Timeout, String> {
    let invalid = || format!("invalid duration {text:?}");
    let overflow = || format!("invalid duration {text:?}: out of range");
    let mut s = text;
    let neg = s.starts_with('-');
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('+')) {
        s = rest;
    }
    if s == "0" {
        return Ok(Timeout::from_nanos(0));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut whole: u64 = 0;
        for &c in &b[..int_len] {
            whole = whole
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .filter(|&v| v <= LIMIT)
                .ok_or_else(overflow)?;
        }
        s = &s[int_len..];
        let (mut frac, mut scale, mut has_frac) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            has_frac = digits > 0;
            let mut saturated = false;
            for c in rest[..digits].bytes() {
                // Digits past what fits only lose precision, as in Go.
                match frac
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(c - b'0')))
                {
                    Some(v) if !saturated && v <= LIMIT => {
                        frac = v;
                        scale *= 10.0;
                    }
                    _ => saturated = true,
                }
            }
            s = &rest[digits..];
        }
        if int_len == 0 && !has_frac {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|c| *c != b'.' && !c.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err(format!("missing unit in duration {text:?}"));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let per = unit_nanos(unit)
            .ok_or_else(|| format!("unknown unit {unit:?} in duration {text:?}"))?;
        if whole > LIMIT / per {
            return Err(overflow());
        }
        let mut v = whole * per;
        if frac > 0 {
            // Truncation toward zero matches Go's conversion of the fractional part.
            v += (frac as f64 * (per as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(overflow());
            }
        }
        total = total
            .checked_add(v)
            .filter(|&t| t <= LIMIT)
            .ok_or_else(overflow)?;
    }
    if neg {
        // -2^63 is representable; that is why LIMIT is inclusive.
        return Ok(Timeout::from_nanos(0i64.wrapping_sub_unsigned(total)));
    }
    i64::try_from(total)
        .map(Timeout::from_nanos)
        .map_err(|_| overflow())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> i64 {
        parse_duration(s).unwrap().nanos()
    }

    #[test]
    fn accepted() {
        assert_eq!(ns("0"), 0);
        assert_eq!(ns("-0"), 0);
        assert_eq!(ns("10s"), 10_000_000_000);
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns(".5s"), 500_000_000);
        assert_eq!(ns("1.s"), 1_000_000_000);
        assert_eq!(ns("2h45m"), (2 * 3600 + 45 * 60) * 1_000_000_000);
        assert_eq!(ns("-1m"), -60_000_000_000);
        assert_eq!(ns("+5ms"), 5_000_000);
        assert_eq!(ns("3us"), 3_000);
        assert_eq!(ns("3µs"), 3_000);
        assert_eq!(ns("3μs"), 3_000);
        assert_eq!(ns("7ns"), 7);
        assert_eq!(ns("-9223372036854775808ns"), i64::MIN);
    }

    #[test]
    fn refused() {
        assert_eq!(
            parse_duration("10").unwrap_err(),
            "missing unit in duration \"10\""
        );
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration(".s").is_err());
        assert!(parse_duration("1d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("1 s").is_err());
        assert!(parse_duration("9223372036854775808ns").is_err());
        assert!(parse_duration("100000000000h").is_err());
        assert!(parse_duration("-").is_err());
    }
}
