//! Volume and structure rules, through the public parser (ports of snapd's gadget tests plus
//! this crate's additions).

mod common;

use common::{parse, parse_err, pc_with};
use gadget_kernel::quantity::MIB;
use gadget_kernel::{Model, ParseOptions, Role, Schema, parse_gadget_yaml_with};

const MBR: &str = "      - name: mbr\n        type: mbr\n        size: 440\n";
const BIOS: &str = "      - name: BIOS Boot\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 1M\n        offset: 1M\n        offset-write: mbr+92\n";

#[test]
fn bootloader_rules() {
    assert_eq!(
        parse_err("volumes:\n name:\n  bootloader: silo\n"),
        "invalid gadget: bootloader must be one of grub, u-boot, android-boot, piboot or lk"
    );
    assert_eq!(
        parse_err("volumes:\n name:\n  bootloader:\n"),
        "invalid gadget: bootloader not declared in any volume"
    );
    assert_eq!(
        parse_err("volumes:\n  a1:\n    bootloader: grub\n  a2:\n    bootloader: u-boot\n"),
        "invalid gadget: too many (2) bootloaders declared"
    );
    // Any of the five, in exactly one volume.
    for bl in ["grub", "u-boot", "android-boot", "lk", "piboot"] {
        let g = parse(&format!("volumes:\n  vol:\n    bootloader: {bl}\n")).unwrap();
        assert_eq!(g.bootloader().map(|b| b.as_str()), Some(bl));
    }
    let piboot = b"volumes:\n  pi:\n    bootloader: piboot\n";
    assert_eq!(
        parse_gadget_yaml_with(piboot, &ParseOptions::for_model(Model::CORE16))
            .unwrap_err()
            .to_string(),
        "invalid gadget: piboot bootloader valid only for UC20 onwards"
    );
    let pi = common::corpus_file("ubuntu-image_gadget_tree_piboot_meta_gadget.yaml");
    assert!(parse_gadget_yaml_with(&pi, &ParseOptions::for_model(Model::CORE20)).is_ok());
}

#[test]
fn empty_volume_stanza() {
    assert_eq!(
        parse_err("device-tree-origin: kernel\nvolumes:\n  lun-0:\n"),
        r#"invalid volume "lun-0": stanza is empty"#
    );
}

#[test]
fn volume_names() {
    assert_eq!(
        parse_err("volumes:\n  -bad:\n    bootloader: grub\n"),
        r#"invalid volume "-bad": invalid name"#
    );
    assert_eq!(
        parse_err("volumes:\n  x:\n    bootloader: grub\n"),
        r#"invalid volume "x": invalid name"#
    );
}

#[test]
fn implicit_schema_and_mbr_role() {
    let g = parse(&pc_with(MBR)).unwrap();
    let v = common::only_volume(&g);
    assert_eq!(v.schema, Some(Schema::Gpt));
    assert_eq!(v.structures[0].role, Some(Role::Mbr));
    assert_eq!(v.structures[0].offset, Some(0));
    assert!(!v.structures[0].is_partition());
    let g = parse("volumes:\n   minimal:\n     bootloader: grub\n").unwrap();
    assert_eq!(g.volumes()[0].schema, Some(Schema::Gpt));
    assert_eq!(
        parse_err("volumes:\n  pc:\n    bootloader: grub\n    schema: dos\n"),
        r#"invalid volume "pc": invalid schema "dos""#
    );
}

#[test]
fn structures_without_offset_start_at_1mib() {
    let g = parse(&pc_with(
        "      - name: a\n        type: bare\n        size: 4096\n      - name: b\n        type: bare\n        size: 4096\n",
    ))
    .unwrap();
    let offs: Vec<_> = common::only_volume(&g)
        .structures
        .iter()
        .map(|s| s.offset)
        .collect();
    assert_eq!(offs, [Some(MIB), Some(MIB + 4096)]);
}

