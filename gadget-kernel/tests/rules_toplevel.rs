//! defaults, connections, kernel-cmdline, volume-assignments and volume-less gadgets.

mod common;

use gadget_kernel::kcmdline::ValuePattern;
use gadget_kernel::{
    ConnectionEnd, DefaultValue, GadgetError, Model, ParseOptions, parse_gadget_yaml_with,
};

const PC: &str = "volumes:\n  pc:\n    bootloader: grub\n";

fn classic(yaml: &str) -> Result<gadget_kernel::GadgetYaml, GadgetError> {
    parse_gadget_yaml_with(yaml.as_bytes(), &ParseOptions::for_model(Model::CLASSIC))
}

#[test]
fn volumes_are_optional_on_classic_only() {
    for empty in ["", "# on classic this can be empty (or absent)\n"] {
        assert!(classic(empty).is_ok());
        assert_eq!(
            parse_gadget_yaml_with(empty.as_bytes(), &ParseOptions::for_model(Model::CORE16))
                .unwrap_err()
                .to_string(),
            "invalid gadget: bootloader not declared in any volume"
        );
        assert_eq!(common::parse(empty).unwrap_err(), GadgetError::NoVolumes);
    }
    // No model and volumes not required: snapd's own reading.
    let lenient = ParseOptions {
        require_volumes: false,
        ..ParseOptions::image_build()
    };
    assert!(parse_gadget_yaml_with(b"defaults:\n  system:\n    a: 1\n", &lenient).is_ok());
}

#[test]
fn defaults() {
    let g = classic(
        "defaults:\n  system:\n    something: true\n    refresh:\n      retain: 2\n  otheridididididididididididididi:\n    foosnap:\n      multiline: |\n        foo\n        bar\n",
    )
    .unwrap();
    let system = g.system_defaults().unwrap();
    assert_eq!(system.get("something"), Some(&DefaultValue::Bool(true)));
    assert_eq!(system.get("refresh.retain"), Some(&DefaultValue::Int(2)));
    let other = &g.defaults()["otheridididididididididididididi"]["foosnap"];
    let DefaultValue::Map(m) = other else {
        panic!("{other:?}")
    };
    assert_eq!(m["multiline"], DefaultValue::String("foo\nbar\n".into()));

    assert_eq!(
        classic("defaults:\n foo:\n  x: 1\n")
            .unwrap_err()
            .to_string(),
        r#"invalid gadget: default stanza not keyed by "system" or snap-id: foo"#
    );
    assert!(classic("defaults:\n  system:\n    x: ~\n").is_err());
    assert!(classic("defaults:\n  system: 5\n").is_err());
    // The core snap's stanza counts as the system's.
    let g =
        classic("defaults:\n  99T7MUlRhtI3U0QFgl5mXXESAiSwt776:\n    ssh:\n      disable: true\n")
            .unwrap();
    assert_eq!(
        g.system_defaults().unwrap().get("ssh.disable"),
        Some(&DefaultValue::Bool(true))
    );
}

