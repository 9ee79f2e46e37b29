//! Top-level snap.yaml fields: defaults, keyword values and snap-wide rules.

mod common;

use common::{HEAD, err, ok, refused_at};
use snap_core::{Confinement, Epoch, Grade, SnapType, parse_snap_yaml};

#[test]
fn defaults() {
    let s = ok("");
    assert_eq!(s.name, "test-snap");
    assert_eq!(s.version.as_deref(), Some("1.0"));
    assert_eq!(s.snap_type, SnapType::App);
    assert_eq!(s.confinement, Confinement::Strict);
    assert_eq!(s.grade, Grade::Stable);
    assert_eq!(s.architectures, ["all"]);
    assert_eq!(s.epoch, Epoch::default());
    assert_eq!(s.base, None);
    assert_eq!(s.effective_base(), "core");
}

#[test]
fn all_top_level_fields() {
    let s = ok(r#"
type: gadget
base: core24
build-base: devel
confinement: devmode
grade: devel
summary: sum
description: |
  long
title: Title
license: GPL-3.0 OR MIT
provenance: my-prov
architectures: [amd64, arm64]
assumes: [snapd2.61, command-chain]
epoch: 1*
environment:
  B: "1"
  A: $B
links:
  website: [https://example.com]
  contact: [me@example.com]
unknown-future-key: {tolerated: true}
"#);
    assert_eq!(s.snap_type, SnapType::Gadget);
    assert_eq!(s.base.as_deref(), Some("core24"));
    assert_eq!(s.build_base.as_deref(), Some("devel"));
    assert_eq!(s.confinement, Confinement::Devmode);
    assert_eq!(s.grade, Grade::Devel);
    assert_eq!(s.description.as_deref(), Some("long\n"));
    assert_eq!(s.architectures, ["amd64", "arm64"]);
    assert_eq!(
        s.assumes,
        ["command-chain", "snapd2.61"],
        "sorted like snapd"
    );
    assert_eq!(s.epoch.to_string(), "1*");
    assert_eq!(s.environment.keys().collect::<Vec<_>>(), ["B", "A"]);
    assert_eq!(s.links["website"], ["https://example.com"]);
    assert_eq!(s.provenance.as_deref(), Some("my-prov"));
}

#[test]
fn snap_named_snapd_is_type_snapd() {
    let s = parse_snap_yaml(b"name: snapd\nversion: 1\ntype: app\n").unwrap();
    assert_eq!(s.snap_type, SnapType::Snapd);
}

#[test]
fn type_application_means_app() {
    assert_eq!(ok("type: application\n").snap_type, SnapType::App);
}

#[test]
fn keyword_values() {
    refused_at("type: bogus\n", "type", "invalid snap type: \"bogus\"");
    refused_at("type: ''\n", "type", "invalid snap type");
    refused_at(
        "confinement: loose\n",
        "confinement",
        "invalid confinement type",
    );
    refused_at("grade: beta\n", "grade", "unknown grade type: \"beta\"");
    // Null means unset for all of them.
    assert_eq!(ok("type:\nconfinement:\ngrade:\n").snap_type, SnapType::App);
}

#[test]
fn names_and_versions() {
    let bad_name = |name: &str| {
        let doc = format!("name: {name}\nversion: 1\n");
        parse_snap_yaml(doc.as_bytes()).unwrap_err()
    };
    assert_eq!(bad_name("''").reason(), "snap name cannot be empty");
    assert_eq!(bad_name("Foo").path(), "name");
    assert!(bad_name("a--b").to_string().contains("invalid snap name"));
    assert!(
        parse_snap_yaml(b"name: foo\n")
            .unwrap_err()
            .to_string()
            .contains("cannot be empty")
    );
    let e = parse_snap_yaml(b"name: foo\nversion: 1.0 beta\n").unwrap_err();
    assert_eq!(e.path(), "version");
    assert!(e.to_string().contains("printable, non-whitespace ASCII"));
    // Versions keep their spelling: YAML numbers are not reformatted.
    let s = parse_snap_yaml(b"name: foo\nversion: 1.10\n").unwrap();
    assert_eq!(s.version.as_deref(), Some("1.10"));
}

#[test]
fn title_description_summary_lengths() {
    ok(&format!("title: {}\n", "t".repeat(40)));
    refused_at(
        &format!("title: {}\n", "t".repeat(41)),
        "title",
        "up to 40 codepoints, got 41",
    );
    ok(&format!("description: {}\n", "é".repeat(4096)));
    refused_at(
        &format!("description: {}\n", "d".repeat(4097)),
        "description",
        "up to 4096 codepoints",
    );
    // snapd does not limit a snap's summary.
    ok(&format!("summary: {}\n", "s".repeat(500)));
}

#[test]
fn license_and_provenance() {
    refused_at("license: Foo-1.0\n", "license", "unknown license: Foo-1.0");
    ok("license: Proprietary\n");
    refused_at(
        "provenance: global-upload\n",
        "provenance",
        "cannot be set to default",
    );
    refused_at("provenance: a_b\n", "provenance", "invalid provenance");
}

#[test]
fn epochs() {
    assert_eq!(ok("epoch: 5\n").epoch.read, [5]);
    assert_eq!(ok("epoch: {read: [1, 2]}\n").epoch.write, [2]);
    assert_eq!(ok("epoch: {write: [3]}\n").epoch.read, [3]);
    refused_at("epoch: 0*\n", "epoch", "0* is an invalid epoch");
    refused_at("epoch: '01'\n", "epoch", "zero padding");
    refused_at("epoch: 01\n", "epoch", "zero padding");
    refused_at("epoch: {read: [2, 1]}\n", "epoch", "strictly increasing");
    refused_at(
        "epoch: {read: [1], write: [2]}\n",
        "epoch",
        "non-empty intersection",
    );
    refused_at("epoch: {read: []}\n", "epoch", "explicitly empty");
    let e = err("epoch: {read: 1}\n");
    assert!(
        e.to_string().contains("must be lists of epoch numbers"),
        "{e}"
    );
}

#[test]
fn environment_keys_must_be_strings() {
    refused_at("environment:\n  1: x\n", "environment", "cannot read 1");
    refused_at(
        "environment:\n  true: x\n",
        "environment",
        "cannot read true",
    );
    // YAML 1.1 reads a bare `N` or `y` as a boolean, and so does snapd.
    refused_at("environment:\n  N: x\n", "environment", "cannot read false");
    let s = ok("environment:\n  '1': x\n  NUM: 2\n  E:\n");
    assert_eq!(s.environment.get("1"), Some("x"));
    assert_eq!(s.environment.get("NUM"), Some("2"));
    assert_eq!(s.environment.get("E"), Some(""));
    let e = err("environment:\n  A: [x]\n");
    assert_eq!(e.path(), "environment.A");
}

#[test]
fn layouts_typo_and_layout_rules() {
    refused_at(
        "layouts:\n  /usr/foo:\n    bind: $SNAP/foo\n",
        "layouts",
        "use singular \"layout\"",
    );
    let s = ok(
        "layout:\n  /usr/foo:\n    bind: $SNAP/foo\n  /var/tmp/x:\n    type: tmpfs\n    mode: 1777\n",
    );
    assert_eq!(s.layout.len(), 2);
    assert_eq!(s.layout["/var/tmp/x"].mode, 0o1777);
    refused_at(
        "layout:\n  /usr/foo:\n    bind: /etc\n",
        "layout.\"/usr/foo\"",
        "must start with $SNAP, $SNAP_DATA or $SNAP_COMMON",
    );
    refused_at(
        "layout:\n  /usr/foo:\n",
        "layout.\"/usr/foo\"",
        "must define a bind mount",
    );
}

#[test]
fn system_usernames() {
    let s =
        ok("system-usernames:\n  snap_daemon: shared\n  _daemon_:\n    scope: shared\n    x: 1\n");
    assert_eq!(s.system_usernames["snap_daemon"].scope, "shared");
    assert_eq!(s.system_usernames["_daemon_"].attrs.len(), 1);
    refused_at(
        "system-usernames:\n  foo:\n",
        "system-usernames.foo",
        "does not specify a scope",
    );
    refused_at(
        "system-usernames:\n  foo: [x]\n",
        "system-usernames.foo",
        "malformed definition",
    );
    refused_at(
        "system-usernames:\n  Foo: shared\n",
        "system-usernames.Foo",
        "invalid system username \"Foo\"",
    );
    refused_at(
        "system-usernames:\n  foo:\n    scope: 1\n",
        "system-usernames.foo",
        "scope on system username",
    );
}

#[test]
fn links() {
    refused_at(
        "links:\n  website: []\n",
        "links.website",
        "cannot be specified and empty",
    );
    refused_at(
        "links:\n  9x: [https://a]\n",
        "links.9x",
        "links key is invalid",
    );
    refused_at(
        "links:\n  website: [ftp://a]\n",
        "links.website",
        "http|https",
    );
    let e = err("links:\n  website: https://a\n");
    assert_eq!(e.path(), "links.website", "{e}");
}

#[test]
fn components() {
    let s = ok(
        "components:\n  comp1:\n    type: standard\n    hooks:\n      install:\n        plugs: [network]\n",
    );
    let c = &s.components["comp1"];
    assert!(c.hooks["install"].plugs.contains("network"));
    refused_at(
        "components:\n  c1:\n    type: kernel-modules\n",
        "components.c1.type",
        "only for kernel snaps",
    );
    ok("type: kernel\ncomponents:\n  c1:\n    type: kernel-modules\n");
    refused_at(
        "components:\n  c1:\n    type: weird\n",
        "components.c1.type",
        "unknown component type",
    );
    refused_at(
        "components:\n  c1:\n    hooks:\n      configure:\n",
        "components.c1.hooks.configure",
        "unsupported component hook",
    );
    refused_at(
        "components:\n  c1:\n    hooks:\n      install:\n        slots: [s]\n",
        "components.c1.hooks.install.slots",
        "cannot have slots",
    );
    refused_at(
        "components:\n  C1:\n",
        "components.C1",
        "invalid component name",
    );
    refused_at(
        &format!("components:\n  c1:\n    summary: {}\n", "s".repeat(129)),
        "components.c1.summary",
        "up to 128 codepoints",
    );
}

#[test]
fn base_rules() {
    assert_eq!(ok("base: bare\n").base.as_deref(), Some("bare"));
    ok("base: none\n");
    refused_at(
        "base: none\napps:\n  a:\n    command: a\n",
        "apps",
        "cannot have apps or hooks with base \"none\"",
    );
    refused_at("base: none\nhooks:\n  install:\n", "hooks", "base \"none\"");
    refused_at(
        "type: base\nbase: core\n",
        "base",
        "value other than \"none\" on \"base\" snap",
    );
    ok("type: base\nbase: none\n");
    refused_at("type: os\nbase: core18\n", "base", "on \"os\" snap");
    refused_at("base: core_x\n", "base", "instance name");
    refused_at("base: Core\n", "base", "invalid base name");
}

#[test]
fn header_constant_is_valid() {
    parse_snap_yaml(HEAD.as_bytes()).unwrap();
}
