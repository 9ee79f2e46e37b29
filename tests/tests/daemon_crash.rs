//! Crash safety end to end: the real daemon, aborted by `SNAPD_CRASH_AFTER_TASK` right after a
//! task status became durable, then restarted without it. Whatever the boundary, the change is
//! resumed (or its undo finished) and the system ends exactly as the change's outcome says:
//! one mount and one loop device per installed revision, the right links, nothing left over.
//!
//! Every boundary is also run "with a reboot": after the crash every mount under the root is
//! undone by hand (as after a power cut), so the daemon's start-up remounting is exercised with
//! unfinished changes in every state.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use snap_tests::*;

const BASE: &str = "crashbase";
const APP: &str = "crashapp";
/// Local revisions are `x1`, `x2`, ...; each snap here is installed once.
const REV: &str = "x1";
/// The state is rewritten by every change (through a temporary file that a tree taken while
/// the daemon is running may catch; `finish_clean` checks none is left once it stopped), and
/// the API socket (which `tree` cannot read as a file) belongs to the running daemon: compare
/// everything else.
const STATE_TMP: &str = "var/lib/snapd/state.json.tmp~";
const SKIP: &[&str] = &[
    "var/lib/snapd/state.json",
    "var/lib/snapd/state.lock",
    "var/lib/snapd/state.journal",
    STATE_TMP,
    "run/snapd.socket",
    "run/snapd-snap.socket",
];
/// Generous bound on one change after a restart (they take milliseconds).
const CHANGE_LIMIT: Duration = Duration::from_secs(20);
const SIGABRT: i32 = 6;
const CRASH_ENV: &str = "SNAPD_CRASH_AFTER_TASK";

/// The app: one app with a `network` plug, which `auto-connect` connects to the system slot
/// (and `auto-disconnect` disconnects), so every install and removal changes a connection and
/// rewrites a profile.
fn crash_app(dir: &Path) -> PathBuf {
    let yaml = format!(
        "name: {APP}\nversion: '1.0'\nbase: {BASE}\nsummary: test app\napps:\n  {APP}:\n    command: bin/run\n    plugs: [network]\n"
    );
    make_snap(dir, &yaml, &[("bin/run", "#!/bin/sh\necho hi\n", 0o755)])
}

