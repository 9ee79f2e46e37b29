//! Hooks, configuration, health and `snapctl`, end to end: the real daemon on a test root, a
//! real base (`scripts/make-base.sh`, busybox), and snaps whose hooks are shell scripts run
//! confined by `snap-confine --hook`, calling the real `snapctl` (bound into the sandbox at
//! `/usr/lib/snapd`) over the daemon's socket for snaps.
//!
//! Needs root (mounts); each test skips itself otherwise.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use snap_tests::real_base::RealBase;
use snap_tests::*;

const BASE: &str = "hookbase";

struct Fixture {
    rb: RealBase,
}

impl std::ops::Deref for Fixture {
    type Target = RealBase;
    fn deref(&self) -> &RealBase {
        &self.rb
    }
}

impl Fixture {
    fn new(env: &[(&str, &str)]) -> Fixture {
        Fixture {
            rb: RealBase::new(BASE, env),
        }
    }

    fn install_file(&self, file: &Path) -> Output {
        self.snap(&["install", "--dangerous", file.to_str().unwrap()])
    }

    /// Packs a snap named `name` on the test base: `extra` is appended to its snap.yaml,
    /// `files` are (path, shell script body) made executable.
    fn pack(&self, name: &str, extra: &str, files: &[(&str, &str)]) -> PathBuf {
        let tree = self.work.path().join(format!("tree-{name}"));
        let _ = fs::remove_dir_all(&tree);
        fs::create_dir_all(tree.join("meta")).unwrap();
        fs::write(
            tree.join("meta/snap.yaml"),
            format!(
                "name: {name}\nversion: '1'\nbase: {BASE}\nsummary: hooks test\n\
                 apps:\n  {name}:\n    command: bin/app\n{extra}"
            ),
        )
        .unwrap();
        let mut files: Vec<(&str, &str)> = files.to_vec();
        if !files.iter().any(|(p, _)| *p == "bin/app") {
            files.push(("bin/app", "exec \"$@\""));
        }
        for (rel, body) in files {
            let path = tree.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        pack_tree(&tree, &self.work.path().join("out"))
    }

    fn install(&mut self, name: &str, extra: &str, files: &[(&str, &str)]) -> Output {
        let file = self.pack(name, extra, files);
        let out = self.install_file(&file);
        if out.status.success() {
            self.rb.installed.push(name.to_owned());
        }
        out
    }

    fn remove(&mut self, name: &str) -> Output {
        let out = self.snap(&["remove", name]);
        if out.status.success() {
            self.rb.installed.retain(|n| n != name);
        }
        out
    }

    /// `snap run SNAP ARGS...` of the snap's app (which runs its arguments).
    fn run(&self, snap: &str, args: &[&str]) -> Output {
        let mut all = vec!["run", snap];
        all.extend_from_slice(args);
        output_within(
            self.root.snap_command(&all).stdin(Stdio::null()),
            Duration::from_secs(30),
        )
    }

    /// `snapctl` on the host, as a caller outside any sandbox, with `cookie`.
    fn snapctl(&self, cookie: Option<&str>, args: &[&str]) -> Output {
        let mut c = Command::new(bin("snapctl"));
        c.args(args)
            .env_remove("SNAP_COOKIE")
            .env_remove("SNAP_CONTEXT")
            .env("SNAPPY_GLOBAL_ROOT", self.path())
            .stdin(Stdio::null());
        if let Some(cookie) = cookie {
            c.env("SNAP_COOKIE", cookie);
        }
        output_within(&mut c, Duration::from_secs(30))
    }

    fn cookie(&self, snap: &str) -> String {
        fs::read_to_string(
            self.path()
                .join(format!("var/lib/snapd/cookie/snap.{snap}")),
        )
        .unwrap()
    }

    fn finish(self) {
        self.rb.finish();
    }
}

fn out_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err_text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A configure hook that accepts a numeric `port` below 65536 only, and records the values it
/// saw in the snap's data directory.
const VALIDATING_CONFIGURE: &str = r#"port=$(snapctl get port)
echo "configure saw port=$port" >> "$SNAP_DATA/configure.log"
case "$port" in
  "") exit 0 ;;
  *[!0-9]*) echo "invalid port $port" >&2; exit 1 ;;
esac
[ "$port" -lt 65536 ] || { echo "port $port out of range" >&2; exit 1; }
snapctl set port-checked=true"#;

