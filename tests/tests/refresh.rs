//! Refresh from a file and revert, end to end: the real daemon on a test root, a real base, an
//! app whose data, hooks and connections are followed through a refresh, its failures (each
//! must leave the old revision current with its data byte for byte and its connections as they
//! were), a crash of the daemon at every task boundary, `snap revert`, and `refresh.retain`.
//!
//! Needs root (mounts); each test skips itself otherwise.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use snap_tests::real_base::RealBase;
use snap_tests::*;

const BASE: &str = "refbase";
const APP: &str = "keeper";

struct Fixture {
    rb: RealBase,
}

impl std::ops::Deref for Fixture {
    type Target = RealBase;
    fn deref(&self) -> &RealBase {
        &self.rb
    }
}

impl std::ops::DerefMut for Fixture {
    fn deref_mut(&mut self) -> &mut RealBase {
        &mut self.rb
    }
}

/// The app: `keeper` writes its arguments into a file of `$SNAP_DATA` or prints one.
const APP_SCRIPT: &str = r#"case "$1" in
  write) echo "$2" > "$SNAP_DATA/$3" ;;
  read) cat "$SNAP_DATA/$2" ;;
  version) echo "$SNAP_VERSION $SNAP_REVISION" ;;
esac"#;

impl Fixture {
    fn new(env: &[(&str, &str)]) -> Fixture {
        Fixture {
            rb: RealBase::new(BASE, env),
        }
    }

