//! Rules about one structure on its own: size, type against the schema, role, filesystem,
//! content entries of the right kind, `update`.

use crate::quantity::{MIB, iec_string};
use crate::spec::{SpecContent, SpecStructure, SpecVolume};
use crate::structure_type::{TypeSyntax, classify};

/// The largest `mbr` structure: the boot code area before the partition table.
pub const MBR_MAX_SIZE: u64 = 446;

/// Type GUID of a `system-boot-state` (U-Boot environment) partition.
pub const SYSTEM_BOOT_STATE_GUID: &str = "3DE21764-95BD-54BD-A5C3-4ABE786F38A8";

const FILESYSTEMS: [&str; 5] = ["ext4", "vfat", "vfat-16", "vfat-32", "none"];

/// Checks one structure; the error is the reason, to be prefixed with the structure.
pub(crate) fn validate_structure(s: &SpecStructure, vol: &SpecVolume) -> Result<(), String> {
    if vol.schema == "emmc" {
        return validate_emmc_structure(s);
    }
    if !s.has_partial_size(vol.has_partial("size")) {
        if s.size == 0 {
            return Err("missing size".to_owned());
        }
        if s.min_size > s.size {
            return Err(format!(
                "min-size ({}) is bigger than size ({})",
                s.min_size, s.size
            ));
        }
    }
    validate_type(&s.type_, vol).map_err(|e| format!("invalid type {:?}: {e}", s.type_))?;
    validate_role(s).map_err(|e| {
        if s.role.is_empty() {
            format!("invalid implicit role {:?}: {e}", s.type_)
        } else {
            format!("invalid role {:?}: {e}", s.role)
        }
    })?;
    if !s.filesystem.is_empty() && !FILESYSTEMS.contains(&s.filesystem.as_str()) {
        return Err(format!("invalid filesystem {:?}", s.filesystem));
    }
    let checker = if s.has_filesystem(vol.has_partial("filesystem")) {
        validate_filesystem_content
    } else {
        validate_bare_content
    };
    for (i, c) in s.content.iter().enumerate() {
        checker(c).map_err(|e| format!("invalid content #{i}: {e}"))?;
    }
    validate_update(s, vol)
}

/// eMMC hardware partitions take only a name, content images and `update`.
fn validate_emmc_structure(s: &SpecStructure) -> Result<(), String> {
    let not_allowed =
        |field: &str| Err(format!("{field:?} not allowed for emmc volume structures"));
    if s.size != 0 {
        return not_allowed("size");
    }
    if s.min_size != 0 {
        return not_allowed("min-size");
    }
    if !s.label.is_empty() {
        return not_allowed("filesystem-label");
    }
    if s.offset.is_some_and(|o| o != 0) {
        return not_allowed("offset");
    }
    if s.offset_write.is_some() {
        return not_allowed("offset-write");
    }
    if !s.filesystem.is_empty() {
        return not_allowed("filesystem");
    }
    if !s.type_.is_empty() {
        return not_allowed("type");
    }
    if !s.id.is_empty() {
        return not_allowed("id");
    }
    if !s.role.is_empty() {
        return not_allowed("role");
    }
    for (i, c) in s.content.iter().enumerate() {
        validate_emmc_content(c).map_err(|e| format!("invalid content #{i}: {e}"))?;
    }
    // Hardware partitions never hold a filesystem, so `preserve` is refused like on bare ones.
    if !s.update.preserve.is_empty() {
        return Err(
            "preserving files during update is not supported for non-filesystem structures"
                .to_owned(),
        );
    }
    check_preserve_duplicates(s)
}

fn validate_type(t: &str, vol: &SpecVolume) -> Result<(), String> {
    if t.is_empty() {
        return Err("type is not specified".to_owned());
    }
    let syntax = classify(t).map_err(str::to_owned)?;
    let (is_mbr, is_gpt, is_hybrid) = match syntax {
        TypeSyntax::Bare | TypeSyntax::LegacyMbr => return Ok(()),
        TypeSyntax::Mbr(_) => (true, false, false),
        TypeSyntax::Gpt(_) => (false, true, false),
        TypeSyntax::Hybrid(..) => (false, false, true),
    };
    if vol.has_partial("schema") {
        if !is_hybrid {
            return Err(
                "both MBR type and GUID structure type needs to be defined on partial schemas"
                    .to_owned(),
            );
        }
    } else {
        if vol.schema != "gpt" && is_gpt {
            return Err(format!(
                "GUID structure type with non-GPT schema {:?}",
                vol.schema
            ));
        }
        if vol.schema != "mbr" && is_mbr {
            return Err(format!(
                "MBR structure type with non-MBR schema {:?}",
                vol.schema
            ));
        }
    }
    Ok(())
}