#[test]
fn install_hook_sets_config_and_configure_hook_validates() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    let install_hook = r#"snapctl set greeting=hello http.tls.enabled=true
touch "$SNAP_DATA/install-ran"
echo "cookie present: ${SNAP_COOKIE:+yes}" >> "$SNAP_DATA/install-ran""#;
    ok(&fx.install(
        "hooky",
        "",
        &[
            ("meta/hooks/install", install_hook),
            ("meta/hooks/configure", VALIDATING_CONFIGURE),
        ],
    ));
    let data = fx.path().join("var/snap/hooky/current");
    let ran = fs::read_to_string(data.join("install-ran")).expect("the install hook ran");
    assert!(ran.contains("cookie present: yes"), "{ran}");
    // The install hook's values were committed when it succeeded.
    assert_eq!(out_text(&fx.snap(&["get", "hooky", "greeting"])), "hello\n");
    assert_eq!(
        out_text(&fx.snap(&["get", "-d", "hooky", "http"])),
        "{\n\t\"http\": {\n\t\t\"tls\": {\n\t\t\t\"enabled\": true\n\t\t}\n\t}\n}\n"
    );

    // A valid value passes the configure hook, which sees it before it is committed.
    ok(&fx.snap(&["set", "hooky", "port=8080"]));
    assert_eq!(out_text(&fx.snap(&["get", "hooky", "port"])), "8080\n");
    assert_eq!(
        out_text(&fx.snap(&["get", "hooky", "port-checked"])),
        "true\n"
    );
    let log = fs::read_to_string(data.join("configure.log")).unwrap();
    assert!(log.contains("configure saw port=8080"), "{log}");

    // A value the hook rejects: the change fails with the hook's words, nothing is committed.
    let err = fails(&fx.snap(&["set", "hooky", "port=99999", "greeting=changed"]));
    assert!(err.contains("port 99999 out of range"), "{err}");
    assert_eq!(out_text(&fx.snap(&["get", "hooky", "port"])), "8080\n");
    assert_eq!(out_text(&fx.snap(&["get", "hooky", "greeting"])), "hello\n");
    let err = fails(&fx.snap(&["set", "hooky", "port=abc"]));
    assert!(err.contains("invalid port abc"), "{err}");

    // The whole document as a table, nested objects folded.
    assert_eq!(
        out_text(&fx.snap(&["get", "hooky"])),
        "Key           Value\ngreeting      hello\nhttp          {...}\nport          8080\nport-checked  true\n"
    );

    // Unset; then the key is gone, as snapd says it.
    ok(&fx.snap(&["unset", "hooky", "port"]));
    let err = fails(&fx.snap(&["get", "hooky", "port"]));
    assert!(
        err.contains(r#"snap "hooky" has no "port" configuration option"#),
        "{err}"
    );
    // Bad keys and unknown snaps are refused before any change.
    let err = fails(&fx.snap(&["set", "hooky", "Bad_Key=1"]));
    assert!(err.contains(r#"invalid option name: "Bad_Key""#), "{err}");
    let err = fails(&fx.snap(&["set", "nosuchsnap", "a=1"]));
    assert!(err.contains("not installed"), "{err}");
    fx.finish();
}

#[test]
fn failing_install_hook_undoes_the_install() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    let before = tree(
        fx.path(),
        &[
            "var/lib/snapd/state.json",
            "var/lib/snapd/state.journal",
            "run",
        ],
    );
    let out = fx.install(
        "badinstall",
        "",
        &[(
            "meta/hooks/install",
            "snapctl set half=done\necho 'cannot set things up: boom' >&2\nexit 3",
        )],
    );
    let err = fails(&out);
    assert!(
        err.contains(r#"run hook "install": cannot set things up: boom"#),
        "{err}"
    );
    let list = out_text(&fx.snap(&["list"]));
    assert!(!list.contains("badinstall"), "{list}");
    // Nothing of it is left: no mount, data, cookie or configuration.
    let after = tree(
        fx.path(),
        &[
            "var/lib/snapd/state.json",
            "var/lib/snapd/state.journal",
            "run",
        ],
    );
    assert_eq!(
        before, after,
        "the root changed after a rolled back install"
    );
    let conf = api_get(&fx.root, "/v2/snaps/badinstall/conf");
    assert_eq!(conf["status-code"], 400, "{conf}");
    fx.finish();
}

#[test]
fn hanging_hook_is_killed_at_its_timeout_with_everything_it_started() {
    need_root!();
    let mut fx = Fixture::new(&[("SNAPD_TEST_HOOK_TIMEOUT_MS", "1500")]);
    // The hook starts a child that would outlive it, then hangs.
    let marker = format!("hang-marker-{}", std::process::id());
    let hook = format!("sh -c 'sleep 300' {marker} &\nexec sh -c 'sleep 300' {marker}");
    let out = fx.install("hangs", "", &[("meta/hooks/install", &hook)]);
    let err = fails(&out);
    assert!(
        err.contains(r#"run hook "install": exceeded maximum runtime of 1.5s"#),
        "{err}"
    );
    // Neither the hook nor its child is still running.
    std::thread::sleep(Duration::from_millis(200));
    let left: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&marker))
        .collect();
    assert!(left.is_empty(), "still running: {left:?}");
    assert!(!out_text(&fx.snap(&["list"])).contains("hangs"));
    fx.finish();
}

#[test]
fn remove_hook_runs_and_its_failure_does_not_block_removal() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    ok(&fx.install(
        "removable",
        "",
        &[(
            "meta/hooks/remove",
            "echo \"remove hook ran for $SNAP_NAME\"\nexit 1",
        )],
    ));
    let out = fx.remove("removable");
    ok(&out);
    let changes = all_changes(&fx.root);
    let remove = changes
        .iter()
        .find(|c| c["kind"] == "remove-snap")
        .expect("a remove change");
    let hook_task = remove["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "run-hook")
        .expect("a run-hook task");
    assert_eq!(hook_task["status"], "Done", "{hook_task}");
    let log = hook_task["log"].to_string();
    assert!(log.contains("remove hook ran for removable"), "{log}");
    assert!(log.contains("ignoring failure"), "{log}");
    fx.finish();
}

#[test]
fn health_is_reported_and_a_failing_health_check_undoes_the_install() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    ok(&fx.install(
        "waiter",
        "",
        &[(
            "meta/hooks/check-health",
            "snapctl set-health blocked 'waiting for the network' --code=no-network",
        )],
    ));
    let snap = api_get(&fx.root, "/v2/snaps/waiter");
    let health = &snap["result"]["health"];
    assert_eq!(health["status"], "blocked", "{snap}");
    assert_eq!(health["message"], "waiting for the network");
    assert_eq!(health["code"], "no-network");
    assert_eq!(health["revision"], "x1");
    let info = out_text(&fx.snap(&["info", "waiter"]));
    assert!(info.contains("health:"), "{info}");
    assert!(info.contains("blocked"), "{info}");
    assert!(info.contains("waiting for the network"), "{info}");
    let list = out_text(&fx.snap(&["list"]));
    let line = list.lines().find(|l| l.starts_with("waiter")).unwrap();
    assert!(line.contains("blocked"), "{line}");

    // Invalid health reports are refused with snapd's reasons, and fail the hook.
    let err = fails(&fx.install(
        "badhealth",
        "",
        &[("meta/hooks/check-health", "snapctl set-health error short")],
    ));
    assert!(
        err.contains("message must be at least 7 characters long"),
        "{err}"
    );

    // A health check that fails undoes the install.
    let err = fails(&fx.install(
        "sick",
        "",
        &[(
            "meta/hooks/check-health",
            "echo 'database unreachable' >&2; exit 1",
        )],
    ));
    assert!(
        err.contains(r#"run hook "check-health": database unreachable"#),
        "{err}"
    );
    assert!(!out_text(&fx.snap(&["list"])).contains("sick"));
    fx.finish();
}

#[test]
fn snapctl_knows_the_caller_by_its_cookie_only() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    ok(&fx.install("alpha", "plugs:\n  net:\n    interface: network\n", &[]));
    ok(&fx.install("beta", "", &[]));
    ok(&fx.snap(&["set", "beta", "secret=beta-only"]));

    // From outside any snap: refused, whatever the command.
    let out = fx.snapctl(None, &["get", "secret"]);
    let err = fails(&out);
    assert!(err.contains("outside of a snap"), "{err}");
    // A made-up cookie is nobody's.
    let err = fails(&fx.snapctl(Some("0123456789abcdef"), &["get", "secret"]));
    assert!(err.contains("unknown context"), "{err}");

    // Inside alpha's sandbox, as root: its own configuration, set and read back.
    ok(&fx.run("alpha", &["snapctl", "set", "colour=blue"]));
    assert_eq!(out_text(&fx.snap(&["get", "alpha", "colour"])), "blue\n");
    assert_eq!(
        out_text(&fx.run("alpha", &["snapctl", "get", "colour"])),
        "blue\n"
    );
    // beta's value is not alpha's to see: the same key reads empty in alpha.
    assert_eq!(ok(&fx.run("alpha", &["snapctl", "get", "secret"])), "");
    // The cookie files are hidden in the sandbox, so alpha cannot take beta's.
    let out = fx.run("alpha", &["cat", "/var/lib/snapd/cookie/snap.beta"]);
    assert!(!out.status.success(), "cookie readable: {}", out_text(&out));
    let out = fx.run("alpha", &["ls", "/var/lib/snapd/cookie"]);
    assert_eq!(out_text(&out).trim(), "", "cookie directory not hidden");

    // is-connected: network auto-connects; after a disconnect it answers 1.
    ok(&fx.run("alpha", &["snapctl", "is-connected", "net"]));
    ok(&fx.snap(&["disconnect", "alpha:net"]));
    let out = fx.run("alpha", &["snapctl", "is-connected", "net"]);
    assert_eq!(out.status.code(), Some(1), "{}", err_text(&out));
    let err = fails(&fx.run("alpha", &["snapctl", "is-connected", "nope"]));
    assert!(
        err.contains(r#"snap "alpha" has no plug or slot named "nope""#),
        "{err}"
    );

    // With alpha's cookie but not root: reads only.
    let cookie = fx.cookie("alpha");
    let nobody = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin("snapctl"))
            .args(args)
            .env("SNAPPY_GLOBAL_ROOT", fx.path())
            .env("SNAP_COOKIE", &cookie)
            .stdin(Stdio::null());
        output_within(&mut c, Duration::from_secs(30))
    };
    make_traversable(fx.path());
    assert_eq!(out_text(&nobody(&["get", "colour"])), "blue\n");
    let err = fails(&nobody(&["set", "colour=red"]));
    assert!(err.contains(r#"cannot use "set" with uid 65534"#), "{err}");
    // Nor may an ordinary user read a snap's configuration through the API: it may hold
    // secrets (root only, as snapd).
    let mut get = Command::new("setpriv");
    get.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin("snap"))
        .args(["get", "alpha", "colour"])
        .env("SNAPPY_GLOBAL_ROOT", fx.path())
        .stdin(Stdio::null());
    let err = fails(&output_within(&mut get, Duration::from_secs(30)));
    assert!(err.contains("access denied"), "{err}");
    assert_eq!(out_text(&fx.snap(&["get", "alpha", "colour"])), "blue\n");

    // An app launched with another snap's cookie in its caller's environment still gets its
    // own: beta's identity does not pass to alpha.
    let beta_cookie = fx.cookie("beta");
    let out = output_within(
        fx.root
            .snap_command(&["run", "alpha", "snapctl", "get", "secret"])
            .env("SNAP_COOKIE", &beta_cookie)
            .env("SNAPD_HOOK_CONTEXT", &beta_cookie)
            .stdin(Stdio::null()),
        Duration::from_secs(30),
    );
    assert_eq!(ok(&out), "", "alpha read beta's configuration");

    // Root on the host holding alpha's cookie acts as alpha.
    ok(&fx.snapctl(Some(&cookie), &["set", "x=1"]));
    assert_eq!(out_text(&fx.snap(&["get", "alpha", "x"])), "1\n");

    // Removing a snap forgets its cookie and configuration.
    ok(&fx.remove("beta"));
    assert!(!fx.path().join("var/lib/snapd/cookie/snap.beta").exists());
    let err = fails(&fx.snapctl(Some(&beta_cookie), &["get", "secret"]));
    assert!(err.contains("unknown context"), "{err}");
    fx.finish();
}

