//! Services end to end: the real daemon supervises the services of snaps built on a real base
//! (`scripts/make-base.sh`: busybox), each started through `snap-confine` in its own cgroup.
//! Every daemon type and restart condition, the start limit, stop with its stop-command and
//! post-stop-command, a child that forked away (killed with the rest), the stop timeout, logs
//! with `-n` and their rotation bound, `snap start|stop|restart [--enable|--disable]`, a
//! service surviving a daemon restart (SIGTERM and kill -9) exactly once, and removal leaving
//! the root as it was with no cgroup and no process.
//!
//! A service's program is a busybox sh script; it records each start in `$SNAP_COMMON`, which
//! the test reads on the host (`<root>/var/snap/NAME/common`).
//!
//! Needs root (mounts, cgroups) and `busybox-static`; each test skips itself otherwise.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use snap_tests::*;

const BASE: &str = "svcbase";
const SKIP: &[&str] = &[
    "var/lib/snapd/state.json",
    "var/lib/snapd/state.lock",
    "var/lib/snapd/state.journal",
    "var/lib/snapd/state.json.tmp",
    "run/snapd.socket",
    "run/snapd-snap.socket",
];

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

macro_rules! need_root {
    () => {
        if !is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

/// The cgroup v2 directory holding this root's services, as the daemon names it.
fn cgroup_parent(root: &Path) -> PathBuf {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mount = info
        .lines()
        .find_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            (right.split_whitespace().next() == Some("cgroup2"))
                .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
                .flatten()
        })
        .expect("a cgroup2 mount");
    let root = fs::canonicalize(root).unwrap();
    let h = root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        });
    mount.join(format!("snapd-{h:016x}"))
}

struct Fx {
    root: TestRoot,
    daemon: Option<Daemon>,
    work: tempfile::TempDir,
    installed: Vec<String>,
    env: Vec<(String, String)>,
}

impl Fx {
    fn new() -> Fx {
        Fx::with_env(&[])
    }

