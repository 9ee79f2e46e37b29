//! Hostile or broken input: always an error or a model, never a panic, in bounded time.

use proptest::prelude::*;
use snap_core::{MAX_SNAP_YAML_BYTES, SnapYamlError, parse_snap_yaml};
use std::time::{Duration, Instant};

fn timed(bytes: &[u8]) -> (Result<snap_core::SnapYaml, SnapYamlError>, Duration) {
    let start = Instant::now();
    let r = parse_snap_yaml(bytes);
    (r, start.elapsed())
}

#[test]
fn not_yaml() {
    let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00";
    assert!(matches!(
        parse_snap_yaml(elf),
        Err(SnapYamlError::Parse { .. })
    ));
    let e = parse_snap_yaml(b"name: [unterminated\n").unwrap_err();
    assert!(matches!(e, SnapYamlError::Parse { .. }), "{e}");
    let e = parse_snap_yaml(b"- a\n- b\n").unwrap_err();
    assert!(e.to_string().starts_with("cannot parse snap.yaml"), "{e}");
    let e = parse_snap_yaml(b"name: a\n\tversion: 1\n").unwrap_err();
    assert!(matches!(e, SnapYamlError::Parse { .. }), "{e}");
}

#[test]
fn hundred_megabytes_is_refused_without_parsing() {
    let mut big = b"name: big\nversion: 1\ndescription: ".to_vec();
    big.resize(100 * 1024 * 1024, b'x');
    let (r, took) = timed(&big);
    match r {
        Err(SnapYamlError::TooLarge { size, max }) => {
            assert_eq!(size, big.len());
            assert_eq!(max, MAX_SNAP_YAML_BYTES);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(took < Duration::from_secs(1));
}

#[test]
fn largest_accepted_file_parses_quickly() {
    let mut doc = b"name: big\nversion: 1\ndescription: ".to_vec();
    doc.resize(MAX_SNAP_YAML_BYTES - 1, b'x');
    doc.push(b'\n');
    let (r, took) = timed(&doc);
    // Valid YAML, but far over snapd's 4096-codepoint description limit.
    assert_eq!(r.unwrap_err().path(), "description");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn many_keys_hit_the_node_budget() {
    let mut doc = String::from("name: many\nversion: 1\nenvironment:\n");
    let mut i = 0;
    while doc.len() < MAX_SNAP_YAML_BYTES - 64 {
        doc.push_str(&format!("  K{i}: v\n"));
        i += 1;
    }
    let (r, took) = timed(doc.as_bytes());
    assert!(matches!(r, Err(SnapYamlError::Parse { .. })), "{r:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn billion_laughs() {
    let mut doc =
        String::from("name: lol\nversion: 1\nx-a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    let levels = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in levels.windows(2) {
        let refs = vec![format!("*{}", w[0]); 10].join(",");
        doc.push_str(&format!("x-{}: &{} [{refs}]\n", w[1], w[1]));
    }
    doc.push_str("plugs:\n  p:\n    interface: x\n    attr: *i\n");
    let (r, took) = timed(doc.as_bytes());
    let e = r.unwrap_err();
    assert!(matches!(e, SnapYamlError::Parse { .. }), "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn deep_nesting() {
    let flow = format!(
        "name: deep\nversion: 1\nplugs:\n  p:\n    interface: x\n    a: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let (r, took) = timed(flow.as_bytes());
    assert!(matches!(r, Err(SnapYamlError::Parse { .. })));
    assert!(took < Duration::from_secs(5));
    let mut block = String::from("name: deep\nversion: 1\nx:\n");
    for depth in 1..1000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("- \n");
    }
    assert!(matches!(
        parse_snap_yaml(block.as_bytes()),
        Err(SnapYamlError::Parse { .. })
    ));
}

#[test]
fn duplicate_keys() {
    for doc in [
        "name: a\nname: b\nversion: 1\n",
        "name: a\nversion: 1\napps:\n  x:\n    command: a\n  x:\n    command: b\n",
        "name: a\nversion: 1\nplugs:\n  p:\n    interface: x\n    k: 1\n    k: 2\n",
        "name: a\nversion: 1\napps:\n  x:\n    command: a\n    command: b\n",
    ] {
        let e = parse_snap_yaml(doc.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
    }
}

/// Lines that make up snap.yaml-ish documents, valid and not.
const SNIPPETS: &[&str] = &[
    "name: fuzz",
    "version: 1.0",
    "base: none",
    "type: base",
    "epoch: 1*",
    "epoch: {read: [1, 2]}",
    "apps:",
    "  a:",
    "    command: bin/a",
    "    daemon: simple",
    "    daemon-scope: user",
    "    plugs: [network-bind, home]",
    "    slots: [s]",
    "    after: [b]",
    "    activates-on: [s]",
    "    sockets:",
    "      sk:",
    "        listen-stream: $SNAP_DATA/x",
    "        socket-mode: 0777",
    "    timer: mon,10:00",
    "    refresh-mode: ignore-running",
    "  b:",
    "    daemon: dbus",
    "    before: [a]",
    "hooks:",
    "  install:",
    "  configure:",
    "    plugs: [x]",
    "plugs:",
    "  x:",
    "    interface: content",
    "    read: [$SNAP/a]",
    "  y: home",
    "slots:",
    "  s:",
    "    interface: dbus",
    "    bus: system",
    "layout:",
    "  /usr/x:",
    "    bind: $SNAP/x",
    "  /usr/x/y:",
    "    type: tmpfs",
    "layouts: {}",
    "environment:",
    "  A: b",
    "links:",
    "  website: [https://a]",
    "system-usernames:",
    "  snap_daemon: shared",
    "components:",
    "  c:",
    "    type: test",
    "- item",
    "key: &anchor value",
    "other: *anchor",
    "<<: {merged: 1}",
    "'quoted': \"x\"",
    "!!str tagged: !!int 3",
    "? complex",
    ": value",
    "{",
    "]",
    "#comment",
    "\t",
    "---",
];

fn documents() -> impl Strategy<Value = String> {
    prop::collection::vec((0..SNIPPETS.len(), 0usize..6), 0..40).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(i, indent)| format!("{}{}\n", " ".repeat(indent * 2 % 6), SNIPPETS[i]))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_snap_yaml(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,512}") {
        let _ = parse_snap_yaml(text.as_bytes());
    }

    #[test]
    fn snap_yaml_like_documents_never_panic(doc in documents()) {
        if let Ok(snap) = parse_snap_yaml(doc.as_bytes()) {
            // Whatever parses must also pass validation again and list its executables.
            prop_assert!(snap_core::validate(&snap).is_ok());
            let _ = snap.app_commands();
        }
    }

    #[test]
    fn standalone_checkers_never_panic(s in "\\PC{0,64}") {
        let _ = snap_core::validate_timer(&s);
        let _ = snap_core::parse_duration(&s);
        let _ = snap_core::validate_license(&s);
        let _ = snap_core::Epoch::parse_short(&s);
        let _ = snap_core::naming::validate_version(&s);
        let _ = snap_core::naming::validate_instance_name(&s);
        let _ = snap_core::naming::validate_system_username(&s);
        let _ = snap_core::expand_snap_variables(&s, "x");
        let cleaned = snap_core::clean_path(&s);
        prop_assert_eq!(snap_core::clean_path(&cleaned), cleaned.clone());
    }

    #[test]
    fn field_values_never_panic(value in "[ -~\u{e9}\u{3bc}]{0,40}") {
        // Drop arbitrary text into the fields with the most hand-written parsing.
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        for field in ["timer", "stop-timeout", "command", "bus-name"] {
            let doc = format!(
                "name: ff\nversion: 1\napps:\n  a:\n    daemon: simple\n    {field}: \"{quoted}\"\n"
            );
            let _ = parse_snap_yaml(doc.as_bytes());
        }
        for doc in [
            format!("name: ff\nversion: 1\nlicense: \"{quoted}\"\n"),
            format!("name: ff\nversion: 1\nepoch: \"{quoted}\"\n"),
            format!("name: ff\nversion: 1\nlinks:\n  website: [\"{quoted}\"]\n"),
            format!("name: ff\nversion: 1\nlayout:\n  \"{quoted}\":\n    bind: \"{quoted}\"\n"),
            format!(
                "name: ff\nversion: 1\napps:\n  a:\n    daemon: simple\n    plugs: [network-bind]\n    sockets:\n      s:\n        listen-stream: \"{quoted}\"\n"
            ),
        ] {
            let _ = parse_snap_yaml(doc.as_bytes());
        }
    }
}
