//! Helpers for the end-to-end tests under `tests/tests/`: temporary roots, the real binaries,
//! a running daemon, fixture snaps, and the checks that nothing leaked.
//!
//! The binaries are those `cargo build --workspace --bins` put next to this test binary
//! (`scripts/test.sh` builds them first).
#![forbid(unsafe_code)]

pub mod device;
pub mod nginx;
pub mod qemu;
pub mod real_base;
pub mod store_fixture;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A built binary of the workspace (`snap`, `snapd`), of the same profile as the running one.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // A test runs from target/<profile>/deps/, a benchmark binary from target/<profile>/.
    let dir = exe.parent().expect("target dir");
    let dir = if dir.ends_with("deps") {
        dir.parent().expect("target dir")
    } else {
        dir
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// A throwaway root directory standing for `/`.
pub struct TestRoot {
    pub dir: tempfile::TempDir,
}

impl TestRoot {
    pub fn new() -> TestRoot {
        TestRoot {
            dir: tempfile::Builder::new()
                .prefix("snap-root-")
                .tempdir()
                .expect("temp root"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `snap` pointed at this root, as a user points Debian's client with SNAPPY_GLOBAL_ROOT.
    pub fn snap(&self, args: &[&str]) -> Output {
        self.snap_command(args).output().expect("running snap")
    }

    pub fn snap_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("snap"));
        c.args(args)
            .env("SNAPPY_GLOBAL_ROOT", self.path())
            .stdin(Stdio::null());
        c
    }
}

impl Default for TestRoot {
    fn default() -> Self {
        TestRoot::new()
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        // A failed test may leave mounts under the root; never delete through a mount.
        if let Ok(mounts) = snap_sys::mounts_under(self.path()) {
            for m in mounts.iter().rev() {
                let _ = snap_sys::unmount(&m.mount_point);
            }
        }
        // The daemon's log sits beside the root (so that it outlives a daemon's own cleanup);
        // it goes with the root.
        let _ = fs::remove_file(self.path().with_extension("daemon.log"));
    }
}

/// A running daemon on a test root.
pub struct Daemon {
    pub child: Option<Child>,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `snapd` on `root` with extra environment, and waits until its socket answers.
    pub fn start(root: &TestRoot, env: &[(&str, &str)]) -> Daemon {
        let log = root.path().with_extension("daemon.log");
        let mut cmd = Command::new(bin("snapd"));
        cmd.env("SNAPPY_GLOBAL_ROOT", root.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).expect("log file"))
            .stderr(
                fs::OpenOptions::new()
                    .append(true)
                    .open(&log)
                    .expect("log file"),
            );
        let child = cmd.spawn().expect("starting snapd");
        let d = Daemon {
            child: Some(child),
            socket: root.path().join("run/snapd.socket"),
            log,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("snapd did not start; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    /// SIGTERM and wait: the daemon must shut down cleanly.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        wait_with_timeout(&mut child, Duration::from_secs(20))
    }

    /// Waits for the daemon to exit by itself (after an injected crash).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        wait_with_timeout(&mut child, Duration::from_secs(30))
    }
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes a snap directory and packs it into `out_dir` with the project's own packer.
pub fn make_snap(out_dir: &Path, yaml: &str, files: &[(&str, &str, u32)]) -> PathBuf {
    let src = tempfile::tempdir().expect("tmp");
    let meta = src.path().join("meta");
    fs::create_dir_all(&meta).unwrap();
    fs::write(meta.join("snap.yaml"), yaml).unwrap();
    for (rel, content, mode) in files {
        let p = src.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
    }
    fs::create_dir_all(out_dir).unwrap();
    let packed =
        snap_squashfs::pack_snap(src.path(), out_dir, &Default::default()).expect("pack fixture");
    packed.path
}

/// A minimal base snap.
pub fn base_snap(out_dir: &Path, name: &str) -> PathBuf {
    let yaml = format!("name: {name}\nversion: '1'\ntype: base\nsummary: test base\n");
    make_snap(
        out_dir,
        &yaml,
        &[("usr/lib/os-release", "ID=test\n", 0o644)],
    )
}

/// An app snap on `base` with one app.
pub fn app_snap(out_dir: &Path, name: &str, version: &str, base: &str) -> PathBuf {
    let yaml = format!(
        "name: {name}\nversion: '{version}'\nbase: {base}\nsummary: test app\ndescription: an app for tests\napps:\n  {name}:\n    command: bin/run\n"
    );
    make_snap(
        out_dir,
        &yaml,
        &[("bin/run", "#!/bin/sh\necho hi\n", 0o755)],
    )
}

/// Every entry under `root` (without following symlinks or crossing into mounts), as
/// comparable data: relative path → (type, mode, owner, content or link target). History
/// independence is checked by comparing two of these.
///
/// `var/lib/snapd/snapshots` of a test root is always left out: the automatic snapshot that
/// `snap remove` keeps of an app's data is the one intended exception to history independence
/// (`spec/snapshots.md`); `tests/tests/snapshots_daemon.rs` checks it.
pub fn tree(root: &Path, skip: &[&str]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let root_dev = fs::symlink_metadata(root).unwrap().dev();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_owned();
            if skip.iter().any(|s| rel == Path::new(s))
                || rel == Path::new("var/lib/snapd/snapshots")
            {
                continue;
            }
            let md = fs::symlink_metadata(&p).unwrap();
            let desc = if md.file_type().is_symlink() {
                format!("link -> {}", fs::read_link(&p).unwrap().display())
            } else if md.is_dir() {
                if md.dev() == root_dev {
                    stack.push(p.clone());
                }
                format!("dir {:o} {}:{}", md.mode() & 0o7777, md.uid(), md.gid())
            } else if !md.is_file() {
                // Sockets and fifos: what they are, not what reading them would do.
                format!(
                    "special {:o} {:o} {}:{}",
                    md.mode() & 0o170000,
                    md.mode() & 0o7777,
                    md.uid(),
                    md.gid()
                )
            } else {
                let content = fs::read(&p).unwrap();
                format!(
                    "file {:o} {}:{} {} bytes {:x}",
                    md.mode() & 0o7777,
                    md.uid(),
                    md.gid(),
                    content.len(),
                    fnv(&content)
                )
            };
            out.insert(rel, desc);
        }
    }
    out
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// Mounts and loop devices under `root`: both must be empty whenever no snap is installed.
pub fn leaks(root: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mounts = snap_sys::mounts_under(root)
        .expect("mount table")
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    // The kernel may take a few milliseconds to release an auto-clearing loop device.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut loops;
    loop {
        loops = snap_sys::loops_backed_by(root)
            .into_iter()
            .map(|l| l.backing_file)
            .collect::<Vec<_>>();
        if loops.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (mounts, loops)
}

/// stdout of a command that must succeed.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of a command that must fail.
pub fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "command unexpectedly succeeded:\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---- crash test helpers ----

/// One `GET` on the daemon's API socket of `root`, answered as the whole JSON envelope
/// (`type`, `status-code`, `result`, ...). Plain HTTP/1.1 with `Connection: close`, so the test
/// needs no client of its own; a chunked body is decoded. Bounded by a 10 s socket timeout.
pub fn api_get(root: &TestRoot, path: &str) -> serde_json::Value {
    try_api_get(root, path).unwrap_or_else(|e| panic!("{e}"))
}

/// [`api_get`] that reports failures (no daemon, connection reset by a dying daemon, ...)
/// instead of panicking.
pub fn try_api_get(root: &TestRoot, path: &str) -> Result<serde_json::Value, String> {
    use std::io::{Read, Write};
    let socket = root.path().join("run/snapd.socket");
    let mut s = std::os::unix::net::UnixStream::connect(&socket)
        .map_err(|e| format!("GET {path}: cannot connect to {}: {e}", socket.display()))?;
    let io = |e: std::io::Error| format!("GET {path}: {e}");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(io)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(io)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "GET {path}: no HTTP header in {:?}",
                String::from_utf8_lossy(&raw)
            )
        })?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut body = raw[split + 4..].to_vec();
    if head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"))
    {
        body = dechunk(&body);
    }
    serde_json::from_slice(&body).map_err(|e| {
        format!(
            "GET {path}: body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&body)
        )
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("chunk size");
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        let end = size.min(rest.len());
        out.extend_from_slice(&rest[..end]);
        rest = &rest[(end + 2).min(rest.len())..];
    }
    out
}

/// Every change the daemon knows (`GET /v2/changes?select=all`), ordered by numeric id.
pub fn all_changes(root: &TestRoot) -> Vec<serde_json::Value> {
    let resp = api_get(root, "/v2/changes?select=all");
    let mut list = resp["result"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("changes: {resp}"));
    list.sort_by_key(|c| {
        c["id"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    });
    list
}

/// Polls `GET /v2/changes/ID` until the change is ready, at most `limit`; returns its `result`
/// (status, tasks, err, ...). Panics with the last answer on timeout.
pub fn wait_change_ready(root: &TestRoot, id: &str, limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    let mut pause = Duration::from_millis(2);
    loop {
        let resp = api_get(root, &format!("/v2/changes/{id}"));
        let chg = resp["result"].clone();
        if chg["ready"].as_bool() == Some(true) {
            return chg;
        }
        if Instant::now() > deadline {
            panic!("change {id} not ready after {limit:?}: {chg:#}");
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Unmounts every mount under `root`, deepest mount point first, as a reboot would leave it.
pub fn unmount_all_under(root: &Path) {
    let mut mounts: Vec<PathBuf> = snap_sys::mounts_under(root)
        .expect("mount table")
        .into_iter()
        .map(|m| m.mount_point)
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for m in mounts {
        snap_sys::unmount(&m).unwrap_or_else(|e| panic!("cannot unmount {}: {e}", m.display()));
    }
}

// ---- compat client helpers ----

/// Debian's `snap` client (package snapd 2.57): the reference client our API must satisfy.
pub const DEBIAN_SNAP: &str = "/usr/bin/snap";
/// Debian's python3, the only interpreter here with the GObject bindings snapd-glib needs.
pub const DEBIAN_PYTHON: &str = "/usr/bin/python3";

/// Runs `cmd` to completion with stdout and stderr captured, killing it after `limit`: the Go
/// client polls an unready change forever and retries a GET for two minutes, so a broken
/// daemon must fail the test instead of hanging it.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    let (done, finished) = std::sync::mpsc::channel::<()>();
    // The child stays a zombie until wait_with_output reaps it, so the pid cannot be reused
    // while the watchdog may still signal it.
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(limit).is_err() {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("waiting for the command");
    let _ = done.send(());
    let timed_out = watchdog.join().expect("watchdog");
    assert!(
        !timed_out,
        "{cmd:?} did not finish within {limit:?}:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Debian's `snap` pointed at `root` the way a user would: SNAPPY_GLOBAL_ROOT moves its socket
/// to `<root>/run/snapd.socket`, SNAP_REEXEC=0 stops it looking for a snapd snap, and
/// `<root>/snap/bin` on PATH silences its PATH warning. Bounded by 60 s.
pub fn debian_snap(root: &TestRoot, args: &[&str]) -> Output {
    assert!(
        Path::new(DEBIAN_SNAP).exists(),
        "{DEBIAN_SNAP} is missing: these tests need Debian's snapd package (apt-get install snapd)"
    );
    let path = format!(
        "{}:{}",
        root.path().join("snap/bin").display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let mut cmd = Command::new(DEBIAN_SNAP);
    cmd.args(args)
        .env("SNAPPY_GLOBAL_ROOT", root.path())
        .env("SNAP_REEXEC", "0")
        .env("PATH", path)
        .stdin(Stdio::null());
    output_within(&mut cmd, Duration::from_secs(60))
}

/// Runs snapd-glib (through `tests/glib_client.py`) against `socket` with the given operations
/// (`info`, `snaps`, `snaps-all`, `changes`, `change:ID`, `install:PATH`, `remove:NAME`).
/// Returns the script's JSON (`{"ops": [{"op", "ok", "result" | "error"}]}`) and its stderr,
/// where GLib prints its CRITICAL/WARNING messages about answers it could not read.
pub fn glib_client(socket: &Path, ops: &[&str]) -> (serde_json::Value, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("glib_client.py");
    let mut cmd = Command::new(DEBIAN_PYTHON);
    cmd.arg(&script).arg(socket).args(ops).stdin(Stdio::null());
    let out = output_within(&mut cmd, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}); is gir1.2-snapd-2 with python3-gi installed?\nstdout: {}\nstderr: {stderr}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "glib_client.py printed no JSON ({e}):\n{}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (json, stderr)
}

/// Like [`Daemon::start`], for a daemon armed to crash: returns once its socket answers or it
/// has exited (check `child.try_wait()`), whichever comes first, at most 20 s.
pub fn start_daemon_may_crash(root: &TestRoot, env: &[(&str, &str)]) -> Daemon {
    let log = root.path().with_extension("daemon.log");
    let socket = root.path().join("run/snapd.socket");
    let mut child = Command::new(bin("snapd"))
        .env("SNAPPY_GLOBAL_ROOT", root.path())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log).expect("log file"))
        .stderr(
            fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("log file"),
        )
        .spawn()
        .expect("starting snapd");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::os::unix::net::UnixStream::connect(&socket).is_ok()
            || child.try_wait().expect("wait").is_some()
        {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "snapd neither started nor exited; log:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Daemon {
        child: Some(child),
        socket,
        log,
    }
}

// ---- confinement test helpers ----

/// `scripts/make-base.sh` of this workspace.
pub fn make_base_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-base.sh")
}

/// Makes the tree of a real base snap `name` in `dir` with `scripts/make-base.sh` (busybox, the
/// host's C library and loader, and the libraries `binaries` need), checked to be able to run
/// those binaries: their ELF interpreter must be in the tree.
///
/// Works around the script missing the loader: it finds it with the awk pattern `^\s*\/lib`,
/// and Debian's default awk (mawk) has no `\s`, so `/lib64/ld-linux-x86-64.so.2` is never
/// copied and no dynamically linked program can start on the base (ENOENT at execve).
pub fn make_base_tree(dir: &Path, name: &str, binaries: &[&Path]) {
    let out = Command::new("bash")
        .arg(make_base_script())
        .arg(dir)
        .arg(name)
        .args(binaries)
        .stdin(Stdio::null())
        .output()
        .expect("running scripts/make-base.sh");
    assert!(
        out.status.success(),
        "make-base.sh failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for b in binaries.iter().copied().chain([Path::new("/usr/bin/true")]) {
        if let Some(interp) = elf_interpreter(b) {
            let dest = dir.join(interp.strip_prefix("/").unwrap_or(&interp));
            if !dest.exists() {
                fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
                fs::copy(&interp, &dest).unwrap_or_else(|e| {
                    panic!("cannot copy {} into the base: {e}", interp.display())
                });
            }
        }
    }
}

/// The `PT_INTERP` of an ELF file (its dynamic loader), as `ldd` prints it: the line without
/// `=>` that starts with `/`.
pub fn elf_interpreter(binary: &Path) -> Option<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('/') && !l.contains("=>"))
        .and_then(|l| l.split_whitespace().next())
        .map(PathBuf::from)
}

/// Packs the snap tree `dir` into `out_dir` with the project's packer, lz4-compressed (the
/// test binaries are unoptimised and xz would dominate the test's time). Modes, set*id bits
/// included, are kept; every file is root's.
pub fn pack_tree(dir: &Path, out_dir: &Path) -> PathBuf {
    fs::create_dir_all(out_dir).expect("out dir");
    let opts = snap_squashfs::PackOptions {
        compression: snap_squashfs::Compression::Lz4,
        filename: None,
    };
    snap_squashfs::pack_snap(dir, out_dir, &opts)
        .unwrap_or_else(|e| panic!("cannot pack {}: {e}", dir.display()))
        .path
}

/// Copies `from` to `to` (parents created) and sets `mode` (set*id bits included).
pub fn install_file(from: &Path, to: &Path, mode: u32) {
    fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
    fs::set_permissions(to, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// An ordinary user of the machine for running apps unprivileged.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The password database's home (`/home/NAME`); it need not exist on the machine, the
    /// launcher uses it under the test root.
    pub home: PathBuf,
}

impl TestUser {
    /// `setpriv` running `program` as this user, with no supplementary groups.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(program);
        c
    }

    /// Creates the user's home under `root` (`<root>/home/NAME`), owned by the user.
    pub fn make_home_under(&self, root: &Path) -> PathBuf {
        let home = root.join(self.home.strip_prefix("/").unwrap_or(&self.home));
        fs::create_dir_all(&home).expect("home");
        std::os::unix::fs::chown(&home, Some(self.uid), Some(self.gid)).expect("chown home");
        fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).expect("chmod home");
        home
    }
}

/// The user `name` (home `/home/NAME`, no login shell), created with `useradd` if the
/// machine does not have it yet. Needs root. Safe to call concurrently.
pub fn ensure_test_user(name: &str) -> TestUser {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let lookup = || {
        let out = Command::new("getent")
            .args(["passwd", name])
            .output()
            .expect("getent");
        let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7).then(|| TestUser {
            name: name.to_owned(),
            uid: f[2].parse().expect("uid"),
            gid: f[3].parse().expect("gid"),
            home: PathBuf::from(f[5]),
        })
    };
    // Test processes may race to create the user (nextest runs each test in its own process):
    // useradd fails with 9 if the user appeared meanwhile and 10 while another holds the lock.
    for _ in 0..100 {
        if let Some(u) = lookup() {
            return u;
        }
        let out = Command::new("useradd")
            .args([
                "--no-create-home",
                "--user-group",
                "--shell",
                "/usr/sbin/nologin",
                "--home-dir",
            ])
            .arg(format!("/home/{name}"))
            .arg(name)
            .output()
            .expect("running useradd (package passwd)");
        match out.status.code() {
            Some(0) | Some(9) => {}
            Some(10) => std::thread::sleep(Duration::from_millis(50)),
            _ => panic!(
                "useradd {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    panic!("cannot create the user {name}: /etc/passwd stayed locked")
}

/// Makes `path` and its ancestors up to the temporary directory searchable and readable by
/// everyone (`o+rx`), so that an ordinary user can reach a test root made under a private
/// temporary directory. Directories above the temporary directory are left alone: one that is
/// not searchable is an error.
pub fn make_traversable(path: &Path) {
    let tmp = fs::canonicalize(std::env::temp_dir()).expect("temp dir");
    let path = fs::canonicalize(path).expect("path");
    for dir in path.ancestors() {
        let mode = fs::metadata(dir).expect("stat").permissions().mode();
        if mode & 0o005 == 0o005 {
            continue;
        }
        assert!(
            dir.starts_with(&tmp) && dir != tmp,
            "{} is not searchable by other users (mode {:o})",
            dir.display(),
            mode & 0o7777
        );
        fs::set_permissions(dir, fs::Permissions::from_mode((mode & 0o7777) | 0o005))
            .expect("chmod");
    }
}

/// The lines of `snap-probe`'s output, as (probe, result) in order: `read=/x denied EACCES`
/// gives `("read=/x", "denied EACCES")`.
pub fn probe_results(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((p, r)) => (p.to_owned(), r.to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect()
}

// ---- shared fixture teardown ----

/// Removes every snap a test installed, newest first (so its mounts and loop devices go),
/// checks nothing is left mounted or attached under the root, and stops the daemon cleanly.
pub fn remove_all_and_stop(
    root: &TestRoot,
    installed: &mut Vec<String>,
    daemon: &mut Option<Daemon>,
) {
    while let Some(name) = installed.pop() {
        ok(&root.snap(&["remove", &name]));
    }
    let (mounts, loops) = leaks(root.path());
    assert!(
        mounts.is_empty() && loops.is_empty(),
        "left behind: mounts {mounts:?}, loops {loops:?}"
    );
    let st = daemon.take().expect("the daemon is running").stop();
    assert!(st.success(), "snapd exited with {st}");
}

/// The same after a failure, best effort: the snaps are removed and the daemon stopped so
/// that mounts and loop devices still go, and nothing is asserted.
pub fn remove_all_best_effort(
    root: &TestRoot,
    installed: &mut Vec<String>,
    daemon: &mut Option<Daemon>,
) {
    while let Some(name) = installed.pop() {
        let _ = root.snap(&["remove", &name]);
    }
    if let Some(mut d) = daemon.take() {
        let _ = d.stop();
    }
}

/// The operation `i` of a `glib_client.py`/`glib_interfaces.py` run, which must have
/// succeeded; its `result`.
pub fn glib_ok<'a>(run: &'a serde_json::Value, i: usize, stderr: &str) -> &'a serde_json::Value {
    let op = &run["ops"][i];
    assert_eq!(
        op["ok"], true,
        "snapd-glib {} failed: {op:#}\nstderr: {stderr}",
        op["op"]
    );
    &op["result"]
}