    fn with_env(env: &[(&str, &str)]) -> Fx {
        let root = TestRoot::new();
        let tmp = root.path().join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
        let daemon = Daemon::start(&root, env);
        let work = tempfile::Builder::new()
            .prefix("services-")
            .tempdir()
            .unwrap();
        let mut fx = Fx {
            root,
            daemon: Some(daemon),
            work,
            installed: Vec::new(),
            env: env
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        let tree = fx.work.path().join("base");
        make_base_tree(&tree, BASE, &[&bin("sd-notify")]);
        let file = pack_tree(&tree, &fx.work.path().join("out"));
        ok(&fx
            .root
            .snap(&["install", "--dangerous", file.to_str().unwrap()]));
        fx.installed.push(BASE.into());
        fx
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    /// A snap `name` whose apps are given as snap.yaml text under `apps:`, with scripts
    /// `bin/NAME` (busybox sh) and the `sd-notify` helper.
    fn snap_file(&self, name: &str, apps: &str, scripts: &[(&str, &str)]) -> PathBuf {
        let tree = self.work.path().join(name);
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(tree.join("meta")).unwrap();
        fs::write(
            tree.join("meta/snap.yaml"),
            format!(
                "name: {name}\nversion: '1'\nbase: {BASE}\nsummary: services\ndescription: test services\napps:\n{apps}"
            ),
        )
        .unwrap();
        for (file, body) in scripts {
            let p = tree.join("bin").join(file);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        install_file(&bin("sd-notify"), &tree.join("bin/sd-notify"), 0o755);
        pack_tree(&tree, &self.work.path().join("out"))
    }

    fn install(&mut self, name: &str, apps: &str, scripts: &[(&str, &str)]) {
        let file = self.snap_file(name, apps, scripts);
        ok(&self
            .root
            .snap(&["install", "--dangerous", file.to_str().unwrap()]));
        self.installed.push(name.into());
    }

    fn snap_ok(&self, args: &[&str]) -> String {
        ok(&self.root.snap(args))
    }

    fn common(&self, snap: &str, file: &str) -> String {
        fs::read_to_string(
            self.path()
                .join("var/snap")
                .join(snap)
                .join("common")
                .join(file),
        )
        .unwrap_or_default()
    }

    fn count(&self, snap: &str, file: &str) -> usize {
        self.common(snap, file).lines().count()
    }

    fn cgroup(&self, unit: &str) -> PathBuf {
        cgroup_parent(self.path()).join(unit)
    }

    fn pids(&self, unit: &str) -> Vec<i32> {
        fs::read_to_string(self.cgroup(unit).join("cgroup.procs"))
            .map(|t| t.lines().filter_map(|l| l.parse().ok()).collect())
            .unwrap_or_default()
    }

    /// `snap services` rows as (service, startup, current, notes).
    fn services(&self, names: &[&str]) -> Vec<(String, String, String, String)> {
        let mut args = vec!["services"];
        args.extend(names);
        self.snap_ok(&args)
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].into(), f[1].into(), f[2].into(), f[3].into())
            })
            .collect()
    }

    fn status(&self, service: &str) -> (String, String, String) {
        let rows = self.services(&[service]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let (_, a, b, c) = rows.into_iter().next().unwrap();
        (a, b, c)
    }

    fn restart_daemon(&mut self, kill9: bool) {
        let mut d = self.daemon.take().unwrap();
        if kill9 {
            let mut c = d.child.take().unwrap();
            c.kill().unwrap();
            c.wait().unwrap();
        } else {
            assert!(d.stop().success());
        }
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        self.daemon = Some(Daemon::start(&self.root, &env));
    }

    fn remove(&mut self, name: &str) {
        self.snap_ok(&["remove", name]);
        self.installed.retain(|n| n != name);
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        // Also after a failure: the snaps go (their services stopped by the daemon), then
        // anything still in this root's cgroups is killed, so that nothing is left running.
        remove_all_best_effort(&self.root, &mut self.installed, &mut self.daemon);
        let parent = cgroup_parent(self.path());
        if let Ok(entries) = fs::read_dir(&parent) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    let _ = fs::write(e.path().join("cgroup.kill"), "1");
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while Instant::now() < deadline && fs::remove_dir(e.path()).is_err() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            let _ = fs::remove_dir(&parent);
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn proc_alive(pid: i32) -> bool {
    // A zombie is gone for our purposes: it runs nothing.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Records a start, says hello, then runs until stopped.
const LOOP: &str = "echo start >> $SNAP_COMMON/starts\necho \"hello from $SNAP_NAME\"\nwhile true; do sleep 1; done";

#[test]
fn simple_service_runs_confined_in_its_cgroup_and_removal_leaves_nothing() {
    need_root!();
    let mut fx = Fx::new();
    let before = tree(fx.path(), SKIP);
    fx.install(
        "svc-simple",
        "  run:\n    command: bin/run\n    daemon: simple\n  cli:\n    command: bin/run\n",
        &[("run", LOOP)],
    );
    // A simple service counts as started once it runs; its script then writes.
    wait_for("the service's first write", Duration::from_secs(10), || {
        fx.count("svc-simple", "starts") == 1
    });
    let rows = fx.services(&[]);
    assert_eq!(
        rows,
        [(
            "svc-simple.run".into(),
            "enabled".into(),
            "active".into(),
            "-".into()
        )]
    );
    let unit = "snap.svc-simple.run.service";
    let pids = fx.pids(unit);
    assert!(
        !pids.is_empty(),
        "no process in {}",
        fx.cgroup(unit).display()
    );
    // Confined: in its own mount namespace, with the base's busybox as /bin/sh.
    let ns = |p: &str| fs::read_link(format!("/proc/{p}/ns/mnt")).unwrap();
    assert_ne!(
        ns(&pids[0].to_string()),
        ns("self"),
        "the service runs in the host's namespace"
    );
    let sh = fs::read_link(format!("/proc/{}/root/bin/sh", pids[0])).unwrap();
    assert_eq!(sh, Path::new("busybox"));
    wait_for("its output in the log", Duration::from_secs(10), || {
        fx.snap_ok(&["logs", "svc-simple"])
            .contains("hello from svc-simple")
    });
    let line = fx
        .snap_ok(&["logs", "svc-simple.run"])
        .lines()
        .find(|l| l.contains("hello from"))
        .unwrap()
        .to_owned();
    assert!(line.contains(" svc-simple.run["), "{line}");
    // The API answers as snapd's, json-seq for logs.
    let apps = api_get(&fx.root, "/v2/apps?select=service&names=svc-simple");
    assert_eq!(apps["result"][0]["name"], "run");
    assert_eq!(apps["result"][0]["active"], true);
    assert_eq!(apps["result"][0]["daemon"], "simple");

    fx.remove("svc-simple");
    assert!(!fx.cgroup(unit).exists(), "cgroup left behind");
    assert!(
        !cgroup_parent(fx.path()).exists(),
        "cgroup parent left behind"
    );
    for p in pids {
        assert!(!proc_alive(p), "process {p} still runs");
    }
    let after = tree(fx.path(), SKIP);
    let diff: Vec<_> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(before.keys().filter(|k| !after.contains_key(*k)).cloned())
        .collect();
    assert!(diff.is_empty(), "the root changed: {diff:?}");
}

#[test]
fn every_daemon_type() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-types",
        "  simple:\n    command: bin/simple\n    daemon: simple\n\
         \x20 forking:\n    command: bin/forking\n    daemon: forking\n\
         \x20 oneshot:\n    command: bin/oneshot\n    daemon: oneshot\n\
         \x20 notify:\n    command: bin/notify\n    daemon: notify\n\
         \x20 dbus:\n    command: bin/simple\n    daemon: dbus\n    bus-name: io.example.Svc\n",
        &[
            ("simple", LOOP),
            (
                "forking",
                "(echo start >> $SNAP_COMMON/forking; while true; do sleep 1; done) &\nexit 0",
            ),
            ("oneshot", "echo ran >> $SNAP_COMMON/oneshot"),
            (
                "notify",
                "sleep 1\necho before-ready >> $SNAP_COMMON/notify\n$SNAP/bin/sd-notify READY=1\nwhile true; do sleep 1; done",
            ),
        ],
    );
    // Install returned only once each service was started: the notify one after READY=1.
    assert_eq!(fx.common("svc-types", "notify"), "before-ready\n");
    assert_eq!(fx.common("svc-types", "oneshot"), "ran\n");
    wait_for("the forked daemon", Duration::from_secs(5), || {
        fx.count("svc-types", "forking") == 1
    });
    for app in ["simple", "forking", "oneshot", "notify", "dbus"] {
        assert_eq!(
            fx.status(&format!("svc-types.{app}")),
            ("enabled".into(), "active".into(), "-".into()),
            "{app}"
        );
    }
    // The forking service's daemon lives on in the cgroup after its starter exited.
    assert!(!fx.pids("snap.svc-types.forking.service").is_empty());
    // A oneshot ran and left nothing running; it stays active (RemainAfterExit).
    assert!(fx.pids("snap.svc-types.oneshot.service").is_empty());
    fx.snap_ok(&["stop", "svc-types"]);
    for app in ["simple", "forking", "oneshot", "notify", "dbus"] {
        assert_eq!(
            fx.status(&format!("svc-types.{app}")).1,
            "inactive",
            "{app}"
        );
        assert!(
            fx.pids(&format!("snap.svc-types.{app}.service")).is_empty(),
            "{app}"
        );
    }
}

#[test]
fn notify_service_without_ready_fails_its_install() {
    need_root!();
    let fx = Fx::new();
    let file = fx.snap_file(
        "svc-noready",
        "  n:\n    command: bin/n\n    daemon: notify\n    start-timeout: 2s\n    restart-condition: never\n",
        &[("n", "echo start >> $SNAP_COMMON/starts\nwhile true; do sleep 1; done")],
    );
    let err = fails(
        &fx.root
            .snap(&["install", "--dangerous", file.to_str().unwrap()]),
    );
    assert!(err.contains("snap.svc-noready.n.service"), "{err}");
    // Rolled back: not installed, nothing running.
    assert!(!fx.snap_ok(&["list"]).contains("svc-noready"));
    assert!(!fx.cgroup("snap.svc-noready.n.service").exists());
}

/// Each restart condition against an exit that it restarts and one it does not. A restarted
/// service hits the start limit (5 starts in 10 s) and ends failed.
#[test]
fn restart_conditions_and_the_start_limit() {
    need_root!();
    let mut fx = Fx::new();
    // (app, restart-condition, how it ends, restarted?)
    let cases: &[(&str, &str, &str, bool)] = &[
        ("never-fail", "never", "exit 1", false),
        ("always-ok", "always", "exit 0", true),
        ("success-ok", "on-success", "exit 0", true),
        ("success-fail", "on-success", "exit 1", false),
        ("failure-fail", "on-failure", "exit 1", true),
        ("failure-ok", "on-failure", "exit 0", false),
        ("abnormal-kill", "on-abnormal", "kill -9 $$", true),
        ("abnormal-fail", "on-abnormal", "exit 1", false),
        ("abort-abrt", "on-abort", "kill -ABRT $$", true),
        ("abort-term", "on-abort", "kill -TERM $$", false),
        ("watchdog-kill", "on-watchdog", "kill -9 $$", false),
    ];
    let mut apps = String::new();
    let mut scripts = Vec::new();
    for (app, cond, end, _) in cases {
        apps.push_str(&format!(
            "  {app}:\n    command: bin/{app}\n    daemon: simple\n    restart-condition: {cond}\n    restart-delay: 100ms\n"
        ));
        scripts.push((
            app.to_string(),
            format!("echo start >> $SNAP_COMMON/{app}\nsleep 0.2\n{end}"),
        ));
    }
    let scripts: Vec<(&str, &str)> = scripts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    fx.install("svc-restart", &apps, &scripts);
    // Restarting ones reach the limit within about 5 × (0.2 s + 0.1 s); give them time.
    // Settled: every service inactive or failed (a restarting one is "activating").
    wait_for("every service to settle", Duration::from_secs(30), || {
        let apps = api_get(&fx.root, "/v2/apps?select=service&names=svc-restart");
        apps["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["status"] == "inactive" || a["status"] == "failed")
    });
    std::thread::sleep(Duration::from_millis(800));
    for (app, cond, end, restarted) in cases {
        let starts = fx.count("svc-restart", app);
        let (_, current, notes) = fx.status(&format!("svc-restart.{app}"));
        if *restarted {
            assert_eq!(starts, 5, "{app} ({cond}, {end}): started {starts} times");
            assert_eq!(notes, "failed", "{app}: start limit hit");
        } else {
            assert_eq!(starts, 1, "{app} ({cond}, {end}): started {starts} times");
        }
        assert_eq!(current, "inactive", "{app}");
        let clean = end.contains("exit 0") || end.contains("TERM");
        if !restarted {
            assert_eq!(notes == "failed", !clean, "{app}: failed state");
        }
    }
    // Failed services stay failed across a daemon restart: not started again.
    fx.restart_daemon(false);
    std::thread::sleep(Duration::from_millis(1500));
    for (app, ..) in cases {
        let starts = fx.count("svc-restart", app);
        assert!(
            starts == 1 || starts == 5,
            "{app} started again after a daemon restart"
        );
        assert_eq!(
            fx.status(&format!("svc-restart.{app}")).1,
            "inactive",
            "{app}"
        );
    }
    // A start by the user clears the limit.
    fx.snap_ok(&["start", "svc-restart.failure-fail"]);
    wait_for("five more starts", Duration::from_secs(20), || {
        fx.count("svc-restart", "failure-fail") == 10
    });
}

#[test]
fn stop_runs_stop_and_post_stop_commands_and_kills_what_forked_away() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-stop",
        "  main:\n    command: bin/main\n    daemon: simple\n    stop-command: bin/stop\n    post-stop-command: bin/post\n\
         \x20 stubborn:\n    command: bin/stubborn\n    daemon: simple\n    stop-timeout: 1s\n",
        &[
            (
                "main",
                "trap 'echo term >> $SNAP_COMMON/events; exit 0' TERM\n\
                 setsid sh -c 'while true; do sleep 1; done' &\n\
                 (sh -c 'while true; do sleep 1; done' &)\n\
                 while true; do sleep 0.1; done",
            ),
            ("stop", "echo stop >> $SNAP_COMMON/events"),
            ("post", "echo post-stop >> $SNAP_COMMON/events"),
            (
                "stubborn",
                "trap '' TERM\necho ready >> $SNAP_COMMON/stubborn-ready\nwhile true; do sleep 0.1; done",
            ),
        ],
    );
    let unit = "snap.svc-stop.main.service";
    wait_for("the forked children", Duration::from_secs(5), || {
        fx.pids(unit).len() >= 3
    });
    let pids = fx.pids(unit);
    fx.snap_ok(&["stop", "svc-stop.main"]);
    assert_eq!(fx.common("svc-stop", "events"), "stop\nterm\npost-stop\n");
    assert!(fx.pids(unit).is_empty());
    for p in &pids {
        assert!(
            !proc_alive(*p),
            "process {p} (forked away) survived the stop"
        );
    }
    // A service that ignores SIGTERM is killed after its stop timeout (once it ignores it: a
    // SIGTERM before its trap would end it at once).
    wait_for(
        "the stubborn service's trap",
        Duration::from_secs(10),
        || fx.count("svc-stop", "stubborn-ready") == 1,
    );
    let stubborn = fx.pids("snap.svc-stop.stubborn.service");
    assert!(!stubborn.is_empty());
    let t = Instant::now();
    fx.snap_ok(&["stop", "svc-stop.stubborn"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "{took:?}"
    );
    for p in stubborn {
        assert!(!proc_alive(p));
    }
    assert_eq!(fx.status("svc-stop.stubborn").1, "inactive");
}

#[test]
fn start_stop_restart_enable_disable_and_unknown_names() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-ctl",
        "  a:\n    command: bin/run\n    daemon: simple\n\
         \x20 b:\n    command: bin/run\n    daemon: simple\n    install-mode: disable\n",
        &[("run", LOOP)],
    );
    // install-mode: disable: installed disabled and not started.
    assert_eq!(
        fx.status("svc-ctl.a"),
        ("enabled".into(), "active".into(), "-".into())
    );
    assert_eq!(
        fx.status("svc-ctl.b"),
        ("disabled".into(), "inactive".into(), "-".into())
    );
    fx.snap_ok(&["stop", "svc-ctl.a"]);
    assert_eq!(
        fx.status("svc-ctl.a"),
        ("enabled".into(), "inactive".into(), "-".into())
    );
    fx.snap_ok(&["start", "svc-ctl.a"]);
    assert_eq!(fx.status("svc-ctl.a").1, "active");
    wait_for("the started service", Duration::from_secs(10), || {
        !fx.pids("snap.svc-ctl.a.service").is_empty()
    });
    let before = fx.pids("snap.svc-ctl.a.service");
    fx.snap_ok(&["restart", "svc-ctl.a"]);
    // Started means launched; the launcher joins the cgroup a moment later.
    wait_for("the restarted service", Duration::from_secs(10), || {
        !fx.pids("snap.svc-ctl.a.service").is_empty()
    });
    let after = fx.pids("snap.svc-ctl.a.service");
    assert!(
        !after.is_empty() && after.iter().all(|p| !before.contains(p)),
        "{before:?} {after:?}"
    );
    fx.snap_ok(&["start", "--enable", "svc-ctl.b"]);
    assert_eq!(
        fx.status("svc-ctl.b"),
        ("enabled".into(), "active".into(), "-".into())
    );
    fx.snap_ok(&["stop", "--disable", "svc-ctl"]);
    for s in ["svc-ctl.a", "svc-ctl.b"] {
        assert_eq!(
            fx.status(s),
            ("disabled".into(), "inactive".into(), "-".into()),
            "{s}"
        );
    }
    let e = fails(&fx.root.snap(&["start", "svc-ctl.nope"]));
    assert!(
        e.contains("snap \"svc-ctl\" has no service \"nope\""),
        "{e}"
    );
    let e = fails(&fx.root.snap(&["start", "no-such-snap"]));
    assert!(e.contains("snap \"no-such-snap\" not found"), "{e}");
    let e = fails(&fx.root.snap(&["stop", "--enable", "svc-ctl"]));
    assert!(
        e.contains("--enable") || e.contains("unexpected argument"),
        "{e}"
    );
    let e = fails(&fx.root.snap(&["logs", "svc-ctl.nope"]));
    assert!(e.contains("has no service"), "{e}");
    // Nothing changed by the refused requests.
    for s in ["svc-ctl.a", "svc-ctl.b"] {
        assert_eq!(
            fx.status(s),
            ("disabled".into(), "inactive".into(), "-".into()),
            "{s}"
        );
    }
}