    /// The app at `version`, with `hooks` (name, script body).
    fn pack(&self, version: &str, hooks: &[(&str, &str)]) -> PathBuf {
        let tree = self.work.path().join(format!("tree-{version}"));
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(tree.join("meta/hooks")).unwrap();
        fs::create_dir_all(tree.join("bin")).unwrap();
        fs::write(
            tree.join("meta/snap.yaml"),
            format!(
                "name: {APP}\nversion: '{version}'\nbase: {BASE}\nsummary: refresh test\n\
                 apps:\n  {APP}:\n    command: bin/app\n    plugs: [net, cam]\n\
                 plugs:\n  net:\n    interface: network\n  cam:\n    interface: camera\n"
            ),
        )
        .unwrap();
        let mut files = vec![("bin/app".to_owned(), APP_SCRIPT.to_owned())];
        files.extend(
            hooks
                .iter()
                .map(|(h, body)| (format!("meta/hooks/{h}"), body.to_string())),
        );
        for (rel, body) in files {
            let p = tree.join(rel);
            fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = self.work.path().join(format!("out-{version}"));
        pack_tree(&tree, &out)
    }

    fn install(&mut self, file: &Path) -> Output {
        let out = self.snap(&["install", "--dangerous", file.to_str().unwrap()]);
        if out.status.success() && !self.installed.iter().any(|n| n == APP) {
            self.installed.push(APP.into());
        }
        out
    }

    fn app(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", APP];
        all.extend_from_slice(args);
        output_within(
            self.root.snap_command(&all).stdin(Stdio::null()),
            Duration::from_secs(30),
        )
    }

    fn current(&self) -> (String, String) {
        let s = api_get(&self.root, &format!("/v2/snaps/{APP}"));
        (
            s["result"]["version"].as_str().unwrap_or("").to_owned(),
            s["result"]["revision"].as_str().unwrap_or("").to_owned(),
        )
    }

    /// Every file under the app's data directories (system and root's), with contents.
    fn data(&self) -> BTreeMap<PathBuf, String> {
        let mut out = tree(&self.path().join("var/snap").join(APP), &[]);
        for (k, v) in tree(&self.path().join("root/snap").join(APP), &[]) {
            out.insert(Path::new("home").join(k), v);
        }
        out
    }

    fn connections(&self) -> String {
        ok(&self.snap(&["connections", APP]))
    }

    fn last_change(&self) -> serde_json::Value {
        all_changes(&self.root).last().cloned().expect("a change")
    }

    fn finish(self) {
        self.rb.finish();
    }
}

fn out_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn kinds(chg: &serde_json::Value) -> Vec<String> {
    chg["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Installs v1, writes data as the app (system data, common and the user's), takes camera
/// down to a known state: what a refresh must carry over or, failing, leave as it was.
fn installed_with_data(fx: &mut Fixture) {
    let v1 = fx.pack("1", &[]);
    ok(&fx.install(&v1));
    ok(&fx.app(&["write", "precious", "notes"]));
    fs::write(
        fx.path().join("var/snap").join(APP).join("common/shared"),
        "common data",
    )
    .unwrap();
    let home = fx.path().join("root/snap").join(APP).join("x1");
    fs::create_dir_all(&home).unwrap();
    fs::write(home.join("settings"), "user data").unwrap();
    ok(&fx.snap(&["connect", &format!("{APP}:cam")]));
}

#[test]
fn a_refresh_copies_the_data_and_runs_the_refresh_hooks() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    installed_with_data(&mut fx);
    let conns = fx.connections();
    let v2 = fx.pack(
        "2",
        &[(
            "post-refresh",
            r#"echo "post-refresh of $SNAP_REVISION saw: $(cat "$SNAP_DATA/notes")" > "$SNAP_DATA/post-refresh""#,
        )],
    );
    ok(&fx.install(&v2));
    assert_eq!(fx.current(), ("2".into(), "x2".into()));
    assert_eq!(out_text(&fx.app(&["read", "notes"])), "precious\n");
    let post = fs::read_to_string(fx.path().join("var/snap").join(APP).join("x2/post-refresh"))
        .expect("the post-refresh hook ran");
    assert_eq!(post, "post-refresh of x2 saw: precious\n");
    // The user's data of x1 was copied for x2; x1's own data is still there, unchanged.
    let home = fx.path().join("root/snap").join(APP);
    assert_eq!(
        fs::read_to_string(home.join("x2/settings")).unwrap(),
        "user data"
    );
    assert_eq!(
        fs::read_to_string(home.join("x1/settings")).unwrap(),
        "user data"
    );
    assert_eq!(
        fs::read_to_string(fx.path().join("var/snap").join(APP).join("x1/notes")).unwrap(),
        "precious\n"
    );
    assert_eq!(fx.connections(), conns);
    let chg = fx.last_change();
    assert_eq!(chg["status"], "Done", "{chg:#}");
    let k = kinds(&chg);
    for want in [
        "run-hook",
        "stop-snap-services",
        "copy-snap-data",
        "link-snap",
    ] {
        assert!(k.contains(&want.to_owned()), "{k:?}");
    }
    // Both revisions are listed, the old one disabled.
    let all = out_text(&fx.snap(&["list", "--all"]));
    let lines: Vec<&str> = all.lines().filter(|l| l.starts_with(APP)).collect();
    assert_eq!(lines.len(), 2, "{all}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("x1") && l.contains("disabled")),
        "{all}"
    );
    fx.finish();
}

/// Refreshes that fail in different ways: each leaves x1 current, its data byte for byte, the
/// connections as they were, and nothing of x2.
fn failed_refresh_reverts(hooks: &[(&str, &str)], env: &[(&str, &str)], expect: &str) {
    let mut fx = Fixture::new(&[]);
    installed_with_data(&mut fx);
    // Armed for the refresh only.
    fx.restart(env);
    let data = fx.data();
    let conns = fx.connections();
    let v2 = fx.pack("2", hooks);
    let err = String::from_utf8_lossy(&fx.install(&v2).stderr).into_owned();
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
    let chg = fx.last_change();
    assert_eq!(chg["status"], "Error", "{chg:#}");
    assert_eq!(fx.current(), ("1".into(), "x1".into()));
    assert_eq!(fx.data(), data, "the data changed");
    assert_eq!(fx.connections(), conns);
    assert_eq!(out_text(&fx.app(&["read", "notes"])), "precious\n");
    assert!(!fx.path().join("snap").join(APP).join("x2").exists());
    assert!(
        !fx.path()
            .join(format!("var/lib/snapd/snaps/{APP}_x2.snap"))
            .exists()
    );
    let (mounts, _) = leaks(fx.path());
    assert!(
        !mounts.iter().any(|m| m.to_string_lossy().contains("/x2")),
        "{mounts:?}"
    );
    // And it still refreshes cleanly afterwards.
    fx.restart(&[]);
    let v3 = fx.pack("3", &[]);
    ok(&fx.install(&v3));
    assert_eq!(fx.current().0, "3");
    fx.finish();
}

#[test]
fn a_failing_post_refresh_hook_reverts_everything() {
    need_root!();
    failed_refresh_reverts(
        &[(
            "post-refresh",
            "echo clobbered > \"$SNAP_DATA/notes\"\necho 'migration failed' >&2\nexit 1",
        )],
        &[],
        r#"run hook "post-refresh": migration failed"#,
    );
}

#[test]
fn a_failing_health_check_reverts_everything() {
    need_root!();
    failed_refresh_reverts(
        &[("check-health", "echo 'unhealthy after refresh' >&2\nexit 1")],
        &[],
        r#"run hook "check-health": unhealthy after refresh"#,
    );
}

#[test]
fn a_failing_configure_hook_reverts_everything() {
    need_root!();
    failed_refresh_reverts(
        &[("configure", "echo 'bad config for v2' >&2\nexit 1")],
        &[],
        r#"run hook "configure": bad config for v2"#,
    );
}

#[test]
fn a_failure_while_linking_reverts_everything() {
    need_root!();
    failed_refresh_reverts(
        &[],
        &[("SNAPD_TEST_FAIL_TASK", "auto-connect")],
        "injected failure",
    );
}

#[test]
fn revert_goes_back_to_the_old_revision_and_its_data() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    installed_with_data(&mut fx);
    let v2 = fx.pack("2", &[]);
    ok(&fx.install(&v2));
    ok(&fx.app(&["write", "changed-by-v2", "notes"]));
    assert_eq!(
        out_text(&fx.snap(&["revert", APP])),
        format!("{APP} reverted to 1\n")
    );
    assert_eq!(fx.current(), ("1".into(), "x1".into()));
    assert_eq!(out_text(&fx.app(&["read", "notes"])), "precious\n");
    assert_eq!(out_text(&fx.app(&["version"])), "1 x1\n");
    // Nothing before x1.
    let err = String::from_utf8_lossy(&fx.snap(&["revert", APP]).stderr).into_owned();
    assert!(err.contains("no revision to revert to"), "{err}");
    // Forward again to x2, with x2's data.
    ok(&fx.snap(&["revert", APP, "--revision=x2"]));
    assert_eq!(fx.current(), ("2".into(), "x2".into()));
    assert_eq!(out_text(&fx.app(&["read", "notes"])), "changed-by-v2\n");
    let err =
        String::from_utf8_lossy(&fx.snap(&["revert", APP, "--revision=x9"]).stderr).into_owned();
    assert!(err.contains("cannot find revision x9"), "{err}");
    fx.finish();
}

#[test]
fn old_revisions_beyond_refresh_retain_are_removed() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    installed_with_data(&mut fx);
    for v in ["2", "3"] {
        let f = fx.pack(v, &[]);
        ok(&fx.install(&f));
    }
    // snapd's default on a classic system keeps two: x1 went with everything it had.
    let snaps = fx.path().join("var/lib/snapd/snaps");
    assert!(!snaps.join(format!("{APP}_x1.snap")).exists());
    assert!(snaps.join(format!("{APP}_x2.snap")).exists());
    assert!(!fx.path().join("var/snap").join(APP).join("x1").exists());
    assert!(!fx.path().join("root/snap").join(APP).join("x1").exists());
    assert!(!fx.path().join("snap").join(APP).join("x1").exists());
    let all = out_text(&fx.snap(&["list", "--all"]));
    assert_eq!(
        all.lines().filter(|l| l.starts_with(APP)).count(),
        2,
        "{all}"
    );
    // With refresh.retain=3, three stay.
    ok(&fx.snap(&["set", "system", "refresh.retain=3"]));
    for v in ["4", "5"] {
        let f = fx.pack(v, &[]);
        ok(&fx.install(&f));
    }
    let all = out_text(&fx.snap(&["list", "--all"]));
    assert_eq!(
        all.lines().filter(|l| l.starts_with(APP)).count(),
        3,
        "{all}"
    );
    fx.finish();
}

