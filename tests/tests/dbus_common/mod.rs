//! What the D-Bus tests share: a private `dbus-daemon` with its own configuration on a
//! temporary socket, the daemon serving on it, fixture snaps with plugs, and `gdbus` calls.
#![allow(dead_code)] // each test binary uses part of it

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use snap_tests::*;

pub const NAME: &str = "dev.snappy.Snapd1";
pub const PATH: &str = "/dev/snappy/Snapd1";
pub const BASE: &str = "dbusbase";

/// A message bus of our own: anyone may connect, own names and call, so that what is refused
/// is refused by the daemon itself.
pub struct Bus {
    pub dir: tempfile::TempDir,
    pub address: String,
    child: Child,
}

impl Bus {
    pub fn start() -> Bus {
        let dir = tempfile::Builder::new().prefix("dbus-").tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        make_traversable(dir.path());
        let socket = dir.path().join("bus.sock");
        let config = dir.path().join("bus.conf");
        fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .arg("--nopidfile")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "dbus-daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Bus {
            address: format!("unix:path={}", socket.display()),
            dir,
            child,
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gdbus call` of a method of the daemon's interface, with its arguments as gdbus parses
/// them (GVariant text).
pub fn gdbus_call(bus: &Bus, method: &str, args: &[&str]) -> Command {
    let mut c = Command::new("gdbus");
    gdbus_args(&mut c, bus, method, args);
    c
}

pub fn gdbus_args(c: &mut Command, bus: &Bus, method: &str, args: &[&str]) {
    c.args(["call", "--address", &bus.address, "--dest", NAME])
        .args(["--object-path", PATH, "--method"])
        .arg(if method.contains('.') {
            method.to_owned()
        } else {
            format!("{NAME}.{method}")
        })
        .args(args)
        .stdin(Stdio::null());
}

/// Runs `cmd` (within a minute) and returns its output.
pub fn run(cmd: &mut Command) -> Output {
    output_within(cmd, Duration::from_secs(60))
}

/// The daemon on `root` serving D-Bus on `bus`, once its name is on the bus.
pub fn start_daemon(root: &TestRoot, bus: &Bus, admin_group: Option<&str>) -> Daemon {
    let mut env = vec![("SNAPD_DBUS_ADDRESS", bus.address.as_str())];
    if let Some(g) = admin_group {
        env.push(("SNAPD_DBUS_ADMIN_GROUP", g));
    }
    let d = Daemon::start(root, &env);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = run(&mut gdbus_call(bus, "ListSnaps", &[]));
        if out.status.success() {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon never served D-Bus: {}\nlog:\n{}",
            String::from_utf8_lossy(&out.stderr),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Installs the base and an app `name` whose app plugs `network` (auto-connected) and
/// `camera` (not), through the CLI.
pub fn install_fixture_snaps(root: &TestRoot, dir: &Path, name: &str) -> Vec<String> {
    let base = base_snap(dir, BASE);
    ok(&root.snap(&["install", "--dangerous", base.to_str().unwrap()]));
    let yaml = format!(
        "name: {name}\nversion: '1.2'\ntitle: Camera App\nbase: {BASE}\nsummary: d-bus test\napps:\n  {name}:\n    command: bin/run\n    plugs: [network, camera]\n"
    );
    let file = make_snap(
        &dir.join(name),
        &yaml,
        &[("bin/run", "#!/bin/sh\necho hi\n", 0o755)],
    );
    ok(&root.snap(&["install", "--dangerous", file.to_str().unwrap()]));
    vec![BASE.to_owned(), name.to_owned()]
}

/// The established connections `snap connections NAME` lists, as `interface plug slot`.
pub fn cli_connections(root: &TestRoot, snap: &str) -> Vec<String> {
    ok(&root.snap(&["connections", snap]))
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Waits until `f` holds, or panics with `what`.
pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn socket_of(root: &TestRoot) -> PathBuf {
    root.path().join("run/snapd.socket")
}

/// `POST path` with a JSON body on the daemon's socket; the HTTP status and the JSON answer.
pub fn post_json(root: &TestRoot, path: &str, body: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket_of(root)).expect("socket");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, json) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    (
        status,
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {answer}")),
    )
}

/// `gdbus monitor` of the daemon's signals, read as they come.
pub struct Monitor {
    child: Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Monitor {
    /// Starts monitoring and waits until the monitor has subscribed (it says who owns the
    /// name once it has).
    pub fn start(bus: &Bus) -> Monitor {
        use std::io::BufRead;
        // gdbus buffers its output when it is not a terminal: ask for lines.
        let mut child = Command::new("stdbuf")
            .args([
                "-oL",
                "gdbus",
                "monitor",
                "--address",
                &bus.address,
                "--dest",
                NAME,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gdbus monitor");
        let out = child.stdout.take().expect("piped");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let m = Monitor { child, seen };
        m.wait_for("is owned by");
        m
    }

    pub fn text(&self) -> String {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `what` was printed; everything printed so far.
    pub fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.text();
            if t.contains(what) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "the monitor never printed {what:?}; it printed:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