#[test]
fn logs_take_the_last_lines_and_rotation_bounds_them() {
    need_root!();
    let max = 4096;
    let mut fx = Fx::with_env(&[
        ("SNAPD_SERVICE_LOG_MAX_BYTES", "4096"),
        ("SNAPD_SERVICE_LOG_KEEP", "2"),
    ]);
    fx.install(
        "svc-logs",
        "  talk:\n    command: bin/talk\n    daemon: simple\n",
        &[(
            "talk",
            "i=0\nwhile [ $i -lt 3000 ]; do echo \"line $i\"; i=$((i+1)); done\necho done >> $SNAP_COMMON/done\nwhile true; do sleep 1; done",
        )],
    );
    wait_for(
        "the service to finish talking",
        Duration::from_secs(30),
        || fx.count("svc-logs", "done") == 1,
    );
    wait_for("the last line in the log", Duration::from_secs(10), || {
        fx.snap_ok(&["logs", "svc-logs", "-n", "1"])
            .contains("line 2999")
    });
    let out = fx.snap_ok(&["logs", "svc-logs.talk", "-n", "3"]);
    let msgs: Vec<&str> = out
        .lines()
        .map(|l| l.rsplit(": ").next().unwrap())
        .collect();
    assert_eq!(msgs, ["line 2997", "line 2998", "line 2999"]);
    let dir = fx
        .path()
        .join("var/log/snapd/services/snap.svc-logs.talk.service");
    let total: u64 = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total <= 3 * (max + 8192 + 64), "{total} bytes of logs");
    assert!(total >= 2 * max / 2, "{total}: rotation kept too little");
    let files = fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 3, "output.log and two rotated files");
    // -n all gives everything kept, ending with the last line, without gaps.
    let all = fx.snap_ok(&["logs", "svc-logs.talk", "-n", "all"]);
    let nums: Vec<u32> = all
        .lines()
        .filter_map(|l| l.rsplit(": line ").next()?.parse().ok())
        .collect();
    assert_eq!(*nums.last().unwrap(), 2999);
    assert!(
        nums.windows(2).all(|w| w[1] == w[0] + 1),
        "gap in the kept lines"
    );
    assert!(nums.len() < 3000, "rotation dropped nothing");
    let e = fails(&fx.root.snap(&["logs", "svc-logs", "-n", "x"]));
    assert!(e.contains("-n"), "{e}");
}

