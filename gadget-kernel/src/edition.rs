//! `update: {edition: N}`: an unsigned 32-bit decimal number.

/// Parses an edition number as snapd does (`strconv.ParseUint(text, 10, 32)`): decimal digits
/// only, no sign, at most 4294967295.
pub fn parse_edition(text: &str) -> Result<u32, String> {
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    valid
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| format!(r#""edition" must be a positive number, not {text:?}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editions() {
        assert_eq!(parse_edition("1"), Ok(1));
        assert_eq!(parse_edition("0"), Ok(0));
        assert_eq!(parse_edition("9999999"), Ok(9_999_999));
        assert_eq!(parse_edition("4294967295"), Ok(u32::MAX));
        for bad in [
            "-1",
            "random-string",
            "NaN",
            "3.14",
            "",
            "+1",
            "4294967296",
            " 1",
        ] {
            assert_eq!(
                parse_edition(bad).unwrap_err(),
                format!(r#""edition" must be a positive number, not {bad:?}"#)
            );
        }
    }
}
