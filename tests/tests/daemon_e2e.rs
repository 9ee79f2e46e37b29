//! The daemon end to end: the real `snapd` on a throwaway root, driven by the real `snap` and
//! by hand-written HTTP on its socket. Installs and removals must leave the root exactly as
//! they found it, and every bad input must be refused with a clear error and leave nothing
//! behind (no file, no mount, no loop device, no spooled upload).

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use snap_tests::*;

/// Left out of compared trees: what the daemon rewrites on every checkpoint, and the API
/// socket (`tree` reads every non-directory as a file, and a socket cannot be read).
const STATE_FILES: &[&str] = &[
    "var/lib/snapd/state.json",
    "var/lib/snapd/state.lock",
    "var/lib/snapd/state.journal",
    "run/snapd.socket",
];

const RUN_SCRIPT: &str = "#!/bin/sh\necho hi\n";

// ----- helpers -----

fn snapshot(root: &TestRoot) -> BTreeMap<PathBuf, String> {
    let mut t = tree(root.path(), STATE_FILES);
    // A snap's cookie is a random secret made at install: its file must be there (and go
    // with the snap), its content differs from one install to the next.
    for (path, desc) in t.iter_mut() {
        if path.starts_with("var/lib/snapd/cookie") && desc.starts_with("file ") {
            *desc = desc.split(" bytes ").next().unwrap_or_default().to_owned();
        }
    }
    t
}

/// The root's tree equals `expected`; on failure, shows only the differences.
fn assert_tree_eq(root: &TestRoot, expected: &BTreeMap<PathBuf, String>, what: &str) {
    let now = snapshot(root);
    if &now == expected {
        return;
    }
    let mut diff = String::new();
    for (k, v) in expected {
        match now.get(k) {
            None => diff.push_str(&format!("  missing: {} ({v})\n", k.display())),
            Some(n) if n != v => {
                diff.push_str(&format!("  changed: {}: {v} -> {n}\n", k.display()))
            }
            _ => {}
        }
    }
    for (k, v) in &now {
        if !expected.contains_key(k) {
            diff.push_str(&format!("  extra:   {} ({v})\n", k.display()));
        }
    }
    panic!("{what}: the root's tree differs:\n{diff}");
}

fn assert_no_leaks(root: &TestRoot, what: &str) {
    let (mounts, loops) = leaks(root.path());
    assert!(
        mounts.is_empty(),
        "{what}: mounts left under the root: {mounts:?}"
    );
    assert!(
        loops.is_empty(),
        "{what}: loop devices left on files under the root: {loops:?}"
    );
}

fn assert_uploads_empty(root: &TestRoot, what: &str) {
    let dir = root.path().join("var/lib/snapd/uploads");
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        left.is_empty(),
        "{what}: spooled uploads left behind: {left:?}"
    );
}

/// Nothing of a refused or rolled-back operation remains anywhere.
fn assert_untouched(
    root: &TestRoot,
    before: &BTreeMap<PathBuf, String>,
    list_before: &Output,
    what: &str,
) {
    assert_tree_eq(root, before, what);
    assert_uploads_empty(root, what);
    let list = root.snap(&["list"]);
    assert_eq!(
        (&list.status.code(), text(&list.stdout), text(&list.stderr)),
        (
            &list_before.status.code(),
            text(&list_before.stdout),
            text(&list_before.stderr)
        ),
        "{what}: snap list changed"
    );
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The stderr of a `snap` command refused synchronously: exit status non-zero, and the first
/// thing it says is the error.
fn refused(out: &Output) -> String {
    let err = fails(out);
    assert!(
        err.starts_with("error: "),
        "stderr does not start with 'error: ':\n{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "one error expected:\n{err}"
    );
    err
}

fn install(root: &TestRoot, file: &Path) -> Output {
    root.snap(&["install", "--dangerous", file.to_str().unwrap()])
}

fn installs(root: &TestRoot, file: &Path, name: &str, version: &str) {
    let out = ok(&install(root, file));
    assert_eq!(out, format!("{name} {version} installed\n"));
}

fn removes(root: &TestRoot, name: &str) {
    assert_eq!(
        ok(&root.snap(&["remove", name])),
        format!("{name} removed\n")
    );
}

/// `snap list` as (name, version, rev, notes) rows, header checked.
fn list_rows(root: &TestRoot) -> Vec<(String, String, String, String)> {
    let out = root.snap(&["list"]);
    let stdout = ok(&out);
    if stdout.is_empty() {
        assert_eq!(
            text(&out.stderr),
            "No snaps are installed yet. Try 'snap install hello-world'.\n"
        );
        return Vec::new();
    }
    let mut lines = stdout.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["Name", "Version", "Rev", "Tracking", "Publisher", "Notes"]
    );
    lines
        .map(|l| {
            let f: Vec<_> = l.split_whitespace().collect();
            assert_eq!(f.len(), 6, "row {l:?}");
            assert_eq!(
                (f[3], f[4]),
                ("-", "-"),
                "tracking and publisher of a local snap"
            );
            (
                f[0].to_owned(),
                f[1].to_owned(),
                f[2].to_owned(),
                f[5].to_owned(),
            )
        })
        .collect()
}

fn row(name: &str, version: &str, rev: &str, notes: &str) -> (String, String, String, String) {
    (name.into(), version.into(), rev.into(), notes.into())
}

/// A squashfs image built by mksquashfs, so its snap.yaml can be anything our packer refuses.
/// `snap_yaml: None` makes an image without meta/snap.yaml.
fn raw_squashfs(out_dir: &Path, file: &str, snap_yaml: Option<&[u8]>) -> PathBuf {
    let src = tempfile::tempdir().unwrap();
    match snap_yaml {
        Some(y) => {
            fs::create_dir_all(src.path().join("meta")).unwrap();
            fs::write(src.path().join("meta/snap.yaml"), y).unwrap();
        }
        None => fs::write(src.path().join("README"), "no snap.yaml here\n").unwrap(),
    }
    fs::create_dir_all(out_dir).unwrap();
    let img = out_dir.join(file);
    let out = Command::new("mksquashfs")
        .arg(src.path())
        .arg(&img)
        .args([
            "-noappend",
            "-comp",
            "xz",
            "-no-xattrs",
            "-all-root",
            "-quiet",
            "-no-progress",
        ])
        .output()
        .expect("running mksquashfs");
    ok(&out);
    img
}