#[test]
fn overlapping_structures_are_named() {
    let seed = "      - name: ubuntu-seed\n        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n        filesystem: vfat\n        size: 1200M\n        offset: 1049088\n";
    assert_eq!(
        parse_err(&pc_with(&format!("{MBR}{BIOS}{seed}"))),
        r#"invalid volume "pc": structure #2 ("ubuntu-seed") overlaps with the preceding structure #1 ("BIOS Boot")"#
    );
    // snapd's TestValidateLayoutOverlapPreceding.
    assert_eq!(
        parse_err(&pc_with(&format!(
            "{MBR}      - name: other-name\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 300\n        offset: 200\n"
        ))),
        r#"invalid volume "pc": structure #1 ("other-name") overlaps with the preceding structure #0 ("mbr")"#
    );
    // Out of file order: sorted by offset first (TestValidateLayoutOverlapOutOfOrder).
    assert_eq!(
        parse_err(&pc_with(
            "      - name: overlaps-with-foo\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 300\n        offset: 200\n      - name: foo\n        type: DA,21686148-6449-6E6F-744E-656564454648\n        size: 200\n        offset: 100\n        filesystem: vfat\n"
        )),
        r#"invalid volume "pc": structure #0 ("overlaps-with-foo") overlaps with the preceding structure #1 ("foo")"#
    );
    // A range-sized structure counts at its full size (TestValidateLayoutOverlapWithMinSize).
    assert_eq!(
        parse_err(&pc_with(
            "      - name: p1\n        type: bare\n        size: 1M\n        offset: 2M\n      - name: p2\n        type: bare\n        min-size: 2M\n        size: 3M\n      - name: p3\n        type: bare\n        size: 1M\n        offset: 3M\n"
        )),
        r#"invalid volume "pc": structure #2 ("p3") overlaps with the preceding structure #1 ("p2")"#
    );
}

#[test]
fn structures_are_sorted_by_offset_keeping_the_file_index() {
    let g = parse(
        "volumes:\n  unordered:\n    bootloader: u-boot\n    schema: gpt\n    structure:\n      - name: ubuntu-seed\n        filesystem: ext4\n        size: 499M\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        role: system-seed\n      - name: ubuntu-save\n        size: 100M\n        offset: 700M\n        filesystem: ext4\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        role: system-save\n      - name: ubuntu-boot\n        filesystem: ext4\n        size: 100M\n        offset: 500M\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        role: system-boot\n      - name: other1\n        size: 100M\n        type: bare\n      - name: ubuntu-data\n        filesystem: ext4\n        offset: 800M\n        size: 1G\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        role: system-data\n",
    )
    .unwrap();
    let v = common::only_volume(&g);
    let names: Vec<_> = v
        .structures
        .iter()
        .map(|s| s.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ubuntu-seed",
            "ubuntu-boot",
            "other1",
            "ubuntu-save",
            "ubuntu-data"
        ]
    );
    assert_eq!(
        v.structure_by_yaml_index(3).and_then(|s| s.offset),
        Some(600 * MIB)
    );
    assert_eq!(v.size(), 1824 * MIB);
}

#[test]
fn mbr_placement() {
    // An explicit 0 is fine anywhere in the file.
    assert!(
        parse(&pc_with(
            "      - name: other-name\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 10\n        offset: 500\n      - name: mbr\n        type: mbr\n        size: 440\n        offset: 0\n"
        ))
        .is_ok()
    );
    // Without an offset it would follow the previous structure.
    assert_eq!(
        parse_err(&pc_with(
            "      - name: other-name\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 10\n        offset: 500\n      - name: mbr\n        type: mbr\n        size: 440\n"
        )),
        r#"invalid volume "pc": invalid structure #1 ("mbr"): invalid role "mbr": mbr structure must start at offset 0"#
    );
    assert_eq!(
        parse_err(&pc_with(
            "      - name: mbr\n        type: mbr\n        size: 447\n"
        )),
        r#"invalid volume "pc": invalid structure #0 ("mbr"): invalid role "mbr": mbr structures cannot be larger than 446 bytes"#
    );
    assert_eq!(
        parse_err(&pc_with(
            "      - name: mbr\n        role: mbr\n        type: bare\n        size: 440\n        filesystem: vfat\n"
        )),
        r#"invalid volume "pc": invalid structure #0 ("mbr"): invalid role "mbr": mbr structures must not specify a file system"#
    );
}

