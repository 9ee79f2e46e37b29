//! `apps.<name>`: every field, and the rules tying them to daemons.

mod common;

use common::{err, ok, refused_at};
use snap_core::{DaemonScope, DaemonType, InstallMode, RefreshMode, RestartCondition, StopMode};
use std::time::Duration;

#[test]
fn every_field_of_a_service() {
    let s = ok(r#"
apps:
  svc:
    command: bin/svc --flag $SNAP_DATA
    command-chain: [bin/chain1, bin/chain2]
    daemon: notify
    daemon-scope: user
    stop-command: bin/stop
    reload-command: bin/reload
    post-stop-command: bin/post
    stop-timeout: 10s
    start-timeout: 1m30s
    watchdog-timeout: 500ms
    restart-condition: no
    restart-delay: 2s
    success-exit-status: [42, '7']
    stop-mode: sigusr1-all
    refresh-mode: endure
    install-mode: disable
    bus-name: org.example.Svc
    common-id: org.example.svc
    timer: mon-fri,10:00-12:00/2
    environment:
      FOO: bar
    after: [other]
    plugs: [network]
  other:
    command: bin/other
    daemon: simple
    daemon-scope: user
    aliases: [oth]
    autostart: other.desktop
    desktop: other.desktop
    completer: share/complete.sh
"#);
    let a = &s.apps["svc"];
    assert_eq!(a.command.as_deref(), Some("bin/svc --flag $SNAP_DATA"));
    assert_eq!(a.command_chain, ["bin/chain1", "bin/chain2"]);
    assert_eq!(a.daemon, Some(DaemonType::Notify));
    assert_eq!(a.daemon_scope, Some(DaemonScope::User));
    assert_eq!(a.stop_command.as_deref(), Some("bin/stop"));
    assert_eq!(a.reload_command.as_deref(), Some("bin/reload"));
    assert_eq!(a.post_stop_command.as_deref(), Some("bin/post"));
    assert_eq!(
        a.stop_timeout.unwrap().as_duration(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        a.start_timeout.unwrap().as_duration(),
        Some(Duration::from_secs(90))
    );
    assert_eq!(
        a.watchdog_timeout.unwrap().as_duration(),
        Some(Duration::from_millis(500))
    );
    assert_eq!(a.restart_condition, Some(RestartCondition::Never));
    assert_eq!(
        a.restart_delay.unwrap().as_duration(),
        Some(Duration::from_secs(2))
    );
    assert_eq!(a.success_exit_status, [42, 7]);
    assert_eq!(a.stop_mode, Some(StopMode::Sigusr1All));
    assert_eq!(a.refresh_mode, Some(RefreshMode::Endure));
    assert_eq!(a.install_mode, Some(InstallMode::Disable));
    assert_eq!(a.bus_name.as_deref(), Some("org.example.Svc"));
    assert_eq!(a.common_id.as_deref(), Some("org.example.svc"));
    assert_eq!(a.timer.as_deref(), Some("mon-fri,10:00-12:00/2"));
    assert_eq!(a.environment.get("FOO"), Some("bar"));
    assert_eq!(a.after, ["other"]);
    let o = &s.apps["other"];
    assert_eq!(o.aliases, ["oth"]);
    assert_eq!(s.legacy_aliases["oth"], "other");
    assert_eq!(o.autostart.as_deref(), Some("other.desktop"));
    assert_eq!(o.desktop.as_deref(), Some("other.desktop"));
    assert_eq!(o.completer.as_deref(), Some("share/complete.sh"));
}

#[test]
fn daemons_default_to_system_scope() {
    let s = ok("apps:\n  a:\n    command: a\n    daemon: simple\n  b:\n    command: b\n");
    assert_eq!(s.apps["a"].daemon_scope, Some(DaemonScope::System));
    assert_eq!(s.apps["b"].daemon_scope, None);
    assert!(s.apps["a"].is_service() && !s.apps["b"].is_service());
    assert_eq!(s.services().count(), 1);
}

#[test]
fn daemon_values() {
    for d in ["simple", "forking", "oneshot", "notify", "dbus"] {
        ok(&format!("apps:\n  a:\n    command: a\n    daemon: {d}\n"));
    }
    let e = err("apps:\n  foo:\n    command: a\n    daemon: bogus\n");
    assert_eq!(
        e.to_string(),
        "invalid snap.yaml: apps.foo.daemon: unknown daemon type \"bogus\" \
         (expected simple, forking, oneshot, notify or dbus)"
    );
    refused_at(
        "apps:\n  a:\n    daemon-scope: user\n",
        "apps.a.daemon-scope",
        "only be set for daemons",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    daemon-scope: global\n",
        "apps.a.daemon-scope",
        "invalid daemon scope",
    );
}

#[test]
fn app_names_and_command_characters() {
    refused_at("apps:\n  a_b:\n    command: x\n", "apps.a_b", "as app name");
    ok("apps:\n  Ab-1:\n    command: x\n");
    refused_at(
        "apps:\n  a:\n    command: bin/a 'x'\n",
        "apps.a.command",
        "contains illegal",
    );
    refused_at(
        "apps:\n  a:\n    command: a\n    daemon: simple\n    stop-command: a;b\n",
        "apps.a.stop-command",
        "illegal",
    );
    refused_at(
        "apps:\n  a:\n    bus-name: a\"b\n",
        "apps.a.bus-name",
        "illegal",
    );
    refused_at(
        "apps:\n  a:\n    command-chain: [ok, 'a b']\n",
        "apps.a.command-chain[1]",
        "illegal",
    );
}

#[test]
fn service_only_fields() {
    for (field, value) in [
        ("stop-timeout", "1s"),
        ("start-timeout", "1s"),
        ("watchdog-timeout", "1s"),
        ("restart-delay", "1s"),
        ("restart-condition", "always"),
        ("timer", "10:00"),
        ("activates-on", "[dbus-slot]"),
        ("success-exit-status", "[1]"),
    ] {
        let body = format!(
            "slots:\n  dbus-slot:\n    interface: dbus\n    bus: system\n    name: org.x\napps:\n  a:\n    command: a\n    {field}: {value}\n"
        );
        let e = err(&body);
        assert!(
            e.to_string().contains("only applicable to services"),
            "{field}: {e}"
        );
        assert_eq!(e.path(), format!("apps.a.{field}"));
    }
    // A zero duration counts as unset, as in snapd.
    ok("apps:\n  a:\n    command: a\n    stop-timeout: 0s\n");
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    stop-timeout: -1s\n",
        "apps.a.stop-timeout",
        "cannot be negative",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    restart-delay: -1s\n",
        "apps.a.restart-delay",
        "cannot be negative",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    stop-timeout: 10\n",
        "apps.a.stop-timeout",
        "missing unit",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    timer: 25:00\n",
        "apps.a.timer",
        "timer has invalid format",
    );
}

#[test]
fn restart_conditions() {
    for c in [
        "never",
        "no",
        "on-success",
        "on-failure",
        "on-abnormal",
        "on-abort",
        "on-watchdog",
        "always",
    ] {
        ok(&format!(
            "apps:\n  a:\n    daemon: simple\n    restart-condition: {c}\n"
        ));
    }
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    restart-condition: sometimes\n",
        "apps.a.restart-condition",
        "invalid restart condition",
    );
}