#[test]
fn services_survive_daemon_restarts_exactly_once() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-keep",
        "  run:\n    command: bin/run\n    daemon: simple\n",
        &[("run", LOOP)],
    );
    let unit = "snap.svc-keep.run.service";
    wait_for("the service's first write", Duration::from_secs(10), || {
        fx.count("svc-keep", "starts") == 1
    });
    // The service's main process, its script (its `sleep`s come and go).
    let shells = |fx: &Fx| -> Vec<i32> {
        fx.pids(unit)
            .into_iter()
            .filter(|p| {
                fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() != "sleep")
            })
            .collect()
    };
    let main = shells(&fx);
    assert_eq!(main.len(), 1, "{main:?}");
    for kill9 in [false, true] {
        fx.restart_daemon(kill9);
        // Give a wrong restart the chance to happen.
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            fx.count("svc-keep", "starts"),
            1,
            "started again (kill -9: {kill9})"
        );
        assert_eq!(
            shells(&fx),
            main,
            "not the same one process (kill -9: {kill9})"
        );
        assert_eq!(
            fx.status("svc-keep.run"),
            ("enabled".into(), "active".into(), "-".into())
        );
    }
    // The adopted service is still controlled: its output still reaches the log, and stop
    // kills it.
    fx.snap_ok(&["restart", "svc-keep.run"]);
    wait_for("the restart's write", Duration::from_secs(10), || {
        fx.count("svc-keep", "starts") == 2
    });
    assert!(
        main.iter().all(|p| !proc_alive(*p)),
        "the old process survived the restart"
    );
    wait_for("output after adoption", Duration::from_secs(10), || {
        fx.snap_ok(&["logs", "svc-keep", "-n", "all"])
            .matches("hello from")
            .count()
            == 2
    });
    let pids = fx.pids(unit);
    fx.restart_daemon(true);
    fx.snap_ok(&["stop", "svc-keep"]);
    for p in pids {
        assert!(!proc_alive(p));
    }
    // A service stopped stays stopped across a daemon restart.
    fx.restart_daemon(false);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(fx.status("svc-keep.run").1, "inactive");
    assert_eq!(fx.count("svc-keep", "starts"), 2);
    fx.remove("svc-keep");
    assert!(!cgroup_parent(fx.path()).exists());
}