#[test]
fn offset_write_rules() {
    let bios = |ow: &str| {
        format!(
            "{MBR}      - name: other-name\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 1M\n        offset: 1M\n        offset-write: {ow}\n"
        )
    };
    assert!(parse(&pc_with(&bios("mbr+92"))).is_ok());
    assert_eq!(
        parse_err(&pc_with(&bios("bad-name+92"))),
        r#"invalid volume "pc": structure #1 ("other-name") refers to an unexpected structure "bad-name""#
    );
    assert_eq!(
        parse_err(&pc_with(&bios("mbr+2097152"))),
        r#"invalid volume "pc": structure #1 ("other-name") wants to write offset of 4 bytes to 2097152, outside of referred structure "mbr""#
    );
    assert_eq!(
        parse_err(&pc_with(&bios("mbr+437"))),
        r#"invalid volume "pc": structure #1 ("other-name") wants to write offset of 4 bytes to 437, outside of referred structure "mbr""#
    );
    // Absolute: inside the volume's minimum size.
    assert!(parse(&pc_with(&bios("1000"))).is_ok());
    assert!(
        parse_err(&pc_with(&bios("2097149"))).contains("outside of volume of min size 2097152")
    );
    assert!(parse_err(&pc_with(&bios("foo+4097M"))).contains("offset above 4G limit"));
}

