//! Rules about one volume: its name and schema, each structure, unique structure names, and
//! how the (sorted) structures sit next to each other: MBR at 0, `offset-write` targets, no
//! overlaps.

use std::collections::HashSet;

use crate::spec::{SpecStructure, SpecVolume};
use crate::validate::structure::validate_structure;

/// Bytes written at an `offset-write` position (a 32-bit LBA).
pub const OFFSET_WRITE_SIZE: u64 = 4;

/// `^[a-zA-Z0-9][a-zA-Z0-9-]+$`: at least two characters.
pub(crate) fn is_valid_volume_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.len() >= 2
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks a volume whose implicit values are set and structures sorted; the error is the
/// reason, to be prefixed with the volume. Warnings (snapd only logs them) are appended.
pub(crate) fn validate_volume(vol: &SpecVolume, warnings: &mut Vec<String>) -> Result<(), String> {
    if !is_valid_volume_name(&vol.name) {
        return Err("invalid name".to_owned());
    }
    if !vol.has_partial("schema") && !matches!(vol.schema.as_str(), "gpt" | "mbr" | "emmc") {
        return Err(format!("invalid schema {:?}", vol.schema));
    }
    let mut names = HashSet::new();
    for s in &vol.structures {
        validate_structure(s, vol)
            .map_err(|e| format!("invalid structure {}: {e}", s.describe()))?;
        if vol.schema == "gpt" {
            gpt_header_warning(vol, s, warnings);
        }
        if !s.name.is_empty() && !names.insert(s.name.as_str()) {
            return Err(format!("structure name {:?} is not unique", s.name));
        }
    }
    validate_placement(vol)
}

/// The primary GPT sits at [512, 512*34) with 512-byte sectors and [4096, 4096*6) with
/// 4096-byte ones. A structure over the part both share certainly clobbers it, one over either
/// may; snapd only warns, as the sector size is not known yet.
fn gpt_header_warning(vol: &SpecVolume, s: &SpecStructure, warnings: &mut Vec<String>) {
    let Some(start) = s.offset else { return };
    let end = start.saturating_add(s.min_size);
    if start < 512 * 34 && end > 4096 {
        warnings.push(format!(
            "volume {:?}: structure {} overlaps the GPT header or partition table",
            vol.name,
            s.describe()
        ));
    } else if start < 4096 * 6 && end > 512 {
        warnings.push(format!(
            "volume {:?}: structure {} might overlap the GPT header or partition table",
            vol.name,
            s.describe()
        ));
    }
}

/// Cross-structure rules over the sorted structures (none for eMMC, whose hardware partitions
/// are separate devices).
fn validate_placement(vol: &SpecVolume) -> Result<(), String> {
    if vol.schema == "emmc" {
        return Ok(());
    }
    let Some(first) = vol.structures.first() else {
        return Ok(());
    };
    let min_size = vol.min_size();
    let mut previous_end = 0u64;
    for (i, s) in vol.structures.iter().enumerate() {
        if s.is_mbr() && s.offset != Some(0) {
            return Err(format!(
                r#"structure {} has "mbr" role and must start at offset 0"#,
                s.describe()
            ));
        }
        validate_offset_write(s, first, min_size)?;
        match s.offset {
            Some(offset) => {
                if offset < previous_end {
                    let before = i.checked_sub(1).and_then(|p| vol.structures.get(p));
                    return Err(format!(
                        "structure {} overlaps with the preceding structure {}",
                        s.describe(),
                        before.map(SpecStructure::describe).unwrap_or_default()
                    ));
                }
                previous_end = offset.checked_add(s.size).ok_or_else(|| {
                    format!("structure {} ends past the largest offset", s.describe())
                })?;
            }
            None => {
                previous_end = previous_end.checked_add(s.size).ok_or_else(|| {
                    format!("structure {} ends past the largest offset", s.describe())
                })?;
            }
        }
    }
    Ok(())
}

