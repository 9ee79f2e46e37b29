//! The structure `type`: `bare`, legacy `mbr`, an MBR type byte (`0C`), a GPT type GUID, or a
//! hybrid `XX,GUID` from which the half matching the volume schema is used.

/// A validated structure type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StructureType {
    /// `bare`: a raw region that is not a partition.
    Bare,
    /// `mbr`: the legacy spelling of `role: mbr` (not a partition).
    LegacyMbr,
    /// Two upper-case hex digits: an MBR partition type (only on `mbr` schema volumes).
    Mbr(u8),
    /// A GPT partition type GUID, upper-cased (only on `gpt` schema volumes).
    Gpt(String),
    /// `XX,GUID`: usable on either schema.
    Hybrid { mbr: u8, gpt: String },
    /// No type: structures of `emmc` volumes (hardware partitions) have none.
    Unset,
}

/// The partition type written into a partition table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionType {
    Mbr(u8),
    Gpt(String),
}

impl StructureType {
    /// The partition-table type for a volume of the given schema; `None` for structures that
    /// are not partitions (or a type that does not fit the schema, which validation refuses).
    pub fn partition_type(&self, schema: crate::Schema) -> Option<PartitionType> {
        use crate::Schema;
        match (self, schema) {
            (Self::Mbr(code), Schema::Mbr) | (Self::Hybrid { mbr: code, .. }, Schema::Mbr) => {
                Some(PartitionType::Mbr(*code))
            }
            (Self::Gpt(guid), Schema::Gpt) | (Self::Hybrid { gpt: guid, .. }, Schema::Gpt) => {
                Some(PartitionType::Gpt(guid.clone()))
            }
            _ => None,
        }
    }
}

/// Two upper-case hexadecimal digits (snapd's `^[0-9A-F]{2}$`).
pub fn parse_mbr_code(s: &str) -> Option<u8> {
    let upper_hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    (s.len() == 2 && s.bytes().all(upper_hex))
        .then(|| u8::from_str_radix(s, 16).ok())
        .flatten()
}

/// A GUID in 8-4-4-4-12 hex form, any case; returned upper-cased.
pub fn parse_guid(s: &str) -> Option<String> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == lens.len()
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| s.to_ascii_uppercase())
}

/// The syntactic class of a type string, before the schema is taken into account.
pub enum TypeSyntax {
    Bare,
    LegacyMbr,
    Mbr(u8),
    Gpt(String),
    Hybrid(u8, String),
}

/// Classifies a non-empty type string; the error is snapd's reason text.
pub fn classify(s: &str) -> Result<TypeSyntax, &'static str> {
    match s {
        "bare" => return Ok(TypeSyntax::Bare),
        "mbr" => return Ok(TypeSyntax::LegacyMbr),
        _ => {}
    }
    match s.split_once(',') {
        None => parse_mbr_code(s)
            .map(TypeSyntax::Mbr)
            .or_else(|| parse_guid(s).map(TypeSyntax::Gpt))
            .ok_or("invalid format"),
        Some((code, guid)) => match (parse_mbr_code(code), parse_guid(guid)) {
            (Some(code), Some(guid)) => Ok(TypeSyntax::Hybrid(code, guid)),
            _ => Err("invalid format of hybrid type"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schema;

    #[test]
    fn mbr_codes_are_two_upper_case_hex_digits() {
        assert_eq!(parse_mbr_code("0C"), Some(0x0c));
        assert_eq!(parse_mbr_code("EF"), Some(0xef));
        assert_eq!(parse_mbr_code("ef"), None);
        assert_eq!(parse_mbr_code("FG"), None);
        assert_eq!(parse_mbr_code("123"), None);
        assert_eq!(parse_mbr_code("+1"), None);
    }

    #[test]
    fn guids_are_case_insensitive() {
        assert_eq!(
            parse_guid("21686148-6449-6e6f-744E-656564454649").as_deref(),
            Some("21686148-6449-6E6F-744E-656564454649")
        );
        assert_eq!(parse_guid("GG686148-6449-6E6F-744E-656564454649"), None);
        assert_eq!(parse_guid("AA686148-6449-6E6F-744E-656564454649123"), None);
        assert_eq!(parse_guid("AA686148-6449-6E6F-744E6-56564454649"), None);
    }

    #[test]
    fn classification() {
        assert!(matches!(classify("bare"), Ok(TypeSyntax::Bare)));
        assert!(matches!(classify("mbr"), Ok(TypeSyntax::LegacyMbr)));
        assert!(matches!(classify("83"), Ok(TypeSyntax::Mbr(0x83))));
        assert!(matches!(
            classify("EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B"),
            Ok(TypeSyntax::Hybrid(0xef, _))
        ));
        assert_eq!(classify("1234").err(), Some("invalid format"));
        for bad in [
            ",AA686148-6449-6E6F-744E-656564454649",
            "EF,",
            "EFC,AA686148-6449-6E6F-744E-656564454649",
            "EF,AAAA686148-6449-6E6F-744E-656564454649",
            "EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B,X",
        ] {
            assert_eq!(
                classify(bad).err(),
                Some("invalid format of hybrid type"),
                "{bad}"
            );
        }
    }

    #[test]
    fn hybrid_types_pick_the_half_for_the_schema() {
        let t = StructureType::Hybrid {
            mbr: 0xef,
            gpt: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".into(),
        };
        assert_eq!(
            t.partition_type(Schema::Mbr),
            Some(PartitionType::Mbr(0xef))
        );
        assert_eq!(
            t.partition_type(Schema::Gpt),
            Some(PartitionType::Gpt(
                "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".into()
            ))
        );
        assert_eq!(StructureType::Bare.partition_type(Schema::Gpt), None);
        assert_eq!(StructureType::Mbr(0x83).partition_type(Schema::Gpt), None);
    }
}