/// Incompressible bytes (xorshift), the same for the same seed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `snap changes` row of change `id`: (status, summary).
fn change_row(root: &TestRoot, id: &str) -> Option<(String, String)> {
    let out = ok(&root.snap(&["changes"]));
    out.lines().skip(1).find_map(|l| {
        let mut f = l.split_whitespace();
        if f.next()? != id {
            return None;
        }
        let status = f.next()?.to_owned();
        // The summary is the text after the last run of two or more spaces.
        let summary = l.rsplit("  ").next()?.trim().to_owned();
        Some((status, summary))
    })
}

/// The `snap tasks` rows of change `id`: (status, summary).
fn task_rows(root: &TestRoot, id: &str) -> Vec<(String, String)> {
    let out = ok(&root.snap(&["tasks", id]));
    let mut lines = out.lines();
    let header: Vec<_> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["Status", "Spawn", "Ready", "Summary"]);
    lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let status = l.split_whitespace().next().unwrap().to_owned();
            let summary = l.rsplit("  ").next().unwrap().trim().to_owned();
            (status, summary)
        })
        .collect()
}

fn tasks_of(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(s, t)| (s.to_string(), t.to_string()))
        .collect()
}

/// The summaries of the install tasks of `name` from `file`, in order.
fn install_task_summaries(name: &str, file: &Path) -> Vec<String> {
    vec![
        format!("Prepare snap \"{}\" (x1)", file.display()),
        format!("Ensure prerequisites for \"{name}\" are available"),
        format!("Mount snap \"{name}\" (x1)"),
        format!("Copy snap \"{name}\" data"),
        format!("Setup snap \"{name}\" (x1) security profiles"),
        format!("Make snap \"{name}\" (x1) available to the system"),
        format!("Automatically connect eligible plugs and slots of snap \"{name}\""),
        format!("Run install hook of \"{name}\" snap if present"),
        format!("Start snap \"{name}\" (x1) services"),
        format!("Run configure hook of \"{name}\" snap if present"),
        format!("Run health check of \"{name}\" snap"),
    ]
}

/// An HTTP answer read off the socket by hand.
struct Http {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Http {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}):\n{}\n\n{}",
                self.head,
                text(&self.body)
            )
        })
    }
}