/// The daemon killed at each task boundary of a refresh, restarted: the refresh completes,
/// with the data copied and no half copy left behind.
#[test]
fn a_crash_at_every_task_boundary_of_a_refresh_ends_consistent() {
    need_root!();
    let kinds = [
        "prepare-snap",
        "mount-snap",
        "run-hook",
        "stop-snap-services",
        "copy-snap-data",
        "setup-profiles",
        "link-snap",
        "auto-connect",
        "start-snap-services",
    ];
    for kind in kinds {
        for status in ["Doing", "Done"] {
            let point = format!("{kind}:{status}");
            let mut fx = Fixture::new(&[]);
            installed_with_data(&mut fx);
            let v2 = fx.pack("2", &[]);
            // Armed: the daemon aborts at that point of the refresh.
            fx.daemon.take().unwrap().stop();
            fx.daemon = Some(start_daemon_may_crash(
                &fx.root,
                &[("SNAPD_CRASH_AFTER_TASK", &point)],
            ));
            let _ = fx.snap(&["install", "--dangerous", "--no-wait", v2.to_str().unwrap()]);
            let mut crashed = fx.daemon.take().unwrap();
            let st = crashed.wait_exit();
            assert!(!st.success(), "{point}: the daemon did not crash ({st})");
            fx.daemon = Some(Daemon::start(&fx.root, &[]));
            let id = fx.last_change()["id"].as_str().unwrap().to_owned();
            let chg = wait_change_ready(&fx.root, &id, Duration::from_secs(60));
            assert_eq!(chg["status"], "Done", "{point}: {chg:#}");
            assert_eq!(fx.current(), ("2".into(), "x2".into()), "{point}");
            assert_eq!(
                out_text(&fx.app(&["read", "notes"])),
                "precious\n",
                "{point}"
            );
            assert!(
                !fx.path()
                    .join("var/snap")
                    .join(APP)
                    .join(".x2.copying")
                    .exists(),
                "{point}"
            );
            fx.finish();
        }
    }
}