#[test]
fn connections() {
    let g = classic(
        "connections:\n  - plug: snapid1:plg1\n    slot: snapid2:slot\n  - plug: snapid3:process-control\n  - plug: snapid4:pctl4\n    slot: system:process-control\n",
    )
    .unwrap();
    let end = |id: &str, n: &str| ConnectionEnd {
        snap_id: id.into(),
        name: n.into(),
    };
    let c = g.connections();
    assert_eq!(c.len(), 3);
    assert_eq!(
        (c[0].plug.clone(), c[0].slot.clone()),
        (end("snapid1", "plg1"), end("snapid2", "slot"))
    );
    assert_eq!(c[1].slot, end("system", "process-control"));
    assert_eq!(c[2].slot, end("system", "process-control"));

    let conn = |entry: &str| {
        classic(&format!("connections:\n - {entry}\n"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        conn(""),
        "invalid gadget: gadget connection plug cannot be empty"
    );
    assert_eq!(
        conn("slot: foo:bar"),
        "invalid gadget: gadget connection plug cannot be empty"
    );
    assert!(
        conn(r#"plug: ":""#)
            .ends_with(r#"in gadget connection plug: expected "(<snap-id>|system):name" not ":""#)
    );
    assert!(
        conn(r#"slot: "foo:""#).ends_with(
            r#"in gadget connection slot: expected "(<snap-id>|system):name" not "foo:""#
        )
    );
    assert!(conn("plug: foo:").contains("cannot parse gadget metadata"));
}

#[test]
fn kernel_cmdline() {
    let g = common::parse(&format!(
        "{PC}kernel-cmdline:\n  allow:\n    - foo=bar\n    - my-param.state=blah\n    - foo=\n    - bar\n    - 'baz=\"blah\"'\n    - console=*\n  append:\n    - quiet\n    - snapd.debug=1\n  remove:\n    - splash\n"
    ))
    .unwrap();
    let k = g.kernel_cmdline();
    assert_eq!(k.allow.len(), 6);
    assert_eq!(k.allow[5].value, ValuePattern::Any);
    assert_eq!(k.allow[4].value, ValuePattern::Constant("blah".into()));
    assert_eq!(k.append[1].to_string(), "snapd.debug=1");
    assert_eq!(k.remove[0].param, "splash");

    let bad = |section: &str, entry: &str| {
        common::parse_err(&format!(
            "{PC}kernel-cmdline:\n  {section}:\n    - '{entry}'\n"
        ))
    };
    assert_eq!(
        bad("allow", "foo bar"),
        r#"cannot parse gadget metadata: kernel-cmdline.allow: "foo bar" is not a unique kernel argument"#
    );
    assert!(
        bad("remove", "foo=a*").ends_with(r#""a*" contains globbing characters and is not quoted"#)
    );
    for denied in [
        "root=/dev/sda",
        "init=/bin/sh",
        "nfsroot=x",
        "snapd_recovery_mode=run",
    ] {
        assert_eq!(
            bad("append", denied),
            format!("invalid gadget: kernel-cmdline: kernel parameter '{denied}' is not allowed")
        );
    }
}

#[test]
fn volume_assignments() {
    let base = "volumes:\n  lun-0:\n    bootloader: grub\n  lun-1:\n    schema: gpt\nvolume-assignments:\n";
    let g = common::parse(&format!(
        "{base}  - assignment-name: foo-device\n    assignment:\n      lun-0:\n        device: /dev/disk/by-path/pci-42:0\n      lun-1:\n        device: /dev/disk/by-path/pci-43:0\n  - assignment-name: bar-device\n    assignment:\n      lun-0:\n        device: /dev/disk/by-id/abc\n"
    ))
    .unwrap();
    assert_eq!(g.volume_assignments().len(), 2);
    assert_eq!(g.volume_assignments()[0].assignments[1].0, "lun-1");
    assert_eq!(
        common::parse_err(&format!(
            "{base}  - assignment-name: baz-device\n    assignment:\n      lun-1:\n        device: /dev/by-sda\n"
        )),
        r#"invalid gadget: volume-assignment variant "baz-device": "lun-1": unsupported device path "/dev/by-sda", for now only paths under /dev/disk/{by-path,by-id} are valid"#
    );
    assert!(common::parse_err(&format!(
        "{base}  - assignment-name: baz-device\n    assignment:\n      lun-2:\n        device: /dev/disk/by-id/x\n"
    ))
    .ends_with(r#"volume "lun-2" is mentioned in assignment but has not been defined"#));
    assert!(
        common::parse_err(&format!("{base}  - assignment-name: baz-device\n"))
            .ends_with("no assignments specified")
    );
}

#[test]
fn helpers_on_the_model() {
    let g = common::parse(
        &String::from_utf8(common::corpus_file("ubuntu-image_gadget-multi.yaml")).unwrap(),
    )
    .unwrap();
    assert!(g.has_role(gadget_kernel::Role::SystemData));
    assert!(!g.has_role(gadget_kernel::Role::SystemSeed));
    assert_eq!(g.boot_volume().map(|v| v.name.as_str()), Some("first"));
    assert_eq!(g.volume("third").map(|v| v.structures.len()), Some(1));
}
