//! Existing clients against our daemon: Debian's `snap` (snapd 2.57) and snapd-glib 1.63
//! (through `tests/glib_client.py`), each driving a daemon on a throwaway root over
//! `<root>/run/snapd.socket`. What they send and require is in
//! /work/shared/reference/peers-and-clients.md §4–§6.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;
use snap_tests::*;

const BASE: &str = "compat-base";
const APP: &str = "compat-app";
const APP_VERSION: &str = "2.5";

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The rows of one of the client's tables (`snap list`, `snap changes`, ...), header first,
/// each split on whitespace. Blank lines (the one after `snap changes`) are dropped.
fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// `snap info`'s `key: value` lines.
fn info_fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Installs a snap file with Debian's client and checks its one-line report.
fn debian_install(root: &TestRoot, file: &Path, name: &str, version: &str) {
    let out = debian_snap(root, &["install", "--dangerous", path_str(file)]);
    assert_eq!(ok(&out), format!("{name} {version} installed\n"));
    assert_eq!(stderr_of(&out), "", "no PATH warning, no warnings count");
}

/// Nothing mounted or attached under the root, and no upload left behind.
fn assert_nothing_leaked(root: &TestRoot) {
    let (mounts, loops) = leaks(root.path());
    assert!(mounts.is_empty(), "leaked mounts: {mounts:?}");
    assert!(loops.is_empty(), "leaked loop devices: {loops:?}");
    let uploads = root.path().join("var/lib/snapd/uploads");
    if uploads.exists() {
        let left: Vec<_> = fs::read_dir(&uploads)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "uploads left behind: {left:?}");
    }
}

/// Stops the daemon and checks that it served on the root's socket, logged no error, warning
/// or panic while the clients drove it, and shut down cleanly.
fn stop_and_check_log(root: &TestRoot, daemon: &mut Daemon) {
    let status = daemon.stop();
    let log = daemon.log_text();
    assert!(status.success(), "daemon exited with {status}; log:\n{log}");
    let socket = root.path().join("run/snapd.socket");
    assert!(
        log.contains(&format!("serving the API on {}", socket.display())),
        "{log}"
    );
    for bad in ["ERROR", "WARN", "panicked"] {
        assert!(!log.contains(bad), "daemon logged {bad}:\n{log}");
    }
    assert!(
        log.contains("stopped"),
        "no clean shutdown in the log:\n{log}"
    );
    assert!(!socket.exists(), "the socket outlived the daemon");
}