/// One request written by hand on the daemon's socket. The body is written from another
/// thread so that a server answering before reading it all cannot deadlock us.
fn http(
    socket: &Path,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Http {
    let mut s =
        UnixStream::connect(socket).unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: e2e\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        w.write_all(head.as_bytes())?;
        w.write_all(&body)?;
        w.flush()
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // The server may close with our body unread: what it sent is still there to read.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => panic!(
                "{method} {path}: reading the answer: {e} (got {:?})",
                text(&raw)
            ),
        }
    }
    let _ = writer.join();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP head in {:?}", text(&raw)));
    let head = text(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Http { status, head, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size = usize::from_str_radix(text(&b[..eol]).split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        b = &b[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// A sideload as `snap install --dangerous` sends it, written by hand.
fn multipart_install(socket: &Path, file: &Path) -> Http {
    let boundary = "e2e-boundary-5f1c9a";
    let mut body = Vec::new();
    for (k, v) in [
        ("action", "install"),
        ("dangerous", "true"),
        ("snap-path", file.to_str().unwrap()),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"snap\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            file.file_name().unwrap().to_str().unwrap()
        )
        .as_bytes(),
    );
    body.extend_from_slice(&fs::read(file).unwrap());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    http(
        socket,
        "POST",
        "/v2/snaps",
        Some(&format!("multipart/form-data; boundary={boundary}")),
        body,
    )
}

fn assert_error_envelope(r: &Http, status: u16, what: &str) -> Value {
    assert_eq!(
        r.status,
        status,
        "{what}: HTTP status; head:\n{}\nbody: {}",
        r.head,
        text(&r.body)
    );
    let v = r.json();
    assert_eq!(v["type"], "error", "{what}: {v}");
    assert_eq!(v["status-code"], status, "{what}: {v}");
    assert!(
        v["result"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: an error envelope carries a message: {v}"
    );
    v
}

/// The root readable by everyone, as `/` is, so that an unprivileged caller reaches the socket.
fn open_up(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A command run as nobody (uid and gid 65534, no supplementary groups).
fn as_nobody(program: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    c.stdin(Stdio::null());
    c
}

// ----- 1. the whole cycle through the CLI -----

#[test]
fn install_list_info_remove_through_the_cli() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    let before = snapshot(&root);
    assert_no_leaks(&root, "fresh root");

    let base = base_snap(fx.path(), "cyc-base");
    let app = app_snap(fx.path(), "cyc-app", "2.5", "cyc-base");
    installs(&root, &base, "cyc-base", "1");
    installs(&root, &app, "cyc-app", "2.5");

    // snap list: the table, sorted by name, local revisions, the base noted.
    let list = ok(&root.snap(&["list"]));
    assert_eq!(
        list,
        "Name      Version  Rev  Tracking  Publisher  Notes\n\
         cyc-app   2.5      x1   -         -          -\n\
         cyc-base  1        x1   -         -          base\n"
    );
    assert_eq!(
        list_rows(&root),
        [
            row("cyc-app", "2.5", "x1", "-"),
            row("cyc-base", "1", "x1", "base")
        ]
    );
    assert_eq!(ok(&root.snap(&["list", "cyc-base"])).lines().count(), 2);

    let info = ok(&root.snap(&["info", "cyc-app"]));
    for want in [
        "name:       cyc-app\n",
        "summary:    test app\n",
        "description: |\n  an app for tests\n",
        "commands:\n  - cyc-app\n",
        "type:       app\n",
        "base:       cyc-base\n",
        "installed:  2.5 (x1) ",
    ] {
        assert!(info.contains(want), "snap info lacks {want:?}:\n{info}");
    }
    let info = ok(&root.snap(&["info", "cyc-base"]));
    assert!(
        info.contains("type:       base\n") && info.contains("installed:  1 (x1) "),
        "{info}"
    );
    let err = refused(&root.snap(&["info", "nope"]));
    // As snap: neither installed nor in a store (none is configured here).
    assert_eq!(err, "error: no snap found for \"nope\"\n");

    // On disk: the blob, the mount (readable through it), current links, wrapper, data dirs.
    let r = root.path();
    let blob = r.join("var/lib/snapd/snaps/cyc-app_x1.snap");
    assert_eq!(
        fs::read(&blob).unwrap(),
        fs::read(&app).unwrap(),
        "the blob is the uploaded file"
    );
    let mounts: Vec<PathBuf> = snap_sys::mounts_under(r)
        .unwrap()
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    assert!(
        mounts.contains(&r.join("snap/cyc-app/x1")) && mounts.contains(&r.join("snap/cyc-base/x1")),
        "{mounts:?}"
    );
    let mut backing: Vec<PathBuf> = snap_sys::loops_backed_by(r)
        .into_iter()
        .map(|l| l.backing_file)
        .collect();
    backing.sort();
    assert_eq!(
        backing,
        [
            r.join("var/lib/snapd/snaps/cyc-app_x1.snap"),
            r.join("var/lib/snapd/snaps/cyc-base_x1.snap")
        ]
    );
    assert_eq!(
        fs::read_to_string(r.join("snap/cyc-app/x1/bin/run")).unwrap(),
        RUN_SCRIPT
    );
    assert_eq!(
        fs::read_to_string(r.join("snap/cyc-app/current/bin/run")).unwrap(),
        RUN_SCRIPT
    );
    assert_eq!(
        fs::read_to_string(r.join("snap/cyc-base/current/usr/lib/os-release")).unwrap(),
        "ID=test\n"
    );
    assert!(
        fs::write(r.join("snap/cyc-app/x1/new-file"), "x").is_err(),
        "the mount must be read-only"
    );
    for name in ["cyc-app", "cyc-base"] {
        assert_eq!(
            fs::read_link(r.join(format!("snap/{name}/current"))).unwrap(),
            Path::new("x1")
        );
        assert_eq!(
            fs::read_link(r.join(format!("var/snap/{name}/current"))).unwrap(),
            Path::new("x1")
        );
        assert!(r.join(format!("var/snap/{name}/x1")).is_dir());
        assert!(r.join(format!("var/snap/{name}/common")).is_dir());
    }
    let wrapper = fs::read_link(r.join("snap/bin/cyc-app")).expect("the command wrapper");
    assert_eq!(
        fs::canonicalize(&wrapper).unwrap(),
        fs::canonicalize(bin("snap")).unwrap()
    );
    let bins: Vec<_> = fs::read_dir(r.join("snap/bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(bins, ["cyc-app"], "a base has no commands");

    // A base in use stays.
    let err = refused(&root.snap(&["remove", "cyc-base"]));
    assert_eq!(
        err,
        "error: snap \"cyc-base\" is not removable: snap is being used by snap cyc-app\n"
    );

    removes(&root, "cyc-app");
    assert!(
        !r.join("snap/cyc-app").exists() && !r.join("var/snap/cyc-app").exists() && !blob.exists()
    );
    assert!(!r.join("snap/bin/cyc-app").exists());
    removes(&root, "cyc-base");
    assert_tree_eq(&root, &before, "after removing everything");
    assert_no_leaks(&root, "after removing everything");
    assert_eq!(list_rows(&root), []);
    // Removing what is not installed is not an error for snap, as for snapd's client.
    assert_eq!(
        ok(&root.snap(&["remove", "cyc-app"])),
        "snap \"cyc-app\" is not installed\n"
    );

    // The history: four changes, all Done, in order.
    let changes = ok(&root.snap(&["changes"]));
    let header: Vec<_> = changes.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "Status", "Spawn", "Ready", "Summary"]);
    let summaries = [
        format!("Install \"cyc-base\" snap from file \"{}\"", base.display()),
        format!("Install \"cyc-app\" snap from file \"{}\"", app.display()),
        "Remove \"cyc-app\" snap".to_owned(),
        "Remove \"cyc-base\" snap".to_owned(),
    ];
    for (i, summary) in summaries.iter().enumerate() {
        let id = (i + 1).to_string();
        assert_eq!(
            change_row(&root, &id),
            Some(("Done".to_owned(), summary.clone())),
            "change {id}:\n{changes}"
        );
    }
    assert_eq!(change_row(&root, "5"), None, "{changes}");

    let install_tasks: Vec<_> = install_task_summaries("cyc-app", &app)
        .into_iter()
        .map(|s| ("Done".to_owned(), s))
        .collect();
    assert_eq!(task_rows(&root, "2"), install_tasks);
    assert_eq!(
        task_rows(&root, "3"),
        tasks_of(&[
            ("Done", "Stop snap \"cyc-app\" services"),
            ("Done", "Run remove hook of \"cyc-app\" snap if present"),
            ("Done", "Disconnect interfaces of snap \"cyc-app\""),
            (
                "Done",
                "Save data of snap \"cyc-app\" in automatic snapshot set"
            ),
            ("Done", "Make snap \"cyc-app\" unavailable to the system"),
            ("Done", "Remove security profiles of snap \"cyc-app\""),
            ("Done", "Remove data for snap \"cyc-app\" (x1)"),
            ("Done", "Remove snap \"cyc-app\" (x1) from the system"),
        ])
    );
    assert_eq!(
        refused(&root.snap(&["tasks", "42"])),
        "error: cannot find change with id \"42\"\n"
    );

    assert!(
        d.stop().success(),
        "snapd did not shut down cleanly:\n{}",
        d.log_text()
    );
}

// ----- 2. history independence -----

#[test]
fn install_and_remove_orders_leave_the_same_tree() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    let before = snapshot(&root);

    let base = base_snap(fx.path(), "hist-base");
    let one = app_snap(fx.path(), "hist-one", "1", "hist-base");
    let two = app_snap(fx.path(), "hist-two", "2", "hist-base");

    // Order 1: base, one, two; removed in install order (apps first, as the base is in use).
    installs(&root, &base, "hist-base", "1");
    installs(&root, &one, "hist-one", "1");
    let base_and_one = snapshot(&root);
    installs(&root, &two, "hist-two", "2");
    let all_three = snapshot(&root);
    let rows = [
        row("hist-base", "1", "x1", "base"),
        row("hist-one", "1", "x1", "-"),
        row("hist-two", "2", "x1", "-"),
    ];
    assert_eq!(list_rows(&root), rows);
    removes(&root, "hist-one");
    removes(&root, "hist-two");
    removes(&root, "hist-base");
    assert_tree_eq(&root, &before, "after order 1");
    assert_no_leaks(&root, "after order 1");

    // Order 2: base, two, one: the same tree as order 1.
    installs(&root, &base, "hist-base", "1");
    installs(&root, &two, "hist-two", "2");
    installs(&root, &one, "hist-one", "1");
    assert_tree_eq(&root, &all_three, "the three installed in another order");
    assert_eq!(list_rows(&root), rows);

    // Removing an app and installing it again: revision x1 again, the same tree.
    removes(&root, "hist-two");
    assert_tree_eq(
        &root,
        &base_and_one,
        "base and one, reached by removing two",
    );
    installs(&root, &two, "hist-two", "2");
    assert_eq!(
        list_rows(&root),
        rows,
        "a reinstalled snap starts again at x1"
    );
    assert_tree_eq(&root, &all_three, "after reinstalling two");

    // Both apps in one command, then the base.
    let out = ok(&root.snap(&["remove", "hist-two", "hist-one"]));
    assert_eq!(out, "hist-two removed\nhist-one removed\n");
    removes(&root, "hist-base");
    assert_tree_eq(&root, &before, "after order 2");
    assert_no_leaks(&root, "after order 2");
    assert!(d.stop().success(), "{}", d.log_text());
}

// ----- 3. restart, reboot, and a second daemon -----

#[test]
fn a_restarted_daemon_mounts_again_what_is_installed() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let r = root.path().to_owned();
    let mut d = Daemon::start(&root, &[]);
    let before = snapshot(&root);
    let base = base_snap(fx.path(), "boot-base");
    let app = app_snap(fx.path(), "boot-app", "3", "boot-base");
    installs(&root, &base, "boot-base", "1");
    installs(&root, &app, "boot-app", "3");
    let installed = snapshot(&root);

    let st = d.stop();
    assert!(
        st.success(),
        "SIGTERM must be a clean shutdown, got {st}:\n{}",
        d.log_text()
    );
    assert!(
        !r.join("run/snapd.socket").exists(),
        "the socket is removed on shutdown"
    );
    // Mounts outlive the daemon (as systemd mount units do).
    assert_eq!(snap_sys::mounts_under(&r).unwrap().len(), 2);

    // A reboot: nothing mounted any more.
    for m in snap_sys::mounts_under(&r).unwrap().iter().rev() {
        snap_sys::unmount(&m.mount_point).unwrap();
    }
    assert_no_leaks(&root, "after the simulated reboot");
    assert!(!r.join("snap/boot-app/x1/bin/run").exists());
    // An upload the daemon was receiving when it went down: no change refers to it.
    let stale = r.join("var/lib/snapd/uploads/1-2-3.snap");
    fs::write(&stale, "half an upload").unwrap();

    let mut d = Daemon::start(&root, &[]);
    assert!(!stale.exists(), "a stale upload survived the start");
    let mut mounts: Vec<PathBuf> = snap_sys::mounts_under(&r)
        .unwrap()
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    mounts.sort();
    assert_eq!(
        mounts,
        [r.join("snap/boot-app/x1"), r.join("snap/boot-base/x1")]
    );
    assert_eq!(
        fs::read_to_string(r.join("snap/boot-app/current/bin/run")).unwrap(),
        RUN_SCRIPT
    );
    assert_eq!(
        list_rows(&root),
        [
            row("boot-app", "3", "x1", "-"),
            row("boot-base", "1", "x1", "base")
        ]
    );
    assert_tree_eq(&root, &installed, "after restart");

    // A second daemon on the same root must not take over: it waits for state.lock.
    let log2 = root.path().with_extension("second-daemon.log");
    let log2_file = fs::File::create(&log2).unwrap();
    let mut second = Command::new(bin("snapd"))
        .env("SNAPPY_GLOBAL_ROOT", root.path())
        .stdin(Stdio::null())
        .stdout(log2_file.try_clone().unwrap())
        .stderr(log2_file)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let second_log = fs::read_to_string(&log2).unwrap_or_default();
    match second.try_wait().unwrap() {
        // snapd waits 60 s for the lock by design (StoreOptions::lock_timeout): still waiting.
        None => {}
        Some(st) => {
            assert!(
                !st.success(),
                "a second daemon exited successfully:\n{second_log}"
            );
            assert!(
                second_log.contains("state is locked by another process"),
                "{second_log}"
            );
        }
    }
    assert!(
        !second_log.contains("serving the API"),
        "a second daemon serves:\n{second_log}"
    );
    // The first one still owns the socket and answers.
    assert_eq!(list_rows(&root).len(), 2);
    let r2 = http(&d.socket, "GET", "/v2/system-info", None, Vec::new());
    assert_eq!(r2.status, 200);
    let _ = second.kill();
    let _ = second.wait();
    let _ = fs::remove_file(&log2);
    assert_eq!(
        list_rows(&root).len(),
        2,
        "killing the waiting daemon changed nothing"
    );

    removes(&root, "boot-app");
    removes(&root, "boot-base");
    assert_tree_eq(&root, &before, "after removing everything");
    assert_no_leaks(&root, "after removing everything");
    assert!(d.stop().success(), "{}", d.log_text());
}

// ----- 4. bad input -----

#[test]
fn files_that_are_not_valid_snaps_are_refused_and_leave_nothing() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    // Something installed, so that "unchanged" means more than "empty".
    installs(&root, &base_snap(fx.path(), "keep-base"), "keep-base", "1");
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);

    // A snap large enough that its data runs past the first half of the file (a small image
    // is mostly padding, and its first half is still the whole filesystem).
    let big = {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("meta")).unwrap();
        fs::write(
            src.path().join("meta/snap.yaml"),
            "name: big-base\nversion: '1'\ntype: base\n",
        )
        .unwrap();
        fs::write(src.path().join("noise.bin"), noise(300_000, 7)).unwrap();
        snap_squashfs::pack_snap(src.path(), fx.path(), &Default::default())
            .unwrap()
            .path
    };
    let whole = fs::read(&big).unwrap();
    let truncated = fx.path().join("truncated.snap");
    fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let random = fx.path().join("random.snap");
    fs::write(&random, noise(64 * 1024, 42)).unwrap();
    let text_file = fx.path().join("text.snap");
    fs::write(&text_file, "name: hello\nversion: 1\n").unwrap();
    let empty = fx.path().join("empty.snap");
    fs::write(&empty, "").unwrap();
    // A valid snap with its superblock overwritten.
    let corrupt = fx.path().join("corrupt.snap");
    let mut bytes = fs::read(base_snap(&fx.path().join("c"), "corrupt-base")).unwrap();
    bytes[..96].fill(0x5a);
    fs::write(&corrupt, bytes).unwrap();

    let not_a_snap = |file: &Path, reason: &str| {
        let err = refused(&install(&root, file));
        let prefix = format!("error: cannot read snap file \"{}\": ", file.display());
        assert!(err.starts_with(&prefix), "{err}");
        assert!(err.contains(reason), "expected {reason:?} in:\n{err}");
        assert_untouched(&root, &before, &list_before, &file.display().to_string());
    };
    not_a_snap(&random, "squashfs");
    not_a_snap(&corrupt, "squashfs");
    not_a_snap(&text_file, "squashfs");
    not_a_snap(&empty, "squashfs");
    not_a_snap(&truncated, "squashfs");

    // Valid squashfs, bad snap.yaml (made with mksquashfs: our packer refuses these).
    for (file, yaml, reason) in [
        (
            "bad-name.snap",
            &b"name: Bad_Name\nversion: '1'\n"[..],
            "invalid snap name: \"Bad_Name\"",
        ),
        (
            "dotdot.snap",
            b"name: ../evil\nversion: '1'\n",
            "invalid snap name: \"../evil\"",
        ),
        (
            "slash.snap",
            b"name: a/../../b\nversion: '1'\ntype: base\n",
            "invalid snap name",
        ),
        (
            "not-yaml.snap",
            b"name: [unclosed\n  ::: {\x00\x01",
            "snap.yaml",
        ),
        (
            "no-name.snap",
            b"version: '1'\n",
            "snap name cannot be empty",
        ),
    ] {
        not_a_snap(&raw_squashfs(fx.path(), file, Some(yaml)), reason);
    }
    not_a_snap(
        &raw_squashfs(fx.path(), "no-yaml.snap", None),
        "meta/snap.yaml",
    );
    // Nothing named like the bad names appeared anywhere (`../evil` would land in /snap/evil).
    assert!(!root.path().join("snap/evil").exists() && !root.path().join("var/snap/evil").exists());

    // A missing file is the client's error, before any request.
    let err = refused(&install(&root, &fx.path().join("missing.snap")));
    assert!(err.starts_with("error: cannot open "), "{err}");
    assert_untouched(&root, &before, &list_before, "missing file");
    assert_no_leaks_except_installed(&root, 1);
    assert!(d.stop().success(), "{}", d.log_text());
}