fn validate_role(s: &SpecStructure) -> Result<(), String> {
    if s.type_ == "bare" && !s.role.is_empty() && s.role != "mbr" {
        return Err(format!("conflicting type: {:?}", s.type_));
    }
    let mut role = s.role.as_str();
    if s.type_ == "mbr" {
        if !role.is_empty() && role != "mbr" {
            return Err(r#"conflicting legacy type: "mbr""#.to_owned());
        }
        role = "mbr";
    }
    match role {
        "mbr" => {
            if s.size > MBR_MAX_SIZE {
                return Err("mbr structures cannot be larger than 446 bytes".to_owned());
            }
            if s.offset.is_some_and(|o| o != 0) {
                return Err("mbr structure must start at offset 0".to_owned());
            }
            if !s.id.is_empty() {
                return Err("mbr structure must not specify partition ID".to_owned());
            }
            if !s.filesystem.is_empty() && s.filesystem != "none" {
                return Err("mbr structures must not specify a file system".to_owned());
            }
            Ok(())
        }
        "system-boot-state" => validate_boot_state(s),
        // Cross-structure rules of these roles are checked once all volumes are known.
        "system-data" | "system-seed" | "system-seed-null" | "system-save" => Ok(()),
        "" | "system-boot" | "system-boot-image" | "system-boot-select" | "system-seed-select"
        | "system-seed-image" | "bootimg" | "bootselect" => Ok(()),
        _ => Err("unsupported role".to_owned()),
    }
}

/// A raw U-Boot environment partition: fixed size of at least 1 MiB, no filesystem, its own
/// type GUID (the explicit offset is checked before offsets are computed).
fn validate_boot_state(s: &SpecStructure) -> Result<(), String> {
    if s.min_size != s.size {
        return Err("system-boot-state role does not support min-size".to_owned());
    }
    if s.size < MIB {
        return Err(format!(
            "system-boot-state partition must be at least 1 MiB, got {}",
            iec_string(s.size)
        ));
    }
    if !s.filesystem.is_empty() && s.filesystem != "none" {
        return Err("system-boot-state role must have no filesystem".to_owned());
    }
    if !s.type_.eq_ignore_ascii_case(SYSTEM_BOOT_STATE_GUID) {
        return Err(format!(
            "system-boot-state role requires type {SYSTEM_BOOT_STATE_GUID}, got {}",
            s.type_
        ));
    }
    Ok(())
}

fn validate_bare_content(c: &SpecContent) -> Result<(), String> {
    if !c.source.is_empty() || !c.target.is_empty() {
        return Err("cannot use non-image content for bare file system".to_owned());
    }
    if c.image.is_empty() {
        return Err("missing image file name".to_owned());
    }
    Ok(())
}

fn validate_emmc_content(c: &SpecContent) -> Result<(), String> {
    if c.offset.is_some() || c.size != 0 {
        return Err("cannot specify size or offset for content".to_owned());
    }
    if !c.source.is_empty() || !c.target.is_empty() {
        return Err("cannot use non-image content for hardware partitions".to_owned());
    }
    if c.image.is_empty() {
        return Err("missing image file name".to_owned());
    }
    Ok(())
}

fn validate_filesystem_content(c: &SpecContent) -> Result<(), String> {
    if !c.image.is_empty() || c.offset.is_some() || c.size != 0 {
        return Err("cannot use image content for non-bare file system".to_owned());
    }
    if c.source.is_empty() {
        return Err("missing source".to_owned());
    }
    if c.target.is_empty() {
        return Err("missing target".to_owned());
    }
    Ok(())
}

fn validate_update(s: &SpecStructure, vol: &SpecVolume) -> Result<(), String> {
    if !s.has_filesystem(vol.has_partial("filesystem")) && !s.update.preserve.is_empty() {
        return Err(
            "preserving files during update is not supported for non-filesystem structures"
                .to_owned(),
        );
    }
    check_preserve_duplicates(s)
}

fn check_preserve_duplicates(s: &SpecStructure) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for p in &s.update.preserve {
        if !seen.insert(p) {
            return Err(format!(r#"duplicate "preserve" entry {p:?}"#));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(schema: &str) -> SpecVolume {
        SpecVolume {
            name: "v".into(),
            schema: schema.into(),
            ..Default::default()
        }
    }

    fn st(type_: &str, size: u64) -> SpecStructure {
        SpecStructure {
            type_: type_.into(),
            size,
            min_size: size,
            ..Default::default()
        }
    }

    const BIOS: &str = "21686148-6449-6E6F-744E-656564454649";

    #[test]
    fn types_against_schema() {
        let check = |t: &str, schema: &str| validate_structure(&st(t, 123), &vol(schema));
        assert!(check("mbr", "gpt").is_ok());
        assert!(check("bare", "gpt").is_ok());
        assert!(check("0C", "mbr").is_ok());
        assert!(check(BIOS, "gpt").is_ok());
        assert!(check(&BIOS.to_lowercase(), "gpt").is_ok());
        assert!(check(&format!("EF,{BIOS}"), "gpt").is_ok());
        assert!(check(&format!("EF,{BIOS}"), "mbr").is_ok());
        assert_eq!(
            check("", "gpt").unwrap_err(),
            r#"invalid type "": type is not specified"#
        );
        assert_eq!(
            check("0C", "gpt").unwrap_err(),
            r#"invalid type "0C": MBR structure type with non-MBR schema "gpt""#
        );
        assert_eq!(
            check(BIOS, "mbr").unwrap_err(),
            format!(r#"invalid type "{BIOS}": GUID structure type with non-GPT schema "mbr""#)
        );
        assert_eq!(
            check("1234", "gpt").unwrap_err(),
            r#"invalid type "1234": invalid format"#
        );
    }

    #[test]
    fn partial_schema_needs_hybrid_types() {
        let mut v = vol("");
        v.partial = vec!["schema".into()];
        assert!(validate_structure(&st(&format!("83,{BIOS}"), 10), &v).is_ok());
        assert_eq!(
            validate_structure(&st("83", 10), &v).unwrap_err(),
            r#"invalid type "83": both MBR type and GUID structure type needs to be defined on partial schemas"#
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(
            validate_structure(&st("bare", 0), &vol("gpt")).unwrap_err(),
            "missing size"
        );
        let mut s = st("bare", MIB);
        s.min_size = 2 * MIB;
        assert_eq!(
            validate_structure(&s, &vol("gpt")).unwrap_err(),
            "min-size (2097152) is bigger than size (1048576)"
        );
        // Left to the installer.
        let mut v = vol("gpt");
        v.partial = vec!["size".into()];
        assert!(validate_structure(&st("bare", 0), &v).is_ok());
    }

    #[test]
    fn mbr_role_rules() {
        let mbr = |f: &dyn Fn(&mut SpecStructure)| {
            let mut s = st("bare", 446);
            s.role = "mbr".into();
            f(&mut s);
            validate_structure(&s, &vol("mbr"))
        };
        assert!(mbr(&|_| {}).is_ok());
        assert_eq!(
            mbr(&|s| s.size = 447).unwrap_err(),
            r#"invalid role "mbr": mbr structures cannot be larger than 446 bytes"#
        );
        assert_eq!(
            mbr(&|s| s.offset = Some(123)).unwrap_err(),
            r#"invalid role "mbr": mbr structure must start at offset 0"#
        );
        assert_eq!(
            mbr(&|s| s.id = "123".into()).unwrap_err(),
            r#"invalid role "mbr": mbr structure must not specify partition ID"#
        );
        assert_eq!(
            mbr(&|s| s.filesystem = "vfat".into()).unwrap_err(),
            r#"invalid role "mbr": mbr structures must not specify a file system"#
        );
        assert!(mbr(&|s| s.filesystem = "none".into()).is_ok());
        let mut legacy = st("mbr", 447);
        assert_eq!(
            validate_structure(&legacy, &vol("mbr")).unwrap_err(),
            r#"invalid implicit role "mbr": mbr structures cannot be larger than 446 bytes"#
        );
        legacy.size = 440;
        legacy.min_size = 440;
        legacy.role = "system-data".into();
        assert_eq!(
            validate_structure(&legacy, &vol("gpt")).unwrap_err(),
            r#"invalid role "system-data": conflicting legacy type: "mbr""#
        );
    }

    #[test]
    fn roles() {
        let with_role = |t: &str, role: &str| {
            let mut s = st(t, MIB);
            s.role = role.into();
            validate_structure(&s, &vol("gpt"))
        };
        for ok in [
            "system-boot",
            "system-seed",
            "system-seed-null",
            "system-save",
            "system-data",
            "system-boot-image",
            "system-boot-select",
            "system-seed-image",
            "system-seed-select",
            "bootimg",
            "bootselect",
        ] {
            assert!(with_role(BIOS, ok).is_ok(), "{ok}");
        }
        assert_eq!(
            with_role(BIOS, "foobar").unwrap_err(),
            r#"invalid role "foobar": unsupported role"#
        );
        assert_eq!(
            with_role("bare", "system-data").unwrap_err(),
            r#"invalid role "system-data": conflicting type: "bare""#
        );
    }

    #[test]
    fn boot_state_role() {
        let state = |f: &dyn Fn(&mut SpecStructure)| {
            let mut s = st(SYSTEM_BOOT_STATE_GUID, MIB);
            s.role = "system-boot-state".into();
            s.offset = Some(10 * MIB);
            f(&mut s);
            validate_structure(&s, &vol("gpt"))
        };
        assert!(state(&|_| {}).is_ok());
        assert!(state(&|s| s.type_ = s.type_.to_lowercase()).is_ok());
        assert!(
            state(&|s| s.min_size = MIB / 2)
                .unwrap_err()
                .ends_with("system-boot-state role does not support min-size")
        );
        assert!(
            state(&|s| {
                s.size = MIB / 2;
                s.min_size = MIB / 2;
            })
            .unwrap_err()
            .ends_with("system-boot-state partition must be at least 1 MiB, got 512 KiB")
        );
        assert!(
            state(&|s| s.filesystem = "ext4".into())
                .unwrap_err()
                .ends_with("system-boot-state role must have no filesystem")
        );
        assert!(
            state(&|s| s.type_ = BIOS.into())
                .unwrap_err()
                .ends_with(&format!(
                    "system-boot-state role requires type {SYSTEM_BOOT_STATE_GUID}, got {BIOS}"
                ))
        );
    }

    #[test]
    fn filesystems() {
        for fs in FILESYSTEMS {
            let mut s = st(BIOS, 123);
            s.filesystem = fs.into();
            assert!(validate_structure(&s, &vol("gpt")).is_ok(), "{fs}");
        }
        let mut s = st(BIOS, 123);
        s.filesystem = "btrfs".into();
        assert_eq!(
            validate_structure(&s, &vol("gpt")).unwrap_err(),
            r#"invalid filesystem "btrfs""#
        );
    }

    fn content(source: &str, target: &str, image: &str) -> SpecContent {
        SpecContent {
            source: source.into(),
            target: target.into(),
            image: image.into(),
            ..Default::default()
        }
    }

    #[test]
    fn content_kind_follows_filesystem() {
        let bare = |c: Vec<SpecContent>| {
            let mut s = st("bare", MIB);
            s.content = c;
            validate_structure(&s, &vol("gpt"))
        };
        assert!(bare(vec![content("", "", "foo.img")]).is_ok());
        assert_eq!(
            bare(vec![content("", "", "foo.img"), content("foo", "bar", "")]).unwrap_err(),
            "invalid content #1: cannot use non-image content for bare file system"
        );
        assert_eq!(
            bare(vec![SpecContent {
                offset: Some(123),
                ..Default::default()
            }])
            .unwrap_err(),
            "invalid content #0: missing image file name"
        );
        let fs = |c: Vec<SpecContent>| {
            let mut s = st(BIOS, MIB);
            s.filesystem = "ext4".into();
            s.content = c;
            validate_structure(&s, &vol("gpt"))
        };
        assert!(fs(vec![content("foo", "bar", "")]).is_ok());
        assert_eq!(
            fs(vec![content("foo", "bar", ""), content("", "", "foo.img")]).unwrap_err(),
            "invalid content #1: cannot use image content for non-bare file system"
        );
        assert_eq!(
            fs(vec![content("foo", "", "")]).unwrap_err(),
            "invalid content #0: missing target"
        );
        assert_eq!(
            fs(vec![content("", "/", "")]).unwrap_err(),
            "invalid content #0: missing source"
        );
        // A structure with a type GUID but no filesystem takes raw content.
        let mut s = st(BIOS, MIB);
        s.content = vec![content("foo", "bar", "")];
        assert!(validate_structure(&s, &vol("gpt")).is_err());
    }

    #[test]
    fn partial_filesystem_expects_filesystem_content() {
        let mut v = vol("gpt");
        v.partial = vec!["filesystem".into()];
        let mut s = st(BIOS, MIB);
        s.content = vec![content("splash.bmp", ".", "")];
        assert!(validate_structure(&s, &v).is_ok());
        let mut s = st("bare", MIB);
        s.content = vec![content("splash.bmp", ".", "")];
        assert!(validate_structure(&s, &v).is_err());
    }

    #[test]
    fn preserve() {
        let mut s = st("bare", 512);
        s.update.preserve = vec!["foo".into()];
        assert_eq!(
            validate_structure(&s, &vol("gpt")).unwrap_err(),
            "preserving files during update is not supported for non-filesystem structures"
        );
        let mut s = st(BIOS, 512);
        s.filesystem = "vfat".into();
        s.update.preserve = vec!["foo".into(), "bar".into()];
        assert!(validate_structure(&s, &vol("gpt")).is_ok());
        s.update.preserve.push("foo".into());
        assert_eq!(
            validate_structure(&s, &vol("gpt")).unwrap_err(),
            r#"duplicate "preserve" entry "foo""#
        );
    }

    #[test]
    fn emmc_structures_take_name_and_images_only() {
        let emmc = |f: &dyn Fn(&mut SpecStructure)| {
            let mut s = SpecStructure {
                name: "boot0".into(),
                content: vec![content("", "", "boot0.img")],
                ..Default::default()
            };
            f(&mut s);
            validate_structure(&s, &vol("emmc"))
        };
        assert!(emmc(&|_| {}).is_ok());
        type Mutation<'a> = &'a dyn Fn(&mut SpecStructure);
        let cases: [(&str, Mutation<'_>); 9] = [
            ("size", &|s| s.size = 1),
            ("min-size", &|s| s.min_size = 1),
            ("filesystem-label", &|s| s.label = "x".into()),
            ("offset", &|s| s.offset = Some(1000)),
            ("offset-write", &|s| {
                s.offset_write = Some(crate::model::RelativeOffset {
                    relative_to: None,
                    offset: 0,
                });
            }),
            ("filesystem", &|s| s.filesystem = "ext4".into()),
            ("type", &|s| s.type_ = "gpt".into()),
            ("id", &|s| s.id = "x".into()),
            ("role", &|s| s.role = "x".into()),
        ];
        for (field, f) in cases {
            assert_eq!(
                emmc(f).unwrap_err(),
                format!("{field:?} not allowed for emmc volume structures")
            );
        }
        assert!(emmc(&|s| s.offset = Some(0)).is_ok());
        assert_eq!(
            emmc(&|s| s.content[0].offset = Some(1000)).unwrap_err(),
            "invalid content #0: cannot specify size or offset for content"
        );
        assert_eq!(
            emmc(&|s| s.content[0].source = "hello.bin".into()).unwrap_err(),
            "invalid content #0: cannot use non-image content for hardware partitions"
        );
        assert_eq!(
            emmc(&|s| s.content[0].image = String::new()).unwrap_err(),
            "invalid content #0: missing image file name"
        );
    }
}