#[test]
fn structure_names_and_labels_are_unique() {
    let two = |a: &str, b: &str| {
        pc_with(&format!(
            "      - name: one\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n        {a}\n      - name: two\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n        {b}\n"
        ))
    };
    assert_eq!(
        parse_err(&two("filesystem-label: foo", "filesystem-label: foo")),
        r#"invalid volume "pc": filesystem label "foo" is not unique"#
    );
    // vfat labels clash regardless of case, others do not.
    assert!(
        parse_err(&two(
            "filesystem-label: foo\n        filesystem: vfat",
            "filesystem-label: FOO\n        filesystem: ext4"
        ))
        .ends_with(r#"filesystem label "FOO" is not unique"#)
    );
    assert!(
        parse(&two(
            "filesystem-label: foo\n        filesystem: ext4",
            "filesystem-label: FOO\n        filesystem: ext4"
        ))
        .is_ok()
    );
    let dup_names = pc_with(
        "      - name: same\n        type: bare\n        size: 1M\n      - name: same\n        type: bare\n        size: 1M\n",
    );
    assert_eq!(
        parse_err(&dup_names),
        r#"invalid volume "pc": structure name "same" is not unique"#
    );
}

#[test]
fn implied_labels_must_not_clash() {
    let yaml = pc_with(
        "      - name: data\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1G\n        role: system-data\n      - name: dup\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        filesystem-label: writable\n        size: 1M\n",
    );
    // Without a model no label is implied.
    assert!(parse(&yaml).is_ok());
    assert_eq!(
        parse_gadget_yaml_with(yaml.as_bytes(), &ParseOptions::for_model(Model::CORE16))
            .unwrap_err()
            .to_string(),
        r#"invalid volume "pc": filesystem label "writable" is implied by system-data role but was already set elsewhere"#
    );
}

#[test]
fn implicit_labels_follow_the_model() {
    let yaml = common::corpus_file("pc-gadget_gadget.yaml");
    let labels = |opts: ParseOptions| {
        let g = parse_gadget_yaml_with(&yaml, &opts).unwrap();
        g.volumes()[0]
            .structures
            .iter()
            .map(|s| s.label.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labels(ParseOptions::for_model(Model::CORE20)),
        [
            "",
            "",
            "ubuntu-seed",
            "ubuntu-boot",
            "ubuntu-save",
            "ubuntu-data"
        ]
    );
    assert_eq!(
        labels(ParseOptions::image_build()),
        ["", "", "", "", "", ""]
    );
    // UC16/18: the system-boot label alone gives the role.
    let pc18 =
        common::corpus_file("snapd_tests_lib_snaps_test-snapd-remodel-pc-18_meta_gadget.yaml");
    let g = parse_gadget_yaml_with(&pc18, &ParseOptions::for_model(Model::CORE16)).unwrap();
    assert_eq!(g.volumes()[0].structures[2].role, Some(Role::SystemBoot));
    let g = gadget_kernel::parse_gadget_yaml(&pc18).unwrap();
    assert_eq!(g.volumes()[0].structures[2].role, None);
}

#[test]
fn size_and_offset_syntax() {
    let one = |field: &str| {
        parse_err(&pc_with(&format!(
            "      - name: a\n        type: bare\n        size: 1M\n        {field}\n"
        )))
    };
    assert_eq!(
        one("min-size: 1MB"),
        r#"invalid volume "pc": invalid structure #0 ("a"): cannot parse size "1MB": invalid suffix "MB""#
    );
    assert_eq!(
        one("offset: -1"),
        r#"invalid volume "pc": invalid structure #0 ("a"): cannot parse offset "-1": offset cannot be negative"#
    );
    assert_eq!(
        one("min-size: 2M"),
        r#"invalid volume "pc": invalid structure #0 ("a"): min-size (2097152) is bigger than size (1048576)"#
    );
    assert_eq!(
        parse_err(&pc_with("      - name: a\n        type: bare\n")),
        r#"invalid volume "pc": invalid structure #0 ("a"): missing size"#
    );
    assert_eq!(
        one("update:\n          edition: borked"),
        r#"invalid volume "pc": invalid structure #0 ("a"): "edition" must be a positive number, not "borked""#
    );
    // G is GiB.
    let g = parse(&pc_with("      - type: bare\n        size: 2G\n")).unwrap();
    assert_eq!(g.volumes()[0].structures[0].size, 2048 * MIB);
}

#[test]
fn structure_errors_name_unnamed_structures_by_index() {
    assert_eq!(
        parse_err(&pc_with(
            "      - type: bare\n        size: 1M\n      - type: bogus\n        size: 1M\n"
        )),
        r#"invalid volume "pc": invalid structure #1: invalid type "bogus": invalid format"#
    );
    assert_eq!(
        parse_err(&pc_with(
            "      - name: foo\n        type: bare\n        size: 1M\n        content:\n          - source: x\n            target: y\n"
        )),
        r#"invalid volume "pc": invalid structure #0 ("foo"): invalid content #0: cannot use non-image content for bare file system"#
    );
    assert_eq!(
        parse_err(&pc_with(
            "      - name: missing-content-source\n        type: DA,21686148-6449-6E6F-744E-656564454649\n        size: 1M\n        filesystem: ext4\n        content:\n          - source: foo\n            target: /\n          - source:\n            target: /\n"
        )),
        r#"invalid volume "pc": invalid structure #0 ("missing-content-source"): invalid content #1: missing source"#
    );
}

#[test]
fn schema_type_compatibility() {
    let typed = |schema: &str, t: &str| {
        parse(&format!(
            "volumes:\n  v1:\n    bootloader: grub\n    schema: {schema}\n    structure:\n      - type: {t}\n        size: 1M\n"
        ))
    };
    assert!(typed("mbr", "0C").is_ok());
    assert!(typed("mbr", "EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B").is_ok());
    assert!(typed("gpt", "EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B").is_ok());
    assert!(typed("gpt", "c12a7328-f81f-11d2-ba4b-00a0c93ec93b").is_ok());
    assert!(
        typed("gpt", "0C")
            .unwrap_err()
            .to_string()
            .ends_with(r#"invalid type "0C": MBR structure type with non-MBR schema "gpt""#)
    );
    assert!(
        typed("mbr", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
            .unwrap_err()
            .to_string()
            .ends_with(r#"GUID structure type with non-GPT schema "mbr""#)
    );
    assert!(
        typed("mbr", "0c")
            .unwrap_err()
            .to_string()
            .ends_with("invalid format")
    );
}

#[test]
fn partial_volumes() {
    let partial = |p: &str| {
        parse(&format!(
            "volumes:\n  frobinator-image:\n    partial: [{p}]\n    bootloader: grub\n"
        ))
    };
    for ok in [
        "",
        "size",
        "filesystem",
        "schema",
        "structure",
        "size,structure,schema",
    ] {
        assert!(partial(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        partial("bootloader").unwrap_err().to_string(),
        r#"invalid volume "frobinator-image": "bootloader" is not a valid partial value"#
    );
    assert_eq!(
        partial("size,structure,size").unwrap_err().to_string(),
        r#"invalid volume "frobinator-image": partial value "size" is repeated"#
    );
    assert_eq!(
        parse_err(
            "volumes:\n  frobinator-image:\n    partial: [schema]\n    schema: gpt\n    bootloader: u-boot\n"
        ),
        r#"invalid volume "frobinator-image": partial schema is set but schema is still specified as "gpt""#
    );
    // Sizes left to the installer may be missing; given ones are still checked.
    let sized = "volumes:\n  img:\n    partial: [size]\n    bootloader: u-boot\n    structure:\n      - name: a\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        filesystem: ext4\n";
    let g = parse(sized).unwrap();
    assert_eq!(g.volumes()[0].structures[0].size, 0);
    assert!(gadget_kernel::layout(&g.volumes()[0]).is_err());
    assert!(
        parse_err(&format!("{sized}        size: 1M\n        min-size: 2M\n"))
            .contains("min-size (2097152) is bigger than size (1048576)")
    );
    // A partial schema needs both halves of a hybrid type.
    let schemaless = "volumes:\n  img:\n    partial: [schema]\n    bootloader: u-boot\n    structure:\n      - name: data\n        size: 1M\n        type: ";
    assert!(
        parse(&format!(
            "{schemaless}83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n"
        ))
        .is_ok()
    );
    assert_eq!(
        parse_err(&format!("{schemaless}83\n")),
        r#"invalid volume "img": invalid structure #0 ("data"): invalid type "83": both MBR type and GUID structure type needs to be defined on partial schemas"#
    );
    // A partial filesystem: structures without one get filesystem content.
    let fs = parse("volumes:\n  img:\n    partial: [filesystem]\n    bootloader: grub\n    structure:\n      - name: save\n        size: 1M\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        content:\n          - source: splash.bmp\n            target: .\n").unwrap();
    assert!(fs.volumes()[0].structures[0].has_filesystem());
}

#[test]
fn boot_state_role_needs_an_explicit_offset() {
    let state = |offset: &str| {
        parse(&format!(
            "volumes:\n  pc:\n    bootloader: u-boot\n    structure:\n      - name: state\n        role: system-boot-state\n        type: 3DE21764-95BD-54BD-A5C3-4ABE786F38A8\n        size: 1M\n{offset}"
        ))
    };
    assert!(state("        offset: 10M\n").is_ok());
    assert_eq!(
        state("").unwrap_err().to_string(),
        r#"invalid volume "pc": invalid structure #0 ("state"): invalid role "system-boot-state": system-boot-state role requires explicit offset"#
    );
}

#[test]
fn emmc_volumes() {
    let emmc = |extra: &str, body: &str| {
        parse(&format!(
            "volumes:\n  pc:\n    bootloader: grub\n  my-emmc:\n    schema: emmc\n{extra}    structure:\n      - name: boot0\n        content:\n          - image: boot0.img\n{body}"
        ))
    };
    assert!(emmc("", "").is_ok());
    assert_eq!(
        emmc("    id: test\n", "").unwrap_err().to_string(),
        r#"invalid volume "my-emmc": cannot set "id" for eMMC schemas"#
    );
    assert_eq!(
        emmc("    partial: [size]\n", "").unwrap_err().to_string(),
        r#"invalid volume "my-emmc": cannot set "partial" content for eMMC schemas"#
    );
    assert_eq!(
        emmc("", "      - name: boot2\n").unwrap_err().to_string(),
        r#"invalid volume "my-emmc": invalid structure #1 ("boot2"): cannot use "boot2" as emmc name, only ["boot0" "boot1"] is allowed"#
    );
    assert_eq!(
        emmc("", "        offset: 1000\n").unwrap_err().to_string(),
        r#"invalid volume "my-emmc": invalid structure #0 ("boot0"): "offset" not allowed for emmc volume structures"#
    );
    assert!(
        emmc("", "            offset: 1000\n")
            .unwrap_err()
            .to_string()
            .ends_with("invalid content #0: cannot specify size or offset for content")
    );
    let bootloader = "volumes:\n  volumename:\n    schema: mbr\n  my-emmc:\n    schema: emmc\n    bootloader: u-boot\n";
    assert_eq!(
        parse_err(bootloader),
        r#"invalid volume "my-emmc": cannot set "bootloader" for eMMC schemas"#
    );
}

#[test]
fn unknown_keys_are_ignored() {
    let g = parse(
        "device-tree: bcm2709-rpi-3-b-plus\ndevice-tree-origin: kernel\nformat: 1\nvolumes:\n  pc:\n    bootloader: grub\n    future-key: 1\n    structure:\n      - name: rootfs\n        label: writable\n        type: bare\n        size: 1M\n",
    )
    .unwrap();
    assert_eq!(g.volumes()[0].structures[0].label, None);
}

#[test]
fn gpt_header_overlap_is_only_a_warning() {
    let g = parse(&pc_with(
        "      - name: early\n        type: bare\n        size: 16383\n        offset: 1024\n",
    ))
    .unwrap();
    assert_eq!(g.warnings().len(), 1);
    assert!(g.warnings()[0].contains(r#"structure #0 ("early") overlaps the GPT header"#));
}
