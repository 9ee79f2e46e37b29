//! `hooks.<name>` and the hook rules that depend on the snap's type.

mod common;

use common::{ok, refused_at};
use snap_core::{parse_snap_yaml, validate};

#[test]
fn hook_fields() {
    let s = ok(
        "hooks:\n  install:\n    command-chain: [bin/chain]\n    environment:\n      A: b\n    plugs: [network]\n    slots: [s1]\n  configure:\n",
    );
    let h = &s.hooks["install"];
    assert!(h.explicit);
    assert_eq!(h.command_chain, ["bin/chain"]);
    assert_eq!(h.environment.get("A"), Some("b"));
    assert!(h.plugs.contains("network"));
    assert!(h.slots.contains("s1"));
    assert!(s.hooks["configure"].plugs.is_empty());
}

#[test]
fn unknown_hooks_are_ignored_like_snapd() {
    let s = ok("hooks:\n  not-a-hook:\n  install:\n");
    assert!(!s.hooks.contains_key("not-a-hook"));
    assert_eq!(s.unsupported_hooks, ["not-a-hook"]);
}

#[test]
fn supported_hook_with_invalid_name() {
    // confdb view hooks take any suffix, but the name itself must still be a valid hook name.
    refused_at(
        "hooks:\n  change-view-Foo:\n",
        "hooks.change-view-Foo",
        "invalid hook name",
    );
    ok("hooks:\n  change-view-setup:\n  prepare-plug-foo:\n  connect-slot-x:\n");
}

#[test]
fn command_chain_characters() {
    refused_at(
        "hooks:\n  install:\n    command-chain: ['a b']\n",
        "hooks.install.command-chain",
        "hook command-chain contains illegal",
    );
}

#[test]
fn configure_hooks_by_type() {
    refused_at(
        "hooks:\n  default-configure:\n",
        "hooks.default-configure",
        "without \"configure\" hook",
    );
    ok("hooks:\n  default-configure:\n  configure:\n");
    refused_at(
        "type: base\nhooks:\n  configure:\n",
        "hooks.configure",
        "cannot specify \"configure\" hook for \"base\" snap",
    );
    refused_at(
        "type: snapd\nhooks:\n  default-configure:\n  configure:\n",
        "hooks.default-configure",
        "\"default-configure\" or \"configure\" hook for \"snapd\" snap",
    );
    // Old core snaps have a configure hook; type os keeps it.
    ok("type: os\nhooks:\n  configure:\n");
    refused_at(
        "type: os\nhooks:\n  default-configure:\n  configure:\n",
        "hooks.default-configure",
        "for \"os\" snap",
    );
}

#[test]
fn implicit_hooks_get_unscoped_plugs() {
    let mut s = ok("plugs:\n  network:\n  home:\napps:\n  a:\n    plugs: [home]\n");
    assert!(s.add_implicit_hook("install"));
    assert!(!s.add_implicit_hook("install"), "already there");
    assert!(!s.add_implicit_hook("bogus"));
    let h = &s.hooks["install"];
    assert!(!h.explicit);
    assert!(h.plugs.contains("network"));
    assert!(!h.plugs.contains("home"), "home is scoped to app a");
    assert!(s.plugs["network"].hooks.contains("install"));
    validate(&s).unwrap();

    let mut none = parse_snap_yaml(b"name: ss\nversion: 1\nbase: none\n").unwrap();
    none.add_implicit_hook("install");
    assert!(validate(&none).is_err(), "base none allows no hooks at all");
}