/// `offset-write` may only name the first structure, which must start at 0, and the 4 bytes
/// must fit in it (at its minimum size); an absolute position must fit in the volume.
fn validate_offset_write(
    s: &SpecStructure,
    first: &SpecStructure,
    volume_min_size: u64,
) -> Result<(), String> {
    let Some(ow) = &s.offset_write else {
        return Ok(());
    };
    let write_end = ow.offset.saturating_add(OFFSET_WRITE_SIZE);
    match ow.relative_to.as_deref() {
        Some(target) => {
            if target != first.name {
                return Err(format!(
                    "structure {} refers to an unexpected structure {target:?}",
                    s.describe()
                ));
            }
            if first.offset != Some(0) {
                return Err(format!(
                    "structure {} refers to structure {target:?}, which does not have 0 offset",
                    s.describe()
                ));
            }
            if write_end > first.min_size {
                return Err(format!(
                    "structure {} wants to write offset of {OFFSET_WRITE_SIZE} bytes to {}, outside of referred structure {target:?}",
                    s.describe(),
                    ow.offset
                ));
            }
        }
        None => {
            if write_end > volume_min_size {
                return Err(format!(
                    "structure {} wants to write offset of {OFFSET_WRITE_SIZE} bytes to {}, outside of volume of min size {volume_min_size}",
                    s.describe(),
                    ow.offset
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RelativeOffset;

    #[test]
    fn volume_names() {
        for ok in ["valid", "still-valid", "123volume", "PC", "pc2", "ab"] {
            assert!(is_valid_volume_name(ok), "{ok}");
        }
        for bad in ["-valid", "in+valid", "with whitespace", "", "a", "é"] {
            assert!(!is_valid_volume_name(bad), "{bad}");
        }
    }

    fn st(name: &str, offset: Option<u64>, size: u64) -> SpecStructure {
        SpecStructure {
            name: name.into(),
            offset,
            size,
            min_size: size,
            type_: "bare".into(),
            ..Default::default()
        }
    }

    fn vol(structures: Vec<SpecStructure>) -> SpecVolume {
        SpecVolume {
            name: "pc".into(),
            schema: "gpt".into(),
            structures,
            ..Default::default()
        }
    }

    fn check(v: &SpecVolume) -> Result<(), String> {
        validate_volume(v, &mut Vec::new())
    }

    #[test]
    fn schema_must_be_known() {
        let mut v = vol(vec![]);
        v.schema = "some".into();
        assert_eq!(check(&v).unwrap_err(), r#"invalid schema "some""#);
        v.partial = vec!["schema".into()];
        v.schema = String::new();
        assert!(check(&v).is_ok());
    }

    #[test]
    fn names_are_unique() {
        let v = vol(vec![
            st("duplicate", Some(24576), 1024),
            st("duplicate", Some(30000), 2048),
        ]);
        assert_eq!(
            check(&v).unwrap_err(),
            r#"structure name "duplicate" is not unique"#
        );
    }

    #[test]
    fn overlaps_name_both_structures() {
        let mut a = st("mbr", Some(0), 440);
        a.role = "mbr".into();
        let mut b = st("other-name", Some(200), 300);
        b.yaml_index = 1;
        assert_eq!(
            check(&vol(vec![a, b])).unwrap_err(),
            r#"structure #1 ("other-name") overlaps with the preceding structure #0 ("mbr")"#
        );
    }

    #[test]
    fn structures_after_a_range_count_at_full_size() {
        let mut p2 = st("p2", None, 3 << 20);
        p2.min_size = 2 << 20;
        p2.yaml_index = 1;
        let mut p3 = st("p3", Some(5 << 20), 1 << 20);
        p3.yaml_index = 2;
        // p1 [2M,3M), p2 [3M, 6M) at its full size, p3 at 5M overlaps.
        let v = vol(vec![st("p1", Some(2 << 20), 1 << 20), p2, p3]);
        assert!(check(&v).unwrap_err().contains(r#"#2 ("p3") overlaps"#));
    }

    #[test]
    fn mbr_must_be_at_zero() {
        let mut m = st("mbr", Some(510), 440);
        m.role = "mbr".into();
        // The structure rule catches an explicit offset first.
        assert!(check(&vol(vec![st("x", Some(500), 10), m.clone()])).is_err());
        m.offset = None;
        assert_eq!(
            check(&vol(vec![st("x", Some(500), 10), m])).unwrap_err(),
            r#"structure #0 ("mbr") has "mbr" role and must start at offset 0"#
        );
    }

    #[test]
    fn offset_write_targets() {
        let first = st("mbr", Some(0), 440);
        let ow = |rel: Option<&str>, off: u64| RelativeOffset {
            relative_to: rel.map(str::to_owned),
            offset: off,
        };
        let test = |o: RelativeOffset, min: u64| {
            let s = SpecStructure {
                name: "test".into(),
                offset_write: Some(o),
                ..Default::default()
            };
            validate_offset_write(&s, &first, min)
        };
        assert_eq!(
            test(ow(Some("foo"), 0), 512).unwrap_err(),
            r#"structure #0 ("test") refers to an unexpected structure "foo""#
        );
        assert_eq!(
            test(ow(Some("mbr"), 437), 512).unwrap_err(),
            r#"structure #0 ("test") wants to write offset of 4 bytes to 437, outside of referred structure "mbr""#
        );
        assert!(test(ow(Some("mbr"), 436), 512).is_ok());
        assert_eq!(
            test(ow(None, 1024), 512).unwrap_err(),
            r#"structure #0 ("test") wants to write offset of 4 bytes to 1024, outside of volume of min size 512"#
        );
        assert!(test(ow(None, 100), 512).is_ok());
        let mut not_zero = first.clone();
        not_zero.offset = Some(512);
        let s = SpecStructure {
            name: "test".into(),
            offset_write: Some(ow(Some("mbr"), 0)),
            ..Default::default()
        };
        assert_eq!(
            validate_offset_write(&s, &not_zero, 4096).unwrap_err(),
            r#"structure #0 ("test") refers to structure "mbr", which does not have 0 offset"#
        );
    }

    #[test]
    fn gpt_header_area_warnings() {
        let warn = |offset: u64, size: u64| {
            let mut w = Vec::new();
            validate_volume(&vol(vec![st("name", Some(offset), size)]), &mut w).unwrap();
            w
        };
        assert!(warn(0, 511).is_empty());
        assert!(warn(512, 511)[0].contains("might overlap"));
        assert!(warn(0, 4096)[0].contains("might overlap"));
        assert!(warn(1024, 16383)[0].contains("overlaps the GPT"));
        assert!(warn(17407, 2048)[0].contains("overlaps the GPT"));
        assert!(warn(17408, 2048)[0].contains("might overlap"));
        assert!(warn(1 << 20, 4096).is_empty());
    }
}
