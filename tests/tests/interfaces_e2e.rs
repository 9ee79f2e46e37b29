//! Interfaces end to end: the real daemon on a throwaway root, its connections listed and
//! changed through our `snap`, Debian's `snap` (2.57) and snapd-glib (through
//! `tests/glib_interfaces.py`), and by hand-written HTTP. Every change of a connection must show
//! in the profile the launcher reads, persist across daemon restarts, and a connection the user
//! took down must never come back by itself.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use snap_tests::*;

const BASE: &str = "ifbase";
const APP: &str = "cam";

// ----- fixtures and helpers -----

struct Fixture {
    root: TestRoot,
    dir: tempfile::TempDir,
    daemon: Daemon,
}

impl Fixture {
    /// A running daemon with the base installed.
    fn new() -> Fixture {
        let root = TestRoot::new();
        let dir = tempfile::tempdir().unwrap();
        let daemon = Daemon::start(&root, &[]);
        let base = base_snap(dir.path(), BASE);
        assert_eq!(
            ok(&root.snap(&["install", "--dangerous", base.to_str().unwrap()])),
            format!("{BASE} 1 installed\n")
        );
        Fixture { root, dir, daemon }
    }

    fn snap(&self, args: &[&str]) -> Output {
        self.root.snap(args)
    }