/// Exactly the mounts and loop devices of `n` installed revisions exist. (Not `leaks`, which
/// waits for loop devices to go away.)
fn assert_no_leaks_except_installed(root: &TestRoot, n: usize) {
    let mounts = snap_sys::mounts_under(root.path()).unwrap();
    assert_eq!(mounts.len(), n, "{mounts:?}");
    let loops = snap_sys::loops_backed_by(root.path());
    assert_eq!(loops.len(), n, "{loops:?}");
}

#[test]
fn bases_must_exist_and_be_bases() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    let empty = snapshot(&root);
    let list_empty = root.snap(&["list"]);

    let err = refused(&install(
        &root,
        &app_snap(fx.path(), "orphan", "1", "no-such-base"),
    ));
    assert_eq!(err, "error: cannot find required base \"no-such-base\"\n");
    assert_untouched(&root, &empty, &list_empty, "missing base");
    assert_no_leaks(&root, "missing base");
    // No base at all means the core snap, which is not there either.
    let err = refused(&install(
        &root,
        &make_snap(
            fx.path(),
            "name: coreless\nversion: '1'\napps:\n  coreless:\n    command: bin/run\n",
            &[("bin/run", RUN_SCRIPT, 0o755)],
        ),
    ));
    assert_eq!(err, "error: cannot find required base \"core\"\n");
    assert_untouched(&root, &empty, &list_empty, "missing core");

    installs(&root, &base_snap(fx.path(), "real-base"), "real-base", "1");
    installs(
        &root,
        &app_snap(fx.path(), "notabase", "1", "real-base"),
        "notabase",
        "1",
    );
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);
    let err = refused(&install(
        &root,
        &app_snap(fx.path(), "on-app", "1", "notabase"),
    ));
    assert_eq!(
        err,
        "error: cannot use \"notabase\" as the base of \"on-app\": it is a snap of type app, not base\n"
    );
    assert_untouched(&root, &before, &list_before, "base of type app");
    assert_no_leaks_except_installed(&root, 2);

    // A file of another type over an installed snap: a refresh cannot change the type.
    let err = refused(&install(
        &root,
        &base_snap(&fx.path().join("again"), "notabase"),
    ));
    assert_eq!(
        err,
        "error: cannot refresh snap \"notabase\" of type \"app\" to a snap of type \"base\"\n"
    );
    assert_untouched(&root, &before, &list_before, "refresh to another type");

    removes(&root, "notabase");
    removes(&root, "real-base");
    assert_tree_eq(&root, &empty, "after removing everything");
    assert_no_leaks(&root, "after removing everything");
    assert!(d.stop().success(), "{}", d.log_text());
}