#[test]
fn success_exit_status_range() {
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    success-exit-status: [256]\n",
        "apps.a.success-exit-status",
        "range 1 to 255",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    success-exit-status: [0]\n",
        "apps.a.success-exit-status",
        "range 1 to 255",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    success-exit-status: [SIGTERM]\n",
        "apps.a.success-exit-status",
        "range 1 to 255",
    );
}

#[test]
fn modes() {
    refused_at(
        "apps:\n  a:\n    stop-mode: sigterm\n",
        "apps.a.stop-mode",
        "only for services",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    stop-mode: sigkill\n",
        "apps.a.stop-mode",
        "invalid value",
    );
    refused_at(
        "apps:\n  a:\n    install-mode: enable\n",
        "apps.a.install-mode",
        "only for services",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    install-mode: on\n",
        "apps.a.install-mode",
        "invalid value",
    );
    ok("apps:\n  a:\n    refresh-mode: ignore-running\n");
    refused_at(
        "apps:\n  a:\n    refresh-mode: endure\n",
        "apps.a.refresh-mode",
        "can only have value \"ignore-running\"",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    refresh-mode: ignore-running\n",
        "apps.a.refresh-mode",
        "cannot be set to \"ignore-running\" for services",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    refresh-mode: never\n",
        "apps.a.refresh-mode",
        "invalid value",
    );
}

#[test]
fn ordering() {
    ok(
        "apps:\n  a:\n    daemon: simple\n    after: [b]\n  b:\n    daemon: simple\n    before: [a]\n",
    );
    refused_at(
        "apps:\n  a:\n    after: [b]\n  b:\n    daemon: simple\n",
        "apps.a.after",
        "must be a service",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    after: [zz]\n",
        "apps.a.after",
        "missing application \"zz\"",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    before: [b]\n  b:\n    command: b\n",
        "apps.a.before",
        "non-service application \"b\"",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    after: [b]\n  b:\n    daemon: simple\n    daemon-scope: user\n",
        "apps.a.after",
        "different daemon-scope",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    after: [b]\n  b:\n    daemon: simple\n    after: [c]\n  c:\n    daemon: simple\n    after: [a]\n  d:\n    daemon: simple\n",
        "apps",
        "before/after cycle: a, b, c",
    );
}

