//! Refreshing from the store end to end: a repository published with `snap-store`, served by
//! nginx on loopback, the daemon pointed at it. `snap refresh` of one snap and of all of them,
//! following a channel or switching to another, nothing to do, a refresh of two snaps that
//! fails for one of them (both stay where they were: all or nothing), `snap switch`, and holds.

use std::path::PathBuf;

use snap_tests::store_fixture::StoreFixture as Fx;
use snap_tests::*;

fn out_text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn revision(fx: &Fx, name: &str) -> (String, String, String) {
    let s = api_get(&fx.root, &format!("/v2/snaps/{name}"));
    let f = |k: &str| s["result"][k].as_str().unwrap_or("").to_owned();
    (f("version"), f("revision"), f("tracking-channel"))
}

/// The store holds core24 and two apps at version 1 on stable; the device installs them.
fn installed(fx: &mut Fx) {
    fx.publish(&fx.base(), "latest/stable");
    for app in ["alpha", "beta"] {
        fx.publish(&fx.app(app, "1"), "latest/stable");
    }
    for name in ["core24", "alpha", "beta"] {
        ok(&fx.snap(&["install", name]));
        fx.installed.push(name.into());
    }
}

#[test]
fn refresh_follows_the_tracked_channel_and_can_switch_it() {
    need_root!();
    let mut fx = Fx::new();
    installed(&mut fx);
    assert_eq!(
        out_text(&fx.snap(&["refresh", "alpha"])),
        "snap \"alpha\" has no updates available\n"
    );
    fx.publish(&fx.app("alpha", "2"), "latest/stable");
    assert_eq!(
        out_text(&fx.snap(&["refresh", "alpha"])),
        "alpha 2 refreshed\n"
    );
    assert_eq!(
        revision(&fx, "alpha"),
        ("2".into(), "2".into(), "latest/stable".into())
    );
    // The old revision stays to revert to.
    assert!(
        fx.root
            .path()
            .join("var/lib/snapd/snaps/alpha_1.snap")
            .exists()
    );

    // Another channel: refreshed from it, and tracked from now on.
    fx.publish(&fx.app("alpha", "3-beta"), "latest/beta");
    assert_eq!(
        out_text(&fx.snap(&["refresh", "alpha", "--beta"])),
        "alpha (beta) 3-beta refreshed\n"
    );
    assert_eq!(revision(&fx, "alpha").2, "latest/beta");
    // A failed channel switch leaves the channel as it was: tampered blob on edge.
    let edge = fx.app("alpha", "4-edge");
    fx.publish(&edge, "latest/edge");
    let blob = fx.repo().join("blobs").join("alpha_4.snap");
    tamper(&blob);
    let err =
        String::from_utf8_lossy(&fx.snap(&["refresh", "alpha", "--edge"]).stderr).into_owned();
    assert!(err.contains("SHA-384") || err.contains("sha384"), "{err}");
    assert_eq!(
        revision(&fx, "alpha"),
        ("3-beta".into(), "3".into(), "latest/beta".into())
    );

    // `snap switch`: the channel alone; the next refresh follows it.
    assert_eq!(
        out_text(&fx.snap(&["switch", "alpha", "--stable"])),
        "alpha switched to the stable channel\n"
    );
    assert_eq!(revision(&fx, "alpha").2, "latest/stable");
    fx.finish();
}

fn tamper(blob: &PathBuf) {
    let mut bytes = std::fs::read(blob).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(blob, bytes).unwrap();
}

#[test]
fn refreshing_several_snaps_is_all_or_nothing() {
    need_root!();
    let mut fx = Fx::new();
    installed(&mut fx);
    assert_eq!(out_text(&fx.snap(&["refresh"])), "All snaps up to date.\n");

    fx.publish(&fx.app("alpha", "2"), "latest/stable");
    fx.publish(&fx.app("beta", "2"), "latest/stable");
    // beta's new blob is corrupt: the whole refresh is undone, alpha included.
    let beta_blob = fx.repo().join("blobs").join("beta_2.snap");
    tamper(&beta_blob);
    let before = tree(fx.root.path(), snap_tests::store_fixture::VOLATILE);
    let out = fx.snap(&["refresh"]);
    assert!(!out.status.success(), "{}", out_text(&out));
    assert_eq!(revision(&fx, "alpha").0, "1");
    assert_eq!(revision(&fx, "beta").0, "1");
    let after = tree(fx.root.path(), snap_tests::store_fixture::VOLATILE);
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(after.keys().filter(|k| !before.contains_key(*k)).cloned())
        .filter(|k| !k.starts_with("var/lib/snapd/store"))
        .collect();
    assert!(changed.is_empty(), "the root changed: {changed:?}");

    // Fixed in the store: both go, in one change.
    fx.publish(&fx.app("beta", "2.1"), "latest/stable");
    let out = out_text(&fx.snap(&["refresh"]));
    assert_eq!(out, "alpha 2 refreshed\nbeta 2.1 refreshed\n");
    let chg = all_changes(&fx.root).last().cloned().unwrap();
    assert_eq!(chg["kind"], "refresh-snap");
    assert_eq!(chg["summary"], "Refresh snaps \"alpha\", \"beta\"");
    fx.finish();
}