#[test]
fn unsigned_snaps_need_dangerous() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);
    let base = base_snap(fx.path(), "signed-base");

    let err = refused(&root.snap(&["install", base.to_str().unwrap()]));
    assert_eq!(
        err,
        "error: cannot install snap file: installing an unsigned snap requires --dangerous\n"
    );
    assert_untouched(&root, &before, &list_before, "without --dangerous");
    assert_no_leaks(&root, "without --dangerous");

    // A name, not a file: this daemon has no store configured.
    let err = refused(&root.snap(&["install", "signed-base"]));
    assert!(err.starts_with("error: no store is configured"), "{err}");
    assert_untouched(&root, &before, &list_before, "store install");
    assert!(d.stop().success(), "{}", d.log_text());
}

#[test]
fn a_second_change_on_a_busy_snap_conflicts() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(
        &root,
        &[("SNAPD_TEST_TASK_DELAY", "mount-snap:1500,unlink-snap:1500")],
    );
    let before = snapshot(&root);
    let base = base_snap(fx.path(), "busy-base");

    let first = root
        .snap_command(&["install", "--dangerous", base.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the install to be Doing", Duration::from_secs(10), || {
        change_row(&root, "1").is_some_and(|(status, _)| status == "Doing")
    });

    // The same snap again, through snap and by hand: 409 snap-change-conflict.
    let err = refused(&install(&root, &base));
    assert_eq!(
        err,
        "error: snap \"busy-base\" has \"install-snap\" change in progress\n"
    );
    let r = multipart_install(&d.socket, &base);
    let v = assert_error_envelope(&r, 409, "conflicting install");
    assert_eq!(v["result"]["kind"], "snap-change-conflict", "{v}");
    assert_eq!(
        v["result"]["message"],
        "snap \"busy-base\" has \"install-snap\" change in progress"
    );
    assert_eq!(v["result"]["value"]["snap-name"], "busy-base", "{v}");
    assert_eq!(v["result"]["value"]["change-kind"], "install-snap", "{v}");
    // Removing it now: it is not installed yet (as snapd: the client says so and succeeds).
    assert_eq!(
        ok(&root.snap(&["remove", "busy-base"])),
        "snap \"busy-base\" is not installed\n"
    );
    // The refused uploads were not kept.
    assert_uploads_empty(&root, "after the refused installs");
    assert_eq!(
        change_row(&root, "1").map(|r| r.0).as_deref(),
        Some("Doing"),
        "the first change is still running"
    );

    let out = first.wait_with_output().unwrap();
    assert_eq!(ok(&out), "busy-base 1 installed\n");
    assert_eq!(list_rows(&root), [row("busy-base", "1", "x1", "base")]);
    assert_eq!(
        change_row(&root, "2"),
        None,
        "refused requests make no change"
    );

    // A removal in progress: a second removal conflicts too.
    let first = root
        .snap_command(&["remove", "busy-base"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the removal to be Doing", Duration::from_secs(10), || {
        change_row(&root, "2").is_some_and(|(status, _)| status == "Doing")
    });
    let err = refused(&root.snap(&["remove", "busy-base"]));
    assert_eq!(
        err,
        "error: snap \"busy-base\" has \"remove-snap\" change in progress\n"
    );
    let r = http(
        &d.socket,
        "POST",
        "/v2/snaps/busy-base",
        Some("application/json"),
        br#"{"action":"remove"}"#.to_vec(),
    );
    let v = assert_error_envelope(&r, 409, "conflicting remove");
    assert_eq!(v["result"]["kind"], "snap-change-conflict", "{v}");
    assert_eq!(v["result"]["value"]["change-kind"], "remove-snap", "{v}");
    assert_eq!(
        ok(&first.wait_with_output().unwrap()),
        "busy-base removed\n"
    );

    assert_eq!(
        change_row(&root, "3"),
        None,
        "refused requests make no change"
    );
    assert_tree_eq(&root, &before, "after the conflicts");
    assert_uploads_empty(&root, "after the conflicts");
    assert_no_leaks(&root, "after the conflicts");
    assert!(d.stop().success(), "{}", d.log_text());
}