#[test]
fn interface_hooks_run_around_connect_and_disconnect() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    let log = |stage: &str| format!("echo {stage} >> \"$SNAP_DATA/hooks.log\"");
    let connect_hook = format!(
        "{}\n[ \"$(snapctl get refuse-connect)\" = true ] && {{ echo 'camera refused by policy' >&2; exit 1; }}\nexit 0",
        log("connect-plug-cam")
    );
    ok(&fx.install(
        "plugger",
        "plugs:\n  cam:\n    interface: camera\n",
        &[
            ("meta/hooks/prepare-plug-cam", &log("prepare-plug-cam")),
            ("meta/hooks/connect-plug-cam", &connect_hook),
            (
                "meta/hooks/disconnect-plug-cam",
                &log("disconnect-plug-cam"),
            ),
        ],
    ));
    let log_file = fx.path().join("var/snap/plugger/current/hooks.log");
    let connected = |fx: &Fixture| {
        out_text(&fx.snap(&["connections", "plugger"]))
            .lines()
            .any(|l| l.starts_with("camera") && l.contains(":camera"))
    };
    ok(&fx.snap(&["connect", "plugger:cam"]));
    assert!(connected(&fx));
    assert_eq!(
        fs::read_to_string(&log_file).unwrap(),
        "prepare-plug-cam\nconnect-plug-cam\n"
    );
    ok(&fx.snap(&["disconnect", "plugger:cam"]));
    assert!(!connected(&fx));
    assert_eq!(
        fs::read_to_string(&log_file).unwrap(),
        "prepare-plug-cam\nconnect-plug-cam\ndisconnect-plug-cam\n"
    );
    // A connect hook that refuses undoes the connection.
    ok(&fx.snap(&["set", "plugger", "refuse-connect=true"]));
    let err = fails(&fx.snap(&["connect", "plugger:cam"]));
    assert!(
        err.contains(r#"run hook "connect-plug-cam": camera refused by policy"#),
        "{err}"
    );
    assert!(!connected(&fx));
    fx.finish();
}