#[test]
fn enabled_services_start_with_the_daemon_after_a_reboot() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-boot",
        "  on:\n    command: bin/on\n    daemon: simple\n\
         \x20 off:\n    command: bin/off\n    daemon: simple\n",
        &[
            (
                "on",
                "echo start >> $SNAP_COMMON/on\nwhile true; do sleep 1; done",
            ),
            (
                "off",
                "echo start >> $SNAP_COMMON/off\nwhile true; do sleep 1; done",
            ),
        ],
    );
    // Both ran once (a service stopped before its first line would never count).
    wait_for("both first starts", Duration::from_secs(10), || {
        fx.count("svc-boot", "on") == 1 && fx.count("svc-boot", "off") == 1
    });
    fx.snap_ok(&["stop", "--disable", "svc-boot.off"]);
    // A reboot: the daemon stops, every process goes, and the boot id changes (the daemon
    // reads it from SNAPD_TEST_BOOT_ID instead of the kernel's).
    assert!(fx.daemon.take().unwrap().stop().success());
    let parent = cgroup_parent(fx.path());
    for e in fs::read_dir(&parent).unwrap().flatten() {
        if e.path().is_dir() {
            fs::write(e.path().join("cgroup.kill"), "1").unwrap();
        }
    }
    wait_for("the services to die", Duration::from_secs(10), || {
        fx.pids("snap.svc-boot.on.service").is_empty()
    });
    fx.daemon = Some(Daemon::start(&fx.root, &[]));
    wait_for(
        "the enabled service to start",
        Duration::from_secs(10),
        || fx.count("svc-boot", "on") == 2,
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        fx.count("svc-boot", "off"),
        1,
        "a disabled service started at boot"
    );
    assert_eq!(fx.status("svc-boot.on").1, "active");
    assert_eq!(
        fx.status("svc-boot.off"),
        ("disabled".into(), "inactive".into(), "-".into())
    );
}

