//! The D-Bus API end to end: a private `dbus-daemon`, the daemon serving on it, and `gdbus`
//! as the client: every method, the signals of a connect seen by `gdbus monitor`, the refusal
//! of a change to an ordinary user (whose reads still work), and the admin group.

mod dbus_common;

use std::time::Duration;

use dbus_common::*;
use snap_tests::*;

const APP: &str = "dcam";

struct Fixture {
    root: TestRoot,
    _dir: tempfile::TempDir,
    bus: Bus,
    daemon: Option<Daemon>,
    installed: Vec<String>,
}

impl Fixture {
    fn new(admin_group: Option<&str>) -> Fixture {
        let root = TestRoot::new();
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::start();
        let daemon = start_daemon(&root, &bus, admin_group);
        let installed = install_fixture_snaps(&root, dir.path(), APP);
        Fixture {
            root,
            _dir: dir,
            bus,
            daemon: Some(daemon),
            installed,
        }
    }

    /// A call that must succeed; its output (GVariant text, without the type annotations
    /// gdbus puts on empty or first values).
    fn call(&self, method: &str, args: &[&str]) -> String {
        let out = run(&mut gdbus_call(&self.bus, method, args));
        assert!(
            out.status.success(),
            "{method} {args:?} failed: {}",
            text(&out.stderr)
        );
        plain(&text(&out.stdout))
    }

    /// A call that must fail; its error text (with the D-Bus error name).
    fn call_fails(&self, method: &str, args: &[&str]) -> String {
        let out = run(&mut gdbus_call(&self.bus, method, args));
        assert!(
            !out.status.success(),
            "{method} {args:?} succeeded: {}",
            text(&out.stdout)
        );
        text(&out.stderr)
    }

    /// Polls GetChange until the change is ready; its final entry.
    fn wait_change(&self, id: &str) -> String {
        let mut last = String::new();
        wait_until(&format!("change {id}"), Duration::from_secs(30), || {
            last = self.call("GetChange", &[id]);
            last.contains(", true, ")
        });
        last
    }

    fn finish(mut self) {
        remove_all_and_stop(&self.root, &mut self.installed, &mut self.daemon);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if std::thread::panicking() {
            remove_all_best_effort(&self.root, &mut self.installed, &mut self.daemon);
        }
    }
}