/// A snap with one service at `version`; `service` is its script.
fn service_snap(fx: &Fixture, version: &str, service: &str) -> PathBuf {
    let tree = fx.work.path().join(format!("svc-{version}"));
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir_all(tree.join("meta")).unwrap();
    fs::create_dir_all(tree.join("bin")).unwrap();
    fs::write(
        tree.join("meta/snap.yaml"),
        format!(
            "name: {APP}\nversion: '{version}'\nbase: {BASE}\nsummary: refresh test\n\
             apps:\n  {APP}:\n    command: bin/app\n  worker:\n    command: bin/worker\n    \
             daemon: simple\n    restart-condition: on-failure\n    restart-delay: 100ms\n"
        ),
    )
    .unwrap();
    for (rel, body) in [("bin/app", APP_SCRIPT), ("bin/worker", service)] {
        let p = tree.join(rel);
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    pack_tree(&tree, &fx.work.path().join(format!("svc-out-{version}")))
}

const GOOD_WORKER: &str = "echo \"$SNAP_VERSION\" >> \"$SNAP_COMMON/starts\"\necho \"worker $SNAP_VERSION up\"\nexec sleep 1000";

fn worker_status(fx: &Fixture) -> String {
    let out = out_text(&fx.snap(&["services", APP]));
    out.lines()
        .find(|l| l.starts_with(&format!("{APP}.worker")))
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_refresh_restarts_services_on_the_new_revision_and_keeps_their_logs() {
    need_root!();
    let mut fx = Fixture::new(&[("SNAPD_SERVICE_GRACE_MS", "300")]);
    ok(&fx.install(&service_snap(&fx, "1", GOOD_WORKER)));
    let starts = fx.path().join("var/snap").join(APP).join("common/starts");
    // A simple service is up once started: its first line may come a moment later.
    wait_for_content(&starts, "1\n");
    ok(&fx.install(&service_snap(&fx, "2", GOOD_WORKER)));
    wait_for_content(&starts, "1\n2\n");
    assert!(
        worker_status(&fx).contains("active"),
        "{}",
        worker_status(&fx)
    );
    let logs = out_text(&fx.snap(&["logs", &format!("{APP}.worker"), "-n", "all"]));
    assert!(
        logs.contains("worker 1 up") && logs.contains("worker 2 up"),
        "{logs}"
    );
    fx.finish();
}

/// Waits (up to 10 s) until `file` holds `want`, then checks it does.
fn wait_for_content(file: &Path, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fs::read_to_string(file).ok().as_deref() != Some(want)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fs::read_to_string(file).unwrap_or_default(), want);
}

#[test]
fn a_service_that_dies_after_the_refresh_reverts_it_and_the_old_one_runs_again() {
    need_root!();
    let mut fx = Fixture::new(&[("SNAPD_SERVICE_GRACE_MS", "1500")]);
    ok(&fx.install(&service_snap(&fx, "1", GOOD_WORKER)));
    let starts = fx.path().join("var/snap").join(APP).join("common/starts");
    wait_for_content(&starts, "1\n");
    // v2's worker starts, then crashes; its restart condition brings it back, and it crashes
    // again: within the grace period either way.
    let crashing = "echo \"$SNAP_VERSION\" >> \"$SNAP_COMMON/starts\"\nsleep 0.2\necho 'worker 2 crashed' >&2\nexit 1";
    let err =
        String::from_utf8_lossy(&fx.install(&service_snap(&fx, "2", crashing)).stderr).into_owned();
    assert!(
        err.contains(&format!(
            "service {APP}.worker died within 1.5s of starting"
        )),
        "{err}"
    );
    assert_eq!(fx.current(), ("1".into(), "x1".into()));
    // The old worker runs again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut text = fs::read_to_string(&starts).unwrap();
    while !text.ends_with("\n1\n") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        text = fs::read_to_string(&starts).unwrap();
    }
    assert!(
        text.starts_with("1\n2\n") && text.ends_with("1\n"),
        "{text}"
    );
    assert!(
        worker_status(&fx).contains("active"),
        "{}",
        worker_status(&fx)
    );
    fx.finish();
}

#[test]
fn a_failing_pre_refresh_hook_of_the_old_revision_stops_the_refresh() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    let v1 = fx.pack(
        "1",
        &[(
            "pre-refresh",
            "echo \"pre-refresh of $SNAP_REVISION refuses\" >&2\nexit 1",
        )],
    );
    ok(&fx.install(&v1));
    ok(&fx.app(&["write", "precious", "notes"]));
    let data = fx.data();
    let v2 = fx.pack("2", &[]);
    let err = String::from_utf8_lossy(&fx.install(&v2).stderr).into_owned();
    assert!(
        err.contains(r#"run hook "pre-refresh": pre-refresh of x1 refuses"#),
        "{err}"
    );
    assert_eq!(fx.current(), ("1".into(), "x1".into()));
    assert_eq!(fx.data(), data);
    assert!(!fx.path().join("snap").join(APP).join("x2").exists());
    fx.finish();
}
