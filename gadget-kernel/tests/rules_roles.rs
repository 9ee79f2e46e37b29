//! Role consistency across volumes and against the model (ports of snapd's validate tests).

mod common;

use gadget_kernel::{Model, ParseOptions, parse_gadget_yaml_with};

/// One gpt volume with data, seed and save structures; "-" leaves one out, "" gives no label.
fn roles_yaml(data: &str, seed: &str, save: &str) -> String {
    let mut h =
        String::from("volumes:\n  roles:\n    schema: gpt\n    bootloader: grub\n    structure:\n");
    let label = |l: &str| {
        if l.is_empty() {
            String::new()
        } else {
            format!("        filesystem-label: {l}\n")
        }
    };
    if data != "-" {
        h += "      - name: data\n        size: 1G\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        role: system-data\n";
        h += &label(data);
    }
    if seed != "-" {
        h += "      - name: seed\n        size: 1G\n        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n        role: system-seed\n        filesystem: vfat\n";
        h += &label(seed);
    }
    if save != "-" {
        h += "      - name: save\n        size: 32M\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        role: system-save\n";
        h += &label(save);
    }
    h
}

fn no_model(yaml: &str) -> Result<(), String> {
    common::parse(yaml).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn consistency_without_a_model() {
    let ok = |data: &str, seed: &str, save: &str| no_model(&roles_yaml(data, seed, save));
    // With a seed, UC20 labels.
    assert!(ok("", "", "-").is_ok());
    assert!(ok("ubuntu-data", "", "-").is_ok());
    for bad in ["foobar", "writable"] {
        assert_eq!(
            ok(bad, "", "-").unwrap_err(),
            format!(
                r#"invalid gadget: system-data structure must have an implicit label or "ubuntu-data", not "{bad}""#
            )
        );
    }
    // Without, UC16/18 labels (exact case).
    assert!(ok("", "-", "-").is_ok());
    assert!(ok("writable", "-", "-").is_ok());
    for bad in ["foobar", "ubuntu-data", "WRITABLE"] {
        assert!(ok(bad, "-", "-").unwrap_err().ends_with(&format!(
            r#"must have an implicit label or "writable", not "{bad}""#
        )));
    }
    // The seed label, case-insensitive on vfat.
    assert!(ok("", "ubuntu-seed", "-").is_ok());
    assert!(ok("", "UBUNTU-SEED", "-").is_ok());
    assert!(ok("", "ubuntu-foo", "-").unwrap_err().ends_with(
        r#"system-seed structure must have an implicit label or "ubuntu-seed", not "ubuntu-foo""#
    ));
    // Seed needs data; save needs seed and data.
    assert!(ok("-", "-", "-").is_ok());
    assert_eq!(
        ok("-", "", "-").unwrap_err(),
        "invalid gadget: the system-seed role requires system-data to be defined"
    );
    assert!(ok("", "", "").is_ok());
    assert_eq!(
        ok("", "", "foo").unwrap_err(),
        r#"invalid gadget: system-save structure must have an implicit label or "ubuntu-save", not "foo""#
    );
    assert_eq!(
        ok("", "-", "").unwrap_err(),
        "invalid gadget: model does not support the system-save role"
    );
    assert_eq!(
        ok("-", "-", "").unwrap_err(),
        "invalid gadget: model does not support the system-save role"
    );
}

/// A one-volume mbr gadget with the given structures (seed, boot, data, save) for a model.
fn with_model(
    model: Model,
    seed: bool,
    boot: bool,
    data: Option<&str>,
    save: Option<&str>,
) -> Result<(), String> {
    let mut y =
        String::from("volumes:\n  pc:\n    bootloader: grub\n    schema: mbr\n    structure:\n");
    if seed {
        y += "      - name: Recovery\n        size: 10M\n        type: 83\n        role: system-seed\n";
    }
    if boot {
        y += "      - name: Boot\n        size: 10M\n        type: 83\n        role: system-boot\n";
    }
    if let Some(label) = data {
        y += &format!(
            "      - name: Data\n        size: 10M\n        type: 83\n        role: system-data\n        filesystem-label: {label}\n"
        );
    }
    if let Some(label) = save {
        y += "      - name: Save\n        size: 10M\n        type: 83\n        role: system-save\n";
        if !label.is_empty() {
            y += &format!("        filesystem-label: {label}\n");
        }
    }
    parse_gadget_yaml_with(y.as_bytes(), &ParseOptions::for_model(model))
        .map(|_| ())
        .map_err(|e| {
            e.to_string()
                .trim_start_matches("invalid gadget: ")
                .to_owned()
        })
}

#[test]
fn consistency_with_a_model() {
    let (uc16, uc20) = (Model::CORE16, Model::CORE20);
    let cwm = Model::CLASSIC_WITH_MODES;
    let e = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        e(with_model(uc20, true, false, None, None)),
        "the system-seed role requires system-data to be defined"
    );
    assert_eq!(
        e(with_model(uc16, true, false, None, None)),
        "the system-seed role requires system-data to be defined"
    );
    assert!(with_model(uc20, true, false, Some(""), None).is_ok());
    assert_eq!(
        e(with_model(uc16, true, false, Some(""), None)),
        "model does not support the system-seed role"
    );
    assert_eq!(
        e(with_model(uc20, true, false, Some("writable"), None)),
        r#"system-data structure must have an implicit label or "ubuntu-data", not "writable""#
    );
    assert!(with_model(uc20, true, false, Some("ubuntu-data"), None).is_ok());
    assert_eq!(
        e(with_model(uc20, false, false, Some("writable"), None)),
        "model requires system-seed structure, but none was found"
    );
    assert!(with_model(uc16, false, false, Some("writable"), None).is_ok());
    assert_eq!(
        e(with_model(uc16, false, false, Some("ubuntu-data"), None)),
        r#"system-data structure must have an implicit label or "writable", not "ubuntu-data""#
    );
    assert!(with_model(uc20, true, false, Some(""), Some("")).is_ok());
    assert_eq!(
        e(with_model(uc16, false, false, Some(""), Some(""))),
        "model does not support the system-save role"
    );
    assert_eq!(
        e(with_model(uc20, true, false, Some(""), Some("foo"))),
        r#"system-save structure must have an implicit label or "ubuntu-save", not "foo""#
    );
    // Classic with modes: boot and data required, seed and save optional.
    assert!(with_model(cwm, false, true, Some(""), None).is_ok());
    assert!(with_model(cwm, false, true, Some(""), Some("")).is_ok());
    assert!(with_model(cwm, true, true, Some(""), Some("")).is_ok());
    assert!(with_model(cwm, false, true, Some(""), Some("ubuntu-save")).is_ok());
    assert_eq!(
        e(with_model(cwm, false, false, Some(""), None)),
        "system-boot and system-data roles are needed on classic"
    );
    assert_eq!(
        e(with_model(cwm, false, true, Some(""), Some("random-label"))),
        r#"system-save structure must have an implicit label or "ubuntu-save", not "random-label""#
    );
    // A UC20 model needs a seed even with no structures at all.
    assert_eq!(
        e(with_model(uc20, false, false, None, None)),
        "model requires system-seed partition, but no system-seed or system-data partition found"
    );
}