/// GVariant text without type annotations (`@a{sv} {}` is `{}`).
fn plain(s: &str) -> String {
    s.split(' ')
        .filter(|t| !t.starts_with('@'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The change id in a `('ID',)` reply.
fn change_id(reply: &str) -> String {
    reply
        .trim()
        .trim_start_matches("('")
        .trim_end_matches("',)")
        .to_owned()
}

#[test]
fn every_method_over_a_real_bus() {
    let f = Fixture::new(None);

    // ListSnaps: the app as the REST API knows it.
    let snaps = f.call("ListSnaps", &[]);
    assert!(
        snaps.contains(&format!(
            "('{APP}', 'Camera App', '1.2', 'x1', 'app', 'strict', '', '', 'active', '')"
        )),
        "{snaps}"
    );
    assert!(snaps.contains(&format!("('{BASE}', ''")), "{snaps}");

    // GetPlugsAndSlots: network auto-connected to the system snap, camera not connected.
    let ends = f.call("GetPlugsAndSlots", &[APP]);
    assert!(
        ends.contains(&format!(
            "('{APP}', 'network', 'network', {{}}, [('snapd', 'network')])"
        )),
        "{ends}"
    );
    assert!(
        ends.contains(&format!("('{APP}', 'camera', 'camera', {{}}, [])")),
        "{ends}"
    );
    assert!(
        f.call_fails("GetPlugsAndSlots", &["nosuchsnap"])
            .contains("dev.snappy.Snapd1.Error.NotFound"),
    );

    // Connect to the default slot, watching the signals.
    let monitor = Monitor::start(&f.bus);
    let id = change_id(&f.call("Connect", &[APP, "camera", "", ""]));
    let done = f.wait_change(&id);
    assert!(
        done.contains(&format!("('{id}', 'connect-snap', 'Connect {APP}:camera to snapd:camera', 'Done', true, '', uint32 1, uint32 1)")),
        "{done}"
    );
    assert!(
        cli_connections(&f.root, APP).contains(&format!("camera {APP}:camera :camera")),
        "{:?}",
        cli_connections(&f.root, APP)
    );
    let ends = f.call("GetPlugsAndSlots", &[APP]);
    assert!(
        ends.contains(&format!(
            "('{APP}', 'camera', 'camera', {{}}, [('snapd', 'camera')])"
        )),
        "{ends}"
    );
    // Signals come once the state is on disk, which may be after GetChange saw it done.
    monitor.wait_for(&format!("{NAME}.ChangeReady ('{id}', 'Done', '')"));
    monitor.wait_for(&format!(
        "{NAME}.ChangeChanged ('{id}', 'connect-snap', 'Done', uint32 1, uint32 1)"
    ));
    monitor.wait_for(&format!("{NAME}.ConnectionsChanged ()"));
    // Announced once.
    let seen = monitor.text();
    assert_eq!(
        seen.matches(&format!("{NAME}.ChangeReady ('{id}'")).count(),
        1,
        "{seen}"
    );

    // Connecting again changes nothing and is done at once, as over REST.
    let again = change_id(&f.call("Connect", &[APP, "camera", "snapd", "camera"]));
    assert!(f.wait_change(&again).contains("'Done', true"));

    // Errors keep their class.
    let err = f.call_fails("Connect", &[APP, "nosuchplug", "", ""]);
    assert!(err.contains("dev.snappy.Snapd1.Error.BadRequest"), "{err}");
    assert!(err.contains("has no plug named"), "{err}");

    // Disconnect every connection of the plug.
    let id = change_id(&f.call("Disconnect", &[APP, "camera", "", ""]));
    assert!(f.wait_change(&id).contains("'Done', true"));
    assert!(
        cli_connections(&f.root, APP).contains(&format!("camera {APP}:camera -")),
        "{:?}",
        cli_connections(&f.root, APP)
    );
    let err = f.call_fails("Disconnect", &[APP, "camera", "snapd", "camera"]);
    assert!(err.contains("dev.snappy.Snapd1.Error.Unchanged"), "{err}");

    // GetChange of what does not exist.
    let err = f.call_fails("GetChange", &["9999"]);
    assert!(err.contains("dev.snappy.Snapd1.Error.NotFound"), "{err}");

    // Hold and Unhold, seen over D-Bus and in the REST snap object.
    assert_eq!(
        f.call("Hold", &[APP, "forever", "general"]).trim(),
        "('forever',)"
    );
    assert!(f.call("ListSnaps", &[]).contains("'active', 'forever')"));
    let rest = api_get(&f.root, &format!("/v2/snaps/{APP}"));
    assert_eq!(rest["result"]["hold"], "9999-12-31T23:59:59Z", "{rest:#}");
    assert_eq!(
        f.call("Hold", &[APP, "2999-01-02T03:04:05Z", "auto-refresh"])
            .trim(),
        "('2999-01-02T03:04:05Z',)"
    );
    let err = f.call_fails("Hold", &[APP, "2001-01-01T00:00:00Z", ""]);
    assert!(err.contains("dev.snappy.Snapd1.Error.BadRequest"), "{err}");
    assert!(err.contains("has passed"), "{err}");
    let err = f.call_fails("Hold", &["nosuchsnap", "forever", ""]);
    assert!(err.contains("dev.snappy.Snapd1.Error.NotFound"), "{err}");
    assert_eq!(f.call("Unhold", &[APP]).trim(), "()");
    assert!(f.call("ListSnaps", &[]).contains("'active', '')"));
    let rest = api_get(&f.root, &format!("/v2/snaps/{APP}"));
    assert!(rest["result"].get("hold").is_none(), "{rest:#}");

    // The Version property.
    let v = f.call("org.freedesktop.DBus.Properties.Get", &[NAME, "Version"]);
    assert!(
        v.contains(&format!("<'{}'>", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );

    f.finish();
}

#[test]
fn the_introspection_is_the_documented_interface() {
    let f = Fixture::new(None);
    let live = f.call("org.freedesktop.DBus.Introspectable.Introspect", &[]);
    let spec_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/dbus/dev.snappy.Snapd1.xml");
    let spec = std::fs::read_to_string(&spec_path).unwrap();
    assert_eq!(
        members(&live.replace("\\n", "\n").replace("\\\"", "\"")),
        members(&spec),
        "{} differs from what the daemon serves",
        spec_path.display()
    );
    f.finish();
}

/// The method, signal, property and argument lines of our interface, in order, without
/// comments or whitespace.
fn members(xml: &str) -> Vec<String> {
    let start = xml
        .find(&format!("<interface name=\"{NAME}\">"))
        .expect("our interface");
    let rest = &xml[start..];
    let end = rest.find("</interface>").expect("end of interface");
    let mut out = Vec::new();
    let mut in_comment = false;
    for line in rest[..end].lines() {
        let l = line.trim();
        if l.starts_with("<!--") {
            in_comment = !l.ends_with("-->");
            continue;
        }
        if in_comment {
            in_comment = !l.ends_with("-->");
            continue;
        }
        if l.starts_with('<') {
            out.push(l.to_owned());
        }
    }
    out
}

#[test]
fn ordinary_users_read_but_may_not_change() {
    let f = Fixture::new(None);
    let user = ensure_test_user("snapdbususer");
    let as_user = |method: &str, args: &[&str]| {
        let mut c = user.command(std::path::Path::new("/usr/bin/gdbus"));
        // setpriv execs gdbus with the arguments gdbus_args adds.
        gdbus_args(&mut c, &f.bus, method, args);
        run(&mut c)
    };
    let out = as_user("ListSnaps", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("('{APP}', 'Camera App'")));
    let out = as_user("GetPlugsAndSlots", &[APP]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    for (method, args) in [
        ("Connect", &[APP, "camera", "", ""][..]),
        ("Disconnect", &[APP, "network", "", ""][..]),
        ("Hold", &[APP, "forever", ""][..]),
        ("Unhold", &[APP][..]),
    ] {
        let out = as_user(method, args);
        assert!(!out.status.success(), "{method} was allowed");
        let err = text(&out.stderr);
        assert!(
            err.contains("org.freedesktop.DBus.Error.AccessDenied"),
            "{method}: {err}"
        );
        assert!(err.contains(&format!("uid {}", user.uid)), "{err}");
    }
    // Nothing changed.
    let conns = cli_connections(&f.root, APP);
    assert!(
        conns.contains(&format!("camera {APP}:camera -")),
        "{conns:?}"
    );
    assert!(
        conns.contains(&format!("network {APP}:network :network")),
        "{conns:?}"
    );
    assert!(f.call("ListSnaps", &[]).contains("'active', '')"));
    f.finish();
}

#[test]
fn members_of_the_admin_group_may_change() {
    let user = ensure_test_user("snapdbusadmin");
    // The user's own group (useradd --user-group) is the admin group here.
    let group = user.name.clone();
    let f = Fixture::new(Some(&group));
    let mut c = user.command(std::path::Path::new("/usr/bin/gdbus"));
    gdbus_args(&mut c, &f.bus, "Connect", &[APP, "camera", "", ""]);
    let out = run(&mut c);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = change_id(&text(&out.stdout));
    assert!(f.wait_change(&id).contains("'Done', true"));
    assert!(
        cli_connections(&f.root, APP).contains(&format!("camera {APP}:camera :camera")),
        "{:?}",
        cli_connections(&f.root, APP)
    );
    f.finish();
}

#[test]
fn holds_over_rest_are_the_same_holds() {
    let f = Fixture::new(None);
    let path = format!("/v2/snaps/{APP}");
    let (status, v) = post_json(
        &f.root,
        &path,
        r#"{"action":"hold","time":"2999-05-06T07:08:09Z","hold-level":"auto-refresh"}"#,
    );
    assert_eq!(status, 200, "{v:#}");
    assert_eq!(v["type"], "sync", "{v:#}");
    assert_eq!(
        api_get(&f.root, &path)["result"]["hold"],
        "2999-05-06T07:08:09Z"
    );
    let listed = api_get(&f.root, &format!("/v2/snaps?snaps={APP}"));
    assert_eq!(
        listed["result"][0]["hold"], "2999-05-06T07:08:09Z",
        "{listed:#}"
    );
    // The D-Bus front end sees the hold the REST one made.
    assert!(
        f.call("ListSnaps", &[])
            .contains("'active', '2999-05-06T07:08:09Z')")
    );
    // Bad requests change nothing.
    for body in [
        r#"{"action":"hold","time":"soon"}"#,
        r#"{"action":"hold","time":"forever","hold-level":"sometimes"}"#,
        r#"{"action":"hold","time":"2000-01-01T00:00:00Z"}"#,
    ] {
        let (status, v) = post_json(&f.root, &path, body);
        assert_eq!(status, 400, "{body}: {v:#}");
    }
    assert_eq!(
        api_get(&f.root, &path)["result"]["hold"],
        "2999-05-06T07:08:09Z"
    );
    let (status, v) = post_json(&f.root, "/v2/snaps/nosuchsnap", r#"{"action":"unhold"}"#);
    assert_eq!(status, 400, "{v:#}");
    assert_eq!(v["result"]["kind"], "snap-not-installed", "{v:#}");
    let (status, v) = post_json(&f.root, &path, r#"{"action":"unhold"}"#);
    assert_eq!(status, 200, "{v:#}");
    assert!(api_get(&f.root, &path)["result"].get("hold").is_none());
    assert!(f.call("ListSnaps", &[]).contains("'active', '')"));
    f.finish();
}
