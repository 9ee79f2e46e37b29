//! Sizes and offsets as gadget.yaml spells them: `<bytes>`, `<n>M` (MiB) or `<n>G` (GiB).
//!
//! The grammar is snapd's: a run of ASCII digits and `-` is the number, whatever follows is the
//! unit. No other unit (no `K`, no `MB`, no `Mi`) and no fractions.

/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// One gibibyte.
pub const GIB: u64 = 1 << 30;

/// Why a size or offset text was refused (the text itself is added by the caller).
fn parse_quantity(text: &str, what: &str) -> Result<u64, String> {
    let split = text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '-'))
        .map(|(i, _)| i);
    let (prefix, unit) = match split {
        Some(0) => return Err("no numerical prefix".to_owned()),
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let number: i64 = parse_go_int(prefix).ok_or_else(|| format!("{prefix:?} is not a number"))?;
    let multiplier: i64 = match unit {
        "M" => 1 << 20,
        "G" => 1 << 30,
        "" => 1,
        other => return Err(format!("invalid suffix {other:?}")),
    };
    // snapd multiplies in 64-bit signed arithmetic and silently wraps; here a value that does
    // not fit is refused instead.
    let value = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{what} is too large"))?;
    u64::try_from(value).map_err(|_| format!("{what} cannot be negative"))
}

/// `strconv.ParseInt(s, 10, 64)` on a run of digits and `-`: an optional single leading `-`,
/// then at least one digit.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a structure or content size (`size`, `min-size`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    parse_quantity(text, "size").map_err(|e| format!("cannot parse size {text:?}: {e}"))
}

/// Parses an offset (`offset`, content `offset`, the number in `offset-write`).
pub fn parse_offset(text: &str) -> Result<u64, String> {
    parse_quantity(text, "offset").map_err(|e| format!("cannot parse offset {text:?}: {e}"))
}

/// Formats a byte count with IEC units as snapd does in messages: `512 B`, `1.50 KiB`,
/// `578 MiB` (two decimals only when the value is not whole).
pub fn iec_string(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    // Display only: the precision loss of the float conversion is irrelevant here.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 1023.5 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_suffix() {
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("1234M"), Ok(1234 * MIB));
        assert_eq!(parse_size("1234G"), Ok(1234 * GIB));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("-0"), Ok(0));
        assert_eq!(parse_size("007"), Ok(7));
    }

    #[test]
    fn size_errors_as_snapd_words_them() {
        assert_eq!(
            parse_size("a0M").unwrap_err(),
            r#"cannot parse size "a0M": no numerical prefix"#
        );
        assert_eq!(
            parse_size("-123").unwrap_err(),
            r#"cannot parse size "-123": size cannot be negative"#
        );
        assert_eq!(
            parse_size("123a").unwrap_err(),
            r#"cannot parse size "123a": invalid suffix "a""#
        );
        assert_eq!(
            parse_size("").unwrap_err(),
            r#"cannot parse size "": "" is not a number"#
        );
        assert_eq!(
            parse_size("1-2").unwrap_err(),
            r#"cannot parse size "1-2": "1-2" is not a number"#
        );
        // Only M and G exist, and they are case sensitive.
        for bad in ["1K", "1MB", "1m", "1g", "1Mi", "1.5M", "0x10", "1 M", "+1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn huge_values_are_refused_not_wrapped() {
        assert!(parse_size("99999999999999999999").is_err());
        assert_eq!(
            parse_size("9007199254740992G").unwrap_err(),
            r#"cannot parse size "9007199254740992G": size is too large"#
        );
        assert_eq!(parse_size("9223372036854775807"), Ok(i64::MAX as u64));
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("1M"), Ok(MIB));
        assert_eq!(
            parse_offset("-1").unwrap_err(),
            r#"cannot parse offset "-1": offset cannot be negative"#
        );
        assert_eq!(
            parse_offset("1X").unwrap_err(),
            r#"cannot parse offset "1X": invalid suffix "X""#
        );
    }

    #[test]
    fn iec_strings_match_snapd() {
        assert_eq!(iec_string(512), "512 B");
        assert_eq!(iec_string(1000), "1000 B");
        assert_eq!(iec_string(1030), "1.01 KiB");
        assert_eq!(iec_string(1024 + 512), "1.50 KiB");
        assert_eq!(iec_string(123 * 1024), "123 KiB");
        assert_eq!(iec_string(512 * 1024), "512 KiB");
        assert_eq!(iec_string(578 * MIB), "578 MiB");
        assert_eq!(iec_string(GIB + 123 * MIB), "1.12 GiB");
        assert_eq!(iec_string(1024 * GIB), "1 TiB");
    }
}