#[test]
fn snapctl_controls_the_snaps_own_services_only() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    ok(&fx.install(
        "svcctl",
        "  worker:\n    command: bin/worker\n    daemon: simple\n    install-mode: disable\n",
        &[("bin/worker", "exec sleep 1000")],
    ));
    ok(&fx.install(
        "other",
        "  busy:\n    command: bin/busy\n    daemon: simple\n",
        &[("bin/busy", "exec sleep 1000")],
    ));
    let status = |fx: &Fixture, svc: &str| {
        out_text(&fx.snap(&["services", svc]))
            .lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        status(&fx, "svcctl.worker"),
        "svcctl.worker disabled inactive -"
    );
    assert_eq!(
        out_text(&fx.run("svcctl", &["snapctl", "services"])),
        "Service        Startup   Current   Notes\nsvcctl.worker  disabled  inactive  -\n"
    );
    ok(&fx.run("svcctl", &["snapctl", "start", "--enable", "svcctl.worker"]));
    assert_eq!(
        status(&fx, "svcctl.worker"),
        "svcctl.worker enabled active -"
    );
    ok(&fx.run("svcctl", &["snapctl", "stop", "svcctl"]));
    assert_eq!(
        status(&fx, "svcctl.worker"),
        "svcctl.worker enabled inactive -"
    );
    // Another snap's services are not the caller's to touch.
    let err = fails(&fx.run("svcctl", &["snapctl", "stop", "other.busy"]));
    assert!(err.contains(r#"unknown service: "other.busy""#), "{err}");
    assert_eq!(status(&fx, "other.busy"), "other.busy enabled active -");
    fx.finish();
}

#[test]
fn the_launcher_records_running_apps_for_refresh_awareness() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    ok(&fx.install("runner", "", &[]));
    let mut child = fx
        .root
        .snap_command(&["run", "runner", "sleep", "30"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // `snap run` execs the launcher, which execs the app: one pid throughout.
    let entry = fx
        .path()
        .join(format!("run/snapd/running/snap.runner.{}", child.id()));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !entry.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let recorded = fs::read_to_string(&entry).expect("the running app is recorded");
    let start = snap_sys::proc::start_time(Some(child.id())).unwrap();
    assert_eq!(recorded.trim(), start.to_string());
    let _ = child.kill();
    let _ = child.wait();
    fx.finish();
}

#[test]
fn a_snap_with_hooks_config_and_app_data_leaves_nothing_when_removed() {
    need_root!();
    let mut fx = Fixture::new(&[]);
    let volatile = [
        "var/lib/snapd/state.json",
        "var/lib/snapd/state.journal",
        "var/lib/snapd/state.lock",
        "run",
    ];
    let before = tree(fx.path(), &volatile);
    ok(&fx.install(
        "tidy",
        "plugs:\n  cam:\n    interface: camera\n",
        &[
            ("meta/hooks/install", "snapctl set a.b=1"),
            ("meta/hooks/configure", "exit 0"),
            ("meta/hooks/connect-plug-cam", "exit 0"),
        ],
    ));
    ok(&fx.snap(&["set", "tidy", "c=2"]));
    ok(&fx.snap(&["connect", "tidy:cam"]));
    ok(&fx.run(
        "tidy",
        &["sh", "-c", "echo x > $SNAP_USER_DATA/f; echo y > /tmp/f"],
    ));
    ok(&fx.run("tidy", &["snapctl", "set-health", "okay"]));
    ok(&fx.snap(&["remove", "--purge", "tidy"]));
    fx.rb.installed.retain(|n| n != "tidy");
    assert_eq!(tree(fx.path(), &volatile), before, "the root changed");
    fx.finish();
}