/// The established connections (`plug`, `slot`) of the app, from the API.
fn app_connections(root: &TestRoot) -> Vec<(String, String)> {
    let resp = api_get(root, &format!("/v2/connections?select=all&snap={APP}"));
    resp["result"]["established"]
        .as_array()
        .unwrap_or_else(|| panic!("connections: {resp:#}"))
        .iter()
        .map(|c| {
            (
                format!(
                    "{}:{}",
                    c["plug"]["snap"].as_str().unwrap(),
                    c["plug"]["plug"].as_str().unwrap()
                ),
                format!(
                    "{}:{}",
                    c["slot"]["snap"].as_str().unwrap(),
                    c["slot"]["slot"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

/// The app's profile as the launcher reads it.
fn app_profile(root: &Path) -> serde_json::Value {
    let path = root.join(format!("var/lib/snapd/profiles/snap.{APP}.{APP}.json"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Whether the app's profile grants `network`: landlock lets it connect to any TCP port
/// (`tcp-connect` is null) instead of none (`[]`).
fn profile_has_network(root: &Path) -> bool {
    let p = app_profile(root);
    match &p["landlock"]["tcp-connect"] {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) if a.is_empty() => false,
        other => panic!("unexpected tcp-connect {other} in {p:#}"),
    }
}

/// A root with the base installed by a running, uninstrumented daemon.
struct Fixture {
    root: TestRoot,
    _snaps: tempfile::TempDir,
    app: PathBuf,
    daemon: Daemon,
    /// The tree right after the base was installed: what removing the app must give back.
    after_base: std::collections::BTreeMap<PathBuf, String>,
    logs: Vec<PathBuf>,
}

impl Fixture {
    fn new() -> Fixture {
        let root = TestRoot::new();
        let snaps = tempfile::tempdir().unwrap();
        let base = base_snap(snaps.path(), BASE);
        let app = crash_app(snaps.path());
        let daemon = Daemon::start(&root, &[]);
        let logs = vec![daemon.log.clone()];
        ok(&root.snap(&["install", "--dangerous", base.to_str().unwrap()]));
        let after_base = tree(root.path(), SKIP);
        Fixture {
            root,
            _snaps: snaps,
            app,
            daemon,
            after_base,
            logs,
        }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn snap(&self, args: &[&str]) -> std::process::Output {
        self.root.snap(args)
    }

    /// Stops the running daemon cleanly and starts one with `env`.
    fn restart(&mut self, env: &[(&str, &str)]) {
        if self.daemon.child.is_some() {
            let st = self.daemon.stop();
            assert!(
                st.success(),
                "snapd did not stop cleanly: {st:?}\n{}",
                self.daemon.log_text()
            );
        }
        self.daemon = Daemon::start(&self.root, env);
    }

    /// Restarts the daemon with `env` and the crash point `point` armed, runs `snap args` and
    /// waits for the daemon to abort there. Returns the crashed daemon's log.
    ///
    /// `KIND:STARTED>ENDED` (e.g. `mount-snap:Doing>Done`) stands for a death after a handler's
    /// effects but before its end was recorded, which no crash point gives: crash at
    /// KIND:STARTED and save that state.json, let the handler run up to a crash at KIND:ENDED,
    /// and put the saved state.json back. The restarted daemon then finds KIND still STARTED
    /// with its work already done on disk, and must run it again.
    fn crash(&mut self, env: &[(&str, &str)], args: &[&str], point: &str) -> String {
        let (first, replay_end) = match point.split_once('>') {
            Some((a, b)) => (a, Some(b)),
            None => (point, None),
        };
        let mut armed = env.to_vec();
        armed.push((CRASH_ENV, first));
        self.restart(&armed);
        // The daemon may die before or after answering: either outcome of the CLI is fine.
        let cli = self.snap(args);
        let mut log = self.expect_abort(first, &format!("cli: {cli:?}"));
        if let Some(end) = replay_end {
            let kind = first.split_once(':').unwrap().0;
            let second = format!("{kind}:{end}");
            // The state is the snapshot and the journal of what came after it: both.
            let state = self.path().join("var/lib/snapd/state.json");
            let journal = self.path().join("var/lib/snapd/state.journal");
            let saved = fs::read(&state).unwrap();
            let saved_journal = fs::read(&journal).ok();
            let mut armed = env.to_vec();
            armed.push((CRASH_ENV, &second));
            // Armed, it may crash before it serves anything.
            self.daemon = start_daemon_may_crash(&self.root, &armed);
            log = self.expect_abort(&second, "replaying");
            fs::write(&state, saved).unwrap();
            match saved_journal {
                Some(j) => fs::write(&journal, j).unwrap(),
                None => {
                    let _ = fs::remove_file(&journal);
                }
            }
        }
        log
    }

    /// Waits for the daemon to abort at `point` (`KIND:STATUS`); returns its log.
    fn expect_abort(&mut self, point: &str, context: &str) -> String {
        let status = self.daemon.wait_exit();
        let log = self.daemon.log_text();
        assert_eq!(
            status.signal(),
            Some(SIGABRT),
            "crash point {point} did not fire (exit {status:?})\n{context}\nlog:\n{log}"
        );
        let (kind, status) = point.split_once(':').unwrap();
        assert!(
            log.contains(&format!("({kind}) was persisted as {status}\n")),
            "the daemon aborted elsewhere than at {point}:\n{log}"
        );
        // Keep the crashed daemon's log: the next start truncates the shared log file.
        let kept = self
            .path()
            .with_extension(format!("crashed-{}.log", self.logs.len()));
        fs::write(&kept, &log).unwrap();
        self.logs.push(kept);
        log
    }

    /// What a power cut leaves: no mount and no loop device under the root.
    fn reboot_like(&self) {
        assert!(
            self.daemon.child.is_none(),
            "the daemon must be dead before a reboot"
        );
        unmount_all_under(self.path());
        let (mounts, loops) = leaks(self.path());
        assert!(
            mounts.is_empty() && loops.is_empty(),
            "after unmounting all: {mounts:?} {loops:?}"
        );
    }

    /// The newest change of `kind` about the app, waited for until ready.
    fn last_change_ready(&self, kind: &str) -> serde_json::Value {
        let changes = all_changes(&self.root);
        let chg = app_change(&changes, kind)
            .unwrap_or_else(|| panic!("no {kind} change of {APP}: {changes:#?}"));
        let id = chg["id"].as_str().unwrap();
        wait_change_ready(&self.root, id, CHANGE_LIMIT)
    }

    fn blob(&self) -> PathBuf {
        self.path()
            .join(format!("var/lib/snapd/snaps/{APP}_{REV}.snap"))
    }

    fn mounts_of_app(&self) -> Vec<PathBuf> {
        let dir = fs::canonicalize(self.path())
            .unwrap()
            .join("snap")
            .join(APP);
        snap_sys::mounts_under(&dir)
            .unwrap()
            .into_iter()
            .map(|m| m.mount_point)
            .collect()
    }

    fn loops_of_app(&self) -> Vec<snap_sys::LoopInfo> {
        let blob_dir = fs::canonicalize(self.path())
            .unwrap()
            .join("var/lib/snapd/snaps");
        let prefix = format!("{APP}_");
        snap_sys::loops_backed_by(&blob_dir)
            .into_iter()
            .filter(|l| {
                l.backing_file
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })
            .collect()
    }

    /// The app is installed, exactly once, and usable.
    fn assert_app_installed(&self) {
        let root = self.path();
        let list = ok(&self.snap(&["list"]));
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().next() == Some(APP)),
            "{APP} not listed:\n{list}"
        );
        let info = api_get(&self.root, &format!("/v2/snaps/{APP}"));
        assert_eq!(info["result"]["revision"], REV, "{info:#}");

        let mount_point = fs::canonicalize(root)
            .unwrap()
            .join("snap")
            .join(APP)
            .join(REV);
        assert_eq!(
            self.mounts_of_app(),
            vec![mount_point.clone()],
            "mounts of {APP}"
        );
        assert!(
            mount_point.join("meta/snap.yaml").is_file(),
            "the mount shows no snap"
        );
        assert!(
            mount_point.join("bin/run").is_file(),
            "the mount shows no app"
        );

        for link in [
            root.join("snap").join(APP).join("current"),
            root.join("var/snap").join(APP).join("current"),
        ] {
            assert_eq!(
                fs::read_link(&link).ok(),
                Some(PathBuf::from(REV)),
                "{}",
                link.display()
            );
        }
        let wrapper = root.join("snap/bin").join(APP);
        let target =
            fs::read_link(&wrapper).unwrap_or_else(|e| panic!("{}: {e}", wrapper.display()));
        assert_eq!(
            target.file_name().unwrap(),
            "snap",
            "wrapper {} -> {}",
            wrapper.display(),
            target.display()
        );
        assert!(
            target.is_file(),
            "wrapper target {} missing",
            target.display()
        );
        assert!(root.join("var/snap").join(APP).join(REV).is_dir());
        assert!(root.join("var/snap").join(APP).join("common").is_dir());

        let uploads: Vec<_> = fs::read_dir(root.join("var/lib/snapd/uploads"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(uploads.is_empty(), "stray uploads: {uploads:?}");
        // Connected once, and the profile says so.
        assert_eq!(
            app_connections(&self.root),
            [(format!("{APP}:network"), "snapd:network".to_owned())]
        );
        assert!(profile_has_network(root), "{:#}", app_profile(root));
        let blob = fs::canonicalize(self.blob()).expect("the app's blob");
        let loops = self.loops_of_app();
        assert_eq!(loops.len(), 1, "loop devices of {APP}: {loops:?}");
        assert_eq!(loops[0].backing_file, blob);
        assert!(!loops[0].deleted, "{loops:?}");
    }

    /// Nothing of the app is left: the tree is the one right after the base was installed.
    fn assert_app_gone(&self) {
        let list = ok(&self.snap(&["list"]));
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(APP)),
            "{APP} still listed:\n{list}"
        );
        assert_eq!(
            self.mounts_of_app(),
            Vec::<PathBuf>::new(),
            "mounts of {APP}"
        );
        // An auto-clearing loop may take a moment to go after its unmount.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.loops_of_app().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            self.loops_of_app().is_empty(),
            "loops of {APP}: {:?}",
            self.loops_of_app()
        );
        assert_trees_equal(&self.after_base, &tree(self.path(), SKIP));
        // Removing the app forgot its connections, undesired ones included.
        let all = api_get(&self.root, "/v2/connections?select=all");
        for list in ["established", "undesired"] {
            let left: Vec<_> = all["result"][list]
                .as_array()
                .map(|a| a.iter().filter(|c| c["plug"]["snap"] == APP).collect())
                .unwrap_or_default();
            assert!(
                left.is_empty(),
                "{list} connections of {APP} left: {left:#?}"
            );
        }
    }

    /// The newest change of `kind`, waited for until ready.
    fn last_change_of_kind(&self, kind: &str) -> serde_json::Value {
        let changes = all_changes(&self.root);
        let chg = changes
            .iter()
            .rev()
            .find(|c| c["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} change: {changes:#?}"));
        wait_change_ready(&self.root, chg["id"].as_str().unwrap(), CHANGE_LIMIT)
    }

    /// The app's `network` plug is disconnected by the user: remembered as undesired, and gone
    /// from the profile.
    fn assert_network_disconnected(&self) {
        assert_eq!(app_connections(&self.root), []);
        let resp = api_get(
            &self.root,
            &format!("/v2/connections?select=all&snap={APP}"),
        );
        let undesired = resp["result"]["undesired"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(undesired.len(), 1, "{resp:#}");
        assert_eq!(undesired[0]["plug"]["plug"], "network", "{resp:#}");
        assert!(
            !profile_has_network(self.path()),
            "{:#}",
            app_profile(self.path())
        );
    }

    /// Removes the base too: the root must then hold no mount and no loop device at all.
    fn finish_clean(mut self) {
        ok(&self.snap(&["remove", BASE]));
        let (mounts, loops) = leaks(self.path());
        assert!(mounts.is_empty(), "leaked mounts: {mounts:?}");
        assert!(loops.is_empty(), "leaked loop devices: {loops:?}");
        let st = self.daemon.stop();
        assert!(
            st.success(),
            "snapd did not stop cleanly: {st:?}\n{}",
            self.daemon.log_text()
        );
        assert!(
            !self.path().join(STATE_TMP).exists(),
            "a half-written state file is left"
        );
        for log in &self.logs {
            let _ = fs::remove_file(log);
        }
    }
}

/// The newest change of `kind` whose summary names the app.
fn app_change<'a>(changes: &'a [serde_json::Value], kind: &str) -> Option<&'a serde_json::Value> {
    changes.iter().rev().find(|c| {
        c["kind"] == kind
            && c["summary"]
                .as_str()
                .is_some_and(|s| s.contains(&format!("{APP:?}")))
    })
}

/// Like `assert_eq!` on two trees, but names only the entries that differ.
fn assert_trees_equal(
    want: &std::collections::BTreeMap<PathBuf, String>,
    got: &std::collections::BTreeMap<PathBuf, String>,
) {
    if want == got {
        return;
    }
    let mut diff = String::new();
    for (p, v) in want {
        match got.get(p) {
            None => diff.push_str(&format!("  missing   {}: {v}\n", p.display())),
            Some(g) if g != v => {
                diff.push_str(&format!("  changed   {}: {v} => {g}\n", p.display()))
            }
            _ => {}
        }
    }
    for (p, v) in got {
        if !want.contains_key(p) {
            diff.push_str(&format!("  left over {}: {v}\n", p.display()));
        }
    }
    panic!("the tree differs from the one before the app was installed:\n{diff}");
}

fn task_statuses(chg: &serde_json::Value) -> Vec<(String, String)> {
    chg["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks: {chg:#}"))
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn statuses(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, s)| ((*k).to_owned(), (*s).to_owned()))
        .collect()
}

const INSTALL_DONE: &[(&str, &str)] = &[
    ("prepare-snap", "Done"),
    ("prerequisites", "Done"),
    ("mount-snap", "Done"),
    ("copy-snap-data", "Done"),
    ("setup-profiles", "Done"),
    ("link-snap", "Done"),
    ("auto-connect", "Done"),
    ("run-hook", "Done"),
    ("start-snap-services", "Done"),
    ("run-hook", "Done"),
    ("run-hook", "Done"),
];

fn install_args(fx: &Fixture) -> Vec<String> {
    [
        "install",
        "--dangerous",
        "--no-wait",
        fx.app.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

/// Case 1: crash at `point` while installing the app; the restarted daemon completes it.
fn crash_during_install(point: &str, reboot: bool) {
    let mut fx = Fixture::new();
    let args = install_args(&fx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = fx.crash(&[], &args, point);
    if reboot {
        fx.reboot_like();
    }
    fx.restart(&[]);
    let chg = fx.last_change_ready("install-snap");
    assert_eq!(
        chg["status"], "Done",
        "install after a crash at {point}: {chg:#}\ncrashed daemon:\n{log}"
    );
    assert_eq!(task_statuses(&chg), statuses(INSTALL_DONE));
    fx.assert_app_installed();

    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Case 2: crash at `point` while removing the app; the restarted daemon completes it.
fn crash_during_remove(point: &str, reboot: bool) {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    fx.assert_app_installed();
    let log = fx.crash(&[], &["remove", "--no-wait", APP], point);
    if reboot {
        fx.reboot_like();
    }
    fx.restart(&[]);
    let chg = fx.last_change_ready("remove-snap");
    assert_eq!(
        chg["status"], "Done",
        "remove after a crash at {point}: {chg:#}\ncrashed daemon:\n{log}"
    );
    assert_eq!(
        task_statuses(&chg),
        statuses(&[
            ("stop-snap-services", "Done"),
            ("run-hook", "Done"),
            ("auto-disconnect", "Done"),
            ("save-snapshot", "Done"),
            ("unlink-snap", "Done"),
            ("remove-profiles", "Done"),
            ("clear-snap", "Done"),
            ("discard-snap", "Done")
        ])
    );
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Case 3: link-snap fails, and the daemon crashes at `point` while undoing the install; the
/// restarted daemon (without either variable) finishes the undo.
fn crash_during_undo(point: &str, reboot: bool) {
    let mut fx = Fixture::new();
    let args = install_args(&fx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = fx.crash(&[("SNAPD_TEST_FAIL_TASK", "link-snap")], &args, point);
    if reboot {
        fx.reboot_like();
    }
    fx.restart(&[]);
    let chg = fx.last_change_ready("install-snap");
    assert_eq!(
        chg["status"], "Error",
        "undo after a crash at {point}: {chg:#}\ncrashed daemon:\n{log}"
    );
    assert!(
        chg["err"]
            .as_str()
            .unwrap_or("")
            .contains("injected failure of link-snap"),
        "{chg:#}"
    );
    assert_eq!(
        task_statuses(&chg),
        statuses(&[
            ("prepare-snap", "Undone"),
            // No undo handler: it stays Done, as in snapd.
            ("prerequisites", "Done"),
            ("mount-snap", "Undone"),
            ("copy-snap-data", "Undone"),
            ("setup-profiles", "Undone"),
            ("link-snap", "Error"),
            ("auto-connect", "Hold"),
            ("run-hook", "Hold"),
            ("start-snap-services", "Hold"),
            ("run-hook", "Hold"),
            ("run-hook", "Hold"),
        ])
    );
    let uploads = fs::read_dir(fx.path().join("var/lib/snapd/uploads"))
        .unwrap()
        .count();
    assert_eq!(uploads, 0, "stray uploads");
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Case 3b: the remove fails at clear-snap (before touching anything), and the daemon crashes
/// at `point` while undoing the unlink; the restarted daemon relinks and the app works again.
fn crash_during_remove_undo(point: &str, reboot: bool) {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    let log = fx.crash(
        &[("SNAPD_TEST_FAIL_TASK", "clear-snap")],
        &["remove", "--no-wait", APP],
        point,
    );
    if reboot {
        fx.reboot_like();
    }
    fx.restart(&[]);
    let chg = fx.last_change_ready("remove-snap");
    assert_eq!(
        chg["status"], "Error",
        "remove undo after a crash at {point}: {chg:#}\ncrashed daemon:\n{log}"
    );
    assert!(
        chg["err"]
            .as_str()
            .unwrap_or("")
            .contains("injected failure of clear-snap"),
        "{chg:#}"
    );
    assert_eq!(
        task_statuses(&chg),
        statuses(&[
            ("stop-snap-services", "Undone"),
            // A hook cannot be undone: it stays Done, as in snapd.
            ("run-hook", "Done"),
            ("auto-disconnect", "Undone"),
            ("save-snapshot", "Undone"),
            ("unlink-snap", "Undone"),
            ("remove-profiles", "Undone"),
            ("clear-snap", "Error"),
            ("discard-snap", "Hold")
        ])
    );
    fx.assert_app_installed();

    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Case 5: the daemon crashes at `point` while connecting the app's `network` plug by hand (the
/// user took the automatic connection down first); the restarted daemon completes it, and the
/// connection and the profile agree.
fn crash_during_connect(point: &str, reboot: bool) {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    assert_eq!(ok(&fx.snap(&["disconnect", &format!("{APP}:network")])), "");
    fx.assert_network_disconnected();
    let log = fx.crash(
        &[],
        &["connect", "--no-wait", &format!("{APP}:network")],
        point,
    );
    if reboot {
        fx.reboot_like();
    }
    fx.restart(&[]);
    let chg = fx.last_change_of_kind("connect-snap");
    assert_eq!(
        chg["status"], "Done",
        "connect after a crash at {point}: {chg:#}\ncrashed daemon:\n{log}"
    );
    assert_eq!(
        chg["summary"],
        format!("Connect {APP}:network to snapd:network")
    );
    assert_eq!(task_statuses(&chg), statuses(&[("connect", "Done")]));
    fx.assert_app_installed();
    let resp = api_get(&fx.root, &format!("/v2/connections?snap={APP}"));
    assert_eq!(resp["result"]["established"][0]["manual"], true, "{resp:#}");
    assert!(resp["result"].get("undesired").is_none(), "{resp:#}");

    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Case 6: the daemon crashes at `point` while disconnecting the app's automatic `network`
/// connection; the restarted daemon completes it: the connection is remembered as undesired
/// and the profile no longer grants it.
fn crash_during_disconnect(point: &str, reboot: bool) {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    fx.assert_app_installed();
    let log = fx.crash(
        &[],
        &["disconnect", "--no-wait", &format!("{APP}:network")],
        point,
    );
    if reboot {
        fx.reboot_like();
    }
    fx.restart(&[]);
    let chg = fx.last_change_of_kind("disconnect-snap");
    assert_eq!(
        chg["status"], "Done",
        "disconnect after a crash at {point}: {chg:#}\ncrashed daemon:\n{log}"
    );
    assert_eq!(
        chg["summary"],
        format!("Disconnect {APP}:network from snapd:network")
    );
    assert_eq!(task_statuses(&chg), statuses(&[("disconnect", "Done")]));
    fx.assert_network_disconnected();

    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

macro_rules! crash_cases {
    ($scenario:ident: $($name:ident => $point:literal,)*) => {
        mod $scenario {
            $(
                #[test]
                fn $name() {
                    super::$scenario($point, false);
                }
            )*
            mod after_reboot {
                $(
                    #[test]
                    fn $name() {
                        super::super::$scenario($point, true);
                    }
                )*
            }
        }
    };
}

crash_cases! { crash_during_install:
    prepare_snap_doing => "prepare-snap:Doing",
    prepare_snap_done => "prepare-snap:Done",
    prerequisites_doing => "prerequisites:Doing",
    prerequisites_done => "prerequisites:Done",
    mount_snap_doing => "mount-snap:Doing",
    mount_snap_done => "mount-snap:Done",
    copy_snap_data_doing => "copy-snap-data:Doing",
    copy_snap_data_done => "copy-snap-data:Done",
    setup_profiles_doing => "setup-profiles:Doing",
    setup_profiles_done => "setup-profiles:Done",
    link_snap_doing => "link-snap:Doing",
    link_snap_done => "link-snap:Done",
    auto_connect_doing => "auto-connect:Doing",
    auto_connect_done => "auto-connect:Done",
    // Killed after the handler's work, before its Done was recorded: it runs again.
    prepare_snap_redone => "prepare-snap:Doing>Done",
    prerequisites_redone => "prerequisites:Doing>Done",
    mount_snap_redone => "mount-snap:Doing>Done",
    copy_snap_data_redone => "copy-snap-data:Doing>Done",
    setup_profiles_redone => "setup-profiles:Doing>Done",
    link_snap_redone => "link-snap:Doing>Done",
    auto_connect_redone => "auto-connect:Doing>Done",
    run_hook_doing => "run-hook:Doing",
    run_hook_done => "run-hook:Done",
    run_hook_redone => "run-hook:Doing>Done",
}

crash_cases! { crash_during_remove:
    run_hook_doing => "run-hook:Doing",
    run_hook_done => "run-hook:Done",
    run_hook_redone => "run-hook:Doing>Done",
    auto_disconnect_doing => "auto-disconnect:Doing",
    auto_disconnect_done => "auto-disconnect:Done",
    save_snapshot_doing => "save-snapshot:Doing",
    save_snapshot_done => "save-snapshot:Done",
    unlink_snap_doing => "unlink-snap:Doing",
    unlink_snap_done => "unlink-snap:Done",
    remove_profiles_doing => "remove-profiles:Doing",
    remove_profiles_done => "remove-profiles:Done",
    clear_snap_doing => "clear-snap:Doing",
    clear_snap_done => "clear-snap:Done",
    discard_snap_doing => "discard-snap:Doing",
    discard_snap_done => "discard-snap:Done",
    auto_disconnect_redone => "auto-disconnect:Doing>Done",
    save_snapshot_redone => "save-snapshot:Doing>Done",
    unlink_snap_redone => "unlink-snap:Doing>Done",
    remove_profiles_redone => "remove-profiles:Doing>Done",
    clear_snap_redone => "clear-snap:Doing>Done",
    discard_snap_redone => "discard-snap:Doing>Done",
}

crash_cases! { crash_during_remove_undo:
    clear_snap_error => "clear-snap:Error",
    remove_profiles_undoing => "remove-profiles:Undoing",
    remove_profiles_undone => "remove-profiles:Undone",
    unlink_snap_undoing => "unlink-snap:Undoing",
    unlink_snap_undone => "unlink-snap:Undone",
    unlink_snap_reundone => "unlink-snap:Undoing>Undone",
    save_snapshot_undoing => "save-snapshot:Undoing",
    save_snapshot_undone => "save-snapshot:Undone",
    save_snapshot_reundone => "save-snapshot:Undoing>Undone",
    auto_disconnect_undoing => "auto-disconnect:Undoing",
    auto_disconnect_undone => "auto-disconnect:Undone",
    auto_disconnect_reundone => "auto-disconnect:Undoing>Undone",
}

crash_cases! { crash_during_undo:
    link_snap_error => "link-snap:Error",
    setup_profiles_undoing => "setup-profiles:Undoing",
    setup_profiles_undone => "setup-profiles:Undone",
    copy_snap_data_undoing => "copy-snap-data:Undoing",
    copy_snap_data_undone => "copy-snap-data:Undone",
    mount_snap_undoing => "mount-snap:Undoing",
    mount_snap_undone => "mount-snap:Undone",
    prepare_snap_undoing => "prepare-snap:Undoing",
    prepare_snap_undone => "prepare-snap:Undone",
    setup_profiles_reundone => "setup-profiles:Undoing>Undone",
    copy_snap_data_reundone => "copy-snap-data:Undoing>Undone",
    mount_snap_reundone => "mount-snap:Undoing>Undone",
    prepare_snap_reundone => "prepare-snap:Undoing>Undone",
}

crash_cases! { crash_during_connect:
    connect_doing => "connect:Doing",
    connect_done => "connect:Done",
    connect_redone => "connect:Doing>Done",
}

crash_cases! { crash_during_disconnect:
    disconnect_doing => "disconnect:Doing",
    disconnect_done => "disconnect:Done",
    disconnect_redone => "disconnect:Doing>Done",
}

/// Case 4: a fully installed app survives a hard kill and a reboot: the daemon remounts it at
/// start, and removing it afterwards still leaves nothing behind.
#[test]
fn killed_daemon_remounts_after_reboot() {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    fx.assert_app_installed();
    let mut child = fx.daemon.child.take().unwrap();
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(9), "{st:?}");
    fx.reboot_like();
    assert!(
        !fx.path()
            .join("snap")
            .join(APP)
            .join(REV)
            .join("meta")
            .exists()
    );

    fx.restart(&[]);
    fx.assert_app_installed();
    let base_mount = fs::canonicalize(fx.path())
        .unwrap()
        .join("snap")
        .join(BASE)
        .join("x1");
    assert!(
        snap_sys::is_mount_point(&base_mount).unwrap(),
        "the base is not remounted"
    );

    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Every boundary at once: the daemon is armed to crash at any status a task may reach.
const EVERY_BOUNDARY: &str = "*:Doing,*:Done,*:Undoing,*:Undone,*:Error";

/// Runs `snap args` under a daemon that aborts at every task boundary, restarting it (armed the
/// same way, so each run gets exactly one step further) until the app's change of `kind` is
/// ready; every second crash is followed by a reboot. Leaves a clean daemon running and returns
/// the crash messages, in order.
fn crash_at_every_boundary(
    fx: &mut Fixture,
    extra_env: &[(&str, &str)],
    args: &[&str],
    kind: &str,
) -> Vec<String> {
    let mut env = vec![("SNAPD_CRASH_AFTER_TASK", EVERY_BOUNDARY)];
    env.extend_from_slice(extra_env);
    fx.restart(&env);
    let _ = fx.snap(args);
    let mut crashes: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the change did not finish; crashes so far: {crashes:#?}"
        );
        let exited = fx.daemon.child.as_mut().unwrap().try_wait().unwrap();
        if let Some(status) = exited {
            fx.daemon.child = None;
            let log = fx.daemon.log_text();
            assert_eq!(
                status.signal(),
                Some(SIGABRT),
                "exit {status:?} after {crashes:#?}\n{log}"
            );
            let line = log
                .lines()
                .find(|l| l.starts_with("SNAPD_CRASH_AFTER_TASK: crashing after task"))
                .unwrap_or_else(|| panic!("aborted without reaching a crash point:\n{log}"));
            crashes.push(line.to_owned());
            assert!(
                crashes.len() <= 30,
                "no progress between crashes: {crashes:#?}"
            );
            if crashes.len().is_multiple_of(2) {
                fx.reboot_like();
            }
            // Armed, it may well crash again before it serves anything.
            fx.daemon = start_daemon_may_crash(&fx.root, &env);
            continue;
        }
        // Alive: done once the change is ready (the daemon may die under this request).
        if let Ok(resp) = try_api_get(&fx.root, "/v2/changes?select=all")
            && let Some(list) = resp["result"].as_array()
            && app_change(list, kind).is_some_and(|c| c["ready"] == true)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    fx.restart(&[]);
    crashes
}

/// Each task of the chain was the one named at some crash. (A checkpoint that records one task
/// done and the next one started names only the first, so the count of crashes depends on
/// which handlers commit their own `Done`; the kinds do not.)
fn assert_every_task_crashed(crashes: &[String], kinds: &[&str]) {
    assert!(crashes.len() >= kinds.len(), "{crashes:#?}");
    for kind in kinds {
        assert!(
            crashes
                .iter()
                .any(|c| c.contains(&format!("({kind}) was persisted as"))),
            "no crash at {kind}: {crashes:#?}"
        );
    }
}

/// One crash after every step of an install, with reboots in between.
#[test]
fn install_survives_a_crash_at_every_boundary() {
    let mut fx = Fixture::new();
    let args = install_args(&fx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let crashes = crash_at_every_boundary(&mut fx, &[], &args, "install-snap");
    assert_every_task_crashed(
        &crashes,
        &[
            "prepare-snap",
            "prerequisites",
            "mount-snap",
            "copy-snap-data",
            "setup-profiles",
            "link-snap",
            "auto-connect",
        ],
    );
    let chg = fx.last_change_ready("install-snap");
    assert_eq!(chg["status"], "Done", "{chg:#}\n{crashes:#?}");
    assert_eq!(task_statuses(&chg), statuses(INSTALL_DONE));
    fx.assert_app_installed();
    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

/// One crash after every step of a remove, with reboots in between.
#[test]
fn remove_survives_a_crash_at_every_boundary() {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    let crashes =
        crash_at_every_boundary(&mut fx, &[], &["remove", "--no-wait", APP], "remove-snap");
    assert_every_task_crashed(
        &crashes,
        &[
            "auto-disconnect",
            "unlink-snap",
            "remove-profiles",
            "clear-snap",
            "discard-snap",
        ],
    );
    let chg = fx.last_change_ready("remove-snap");
    assert_eq!(chg["status"], "Done", "{chg:#}\n{crashes:#?}");
    fx.assert_app_gone();
    fx.finish_clean();
}

/// One crash after every step of a failing install and of its undo, with reboots in between.
#[test]
fn undo_survives_a_crash_at_every_boundary() {
    let mut fx = Fixture::new();
    let args = install_args(&fx);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let crashes = crash_at_every_boundary(
        &mut fx,
        &[("SNAPD_TEST_FAIL_TASK", "link-snap")],
        &args,
        "install-snap",
    );
    for undone in [
        "setup-profiles",
        "copy-snap-data",
        "mount-snap",
        "prepare-snap",
    ] {
        assert!(
            crashes
                .iter()
                .any(|c| c.contains(&format!("({undone}) was persisted as Undone"))),
            "no crash after undoing {undone}: {crashes:#?}"
        );
    }
    let chg = fx.last_change_ready("install-snap");
    assert_eq!(chg["status"], "Error", "{chg:#}\n{crashes:#?}");
    assert!(
        chg["err"]
            .as_str()
            .unwrap_or("")
            .contains("injected failure of link-snap"),
        "{chg:#}"
    );
    fx.assert_app_gone();
    fx.finish_clean();
}

/// Uploads spooled by a daemon that died before a change took them over (or mid-write) are
/// deleted at the next start.
#[test]
fn stale_uploads_are_deleted_at_start() {
    let mut fx = Fixture::new();
    let st = fx.daemon.stop();
    assert!(st.success(), "{st:?}");
    let uploads = fx.path().join("var/lib/snapd/uploads");
    fs::copy(&fx.app, uploads.join("1234-5678-0.snap")).unwrap();
    fs::write(uploads.join("1234-5678-1.snap"), b"hsqs half a").unwrap();
    fx.restart(&[]);
    let left: Vec<_> = fs::read_dir(&uploads)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "stale uploads kept: {left:?}");
    fx.assert_app_gone();
    fx.finish_clean();
}

/// A remove that fails after its data is cleared must still roll back to a working app. No
/// crash needed: the relink of the rollback fails on its own.
#[test]
fn remove_failing_after_clear_snap_rolls_back_to_a_working_app() {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    fx.restart(&[("SNAPD_TEST_FAIL_TASK", "discard-snap")]);
    let err = fails(&fx.snap(&["remove", APP]));
    assert!(err.contains("injected failure of discard-snap"), "{err}");
    let chg = fx.last_change_ready("remove-snap");
    assert_eq!(
        task_statuses(&chg),
        statuses(&[
            ("stop-snap-services", "Undone"),
            // A hook cannot be undone: it stays Done, as in snapd.
            ("run-hook", "Done"),
            ("auto-disconnect", "Undone"),
            ("save-snapshot", "Undone"),
            ("unlink-snap", "Undone"),
            ("remove-profiles", "Undone"),
            ("clear-snap", "Done"),
            ("discard-snap", "Error")
        ]),
        "{chg:#}"
    );
    fx.restart(&[]);
    fx.assert_app_installed();
    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}

/// What the failed rollback above leaves must still go away with the next remove.
#[test]
fn remove_after_a_failed_remove_leaves_nothing() {
    let mut fx = Fixture::new();
    ok(&fx.snap(&["install", "--dangerous", fx.app.to_str().unwrap()]));
    fx.restart(&[("SNAPD_TEST_FAIL_TASK", "discard-snap")]);
    fails(&fx.snap(&["remove", APP]));
    fx.restart(&[]);
    ok(&fx.snap(&["remove", APP]));
    fx.assert_app_gone();
    fx.finish_clean();
}
