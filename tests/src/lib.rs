//! Helpers for the end-to-end tests under `tests/tests/`: temporary roots, the real binaries,
//! a running daemon, fixture snaps, and the checks that nothing leaked.
//!
//! The binaries are those `cargo build --workspace --bins` put next to this test binary
//! (`scripts/test.sh` builds them first).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A built binary of the workspace (`snap`, `snapd`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
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
            dir: tempfile::Builder::new().prefix("snap-root-").tempdir().expect("temp root"),
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
        c.args(args).env("SNAPPY_GLOBAL_ROOT", self.path()).stdin(Stdio::null());
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
            .stderr(fs::OpenOptions::new().append(true).open(&log).expect("log file"));
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
    let packed = snap_squashfs::pack_snap(src.path(), out_dir, &Default::default()).expect("pack fixture");
    packed.path
}

/// A minimal base snap.
pub fn base_snap(out_dir: &Path, name: &str) -> PathBuf {
    let yaml = format!("name: {name}\nversion: '1'\ntype: base\nsummary: test base\n");
    make_snap(out_dir, &yaml, &[("usr/lib/os-release", "ID=test\n", 0o644)])
}

/// An app snap on `base` with one app.
pub fn app_snap(out_dir: &Path, name: &str, version: &str, base: &str) -> PathBuf {
    let yaml = format!(
        "name: {name}\nversion: '{version}'\nbase: {base}\nsummary: test app\ndescription: an app for tests\napps:\n  {name}:\n    command: bin/run\n"
    );
    make_snap(out_dir, &yaml, &[("bin/run", "#!/bin/sh\necho hi\n", 0o755)])
}

/// Every entry under `root` (without following symlinks or crossing into mounts), as
/// comparable data: relative path → (type, mode, owner, content or link target). History
/// independence is checked by comparing two of these.
pub fn tree(root: &Path, skip: &[&str]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let root_dev = fs::symlink_metadata(root).unwrap().dev();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let rel = p.strip_prefix(root).unwrap().to_owned();
            if skip.iter().any(|s| rel == Path::new(s)) {
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
            } else {
                let content = fs::read(&p).unwrap();
                format!("file {:o} {}:{} {} bytes {:x}", md.mode() & 0o7777, md.uid(), md.gid(), content.len(), fnv(&content))
            };
            out.insert(rel, desc);
        }
    }
    out
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100000001b3))
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
        loops = snap_sys::loops_backed_by(root).into_iter().map(|l| l.backing_file).collect::<Vec<_>>();
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