#[test]
fn debian_snap_client_drives_the_daemon() {
    let root = TestRoot::new();
    let fixtures = tempfile::tempdir().unwrap();
    let base = base_snap(fixtures.path(), BASE);
    let app = app_snap(fixtures.path(), APP, APP_VERSION, BASE);
    let mut daemon = Daemon::start(&root, &[]);

    // `snap version` asks GET /v2/system-info; "unavailable" would mean it never got an answer.
    let version = ok(&debian_snap(&root, &["version"]));
    let rows = table(&version);
    assert!(
        rows.contains(&vec!["snapd".into(), env!("CARGO_PKG_VERSION").into()]),
        "{version}"
    );
    assert!(
        rows.contains(&vec!["series".into(), "16".into()]),
        "{version}"
    );
    assert!(!version.contains("unavailable"), "{version}");

    // An empty root: a friendly note on stderr, success.
    let out = debian_snap(&root, &["list"]);
    assert_eq!(ok(&out), "");
    assert_eq!(
        stderr_of(&out),
        "No snaps are installed yet. Try 'snap install hello-world'.\n"
    );

    // Sideloads: chunked multipart POST, 202, polling until ready, then GET /v2/snaps?snaps=NAME.
    debian_install(&root, &base, BASE, "1");
    debian_install(&root, &app, APP, APP_VERSION);

    let header: Vec<String> = ["Name", "Version", "Rev", "Tracking", "Publisher", "Notes"]
        .map(String::from)
        .into();
    let expected = vec![
        header,
        [APP, APP_VERSION, "x1", "-", "-", "-"]
            .map(String::from)
            .into(),
        [BASE, "1", "x1", "-", "-", "base"].map(String::from).into(),
    ];
    assert_eq!(table(&ok(&debian_snap(&root, &["list"]))), expected);
    assert_eq!(
        table(&ok(&debian_snap(&root, &["list", "--all"]))),
        expected
    );
    let one = table(&ok(&debian_snap(&root, &["list", APP])));
    assert_eq!(one, expected[..2]);

    // `snap changes`: both installs, done, with snapd's summaries.
    let changes = ok(&debian_snap(&root, &["changes"]));
    let rows = table(&changes);
    assert_eq!(
        rows[0],
        ["ID", "Status", "Spawn", "Ready", "Summary"],
        "{changes}"
    );
    assert_eq!(rows.len(), 3, "{changes}");
    let mut ids = BTreeMap::new();
    for (row, (name, file)) in rows[1..].iter().zip([(BASE, &base), (APP, &app)]) {
        assert_eq!(row[1], "Done", "{changes}");
        let line = changes
            .lines()
            .find(|l| l.starts_with(&format!("{} ", row[0])))
            .unwrap();
        assert!(
            line.ends_with(&format!(
                "Install \"{name}\" snap from file \"{}\"",
                file.display()
            )),
            "{changes}"
        );
        ids.insert(name, row[0].clone());
    }

    // `snap tasks ID` and `snap change ID` list the change's tasks, as the API has them.
    let app_change = &ids[APP];
    let api_tasks = all_changes(&root)
        .into_iter()
        .find(|c| c["id"] == app_change.as_str())
        .expect("the app's change")["tasks"]
        .as_array()
        .cloned()
        .unwrap();
    assert!(!api_tasks.is_empty());
    let tasks = ok(&debian_snap(&root, &["tasks", app_change]));
    assert_eq!(ok(&debian_snap(&root, &["change", app_change])), tasks);
    let lines: Vec<&str> = tasks.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        table(lines[0]),
        [["Status", "Spawn", "Ready", "Summary"]],
        "{tasks}"
    );
    assert_eq!(lines.len(), api_tasks.len() + 1, "{tasks}");
    for (line, task) in lines[1..].iter().zip(&api_tasks) {
        assert!(line.starts_with("Done "), "{tasks}");
        assert!(
            line.ends_with(task["summary"].as_str().unwrap()),
            "{line:?} vs {task}"
        );
    }
    assert!(
        tasks.contains(&format!("Mount snap \"{APP}\" (x1)")),
        "{tasks}"
    );

    // `snap info` (GET /v2/find fails without a store; the local GET /v2/snaps/NAME carries it).
    let info = ok(&debian_snap(&root, &["info", APP]));
    let fields = info_fields(&info);
    assert_eq!(fields["name"], APP, "{info}");
    assert_eq!(fields["summary"], "test app", "{info}");
    assert!(
        fields["installed"].starts_with(&format!("{APP_VERSION} (x1) ")),
        "{info}"
    );
    assert!(info.contains(&format!("commands:\n  - {APP}\n")), "{info}");
    assert!(
        info.contains("description: |\n  an app for tests\n"),
        "{info}"
    );

    // Remove, then remove again: snapd's kind snap-not-installed makes the second a note, rc 0.
    assert_eq!(
        ok(&debian_snap(&root, &["remove", APP])),
        format!("{APP} removed\n")
    );
    let out = debian_snap(&root, &["remove", APP]);
    assert_eq!(ok(&out), "");
    assert_eq!(
        stderr_of(&out),
        format!("snap \"{APP}\" is not installed\n")
    );
    let out = debian_snap(&root, &["list", APP]);
    assert_eq!(fails(&out), "error: no matching snaps installed\n");

    // A corrupt file is refused with an error, and its upload is not kept.
    let bad = fixtures.path().join("corrupt.snap");
    fs::write(&bad, b"hsqs this is not a squashfs image").unwrap();
    let out = debian_snap(&root, &["install", "--dangerous", path_str(&bad)]);
    let err = fails(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        ok(&debian_snap(&root, &["changes"]))
            .lines()
            .filter(|l| l.contains(" Done "))
            .count()
            == 3
    );
    let rows = table(&ok(&debian_snap(&root, &["list"])));
    assert_eq!(rows[1..], expected[2..]);

    assert_eq!(
        ok(&debian_snap(&root, &["remove", BASE])),
        format!("{BASE} removed\n")
    );
    let out = debian_snap(&root, &["list"]);
    assert_eq!(ok(&out), "");
    assert!(stderr_of(&out).starts_with("No snaps are installed yet."));
    assert_nothing_leaked(&root);
    stop_and_check_log(&root, &mut daemon);
}