#[test]
fn stop_modes_reload_and_following_logs() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-modes",
        "  usr1:\n    command: bin/usr1\n    daemon: simple\n    stop-mode: sigusr1\n    stop-timeout: 20s\n\
         \x20 reload:\n    command: bin/reload\n    daemon: simple\n    reload-command: bin/do-reload\n",
        &[
            (
                "usr1",
                "trap 'echo usr1 >> $SNAP_COMMON/events; exit 0' USR1\necho ready >> $SNAP_COMMON/usr1-ready\nwhile true; do sleep 0.1; done",
            ),
            ("reload", "echo start >> $SNAP_COMMON/reload-starts\nwhile true; do sleep 0.2; echo tick; done"),
            ("do-reload", "echo reloaded >> $SNAP_COMMON/events"),
        ],
    );
    // stop-mode: the service gets its own signal, and stops well before the stop timeout.
    // (Once its handler is in place: a signal before that would end the shell silently.)
    wait_for(
        "the usr1 service's handler",
        Duration::from_secs(10),
        || fx.count("svc-modes", "usr1-ready") == 1,
    );
    let t = Instant::now();
    fx.snap_ok(&["stop", "svc-modes.usr1"]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(fx.common("svc-modes", "events"), "usr1\n");
    // restart --reload runs the reload command and keeps the process.
    wait_for("the reload service", Duration::from_secs(10), || {
        fx.count("svc-modes", "reload-starts") == 1
    });
    fx.snap_ok(&["restart", "--reload", "svc-modes.reload"]);
    assert_eq!(fx.common("svc-modes", "events"), "usr1\nreloaded\n");
    assert_eq!(fx.count("svc-modes", "reload-starts"), 1);
    // logs -f: lines written after it started arrive.
    let mut follow = fx
        .root
        .snap_command(&["logs", "-f", "-n", "0", "svc-modes.reload"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let mut text = String::new();
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if text.matches("tick").count() >= 3 {
                let _ = tx.send(text.clone());
                break;
            }
        }
    });
    let got = rx.recv_timeout(Duration::from_secs(15));
    let _ = follow.kill();
    let _ = follow.wait();
    let text = got.expect("snap logs -f printed no new lines");
    assert!(
        text.lines().all(|l| l.contains("svc-modes.reload[")),
        "{text}"
    );
}