#[test]
fn a_failing_task_rolls_the_install_back() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[("SNAPD_TEST_FAIL_TASK", "link-snap")]);
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);
    let base = base_snap(fx.path(), "doomed-base");

    let out = install(&root, &base);
    let err = fails(&out);
    let link = "Make snap \"doomed-base\" (x1) available to the system";
    // Progress lines first (no terminal), then the change's error.
    let error = &err[err
        .find("error: ")
        .unwrap_or_else(|| panic!("no error in:\n{err}"))..];
    assert_eq!(
        error,
        format!(
            "error: cannot perform the following tasks:\n- {link} (injected failure of link-snap)\n"
        )
    );
    assert_eq!(text(&out.stdout), "", "nothing installed, nothing printed");

    assert_eq!(
        change_row(&root, "1").map(|r| r.0).as_deref(),
        Some("Error")
    );
    let summaries = install_task_summaries("doomed-base", &base);
    // Every task with an undo handler is Undone; prerequisites has none and stays Done (as in
    // snapd's task runner: "Cannot undo. Revert to done status"). What never ran is held.
    let statuses = [
        "Undone", "Done", "Undone", "Undone", "Undone", "Error", "Hold", "Hold", "Hold", "Hold",
        "Hold",
    ];
    let want: Vec<_> = statuses
        .iter()
        .zip(&summaries)
        .map(|(s, t)| (s.to_string(), t.clone()))
        .collect();
    assert_eq!(task_rows(&root, "1"), want);
    let tasks_out = ok(&root.snap(&["tasks", "1"]));
    assert!(
        tasks_out.contains(&format!("{link}\n\n"))
            && tasks_out.contains("ERROR injected failure of link-snap"),
        "{tasks_out}"
    );

    // Undone in reverse order: the ready times, as the API gives them, go backwards.
    let v = http(&d.socket, "GET", "/v2/changes/1", None, Vec::new()).json();
    assert_eq!(v["result"]["status"], "Error");
    assert_eq!(v["result"]["ready"], true);
    let tasks = v["result"]["tasks"].as_array().unwrap();
    let ready = |kind: &str| {
        let t = tasks
            .iter()
            .find(|t| t["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} task"));
        t["ready-time"]
            .as_str()
            .unwrap_or_else(|| panic!("{kind} has no ready-time: {t}"))
            .to_owned()
    };
    let order = [
        ready("link-snap"),
        ready("setup-profiles"),
        ready("copy-snap-data"),
        ready("mount-snap"),
        ready("prepare-snap"),
    ];
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(
        order, sorted,
        "undo must run in reverse order (link failed, then copy, mount, prepare undone)"
    );

    assert_untouched(&root, &before, &list_before, "after the rollback");
    assert_no_leaks(&root, "after the rollback");
    assert!(d.stop().success(), "{}", d.log_text());
}