/// snapd 2.57 answers a sideload it cannot read with 400 "cannot read snap file: <why>" and no
/// kind; the kind `snap-not-a-snap` belongs to `snap try` on a directory, and the Go client
/// turns it into `"<file>" does not contain an unpacked snap.` plus a hint to run
/// `snapcraft prime` and `snap try`, which is wrong for a corrupt file.
#[test]
fn debian_snap_reports_a_corrupt_file_like_snapd() {
    let root = TestRoot::new();
    let fixtures = tempfile::tempdir().unwrap();
    let bad = fixtures.path().join("corrupt.snap");
    fs::write(&bad, b"not a snap at all").unwrap();
    let mut daemon = Daemon::start(&root, &[]);
    let out = debian_snap(&root, &["install", "--dangerous", path_str(&bad)]);
    let err = fails(&out);
    assert!(err.starts_with("error: cannot read snap file"), "{err}");
    assert!(
        !err.contains("unpacked snap") && !err.contains("snap try"),
        "{err}"
    );
    assert_nothing_leaked(&root);
    stop_and_check_log(&root, &mut daemon);
}

/// GLib prints CRITICAL or WARNING lines when a reply lacks what it expects (an object where
/// it wants one, ...), even when the call succeeds.
fn assert_glib_quiet(stderr: &str) {
    assert!(
        !stderr.contains("CRITICAL") && !stderr.contains("WARNING"),
        "{stderr}"
    );
}

/// Checks glib's view of the installed snaps against what was installed.
fn assert_glib_snaps(snaps: &Value) {
    let snaps = snaps.as_array().unwrap();
    let mut by_name: BTreeMap<&str, &Value> = snaps
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s))
        .collect();
    assert_eq!(
        by_name.keys().copied().collect::<Vec<_>>(),
        [APP, BASE],
        "{snaps:#?}"
    );
    let app = by_name.remove(APP).unwrap();
    assert_eq!(app["version"], APP_VERSION);
    assert_eq!(app["revision"], "x1");
    assert_eq!(app["status"], "active");
    assert_eq!(app["type"], "app");
    assert_eq!(app["summary"], "test app");
    assert_eq!(app["apps"], serde_json::json!([APP]));
    let base = by_name.remove(BASE).unwrap();
    assert_eq!(base["version"], "1");
    assert_eq!(base["revision"], "x1");
    assert_eq!(base["status"], "active");
    assert_eq!(base["type"], "base");
}