    /// Packs a snap of `name` on the base with the given top of snap.yaml and installs it.
    fn install(&self, name: &str, yaml_rest: &str) -> PathBuf {
        let yaml = format!(
            "name: {name}\nversion: '1'\nbase: {BASE}\nsummary: interfaces test\n{yaml_rest}"
        );
        let file = make_snap(
            &self.dir.path().join(name),
            &yaml,
            &[("bin/run", "#!/bin/sh\necho hi\n", 0o755)],
        );
        let out = self.snap(&["install", "--dangerous", file.to_str().unwrap()]);
        assert_eq!(
            ok(&out),
            format!("{name} 1 installed\n"),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        file
    }

    /// The app with a `network` plug (auto-connects) and a `camera` plug (does not).
    fn install_app(&self) -> PathBuf {
        self.install(
            APP,
            &format!("apps:\n  {APP}:\n    command: bin/run\n    plugs: [network, camera]\n"),
        )
    }

    fn restart(&mut self) {
        let st = self.daemon.stop();
        assert!(
            st.success(),
            "snapd did not stop cleanly: {st:?}\n{}",
            self.daemon.log_text()
        );
        self.daemon = Daemon::start(&self.root, &[]);
    }

    fn api(&self, path: &str) -> Value {
        let v = api_get(&self.root, path);
        assert_eq!(v["type"], "sync", "GET {path}: {v:#}");
        v["result"].clone()
    }

    fn profile_text(&self) -> String {
        let path = self
            .root
            .path()
            .join(format!("var/lib/snapd/profiles/snap.{APP}.{APP}.json"));
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Whether the app's profile grants `network`: landlock lets it connect to any TCP port
    /// (`tcp-connect` null) rather than to none (`[]`).
    fn profile_has_network(&self) -> bool {
        let p: Value = serde_json::from_str(&self.profile_text()).unwrap();
        match &p["landlock"]["tcp-connect"] {
            Value::Null => true,
            Value::Array(a) if a.is_empty() => false,
            other => panic!("unexpected tcp-connect {other} in {p:#}"),
        }
    }

    /// The established connections as `(interface, plug, slot, manual)`.
    fn established(&self) -> Vec<(String, String, String, bool)> {
        conns_of(&self.api("/v2/connections")["established"])
    }

    fn undesired(&self) -> Vec<(String, String, String, bool)> {
        conns_of(&self.api("/v2/connections?select=all")["undesired"])
    }

    fn finish(mut self) {
        let st = self.daemon.stop();
        let log = self.daemon.log_text();
        assert!(st.success(), "snapd did not stop cleanly: {st:?}\n{log}");
        assert!(!log.contains("panicked"), "{log}");
    }
}

fn conns_of(list: &Value) -> Vec<(String, String, String, bool)> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let end = |e: &Value, k: &str| {
                        format!("{}:{}", e["snap"].as_str().unwrap(), e[k].as_str().unwrap())
                    };
                    (
                        c["interface"].as_str().unwrap().to_owned(),
                        end(&c["plug"], "plug"),
                        end(&c["slot"], "slot"),
                        c["manual"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn conn(iface: &str, plug: &str, slot: &str, manual: bool) -> (String, String, String, bool) {
    (iface.to_owned(), plug.to_owned(), slot.to_owned(), manual)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One request written by hand: `(HTTP status, JSON body)`. No Content-Type unless given, as
/// Debian's client sends `POST /v2/interfaces`.
fn raw(
    socket: &Path,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let mut s =
        UnixStream::connect(socket).unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "small answers come with a length: {head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let v = serde_json::from_slice(&answer[split + 4..]).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&answer)
        )
    });
    (status, v)
}

fn post_interfaces(socket: &Path, body: Value) -> (u16, Value) {
    raw(
        socket,
        "POST",
        "/v2/interfaces",
        None,
        body.to_string().as_bytes(),
    )
}

/// Runs `tests/glib_interfaces.py` against `socket`; its JSON and stderr.
fn glib(socket: &Path, ops: &[&str]) -> (Value, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("glib_interfaces.py");
    let mut cmd = Command::new(DEBIAN_PYTHON);
    cmd.arg(&script)
        .arg(socket)
        .args(ops)
        .stdin(std::process::Stdio::null());
    let out = output_within(&mut cmd, Duration::from_secs(60));
    let err = stderr(&out);
    assert!(
        out.status.success(),
        "{} failed: {}\n{err}",
        script.display(),
        stdout(&out)
    );
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}\n{err}", stdout(&out)));
    (v, err)
}

// ----- tests -----

#[test]
fn a_fresh_root_lists_the_system_slots_and_nothing_connected() {
    let fx = Fixture::new();
    // Nothing connected: snap prints nothing at all, with or without --all (unconnected system
    // slots are not shown).
    for args in [&["connections"][..], &["connections", "--all"][..]] {
        let out = fx.snap(args);
        assert_eq!(
            (ok(&out), stderr(&out)),
            (String::new(), String::new()),
            "snap {args:?}"
        );
    }
    let out = debian_snap(&fx.root, &["connections"]);
    assert_eq!((ok(&out), stderr(&out)), (String::new(), String::new()));

    let c = fx.api("/v2/connections");
    assert_eq!(c, json!({"established": [], "plugs": [], "slots": []}));
    let all = fx.api("/v2/connections?select=all");
    assert_eq!(all["established"], json!([]));
    assert_eq!(all["plugs"], json!([]));
    let slots = all["slots"].as_array().unwrap();
    assert!(
        slots.iter().all(|s| s["snap"] == "snapd"
            && s["slot"] == s["interface"]
            && s.get("connections").is_none()),
        "{all:#}"
    );
    for iface in ["network", "camera", "home"] {
        assert!(
            slots.iter().any(|s| s["slot"] == iface),
            "no system slot {iface}: {all:#}"
        );
    }

    // The catalogue: sorted, each with a summary; plugs and slots only when asked for.
    let list = fx.api("/v2/interfaces?select=all");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for i in list.as_array().unwrap() {
        assert!(!i["summary"].as_str().unwrap().is_empty(), "{i}");
        assert!(i.get("plugs").is_none() && i.get("slots").is_none(), "{i}");
    }
    let net = fx.api("/v2/interfaces?select=all&names=network&plugs=true&slots=true");
    assert_eq!(net.as_array().unwrap().len(), 1, "{net:#}");
    assert_eq!(net[0]["name"], "network");
    assert_eq!(net[0]["plugs"], json!([]));
    assert_eq!(net[0]["slots"][0]["snap"], "snapd");
    assert_eq!(fx.api("/v2/interfaces?select=connected"), json!([]));
    // The legacy form: every plug and slot.
    let legacy = fx.api("/v2/interfaces");
    assert_eq!(legacy["plugs"], json!([]));
    assert_eq!(legacy["slots"].as_array().unwrap().len(), slots.len());
    let (status, v) = raw(
        &fx.daemon.socket,
        "GET",
        "/v2/interfaces?select=bogus",
        None,
        b"",
    );
    assert_eq!(
        (status, &v["result"]["message"]),
        (400, &json!("unsupported select qualifier"))
    );
    let (status, v) = raw(
        &fx.daemon.socket,
        "GET",
        "/v2/connections?snap=nosuch",
        None,
        b"",
    );
    assert_eq!(
        (status, &v["result"]["kind"]),
        (404, &json!("snap-not-found")),
        "{v}"
    );

    // `snap interfaces` (deprecated) lists the system slots, none connected.
    let out = fx.snap(&["interfaces"]);
    let text = ok(&out);
    assert!(text.starts_with("Slot"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == [":network", "-"]),
        "{text}"
    );
    assert!(
        stderr(&out).contains("'snap interfaces' is deprecated"),
        "{}",
        stderr(&out)
    );

    assert_eq!(ok(&fx.snap(&["warnings"])), "No warnings.\n");
    fx.finish();
}

#[test]
fn network_auto_connects_camera_is_connected_by_hand_and_profiles_follow() {
    let fx = Fixture::new();
    fx.install_app();

    // The install's change connects automatically after linking (hooks and services follow),
    // and auto-connect connected network only.
    let changes = all_changes(&fx.root);
    let install = changes.last().unwrap();
    let kinds: Vec<&str> = install["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    let link = kinds
        .iter()
        .position(|k| *k == "link-snap")
        .expect("link-snap");
    assert_eq!(kinds.get(link + 1), Some(&"auto-connect"), "{install:#}");
    assert_eq!(
        fx.established(),
        [conn("network", "cam:network", "snapd:network", false)]
    );
    assert!(fx.profile_has_network(), "{}", fx.profile_text());
    let unconnected = fx.profile_text();

    let header = "Interface  Plug         Slot      Notes\n";
    let net_row = "network    cam:network  :network  -\n";
    let listing = ok(&fx.snap(&["connections"]));
    assert_eq!(listing, format!("{header}{net_row}"));
    assert_eq!(
        ok(&debian_snap(&fx.root, &["connections"])),
        listing,
        "Debian's snap prints the same"
    );
    // Naming the snap adds its unconnected plugs.
    let cam_row = "camera     cam:camera   -         -\n";
    let of_app = ok(&fx.snap(&["connections", APP]));
    assert_eq!(of_app, format!("{header}{cam_row}{net_row}"));
    assert_eq!(ok(&debian_snap(&fx.root, &["connections", APP])), of_app);
    assert_eq!(ok(&fx.snap(&["connections", "--all"])), of_app);
    let err = fails(&fx.snap(&["connections", "--all", APP]));
    assert_eq!(err, "error: cannot use --all with snap name\n");

    // Connect the camera by hand: nothing printed, the connection is manual, the profile
    // changes (and only that snap's: the system snap has none).
    let out = fx.snap(&["connect", &format!("{APP}:camera")]);
    assert_eq!(ok(&out), "");
    assert_eq!(
        fx.established(),
        [
            conn("camera", "cam:camera", "snapd:camera", true),
            conn("network", "cam:network", "snapd:network", false)
        ]
    );
    let changes = all_changes(&fx.root);
    let chg = changes.last().unwrap();
    assert_eq!(chg["kind"], "connect-snap");
    assert_eq!(chg["summary"], "Connect cam:camera to snapd:camera");
    assert_eq!(chg["status"], "Done");
    assert_eq!(chg["tasks"][0]["kind"], "connect");
    assert_eq!(chg["data"]["snap-names"], json!(["cam", "snapd"]));
    let connected = fx.profile_text();
    assert_ne!(
        connected, unconnected,
        "connecting the camera did not change the profile"
    );
    assert!(
        !fs::read_dir(fx.root.path().join("var/lib/snapd/profiles"))
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains("snapd.")),
        "the system snap got a profile"
    );
    let listing = ok(&fx.snap(&["connections"]));
    assert_eq!(
        listing,
        format!("{header}camera     cam:camera   :camera   manual\n{net_row}")
    );
    assert_eq!(ok(&debian_snap(&fx.root, &["connections"])), listing);
    let connected_ifaces: Vec<String> = fx
        .api("/v2/interfaces?select=connected")
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(connected_ifaces, ["camera", "network"]);

    // Connecting it again changes nothing: 202 with a change that is already Done.
    let (status, v) = post_interfaces(
        &fx.daemon.socket,
        json!({"action": "connect", "plugs": [{"snap": APP, "plug": "camera"}], "slots": [{"snap": "", "slot": ""}]}),
    );
    assert_eq!(status, 202, "{v}");
    let id = v["change"].as_str().unwrap();
    let chg = fx.api(&format!("/v2/changes/{id}"));
    assert_eq!(
        (chg["status"].as_str(), chg["ready"].as_bool()),
        (Some("Done"), Some(true)),
        "{chg:#}"
    );
    assert!(
        chg.get("tasks")
            .is_none_or(|t| t.is_null() || t == &json!([])),
        "{chg:#}"
    );

    // Disconnect it: the profile is what it was before the camera was connected.
    assert_eq!(
        ok(&fx.snap(&["disconnect", &format!("{APP}:camera"), ":camera"])),
        ""
    );
    assert_eq!(
        fx.established(),
        [conn("network", "cam:network", "snapd:network", false)]
    );
    assert_eq!(fx.profile_text(), unconnected);
    // A manual connection taken down is simply forgotten.
    assert_eq!(fx.undesired(), []);
    // Nothing left to disconnect: snap says so and succeeds; the API answers
    // interfaces-unchanged.
    assert_eq!(
        ok(&fx.snap(&["disconnect", &format!("{APP}:camera")])),
        "No connections to disconnect\n"
    );
    let (status, v) = post_interfaces(
        &fx.daemon.socket,
        json!({"action": "disconnect", "plugs": [{"snap": APP, "plug": "camera"}], "slots": [{"snap": "snapd", "slot": "camera"}]}),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["result"]["kind"], "interfaces-unchanged");
    assert_eq!(
        v["result"]["message"],
        "cannot disconnect cam:camera from snapd:camera, it is not connected"
    );

    // `snap interfaces` shows the connection from the slot's side, and the unconnected plug.
    let text = ok(&fx.snap(&["interfaces", APP]));
    assert_eq!(
        text,
        "Slot      Plug\n:network  cam\n-         cam:camera\n"
    );
    fx.finish();
}

#[test]
fn debian_snap_and_snapd_glib_connect_and_disconnect() {
    let fx = Fixture::new();
    fx.install_app();
    let unconnected = fx.profile_text();
    let camera = conn("camera", "cam:camera", "snapd:camera", true);
    let network = conn("network", "cam:network", "snapd:network", false);

    // Debian's snap: `snap connect a:b` (slot on the system snap), then the single-argument
    // disconnect, which names the plug in the slot pair.
    let out = debian_snap(&fx.root, &["connect", &format!("{APP}:camera")]);
    assert_eq!((ok(&out), stderr(&out)), (String::new(), String::new()));
    assert_eq!(fx.established(), [camera.clone(), network.clone()]);
    assert_ne!(fx.profile_text(), unconnected);
    let out = debian_snap(&fx.root, &["disconnect", &format!("{APP}:camera")]);
    assert_eq!((ok(&out), stderr(&out)), (String::new(), String::new()));
    assert_eq!(fx.established(), [network.clone()]);
    assert_eq!(fx.profile_text(), unconnected);
    // Both forms with the slot named, and the system snap under its other names.
    ok(&debian_snap(
        &fx.root,
        &["connect", &format!("{APP}:camera"), "system:camera"],
    ));
    assert_eq!(fx.established(), [camera.clone(), network.clone()]);
    ok(&debian_snap(
        &fx.root,
        &["disconnect", &format!("{APP}:camera"), "core:camera"],
    ));
    assert_eq!(fx.established(), [network.clone()]);
    let out = debian_snap(&fx.root, &["disconnect", &format!("{APP}:camera")]);
    assert_eq!(ok(&out), "No connections to disconnect\n");
    // Errors come back as snap prints them.
    let out = debian_snap(&fx.root, &["connect", &format!("{APP}:nope")]);
    assert_eq!(
        fails(&out),
        "error: snap \"cam\" has no plug named \"nope\"\n"
    );
    let out = debian_snap(&fx.root, &["connect", "nosuch:camera"]);
    assert_eq!(fails(&out), "error: snap \"nosuch\" is not installed\n");

    // snapd-glib: connect with the slot left empty, list, disconnect naming it.
    let (run, err) = glib(
        &fx.daemon.socket,
        &[
            &format!("connect:{APP}:camera::"),
            "connections",
            "connections-all",
            "interfaces",
            "legacy",
            &format!("disconnect:{APP}:camera:snapd:camera"),
            "connections",
        ],
    );
    assert!(
        !err.contains("CRITICAL") && !err.contains("WARNING"),
        "{err}"
    );
    let connect = glib_ok(&run, 0, &err);
    assert_eq!(connect["ok"], true);
    let seen = connect["progress"].as_array().unwrap();
    assert!(
        seen.last().is_some_and(|p| p["ready"] == true),
        "{connect:#}"
    );
    let conns = glib_ok(&run, 1, &err);
    let pairs: Vec<(Value, Value, Value, Value)> = conns["established"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["interface"].clone(),
                c["plug"].clone(),
                c["slot"].clone(),
                c["manual"].clone(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            (
                json!("camera"),
                json!([APP, "camera"]),
                json!(["snapd", "camera"]),
                json!(true)
            ),
            (
                json!("network"),
                json!([APP, "network"]),
                json!(["snapd", "network"]),
                json!(false)
            ),
        ]
    );
    assert_eq!(conns["undesired"], json!([]));
    let plugs: Vec<&Value> = conns["plugs"].as_array().unwrap().iter().collect();
    assert_eq!(plugs.len(), 2, "{conns:#}");
    assert_eq!(plugs[0]["connected-slots"], json!([["snapd", "camera"]]));
    let all = glib_ok(&run, 2, &err);
    assert!(
        all["slots"].as_array().unwrap().len() > 2,
        "select=all lists every system slot: {all:#}"
    );
    let ifaces = glib_ok(&run, 3, &err);
    let cam_iface = ifaces
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "camera")
        .expect("camera interface");
    assert_eq!(cam_iface["plugs"][0]["snap"], APP);
    assert_eq!(cam_iface["plugs"][0]["name"], "camera");
    assert_eq!(cam_iface["slots"][0]["snap"], "snapd");
    let legacy = glib_ok(&run, 4, &err);
    let net_slot = legacy["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "network")
        .unwrap();
    assert_eq!(net_slot["connected-plugs"], json!([[APP, "network"]]));
    assert_eq!(glib_ok(&run, 5, &err)["ok"], true);
    let after = glib_ok(&run, 6, &err);
    assert_eq!(
        after["established"].as_array().unwrap().len(),
        1,
        "{after:#}"
    );
    assert_eq!(fx.established(), [network]);
    assert_eq!(fx.profile_text(), unconnected);

    // Connecting what is connected: the change glib polls is Done at once, with no task.
    let (run, err) = glib(&fx.daemon.socket, &[&format!("connect:{APP}:network::")]);
    assert!(
        !err.contains("CRITICAL") && !err.contains("WARNING"),
        "{err}"
    );
    assert_eq!(glib_ok(&run, 0, &err)["ok"], true);
    assert_eq!(
        fx.established(),
        [conn("network", "cam:network", "snapd:network", false)]
    );

    // A disconnect with nothing to do reaches glib as interfaces-unchanged.
    let (run, err) = glib(
        &fx.daemon.socket,
        &[&format!("disconnect:{APP}:camera:snapd:camera")],
    );
    let op = &run["ops"][0];
    assert_eq!(op["ok"], false, "{op:#}\n{err}");
    assert!(
        op["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{op:#}"
    );
    fx.finish();
}

#[test]
fn a_connection_the_user_took_down_is_not_made_again() {
    let mut fx = Fixture::new();
    let file = fx.install_app();
    assert!(fx.profile_has_network());
    let with_network = fx.profile_text();

    assert_eq!(ok(&fx.snap(&["disconnect", &format!("{APP}:network")])), "");
    assert_eq!(fx.established(), []);
    assert_eq!(
        fx.undesired(),
        [conn("network", "cam:network", "snapd:network", true)]
    );
    assert!(!fx.profile_has_network(), "{}", fx.profile_text());
    let without_network = fx.profile_text();
    // Nothing connected, so snap lists nothing; naming the snap shows both plugs unconnected.
    assert_eq!(ok(&fx.snap(&["connections"])), "");
    assert_eq!(
        ok(&fx.snap(&["connections", APP])),
        "Interface  Plug         Slot  Notes\ncamera     cam:camera   -     -\nnetwork    cam:network  -     -\n"
    );

    // Remembered across a restart, and not connected again by the restart.
    fx.restart();
    assert_eq!(fx.established(), []);
    assert_eq!(
        fx.undesired(),
        [conn("network", "cam:network", "snapd:network", true)]
    );
    assert_eq!(fx.profile_text(), without_network);

    // Another install runs auto-connect again: still not connected.
    let other = fx.install(
        "other",
        "apps:\n  other:\n    command: bin/run\n    plugs: [network]\n",
    );
    assert_eq!(
        fx.established(),
        [conn("network", "other:network", "snapd:network", false)],
        "only the new snap's plug is connected"
    );
    assert_eq!(
        fx.undesired(),
        [conn("network", "cam:network", "snapd:network", true)]
    );

    // --forget drops the memory of it; it stays disconnected (auto-connection runs for a snap
    // being installed, not for one already there).
    assert_eq!(
        ok(&fx.snap(&[
            "disconnect",
            "--forget",
            &format!("{APP}:network"),
            ":network"
        ])),
        ""
    );
    assert_eq!(fx.undesired(), []);
    assert_eq!(
        fx.established(),
        [conn("network", "other:network", "snapd:network", false)]
    );
    assert_eq!(fx.profile_text(), without_network);

    // The user may connect it again by hand; then it is a manual connection.
    assert_eq!(ok(&fx.snap(&["connect", &format!("{APP}:network")])), "");
    assert_eq!(fx.undesired(), []);
    assert!(
        fx.established()
            .contains(&conn("network", "cam:network", "snapd:network", true))
    );
    assert_eq!(fx.profile_text(), with_network);
    assert_eq!(ok(&fx.snap(&["disconnect", &format!("{APP}:network")])), "");
    // A manual connection taken down is forgotten, not undesired.
    assert_eq!(fx.undesired(), []);

    // Removing the snap forgets everything about it: reinstalled, it auto-connects again.
    ok(&fx.snap(&["disconnect", "other:network"]));
    assert_eq!(
        fx.undesired(),
        [conn("network", "other:network", "snapd:network", true)]
    );
    assert_eq!(ok(&fx.snap(&["remove", "other"])), "other removed\n");
    assert_eq!(fx.undesired(), []);
    let remove = all_changes(&fx.root).last().cloned().unwrap();
    // Services stop and the remove hook runs first; then the connections go.
    let kinds: Vec<&str> = remove["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds[..3],
        ["stop-snap-services", "run-hook", "auto-disconnect"],
        "{remove:#}"
    );
    ok(&fx.snap(&["install", "--dangerous", other.to_str().unwrap()]));
    assert!(
        fx.established()
            .contains(&conn("network", "other:network", "snapd:network", false))
    );
    assert_eq!(ok(&fx.snap(&["remove", APP])), "cam removed\n");
    let out = fx.snap(&["install", "--dangerous", file.to_str().unwrap()]);
    assert_eq!(ok(&out), "cam 1 installed\n");
    assert_eq!(
        fx.established(),
        [
            conn("network", "cam:network", "snapd:network", false),
            conn("network", "other:network", "snapd:network", false)
        ]
    );
    assert_eq!(fx.profile_text(), with_network);
    fx.finish();
}

#[test]
fn connections_survive_daemon_restarts() {
    let mut fx = Fixture::new();
    fx.install_app();
    ok(&fx.snap(&["connect", &format!("{APP}:camera")]));
    let before = (
        fx.established(),
        fx.profile_text(),
        ok(&fx.snap(&["connections", APP])),
    );
    fx.restart();
    assert_eq!(
        (
            fx.established(),
            fx.profile_text(),
            ok(&fx.snap(&["connections", APP]))
        ),
        before
    );
    // And what the restarted daemon does with them works as before.
    assert_eq!(ok(&fx.snap(&["disconnect", &format!("{APP}:camera")])), "");
    assert_eq!(
        fx.established(),
        [conn("network", "cam:network", "snapd:network", false)]
    );
    fx.restart();
    assert_eq!(
        fx.established(),
        [conn("network", "cam:network", "snapd:network", false)]
    );
    // Removing the snap takes its connections and profiles away.
    assert_eq!(ok(&fx.snap(&["remove", APP])), "cam removed\n");
    assert_eq!(
        fx.api("/v2/connections?select=all")["established"],
        json!([])
    );
    let left: Vec<_> = fs::read_dir(fx.root.path().join("var/lib/snapd/profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(APP))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    fx.finish();
}

#[test]
fn bad_plugs_are_ignored_with_a_warning_and_the_snap_installs() {
    let fx = Fixture::new();
    fx.install(
        "oddplugs",
        "plugs:\n  foo:\n    interface: no-such-interface\n  net: network\n  ctl: snapd-control\napps:\n  oddplugs:\n    command: bin/run\n    plugs: [foo, net, ctl]\n",
    );
    let message =
        "snap \"oddplugs\" has bad plugs or slots: foo (unknown interface \"no-such-interface\")";
    let warnings = fx.api("/v2/warnings");
    let found: Vec<&str> = warnings
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(found, [message]);
    let out = ok(&fx.snap(&["warnings"]));
    assert!(out.starts_with("last-occurrence:  today at "), "{out}");
    assert!(
        out.ends_with(&format!("\nwarning: |\n  {message}\n")),
        "{out}"
    );
    // The bad plug takes no part; network was auto-connected. snapd-control needs a store
    // grant in snapd, but an install with --dangerous skips that policy: it is there,
    // unconnected (it never auto-connects), and may be connected by hand.
    let c = fx.api("/v2/connections?select=all&snap=oddplugs");
    let plugs: Vec<&str> = c["plugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["plug"].as_str().unwrap())
        .collect();
    assert_eq!(plugs, ["ctl", "net"]);
    assert_eq!(c["plugs"][1]["apps"], json!(["oddplugs"]));
    assert_eq!(
        conns_of(&c["established"]),
        [conn("network", "oddplugs:net", "snapd:network", false)]
    );
    assert_eq!(
        ok(&fx.snap(&["connections", "oddplugs"])),
        "Interface      Plug          Slot      Notes\nnetwork        oddplugs:net  :network  -\nsnapd-control  oddplugs:ctl  -         -\n"
    );
    assert_eq!(ok(&fx.snap(&["connect", "oddplugs:ctl"])), "");
    assert!(fx.established().contains(&conn(
        "snapd-control",
        "oddplugs:ctl",
        "snapd:snapd-control",
        true
    )));
    fx.finish();
}

#[test]
fn interface_requests_are_checked() {
    let fx = Fixture::new();
    fx.install_app();
    let socket = &fx.daemon.socket;
    let plug = json!([{"snap": APP, "plug": "camera"}]);
    let slot = json!([{"snap": "snapd", "slot": "camera"}]);
    let cases = [
        (
            json!({"plugs": plug, "slots": slot}),
            400,
            "interface action not specified",
        ),
        (
            json!({"action": "bounce", "plugs": plug, "slots": slot}),
            400,
            "unsupported interface action: \"bounce\"",
        ),
        (
            json!({"action": "connect", "plugs": [{"snap": APP, "plug": "camera"}, {"snap": APP, "plug": "network"}], "slots": slot}),
            501,
            "many-to-many operations are not implemented",
        ),
        (
            json!({"action": "connect", "plugs": plug}),
            400,
            "at least one plug and slot is required",
        ),
        (
            json!({"action": "connect", "plugs": [{"snap": "nosuch", "plug": "x"}], "slots": slot}),
            400,
            "snap \"nosuch\" is not installed",
        ),
        (
            json!({"action": "connect", "plugs": [{"snap": APP, "plug": "nope"}], "slots": slot}),
            400,
            "snap \"cam\" has no plug named \"nope\"",
        ),
        (
            json!({"action": "connect", "plugs": plug, "slots": [{"snap": "snapd", "slot": "nope"}]}),
            400,
            "snap \"snapd\" has no slot named \"nope\"",
        ),
        (
            json!({"action": "connect", "plugs": plug, "slots": [{"snap": "snapd", "slot": "network"}]}),
            400,
            "cannot connect cam:camera (\"camera\" interface) to snapd:network (\"network\" interface)",
        ),
        (
            json!({"action": "connect", "plugs": plug, "slots": [{"snap": BASE, "slot": ""}]}),
            400,
            "snap \"ifbase\" has no \"camera\" interface slots",
        ),
        (
            json!({"action": "disconnect", "plugs": [{"snap": "", "plug": ""}], "slots": [{"snap": APP, "slot": "camera"}]}),
            400,
            "nothing to do",
        ),
    ];
    for (body, status, message) in cases {
        let (got, v) = post_interfaces(socket, body.clone());
        assert_eq!(
            (got, v["type"].as_str(), v["result"]["message"].as_str()),
            (status, Some("error"), Some(message)),
            "{body}: {v}"
        );
    }
    let (_, v) = raw(socket, "POST", "/v2/interfaces", None, b"{nope");
    assert!(
        v["result"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot decode request body into an interface action"),
        "{v}"
    );
    fx.finish();
}

#[test]
fn a_new_snaps_slot_connects_waiting_plugs_and_its_removal_disconnects_them() {
    let fx = Fixture::new();
    fx.install(
        "consumer",
        "plugs:\n  shared:\n    interface: content\n    content: data\n    target: $SNAP_DATA/shared\napps:\n  consumer:\n    command: bin/run\n",
    );
    let profile = |name: &str| {
        fs::read_to_string(
            fx.root
                .path()
                .join(format!("var/lib/snapd/profiles/snap.{name}.{name}.json")),
        )
        .unwrap()
    };
    let alone = profile("consumer");
    assert_eq!(fx.established(), []);
    assert_eq!(
        ok(&fx.snap(&["connections", "consumer"])),
        "Interface  Plug             Slot  Notes\ncontent    consumer:shared  -     -\n"
    );

    // The provider's slot is the only candidate of the consumer's plug: the provider's
    // auto-connect connects them, and the consumer's profile changes.
    fx.install(
        "provider",
        "slots:\n  data:\n    interface: content\n    content: data\n    read: [$SNAP/data]\napps:\n  provider:\n    command: bin/run\n",
    );
    assert_eq!(
        fx.established(),
        [conn("content", "consumer:shared", "provider:data", false)]
    );
    assert_ne!(
        profile("consumer"),
        alone,
        "the connection did not reach the consumer's profile"
    );
    let listing = ok(&fx.snap(&["connections"]));
    assert_eq!(
        listing,
        "Interface      Plug             Slot           Notes\ncontent[data]  consumer:shared  provider:data  -\n"
    );
    assert_eq!(ok(&debian_snap(&fx.root, &["connections"])), listing);
    let c = &fx.api("/v2/connections")["established"][0];
    assert_eq!(c["plug-attrs"]["content"], "data", "{c}");
    assert_eq!(c["slot-attrs"]["read"], json!(["$SNAP/data"]), "{c}");

    // Removing the provider disconnects it first, and the consumer's profile is as before.
    assert_eq!(ok(&fx.snap(&["remove", "provider"])), "provider removed\n");
    assert_eq!(fx.established(), []);
    assert_eq!(fx.undesired(), []);
    assert_eq!(profile("consumer"), alone);
    fx.finish();
}
