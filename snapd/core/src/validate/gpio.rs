//! A gadget's gpio-chardev slots must not export the same line of a chip twice.

use crate::error::{SnapYamlError, join};
use crate::model::{SnapType, SnapYaml};

/// An inclusive span of GPIO line numbers.
type Span = (u32, u32);

/// Inclusive line spans, e.g. `0,3-5`.
fn parse_range(input: &str) -> Result<Vec<Span>, String> {
    let mut spans: Vec<Span> = Vec::new();
    for token in input.split(',') {
        let num = |s: &str| {
            s.parse::<u32>()
                .ok()
                .filter(|_| s.bytes().all(|c| c.is_ascii_digit()))
        };
        let span = match token.split_once('-') {
            None => {
                let v = num(token).ok_or_else(|| format!("invalid range span {token:?}"))?;
                (v, v)
            }
            Some((a, b)) => {
                let start = num(a).ok_or_else(|| format!("invalid range span start {token:?}"))?;
                let end = num(b).ok_or_else(|| format!("invalid range span end {token:?}"))?;
                if end <= start {
                    return Err(format!(
                        "invalid range span {token:?}: ends before it starts"
                    ));
                }
                (start, end)
            }
        };
        if spans.iter().any(|s| s.0 <= span.1 && span.0 <= s.1) {
            return Err(format!("overlapping range span found {token:?}"));
        }
        spans.push(span);
    }
    Ok(spans)
}

fn span_text((a, b): Span) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}-{b}")
    }
}

/// Slots whose attributes are missing or mistyped are left to the gpio-chardev interface's own
/// sanitization (it drops them as bad interfaces); only well-formed ones are compared here.
pub(super) fn validate_gpio_chardev_slots(snap: &SnapYaml) -> Result<(), SnapYamlError> {
    if snap.snap_type != SnapType::Gadget {
        return Ok(());
    }
    // (chip, slot, spans)
    let mut entries: Vec<(&str, &str, Vec<Span>)> = Vec::new();
    for slot in snap
        .slots
        .values()
        .filter(|s| s.interface == "gpio-chardev")
    {
        let chips = slot.attr("source-chip").and_then(|v| v.as_string_list());
        let lines = slot.attr("lines").and_then(|v| v.as_str());
        let (Some(chips), Some(lines)) = (chips, lines) else {
            continue;
        };
        let spans = parse_range(lines).map_err(|e| {
            SnapYamlError::invalid(
                join("slots", &slot.name),
                format!(
                    "invalid \"lines\" attribute found in slot {:?}: {e}",
                    slot.name
                ),
            )
        })?;
        for chip in chips {
            entries.push((chip, &slot.name, spans.clone()));
        }
    }
    for (i, (chip_a, slot_a, spans_a)) in entries.iter().enumerate() {
        for (chip_b, slot_b, spans_b) in &entries[i + 1..] {
            if chip_a != chip_b {
                continue;
            }
            for a in spans_a {
                if let Some(b) = spans_b.iter().find(|b| a.0 <= b.1 && b.0 <= a.1) {
                    return Err(SnapYamlError::invalid(
                        join("slots", slot_b),
                        format!(
                            "invalid \"lines\" attribute: chip {chip_a:?} has reused conflicting \
                             line spans: {:?} in slot {slot_b:?} conflicts with {:?} in slot {slot_a:?}",
                            span_text(*b),
                            span_text(*a)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0,3-5").unwrap(), vec![(0, 0), (3, 5)]);
        assert!(parse_range("5-3").unwrap_err().contains("ends before"));
        assert!(parse_range("1,1").unwrap_err().contains("overlapping"));
        assert!(parse_range("x").is_err());
        assert!(parse_range("").is_err());
    }
}