#[test]
fn aborting_a_running_install_leaves_nothing() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[("SNAPD_TEST_TASK_DELAY", "mount-snap:800")]);
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);
    let base = base_snap(fx.path(), "aborted-base");
    let summaries = install_task_summaries("aborted-base", &base);

    let waiting = root
        .snap_command(&["install", "--dangerous", base.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("mount-snap to run", Duration::from_secs(10), || {
        change_row(&root, "1").is_some()
            && task_rows(&root, "1")
                .get(2)
                .is_some_and(|(s, _)| s == "Doing")
    });
    assert_eq!(ok(&root.snap(&["abort", "1"])), "");
    let out = waiting.wait_with_output().unwrap();
    let err = fails(&out);
    assert!(
        err.ends_with("error: change finished in status \"Undone\" with no error message\n"),
        "{err}"
    );

    assert_eq!(
        change_row(&root, "1").map(|r| r.0).as_deref(),
        Some("Undone")
    );
    // The running task finishes and is undone with what came before; what never started is held.
    let statuses = [
        "Undone", "Done", "Undone", "Hold", "Hold", "Hold", "Hold", "Hold", "Hold", "Hold", "Hold",
    ];
    let want: Vec<_> = statuses
        .iter()
        .zip(&summaries)
        .map(|(s, t)| (s.to_string(), t.clone()))
        .collect();
    assert_eq!(task_rows(&root, "1"), want);
    let r = http(
        &d.socket,
        "POST",
        "/v2/changes/1",
        Some("application/json"),
        br#"{"action":"abort"}"#.to_vec(),
    );
    assert_error_envelope(&r, 400, "aborting a finished change");

    assert_untouched(&root, &before, &list_before, "after the abort");
    assert_no_leaks(&root, "after the abort");
    // And the same snap installs afterwards, at x1.
    installs(&root, &base, "aborted-base", "1");
    assert_eq!(list_rows(&root), [row("aborted-base", "1", "x1", "base")]);
    assert!(d.stop().success(), "{}", d.log_text());
}

#[test]
fn raw_http_errors_use_the_envelope_and_the_daemon_survives() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    installs(&root, &base_snap(fx.path(), "http-base"), "http-base", "1");
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);
    let sock = d.socket.clone();

    let r = http(&sock, "GET", "/v2/no-such-endpoint", None, Vec::new());
    let v = assert_error_envelope(&r, 404, "unknown endpoint");
    assert_eq!(v["status"], "Not Found", "{v}");
    assert_eq!(
        v["result"]["message"],
        "cannot find endpoint /v2/no-such-endpoint"
    );
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{}",
        r.head
    );
    assert_error_envelope(&http(&sock, "GET", "/", None, Vec::new()), 404, "root path");

    let r = http(
        &sock,
        "POST",
        "/v2/snaps/http-base",
        Some("application/json"),
        b"{\"action\": \"remove\"".to_vec(),
    );
    let v = assert_error_envelope(&r, 400, "malformed JSON");
    assert!(
        v["result"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot decode request body into snap instruction"),
        "{v}"
    );
    let r = http(
        &sock,
        "POST",
        "/v2/snaps/http-base",
        Some("application/json"),
        b"[1,2,3]".to_vec(),
    );
    assert_error_envelope(&r, 400, "JSON of the wrong shape");
    let r = http(
        &sock,
        "POST",
        "/v2/snaps/http-base",
        Some("application/json"),
        br#"{"action":"explode"}"#.to_vec(),
    );
    let v = assert_error_envelope(&r, 400, "unknown action");
    assert_eq!(v["result"]["message"], "unknown action \"explode\"");

    // 2 MiB of JSON: refused (4xx) without taking the daemon down.
    let mut big = br#"{"action":"remove","padding":""#.to_vec();
    big.resize(2 << 20, b'a');
    big.extend_from_slice(b"\"}");
    for path in ["/v2/snaps/http-base", "/v2/snaps", "/v2/changes/1"] {
        let r = http(&sock, "POST", path, Some("application/json"), big.clone());
        assert!(
            (400..500).contains(&r.status),
            "{path}: oversized body got {}:\n{}",
            r.status,
            text(&r.body)
        );
        assert_eq!(
            http(&sock, "GET", "/v2/snaps", None, Vec::new()).status,
            200,
            "still serving after {path}"
        );
    }

    let r = http(
        &sock,
        "POST",
        "/v2/changes/999",
        Some("application/json"),
        br#"{"action":"abort"}"#.to_vec(),
    );
    let v = assert_error_envelope(&r, 404, "abort of an unknown change");
    assert_eq!(v["result"]["message"], "cannot find change with id \"999\"");
    assert_error_envelope(
        &http(
            &sock,
            "POST",
            "/v2/changes/abc",
            Some("application/json"),
            br#"{"action":"abort"}"#.to_vec(),
        ),
        404,
        "abort of a bad id",
    );
    let r = http(
        &sock,
        "POST",
        "/v2/changes/1",
        Some("application/json"),
        br#"{"action":"abort"}"#.to_vec(),
    );
    let v = assert_error_envelope(&r, 400, "abort of a finished change");
    assert_eq!(
        v["result"]["message"],
        "cannot abort change 1 with nothing pending"
    );
    assert_eq!(
        refused(&root.snap(&["abort", "999"])),
        "error: cannot find change with id \"999\"\n"
    );
    assert_error_envelope(
        &http(&sock, "DELETE", "/v2/snaps", None, Vec::new()),
        405,
        "method not allowed",
    );
    assert_error_envelope(
        &http(&sock, "GET", "/v2/snaps/nope", None, Vec::new()),
        404,
        "unknown snap",
    );
    let r = http(
        &sock,
        "POST",
        "/v2/snaps/nope",
        Some("application/json"),
        br#"{"action":"remove"}"#.to_vec(),
    );
    let v = assert_error_envelope(&r, 400, "removing what is not installed");
    assert_eq!(v["result"]["kind"], "snap-not-installed", "{v}");
    // A sideload that is not multipart-shaped, and one whose form lacks the file.
    let r = http(
        &sock,
        "POST",
        "/v2/snaps",
        Some("multipart/form-data; boundary=zz"),
        b"garbage".to_vec(),
    );
    assert_error_envelope(&r, 400, "broken multipart");
    let r = http(
        &sock,
        "POST",
        "/v2/snaps",
        Some("multipart/form-data; boundary=zz"),
        b"--zz\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ninstall\r\n--zz--\r\n"
            .to_vec(),
    );
    let v = assert_error_envelope(&r, 400, "sideload without a file");
    assert_eq!(
        v["result"]["message"],
        "cannot install: expected one snap file, got 0"
    );

    // Still serving, nothing changed.
    let v = http(&sock, "GET", "/v2/snaps", None, Vec::new()).json();
    assert_eq!(v["type"], "sync");
    assert_eq!(v["result"].as_array().unwrap().len(), 1);
    assert_untouched(&root, &before, &list_before, "after the bad requests");
    assert_eq!(change_row(&root, "2"), None, "no change was made");
    assert!(d.stop().success(), "{}", d.log_text());
}

// ----- 5. access control -----