/// glib's changes match the daemon's own listing field by field.
fn assert_glib_changes(root: &TestRoot, glib: &Value) {
    let api = all_changes(root);
    let glib = glib.as_array().unwrap();
    assert_eq!(glib.len(), api.len(), "{glib:#?}");
    for (g, a) in glib.iter().zip(&api) {
        for field in ["id", "kind", "summary", "status", "ready"] {
            assert_eq!(g[field], a[field], "{field} of change {}", a["id"]);
        }
        assert_eq!(g["status"], "Done");
        assert_eq!(g["ready"], true);
        assert!(
            g["spawn-time"].is_string() && g["ready-time"].is_string(),
            "{g}"
        );
        let ids = |v: &Value| {
            v["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(g), ids(a));
    }
}

#[test]
fn snapd_glib_reads_the_daemon_and_removes_snaps() {
    let root = TestRoot::new();
    let fixtures = tempfile::tempdir().unwrap();
    let base = base_snap(fixtures.path(), BASE);
    let app = app_snap(fixtures.path(), APP, APP_VERSION, BASE);
    let mut daemon = Daemon::start(&root, &[]);
    debian_install(&root, &base, BASE, "1");
    debian_install(&root, &app, APP, APP_VERSION);
    let changes = all_changes(&root);
    assert_eq!(changes.len(), 2);
    let app_change = changes[1]["id"].as_str().unwrap().to_owned();

    let (run, stderr) = glib_client(
        &daemon.socket,
        &[
            "info",
            "snaps",
            "snaps-all",
            "changes",
            &format!("change:{app_change}"),
        ],
    );
    assert_glib_quiet(&stderr);

    let info = glib_ok(&run, 0, &stderr);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["series"], "16");
    assert_eq!(info["on-classic"], true);
    assert_eq!(
        info["mount-directory"],
        root.path().join("snap").display().to_string()
    );
    assert_eq!(
        info["binaries-directory"],
        root.path().join("snap/bin").display().to_string()
    );

    assert_glib_snaps(glib_ok(&run, 1, &stderr));
    assert_glib_snaps(glib_ok(&run, 2, &stderr));
    assert_glib_changes(&root, glib_ok(&run, 3, &stderr));

    let chg = glib_ok(&run, 4, &stderr);
    assert_eq!(chg["id"], app_change.as_str());
    assert_eq!(chg["kind"], "install-snap");
    assert_eq!(chg["status"], "Done");
    assert_eq!(chg["ready"], true);
    assert_eq!(
        chg["summary"],
        format!("Install \"{APP}\" snap from file \"{}\"", app.display())
    );
    let kinds: Vec<&str> = chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    for kind in ["prerequisites", "mount-snap", "link-snap"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert!(
        chg["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "Done"),
        "{chg:#}"
    );

    // Removal through glib: POST /v2/snaps/NAME, then polling GET /v2/changes/ID, whose
    // answer must carry the same id.
    let (run, stderr) = glib_client(
        &daemon.socket,
        &[&format!("remove:{APP}"), &format!("remove:{APP}")],
    );
    assert_glib_quiet(&stderr);
    let removed = glib_ok(&run, 0, &stderr);
    assert_eq!(removed["ok"], true);
    let last = removed["progress"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .expect("progress reported");
    assert_eq!(last["status"], "Done");
    assert_eq!(last["ready"], true);
    // The second removal: kind snap-not-installed is glib's SNAPD_ERROR_NOT_INSTALLED (15).
    let again = &run["ops"][1];
    assert_eq!(again["ok"], false, "{again}");
    assert_eq!(again["error"]["domain"], "snapd-error-quark");
    assert_eq!(again["error"]["code"], 15, "{again}");
    assert_eq!(
        again["error"]["message"],
        format!("snap \"{APP}\" is not installed")
    );

    let (run, stderr) = glib_client(
        &daemon.socket,
        &[&format!("remove:{BASE}"), "snaps", "changes"],
    );
    assert_glib_quiet(&stderr);
    assert_eq!(glib_ok(&run, 0, &stderr)["ok"], true);
    assert_eq!(glib_ok(&run, 1, &stderr), &serde_json::json!([]));
    let glib_changes = glib_ok(&run, 2, &stderr);
    assert_glib_changes(&root, glib_changes);
    let kinds: Vec<&str> = glib_changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["install-snap", "install-snap", "remove-snap", "remove-snap"]
    );

    assert_nothing_leaked(&root);
    stop_and_check_log(&root, &mut daemon);
}

/// snapd-glib's `install_stream_sync(DANGEROUS)` posts `multipart/form-data` to /v2/snaps with
/// only two parts: `name=dangerous` = `true` and the file part `filename=x; name=snap`
/// (`Content-Type: application/vnd.snap`), with no `action` field; snapd 2.57 treats any
/// multipart POST that is not `action=try` as an install. Our daemon answers
/// 400 `{"message":"cannot install: no action given"}`, which glib reports as
/// `snapd-error-quark 3 (BAD_REQUEST): (null): cannot install: no action given`.
#[test]
fn snapd_glib_installs_local_files_and_removes_them() {
    let root = TestRoot::new();
    let fixtures = tempfile::tempdir().unwrap();
    let base = base_snap(fixtures.path(), BASE);
    let app = app_snap(fixtures.path(), APP, APP_VERSION, BASE);
    let mut daemon = Daemon::start(&root, &[]);

    let (run, stderr) = glib_client(
        &daemon.socket,
        &[
            &format!("install:{}", base.display()),
            &format!("install:{}", app.display()),
            "snaps",
            "changes",
        ],
    );
    assert_glib_quiet(&stderr);
    for i in 0..2 {
        let installed = glib_ok(&run, i, &stderr);
        assert_eq!(installed["ok"], true);
        let last = installed["progress"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .expect("progress reported");
        assert_eq!(last["status"], "Done");
    }
    assert_glib_snaps(glib_ok(&run, 2, &stderr));
    let changes = glib_ok(&run, 3, &stderr);
    assert_glib_changes(&root, changes);
    let kinds: Vec<&str> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["install-snap", "install-snap"]);

    // The Go client sees what glib installed.
    assert_eq!(table(&ok(&debian_snap(&root, &["list"]))).len(), 3);

    let (run, stderr) = glib_client(
        &daemon.socket,
        &[&format!("remove:{APP}"), &format!("remove:{BASE}"), "snaps"],
    );
    assert_glib_quiet(&stderr);
    assert_eq!(glib_ok(&run, 0, &stderr)["ok"], true);
    assert_eq!(glib_ok(&run, 1, &stderr)["ok"], true);
    assert_eq!(glib_ok(&run, 2, &stderr), &serde_json::json!([]));
    assert_nothing_leaked(&root);
    stop_and_check_log(&root, &mut daemon);
}
