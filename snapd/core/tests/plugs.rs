//! Plugs and slots: written forms, attributes, snapd's binding rule and its warnings.

mod common;

use common::{HEAD, err, ok, refused_at};
use snap_core::{AttrValue, parse_snap_yaml, parse_snap_yaml_with_interfaces};

#[test]
fn written_forms() {
    let s = ok(r#"
plugs:
  home:
  net: network
  data:
    interface: content
    label: Shared data
    content: data-1
    target: $SNAP/data
    read: [$SNAP/a, $SNAP/b]
    nested: {f: 1.5, b: true, o: 0755}
slots:
  svc:
    interface: dbus
    bus: session
"#);
    assert_eq!(s.plugs["home"].interface, "home");
    assert_eq!(s.plugs["net"].interface, "network");
    let d = &s.plugs["data"];
    assert_eq!(d.interface, "content");
    assert_eq!(d.label.as_deref(), Some("Shared data"));
    assert_eq!(d.attr("content"), Some(&AttrValue::String("data-1".into())));
    assert_eq!(
        d.attr("read").and_then(|r| r.as_string_list()),
        Some(vec!["$SNAP/a", "$SNAP/b"])
    );
    let nested = d.attr("nested").and_then(|n| n.as_map()).unwrap();
    // YAML 1.1 typing, as snapd's YAML library reads it: 0755 is octal.
    assert_eq!(nested.get("f"), Some(&AttrValue::Float(1.5)));
    assert_eq!(nested.get("b"), Some(&AttrValue::Bool(true)));
    assert_eq!(nested.get("o"), Some(&AttrValue::Int(0o755)));
    assert_eq!(
        s.slots["svc"].attr("bus"),
        Some(&AttrValue::String("session".into()))
    );
}

#[test]
fn yaml_1_1_boolean_keys_are_not_strings() {
    // snapd reads `y`/`n`/`yes`/`on`... as booleans, so such attribute keys are refused.
    let e = err("plugs:\n  p:\n    interface: x\n    nested: {n: 1}\n");
    assert!(e.to_string().contains("non-string key: false"), "{e}");
    refused_at(
        "plugs:\n  p:\n    on: 1\n",
        "plugs.p",
        "attribute key that is not a string (found bool)",
    );
}

#[test]
fn malformed_definitions() {
    refused_at(
        "plugs:\n  p: 1\n",
        "plugs.p",
        "malformed definition (found int)",
    );
    refused_at(
        "slots:\n  s: [a]\n",
        "slots.s",
        "malformed definition (found list)",
    );
    refused_at(
        "plugs:\n  p:\n    $x: 1\n",
        "plugs.p",
        "reserved attribute \"$x\"",
    );
    refused_at(
        "plugs:\n  p:\n    interface: [a]\n",
        "plugs.p",
        "interface name on plug \"p\" is not a string",
    );
    refused_at("plugs:\n  p:\n    a:\n", "plugs.p", "invalid scalar: null");
}

#[test]
fn binding_rule() {
    let s = ok(r#"
plugs:
  unscoped:
    interface: network
  scoped:
    interface: home
slots:
  free: dbus-like
apps:
  a:
    command: a
    plugs: [scoped, implicit-iface]
  b:
    command: b
hooks:
  install:
    plugs: [hook-only]
  configure:
"#);
    // Listed by nobody: bound to every app and every hook.
    let u = &s.plugs["unscoped"];
    assert!(u.unscoped);
    assert_eq!(u.apps.iter().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(u.hooks.iter().collect::<Vec<_>>(), ["configure", "install"]);
    // Listed by app a only: only a has it.
    let sc = &s.plugs["scoped"];
    assert!(!sc.unscoped);
    assert_eq!(sc.apps.iter().collect::<Vec<_>>(), ["a"]);
    assert!(sc.hooks.is_empty());
    // Listed without a declaration: declared implicitly with interface = name.
    assert_eq!(s.plugs["implicit-iface"].interface, "implicit-iface");
    assert_eq!(
        s.plugs["hook-only"].hooks.iter().collect::<Vec<_>>(),
        ["install"]
    );
    assert!(s.plugs["hook-only"].apps.is_empty());
    // The per-app and per-hook views agree.
    let a: Vec<&String> = s.apps["a"].plugs.iter().collect();
    assert_eq!(a, ["implicit-iface", "scoped", "unscoped"]);
    let b: Vec<&String> = s.apps["b"].plugs.iter().collect();
    assert_eq!(b, ["unscoped"]);
    assert!(s.apps["b"].slots.contains("free"));
    assert!(s.hooks["install"].plugs.contains("hook-only"));
    assert!(!s.hooks["configure"].plugs.contains("hook-only"));
}

#[test]
fn plug_and_slot_names_must_differ() {
    refused_at(
        "plugs:\n  x: network\nslots:\n  x: dbus\n",
        "plugs.x",
        "same name: \"x\"",
    );
    refused_at(
        "apps:\n  a:\n    plugs: [x]\n    slots: [x]\n",
        "plugs.x",
        "cannot have plug and slot with the same name",
    );
}

#[test]
fn bad_names_are_warnings_not_errors() {
    // snapd drops these with a warning ("has bad plugs or slots") and installs the snap.
    let s =
        ok("plugs:\n  Bad_Name: network\n  ok: Bad_Iface\napps:\n  a:\n    plugs: [Bad_Name]\n");
    assert!(s.bad_interfaces["Bad_Name"].contains("invalid plug name"));
    assert!(s.bad_interfaces["ok"].contains("unknown interface \"Bad_Iface\""));
    assert!(!s.plugs.contains_key("Bad_Name"));
    assert!(!s.apps["a"].plugs.contains("Bad_Name"));
    assert!(!s.apps["a"].plugs.contains("ok"));
}

#[test]
fn unknown_interfaces_with_a_known_list() {
    let doc = format!("{HEAD}plugs:\n  home:\n  weird: not-an-interface\nslots:\n  s: also-not\n");
    let known = |i: &str| i == "home";
    let s = parse_snap_yaml_with_interfaces(doc.as_bytes(), &known).unwrap();
    assert!(s.plugs.contains_key("home"));
    assert_eq!(
        s.bad_interfaces["weird"],
        "unknown interface \"not-an-interface\""
    );
    assert_eq!(s.bad_interfaces["s"], "unknown interface \"also-not\"");
    // Without a list every well-formed interface name counts as known.
    let s = parse_snap_yaml(doc.as_bytes()).unwrap();
    assert!(s.bad_interfaces.is_empty());
}

#[test]
fn old_core_snaps_get_clashing_plugs_renamed() {
    let s = parse_snap_yaml(
        b"name: core\nversion: 1\ntype: os\nplugs:\n  network-bind:\n  core-support:\nslots:\n  network-bind:\n  core-support:\n",
    )
    .unwrap();
    assert!(s.plugs.contains_key("network-bind-plug"));
    assert!(s.plugs.contains_key("core-support-plug"));
    assert_eq!(s.plugs["network-bind-plug"].interface, "network-bind");
    assert!(s.slots.contains_key("network-bind"));
}