#[test]
fn only_root_may_change_anything() {
    let root = TestRoot::new();
    open_up(root.path());
    let fx = tempfile::tempdir().unwrap();
    open_up(fx.path());
    let mut d = Daemon::start(&root, &[]);
    let base = base_snap(fx.path(), "guarded-base");
    installs(&root, &base, "guarded-base", "1");
    let before = snapshot(&root);
    let list_before = root.snap(&["list"]);

    let nobody_snap = |args: &[&str]| -> Output {
        as_nobody(&bin("snap"))
            .args(args)
            .env("SNAPPY_GLOBAL_ROOT", root.path())
            .output()
            .expect("setpriv")
    };
    // Reading is for everyone.
    let out = nobody_snap(&["list"]);
    assert_eq!(ok(&out), text(&list_before.stdout));
    assert!(ok(&nobody_snap(&["info", "guarded-base"])).contains("name:       guarded-base\n"));
    ok(&nobody_snap(&["changes"]));

    // Changing is for root.
    let err = refused(&nobody_snap(&["remove", "guarded-base"]));
    assert!(err.contains("access denied"), "{err}");
    let err = refused(&nobody_snap(&[
        "install",
        "--dangerous",
        base.to_str().unwrap(),
    ]));
    assert!(err.contains("access denied"), "{err}");
    let err = refused(&nobody_snap(&["abort", "1"]));
    assert!(err.contains("access denied"), "{err}");
    assert_untouched(&root, &before, &list_before, "after nobody's attempts");

    // The daemon's answer itself, to a raw POST from a process running as nobody.
    let curl = |method: &str, path: &str, body: Option<&str>| -> (u16, Value) {
        let mut c = as_nobody(Path::new("curl"));
        c.args(["-sS", "--max-time", "10", "--unix-socket"])
            .arg(&d.socket)
            .args(["-X", method, "-w", "\n%{http_code}"]);
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        let out = ok(&c
            .arg(format!("http://localhost{path}"))
            .output()
            .expect("curl"));
        let (json, code) = out.rsplit_once('\n').unwrap();
        (
            code.parse().unwrap(),
            serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}")),
        )
    };
    let (code, v) = curl(
        "POST",
        "/v2/snaps/guarded-base",
        Some(r#"{"action":"remove"}"#),
    );
    assert_eq!(code, 403, "{v}");
    assert_eq!(v["type"], "error");
    assert_eq!(v["status-code"], 403);
    assert_eq!(v["result"]["kind"], "login-required", "{v}");
    assert_eq!(v["result"]["message"], "access denied", "{v}");
    // Refused before the body is even looked at.
    let (code, v) = curl("POST", "/v2/snaps/guarded-base", Some("{not json"));
    assert_eq!(
        (code, v["result"]["kind"].as_str()),
        (403, Some("login-required")),
        "{v}"
    );
    let (code, v) = curl("GET", "/v2/snaps", None);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["result"][0]["name"], "guarded-base");

    assert_untouched(&root, &before, &list_before, "after nobody's requests");
    assert_eq!(
        change_row(&root, "2"),
        None,
        "no change was made for nobody"
    );
    removes(&root, "guarded-base");
    assert_no_leaks(&root, "after removing everything");
    assert!(d.stop().success(), "{}", d.log_text());
}

// ----- bugs found -----

/// Every answer of the API is snapd's JSON envelope: clients decode nothing else. Requests
/// refused by axum's own extractors get its plain-text bodies instead.
#[test]
fn every_error_is_a_json_envelope() {
    let root = TestRoot::new();
    let mut d = Daemon::start(&root, &[]);
    let mut big = br#"{"action":"abort","padding":""#.to_vec();
    big.resize(2 << 20, b'a');
    big.extend_from_slice(b"\"}");
    let answers = [
        // Seen: 413 text/plain "Failed to buffer the request body: length limit exceeded".
        (
            "oversized abort body",
            http(
                &d.socket,
                "POST",
                "/v2/changes/1",
                Some("application/json"),
                big,
            ),
        ),
        // Seen: 400 text/plain "Invalid URL: Invalid UTF-8 in `name`".
        (
            "non-UTF-8 snap name",
            http(&d.socket, "GET", "/v2/snaps/%FF", None, Vec::new()),
        ),
        // Seen: 400 text/plain "Invalid URL: Invalid UTF-8 in `id`".
        (
            "non-UTF-8 change id",
            http(&d.socket, "GET", "/v2/changes/%FF", None, Vec::new()),
        ),
    ];
    let mut wrong = Vec::new();
    for (what, r) in &answers {
        assert!((400..500).contains(&r.status), "{what}: {}", r.status);
        let v: Option<Value> = serde_json::from_slice(&r.body).ok();
        let good = v.is_some_and(|v| {
            v["type"] == "error"
                && v["status-code"] == r.status
                && v["result"]["message"].is_string()
        });
        if !good {
            wrong.push(format!("{what}: {} {:?}", r.status, text(&r.body)));
        }
    }
    assert!(
        wrong.is_empty(),
        "answers that are not snapd's error envelope:\n{}",
        wrong.join("\n")
    );
    assert!(d.stop().success(), "{}", d.log_text());
}

/// snap tells a non-root user refused with `login-required` to use sudo, as snapd's client
/// does (cmd/snapd/cli/error.go: "%s (try with sudo)"); the daemon's reply is right.
#[test]
fn a_refused_user_is_told_to_use_sudo() {
    let root = TestRoot::new();
    open_up(root.path());
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[]);
    installs(&root, &base_snap(fx.path(), "sudo-base"), "sudo-base", "1");
    let out = as_nobody(&bin("snap"))
        .args(["remove", "sudo-base"])
        .env("SNAPPY_GLOBAL_ROOT", root.path())
        .output()
        .unwrap();
    assert_eq!(fails(&out), "error: access denied (try with sudo)\n");
    assert!(d.stop().success(), "{}", d.log_text());
}

/// A base must not go while a snap using it is being installed: the install has checked the
/// base already (prerequisites), so it completes and leaves an app whose base is gone.
#[test]
fn a_base_cannot_be_removed_under_an_install_using_it() {
    let root = TestRoot::new();
    let fx = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&root, &[("SNAPD_TEST_TASK_DELAY", "copy-snap-data:1500")]);
    let base = base_snap(fx.path(), "race-base");
    let app = app_snap(fx.path(), "race-app", "1", "race-base");
    installs(&root, &base, "race-base", "1");

    let waiting = root
        .snap_command(&["install", "--dangerous", app.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "copy-snap-data of race-app to run",
        Duration::from_secs(10),
        || {
            change_row(&root, "2").is_some()
                && task_rows(&root, "2")
                    .get(3)
                    .is_some_and(|(s, _)| s == "Doing")
        },
    );
    // The prerequisites of race-app are Done: race-base is in use from now on.
    let removal = root.snap(&["remove", "race-base"]);
    let app_out = waiting.wait_with_output().unwrap();
    let rows = list_rows(&root);
    assert!(
        !removal.status.success(),
        "race-base was removed under the install of race-app (snap remove said {:?}); install said {:?}; snap list: {rows:?}",
        text(&removal.stdout),
        text(&app_out.stdout),
    );
    assert_eq!(
        rows,
        [
            row("race-app", "1", "x1", "-"),
            row("race-base", "1", "x1", "base")
        ]
    );
    assert!(d.stop().success(), "{}", d.log_text());
}
