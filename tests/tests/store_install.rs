//! Installing from the store end to end: a repository made with the `snap-store` command,
//! served by a real nginx on loopback, and the daemon on a temporary root pointed at it
//! (`SNAPD_STORE_URL`, `SNAPD_STORE_KEYS`). Through the CLI: `snap find`, `snap info` of a snap
//! not installed and of an installed one, `snap install NAME [--channel]`, tracking in
//! `snap list`; refusals (tampered blob or index, unknown snap, unreachable store) leave the
//! root as it was.

use std::collections::BTreeMap;
use std::path::PathBuf;

use snap_tests::store_fixture::{StoreFixture as Fx, bump_mtime};
use snap_tests::*;

fn assert_same_tree(before: &BTreeMap<PathBuf, String>, after: &BTreeMap<PathBuf, String>) {
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k)
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
        .collect();
    assert!(changed.is_empty(), "the root changed: {changed:?}");
}

/// The kinds of a change's tasks, in order.
fn task_kinds(root: &TestRoot, id: &str) -> Vec<String> {
    let chg = api_get(root, &format!("/v2/changes/{id}"));
    chg["result"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn last_change_of_kind(root: &TestRoot, kind: &str) -> serde_json::Value {
    all_changes(root)
        .into_iter()
        .filter(|c| c["kind"] == kind)
        .max_by_key(|c| c["id"].as_str().unwrap().parse::<u64>().unwrap())
        .expect("a change of that kind")
}

#[test]
fn find_info_and_install_from_channels() {
    let mut fx = Fx::new();
    fx.publish(&fx.base(), "latest/stable");
    fx.publish(&fx.app("hello", "1.0"), "latest/stable");
    fx.publish(&fx.app("hello", "2.0"), "latest/beta");

    // find: everything, a search, and nothing found (said, not an error).
    let all = ok(&fx.snap(&["find"]));
    let lines: Vec<&str> = all.lines().collect();
    assert!(lines[0].starts_with("Name"), "{all}");
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["hello", "1.0", "acme", "-", "test", "app"]),
        "{all}"
    );
    assert!(lines.iter().any(|l| l.starts_with("core24 ")), "{all}");
    let some = ok(&fx.snap(&["find", "hel"]));
    assert_eq!(some.lines().count(), 2, "{some}");
    let none = fx.snap(&["find", "zzz"]);
    assert!(none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("No matching snaps for \"zzz\""));

    // info of a snap not installed: the store's channel map.
    let info = ok(&fx.snap(&["info", "hello"]));
    assert!(info.contains("publisher:  acme\n"), "{info}");
    assert!(info.contains("channels:\n"), "{info}");
    let chan = |name: &str| -> Vec<String> {
        info.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {info}"))
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(chan("latest/stable")[0..2], ["1.0", "(1)"]);
    assert_eq!(chan("latest/candidate"), ["↑"]);
    assert_eq!(chan("latest/beta")[0..2], ["2.0", "(2)"]);
    assert_eq!(chan("latest/edge"), ["↑"]);
    assert!(!info.contains("installed:"), "{info}");

    // Install the base from stable and the app from beta.
    assert_eq!(ok(&fx.snap(&["install", "core24"])), "core24 1 installed\n");
    fx.installed.push("core24".into());
    assert_eq!(
        ok(&fx.snap(&["install", "hello", "--channel=beta"])),
        "hello (beta) 2.0 installed\n"
    );
    fx.installed.push("hello".into());
    let chg = last_change_of_kind(&fx.root, "install-snap");
    assert_eq!(
        chg["summary"],
        "Install \"hello\" snap from \"beta\" channel"
    );
    let kinds = task_kinds(&fx.root, chg["id"].as_str().unwrap());
    assert_eq!(
        &kinds[..6],
        &[
            "prerequisites",
            "download-snap",
            "prerequisites",
            "mount-snap",
            "copy-snap-data",
            "setup-profiles"
        ]
    );
    assert!(!kinds.contains(&"prepare-snap".to_owned()));

    // The blob is the store's, verified; no partial download is left.
    let blobs = fx.root.path().join("var/lib/snapd/snaps");
    let blob = std::fs::read(blobs.join("hello_2.snap")).unwrap();
    assert_eq!(
        blob,
        std::fs::read(fx.repo().join("blobs/hello_2.snap")).unwrap()
    );
    assert!(!blobs.join("hello_2.snap.partial").exists());

    // Tracking, in list and info (with the channel map).
    let list = ok(&fx.snap(&["list"]));
    let row: Vec<&str> = list
        .lines()
        .find(|l| l.starts_with("hello "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[..4], ["hello", "2.0", "2", "latest/beta"], "{list}");
    let info = ok(&fx.snap(&["info", "hello"]));
    assert!(info.contains("tracking:   latest/beta\n"), "{info}");
    assert!(info.contains("publisher:  acme\n"), "{info}");
    assert!(info.contains("channels:\n"), "{info}");
    assert!(info.contains("installed:  2.0 (2)"), "{info}");
    let obj = api_get(&fx.root, "/v2/snaps/hello");
    assert_eq!(obj["result"]["tracking-channel"], "latest/beta");
    assert_eq!(obj["result"]["revision"], "2");

    // Installing it again is not an error, as snap.
    let again = ok(&fx.snap(&["install", "hello"]));
    assert!(again.contains("already installed"), "{again}");

    // The API as snapd's: find by name, 404 snap-not-found for an unknown one.
    let found = api_get(&fx.root, "/v2/find?name=hello");
    assert_eq!(found["sources"], serde_json::json!(["store"]));
    assert_eq!(
        found["result"][0]["channels"]["latest/beta"]["version"],
        "2.0"
    );
    assert_eq!(found["result"][0]["tracks"], serde_json::json!(["latest"]));
    let missing = api_get(&fx.root, "/v2/find?name=nosuch");
    assert_eq!(missing["status-code"], 404);
    assert_eq!(missing["result"]["kind"], "snap-not-found");

    fx.finish();
}

#[test]
fn refusals_leave_the_root_as_it_was() {
    let mut fx = Fx::new();
    fx.publish(&fx.app("hello", "1.0"), "latest/stable");
    // The first find fetches and keeps the index; from here on the root must not change.
    ok(&fx.snap(&["find"]));
    let before = fx.snapshot();

    // A snap the store does not have: snapd's error.
    let err = fails(&fx.snap(&["install", "nosuch"]));
    assert!(err.contains("snap \"nosuch\" not found"), "{err}");
    let err = fails(&fx.snap(&["info", "nosuch"]));
    assert!(err.contains("no snap found for \"nosuch\""), "{err}");
    // A snap whose base is not installed: refused after the download, whose undo removes the
    // blob.
    let err = fails(&fx.snap(&["install", "hello"]));
    assert!(
        err.contains("cannot find required base \"core24\""),
        "{err}"
    );
    assert_same_tree(&before, &fx.snapshot());
    // A channel with nothing on it.
    let err = fails(&fx.snap(&["install", "hello", "--channel=2.0/stable"]));
    assert!(err.contains("not available on channel"), "{err}");
    assert_same_tree(&before, &fx.snapshot());

    // A blob altered on the server: the download does not verify, the change fails and
    // nothing of it is left.
    let blob = fx.repo().join("blobs/hello_1.snap");
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let err = fails(&fx.snap(&["install", "hello"]));
    assert!(err.contains("SHA-384"), "{err}");
    let chg = last_change_of_kind(&fx.root, "install-snap");
    assert_eq!(chg["status"], "Error");
    assert_same_tree(&before, &fx.snapshot());
    assert!(api_get(&fx.root, "/v2/snaps/hello")["status-code"] == 404);

    // An index altered on the server (one byte of a summary): refused by its signature.
    let index = fx.repo().join("index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replace("test app", "test apq")).unwrap();
    // Same size within the same second would keep nginx's ETag (and get a 304): move the
    // mtime on, as the publisher does.
    bump_mtime(&index);
    let err = fails(&fx.snap(&["find"]));
    assert!(err.contains("bad signature"), "{err}");
    let err = fails(&fx.snap(&["install", "hello"]));
    assert!(err.contains("bad signature"), "{err}");
    std::fs::write(&index, text).unwrap();
    bump_mtime(&index);

    // The store gone: a clear error.
    drop(fx.nginx.take());
    let err = fails(&fx.snap(&["find", "hello"]));
    assert!(err.contains("cannot reach the store"), "{err}");
    let err = fails(&fx.snap(&["install", "hello"]));
    assert!(err.contains("cannot reach the store"), "{err}");

    // A refused index is not kept: the cache still holds the last good one.
    assert_same_tree(&before, &fx.snapshot());
    fx.finish();
}

#[test]
fn a_daemon_without_a_store_says_so() {
    let root = TestRoot::new();
    let mut daemon = Daemon::start(&root, &[]);
    let err = fails(&root.snap(&["find", "hello"]));
    assert!(err.contains("no store is configured"), "{err}");
    let err = fails(&root.snap(&["install", "hello"]));
    assert!(err.contains("no store is configured"), "{err}");
    assert!(daemon.stop().success());
}

#[test]
fn debian_snap_finds_shows_and_installs_store_snaps() {
    let mut fx = Fx::new();
    fx.publish(&fx.base(), "latest/stable");
    fx.publish(&fx.app("hello", "1.0"), "latest/stable");
    fx.publish(&fx.app("hello", "2.0"), "latest/edge");
    let out = ok(&debian_snap(&fx.root, &["find", "hello"]));
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("hello "))
        .unwrap_or_else(|| panic!("{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[..2], ["hello", "1.0"], "{out}");
    let out = ok(&debian_snap(&fx.root, &["info", "hello"]));
    assert!(out.contains("channels:"), "{out}");
    let stable = out
        .lines()
        .find(|l| l.trim_start().starts_with("latest/stable:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(stable.contains("1.0") && stable.contains("(1)"), "{out}");
    let edge = out
        .lines()
        .find(|l| l.trim_start().starts_with("latest/edge:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(edge.contains("2.0") && edge.contains("(2)"), "{out}");

    ok(&debian_snap(&fx.root, &["install", "core24"]));
    fx.installed.push("core24".into());
    let out = ok(&debian_snap(&fx.root, &["install", "hello", "--edge"]));
    fx.installed.push("hello".into());
    assert!(out.contains("hello (edge) 2.0"), "{out}");
    let out = ok(&debian_snap(&fx.root, &["list"]));
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("hello "))
        .unwrap_or_else(|| panic!("{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[..4], ["hello", "2.0", "2", "latest/edge"], "{out}");
    fx.finish();
}

/// A base snap of about `mb` MiB of incompressible data.

#[test]
fn a_download_cut_by_a_daemon_restart_resumes_where_it_stopped() {
    // 2 MB/s: the 6 MiB download takes about three seconds.
    let mut fx = Fx::with_nginx("limit_rate 2m;");
    let file = store_fixture::big_snap(fx.dir.path(), 6, "base");
    fx.publish(&file, "latest/stable");
    let id = ok(&fx.snap(&["install", "big", "--no-wait"]))
        .trim()
        .to_owned();
    let partial = fx
        .root
        .path()
        .join("var/lib/snapd/snaps/big_1.snap.partial");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < 1 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the download did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // A clean stop in the middle: the task is left to resume, the partial file kept.
    let st = fx.daemon.take().unwrap().stop();
    assert!(st.success(), "snapd exited with {st}");
    let kept = std::fs::metadata(&partial).unwrap().len();
    let total = std::fs::metadata(&file).unwrap().len();
    assert!(kept > 0 && kept < total, "kept {kept} of {total}");

    fx.start_daemon();
    let chg = wait_change_ready(&fx.root, &id, std::time::Duration::from_secs(60));
    assert_eq!(chg["status"], "Done", "{chg:#}");
    fx.installed.push("big".into());
    // The second request asked only for the rest.
    let log = fx.nginx.as_ref().unwrap().log(3);
    let ranged: Vec<_> = log
        .iter()
        .filter(|l| l.request.contains("/blobs/big_1.snap"))
        .collect();
    assert_eq!(ranged.len(), 2, "{log:?}");
    assert_eq!(ranged[0].range, "-");
    let from: u64 = ranged[1]
        .range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{:?}", ranged[1]));
    assert_eq!(ranged[1].status, 206);
    assert_eq!(from, kept, "resumed from {from}, {kept} were kept");
    assert_eq!(
        std::fs::read(fx.root.path().join("var/lib/snapd/snaps/big_1.snap")).unwrap(),
        std::fs::read(&file).unwrap()
    );
    assert!(!partial.exists());
    fx.finish();
}

#[test]
fn an_aborted_download_leaves_nothing() {
    let fx = Fx::with_nginx("limit_rate 1m;");
    let file = store_fixture::big_snap(fx.dir.path(), 6, "base");
    fx.publish(&file, "latest/stable");
    ok(&fx.snap(&["find"]));
    let before = fx.snapshot();
    let id = ok(&fx.snap(&["install", "big", "--no-wait"]))
        .trim()
        .to_owned();
    let partial = fx
        .root
        .path()
        .join("var/lib/snapd/snaps/big_1.snap.partial");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the download did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    ok(&fx.snap(&["abort", &id]));
    let chg = wait_change_ready(&fx.root, &id, std::time::Duration::from_secs(30));
    assert_ne!(chg["status"], "Done", "{chg:#}");
    assert!(
        chg["err"].as_str().unwrap_or("").contains("aborted after"),
        "{chg:#}"
    );
    assert!(!partial.exists());
    assert_same_tree(&before, &fx.snapshot());
    fx.finish();
}

#[test]
fn debian_snap_installs_several_snaps_as_one_transaction() {
    let mut fx = Fx::new();
    fx.publish(&fx.base(), "latest/stable");
    fx.publish(&fx.app("hello", "1.0"), "latest/stable");
    let orphan = app_snap(&fx.dir.path().join("in-orphan"), "orphan", "1", "nobase");
    fx.publish(&orphan, "latest/stable");
    ok(&fx.snap(&["find"]));
    let before = fx.snapshot();

    // The second snap cannot be installed (its base is nowhere): the first is undone with it.
    let out = debian_snap(&fx.root, &["install", "core24", "orphan"]);
    let err = fails(&out);
    assert!(err.contains("cannot find required base"), "{err}");
    assert_same_tree(&before, &fx.snapshot());
    let chg = last_change_of_kind(&fx.root, "install-snap");
    assert_eq!(chg["summary"], "Install snaps \"core24\", \"orphan\"");
    assert_eq!(chg["status"], "Error");

    ok(&debian_snap(&fx.root, &["install", "core24", "hello"]));
    fx.installed
        .extend(["core24".to_owned(), "hello".to_owned()]);
    let list = ok(&fx.snap(&["list"]));
    for name in ["core24", "hello"] {
        let row: Vec<&str> = list
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{list}"))
            .split_whitespace()
            .collect();
        assert_eq!(row[3], "latest/stable", "{list}");
    }
    fx.finish();
}