#[test]
fn sockets() {
    let s = ok(
        "apps:\n  a:\n    daemon: simple\n    plugs: [network-bind]\n    sockets:\n      s1:\n        listen-stream: $SNAP_DATA/s.sock\n        socket-mode: 0660\n      s2:\n        listen-stream: 127.0.0.1:8080\n",
    );
    let a = &s.apps["a"];
    assert_eq!(a.sockets["s1"].socket_mode, Some(0o660));
    assert_eq!(a.sockets["s2"].listen_stream, "127.0.0.1:8080");
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    sockets:\n      s1:\n        listen-stream: 8080\n",
        "apps.a.sockets",
        "\"network-bind\" interface plug is required",
    );
    ok(
        "confinement: classic\napps:\n  a:\n    daemon: simple\n    sockets:\n      s1:\n        listen-stream: 8080\n",
    );
    // An unscoped network-bind plug reaches every app.
    ok(
        "plugs:\n  network-bind:\napps:\n  a:\n    daemon: simple\n    sockets:\n      s1:\n        listen-stream: 8080\n",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    plugs: [network-bind]\n    sockets:\n      s1:\n        listen-stream: /run/x.sock\n",
        "apps.a.sockets.s1",
        "system daemon sockets must have a prefix",
    );
    refused_at(
        "apps:\n  a:\n    daemon: simple\n    plugs: [network-bind]\n    sockets:\n      s1:\n        listen-stream: 8080\n        socket-mode: 01777\n",
        "apps.a.sockets.s1",
        "cannot use mode: 1777",
    );
    let e = err("apps:\n  a:\n    sockets:\n      s1:\n        socket-mode: rw\n");
    assert_eq!(e.path(), "apps.a.sockets.s1.socket-mode", "{e}");
}

#[test]
fn activates_on() {
    let base = "slots:\n  dbus-svc:\n    interface: dbus\n    bus: system\n    name: org.example\n";
    let s = ok(&format!(
        "{base}apps:\n  a:\n    daemon: dbus\n    activates-on: [dbus-svc]\n  b:\n    command: b\n"
    ));
    assert_eq!(s.apps["a"].activates_on, ["dbus-svc"]);
    // Activation scopes the slot to the app.
    assert!(s.apps["a"].slots.contains("dbus-svc"));
    assert!(!s.apps["b"].slots.contains("dbus-svc"));
    refused_at(
        "apps:\n  a:\n    daemon: dbus\n    activates-on: [nope]\n",
        "apps.a.activates-on",
        "slot not found",
    );
    refused_at(
        &format!(
            "{base}apps:\n  a:\n    daemon: dbus\n    daemon-scope: user\n    activates-on: [dbus-svc]\n"
        ),
        "apps.a.activates-on",
        "does not match daemon-scope \"user\"",
    );
    refused_at(
        "slots:\n  x:\n    interface: network\napps:\n  a:\n    daemon: simple\n    activates-on: [x]\n",
        "apps.a.activates-on",
        "does not use dbus interface",
    );
    let e = err(&format!(
        "{base}apps:\n  a:\n    daemon: dbus\n    activates-on: [dbus-svc]\n  b:\n    daemon: dbus\n    activates-on: [dbus-svc]\n"
    ));
    assert!(e.to_string().contains("also activatable on app"), "{e}");
}

#[test]
fn aliases_and_common_ids() {
    refused_at(
        "apps:\n  a:\n    aliases: [x]\n  b:\n    aliases: [x]\n",
        "apps.b.aliases",
        "as alias for both \"a\" and \"b\"",
    );
    refused_at(
        "apps:\n  a:\n    aliases: [_x]\n",
        "apps.a.aliases",
        "as alias name for app \"a\"",
    );
    refused_at(
        "apps:\n  a:\n    common-id: x\n  b:\n    common-id: x\n",
        "apps.b.common-id",
        "must be unique",
    );
}

#[test]
fn app_type_errors_name_the_field() {
    let e = err("apps:\n  a:\n    command: [x]\n");
    assert_eq!(e.path(), "apps.a.command");
    let e = err("apps:\n  a:\n    plugs: network\n");
    assert_eq!(e.path(), "apps.a.plugs");
    // A null app is an app with every field unset.
    ok("apps:\n  a:\n");
}

#[test]
fn executables_for_packers() {
    let s = ok("apps:\n  a:\n    command: bin/a -x\n    command-chain: [bin/c]\n");
    let paths: Vec<String> = s.app_commands().into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["bin/a", "bin/c"]);
}