#[test]
fn watchdog_restarts_a_service_that_stops_pinging() {
    need_root!();
    let mut fx = Fx::new();
    fx.install(
        "svc-dog",
        "  dog:\n    command: bin/dog\n    daemon: simple\n    watchdog-timeout: 1s\n    restart-condition: on-watchdog\n    restart-delay: 100ms\n\
         \x20 fed:\n    command: bin/fed\n    daemon: simple\n    watchdog-timeout: 1s\n    restart-condition: on-watchdog\n",
        &[
            (
                "dog",
                "echo start >> $SNAP_COMMON/dog\ni=0\nwhile [ $i -lt 3 ]; do $SNAP/bin/sd-notify WATCHDOG=1; sleep 0.3; i=$((i+1)); done\nwhile true; do sleep 1; done",
            ),
            (
                "fed",
                "echo start >> $SNAP_COMMON/fed\nwhile true; do $SNAP/bin/sd-notify WATCHDOG=1; sleep 0.3; done",
            ),
        ],
    );
    wait_for(
        "the watchdog to restart dog",
        Duration::from_secs(15),
        || fx.count("svc-dog", "dog") >= 2,
    );
    assert_eq!(fx.count("svc-dog", "fed"), 1, "a fed service was restarted");
    assert_eq!(fx.status("svc-dog.fed").1, "active");
}