#[test]
fn holds_are_set_and_removed_per_snap_and_for_all() {
    need_root!();
    let mut fx = Fx::new();
    installed(&mut fx);
    let out = out_text(&fx.snap(&["refresh", "--hold=72h", "alpha"]));
    assert!(
        out.starts_with("General refreshes of \"alpha\" held until "),
        "{out}"
    );
    let hold = api_get(&fx.root, "/v2/snaps/alpha")["result"]["hold"].clone();
    assert!(hold.as_str().is_some_and(|h| h.ends_with('Z')), "{hold}");
    // Held, alpha is left out of a refresh of all snaps; named, it is refreshed all the same.
    fx.publish(&fx.app("alpha", "2"), "latest/stable");
    fx.publish(&fx.app("beta", "2"), "latest/stable");
    assert_eq!(out_text(&fx.snap(&["refresh"])), "beta 2 refreshed\n");
    assert_eq!(revision(&fx, "alpha").0, "1");
    assert_eq!(
        out_text(&fx.snap(&["refresh", "alpha"])),
        "alpha 2 refreshed\n"
    );
    ok(&fx.snap(&["refresh", "--unhold", "alpha"]));
    assert!(api_get(&fx.root, "/v2/snaps/alpha")["result"]["hold"].is_null());

    ok(&fx.snap(&["refresh", "--hold"]));
    assert_eq!(
        out_text(&fx.snap(&["get", "system", "refresh.hold"])),
        "forever\n"
    );
    ok(&fx.snap(&["refresh", "--unhold"]));
    assert!(!fx.snap(&["get", "system", "refresh.hold"]).status.success());
    let err = String::from_utf8_lossy(&fx.snap(&["refresh", "--hold=3d"]).stderr).into_owned();
    assert!(err.contains("unknown unit \"d\""), "{err}");
    fx.finish();
}

#[test]
fn the_gadgets_defaults_apply_to_a_store_snap_at_install() {
    need_root!();
    let mut fx = Fx::new();
    fx.publish(&fx.base(), "latest/stable");
    fx.publish(&fx.app("alpha", "1"), "latest/stable");
    ok(&fx.snap(&["install", "core24"]));
    fx.installed.push("core24".into());
    // A gadget whose defaults name alpha by its store id.
    let id = snap_store::snap_id_for("alpha");
    let gadget = make_snap(
        &fx.dir.path().join("gadget"),
        "name: board\nversion: '1'\ntype: gadget\nbase: core24\nsummary: a board\n",
        &[(
            "meta/gadget.yaml",
            &format!(
                "defaults:\n  {id}:\n    greeting: from the board\n    net:\n      port: 8080\n"
            ),
            0o644,
        )],
    );
    ok(&fx.snap(&["install", "--dangerous", gadget.to_str().unwrap()]));
    fx.installed.push("board".into());
    ok(&fx.snap(&["install", "alpha"]));
    fx.installed.push("alpha".into());
    assert_eq!(
        api_get(&fx.root, "/v2/snaps/alpha")["result"]["id"],
        serde_json::json!(id)
    );
    assert_eq!(
        out_text(&fx.snap(&["get", "alpha", "greeting"])),
        "from the board\n"
    );
    assert_eq!(out_text(&fx.snap(&["get", "alpha", "net.port"])), "8080\n");
    // A snap from a file has no store id: the gadget has nothing for it.
    let side = fx.app("beta", "1");
    ok(&fx.snap(&["install", "--dangerous", side.to_str().unwrap()]));
    fx.installed.push("beta".into());
    assert_eq!(out_text(&fx.snap(&["get", "beta"])), "");
    fx.finish();
}