fn two_volumes(first: &str, second: &str) -> String {
    format!(
        "volumes:\n  pc:\n    bootloader: grub\n    structure:\n{first}  other:\n    structure:\n{second}"
    )
}

const SEED: &str = "      - name: ubuntu-seed\n        role: system-seed\n        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n        size: 1200M\n        filesystem: vfat\n";
const DATA: &str = "      - name: ubuntu-data\n        role: system-data\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1G\n        filesystem: ext4\n";

#[test]
fn roles_are_unique_and_share_the_seed_volume() {
    assert_eq!(
        no_model(&two_volumes(SEED, SEED)).unwrap_err(),
        "invalid gadget: cannot have more than one partition with system-seed role across volumes"
    );
    assert_eq!(
        no_model(&common::pc_with(&format!(
            "{DATA}{}",
            DATA.replace("ubuntu-data", "data2")
        )))
        .unwrap_err(),
        "invalid gadget: cannot have more than one partition with system-data role"
    );
    assert_eq!(
        no_model(&two_volumes(SEED, DATA)).unwrap_err(),
        "invalid gadget: system-boot, system-data, and system-save are expected to share the same volume as system-seed"
    );
    assert!(no_model(&common::pc_with(&format!("{SEED}{DATA}"))).is_ok());
    let null_seed = SEED.replace("system-seed", "system-seed-null");
    assert_eq!(
        no_model(&two_volumes(SEED, &null_seed)).unwrap_err(),
        "invalid gadget: cannot have more than one partition with system-seed/system-seed-null role across volumes"
    );
}

#[test]
fn reserved_labels() {
    let labelled = |label: &str, fs: &str| {
        common::pc_with(&format!(
            "      - name: x\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n        filesystem: {fs}\n        filesystem-label: {label}\n"
        ))
    };
    for (label, fs) in [
        ("ubuntu-seed", "vfat"),
        ("UBUNTU-SEED", "vfat"),
        ("ubuntu-data", "ext4"),
    ] {
        assert_eq!(
            no_model(&labelled(label, fs)).unwrap_err(),
            format!(
                r#"invalid volume "pc": invalid structure #0 ("x"): label "{label}" is reserved"#
            )
        );
    }
    // ubuntu-boot and ubuntu-save are reserved only once modes exist.
    assert!(no_model(&labelled("ubuntu-boot", "ext4")).is_ok());
    let uc20 = |label: &str| {
        parse_gadget_yaml_with(
            common::pc_with(&format!(
                "{SEED}{DATA}      - name: x\n        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1M\n        filesystem: ext4\n        filesystem-label: {label}\n"
            ))
            .as_bytes(),
            &ParseOptions::for_model(Model::CORE20),
        )
    };
    assert!(
        uc20("ubuntu-save")
            .unwrap_err()
            .to_string()
            .ends_with(r#"label "ubuntu-save" is reserved"#)
    );
    assert!(
        uc20("ubuntu-boot")
            .unwrap_err()
            .to_string()
            .ends_with(r#"label "ubuntu-boot" is reserved"#)
    );
    assert!(uc20("other").is_ok());
}

#[test]
fn encrypted_data_needs_a_save_partition() {
    let opts = |model| ParseOptions {
        encrypted_data: true,
        ..ParseOptions::for_model(model)
    };
    let no_save = common::pc_with(&format!("{SEED}{DATA}"));
    assert_eq!(
        parse_gadget_yaml_with(no_save.as_bytes(), &opts(Model::CORE20))
            .unwrap_err()
            .to_string(),
        "invalid gadget: gadget does not support encrypted data: required partition with system-save role is missing"
    );
    let pc = common::corpus_file("pc-gadget_gadget.yaml");
    assert!(parse_gadget_yaml_with(&pc, &opts(Model::CORE20)).is_ok());
    let pc18 =
        common::corpus_file("snapd_tests_lib_snaps_test-snapd-remodel-pc-18_meta_gadget.yaml");
    assert_eq!(
        parse_gadget_yaml_with(&pc18, &opts(Model::CORE16))
            .unwrap_err()
            .to_string(),
        "invalid gadget: internal error: cannot support encrypted data in a system without modes"
    );
}
