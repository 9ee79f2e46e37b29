//! A store repository made with the `snap-store` command and a publishing key, served by a
//! real nginx on loopback, and a daemon on a temporary root pointed at it
//! (`SNAPD_STORE_URL`, `SNAPD_STORE_KEYS`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::nginx::Nginx;
use crate::{
    Daemon, TestRoot, app_snap, base_snap, bin, ok, remove_all_and_stop, remove_all_best_effort,
    tree,
};

/// Left out of compared trees: what the daemon rewrites on every checkpoint, and its sockets.
pub const VOLATILE: &[&str] = &[
    "var/lib/snapd/state.json",
    "var/lib/snapd/state.lock",
    "var/lib/snapd/state.journal",
    "run",
];

/// A store repository with a publishing key, served by nginx, and a daemon pointed at it.
pub struct StoreFixture {
    pub dir: tempfile::TempDir,
    pub nginx: Option<Nginx>,
    pub root: TestRoot,
    pub daemon: Option<Daemon>,
    pub installed: Vec<String>,
}

impl Default for StoreFixture {
    fn default() -> Self {
        StoreFixture::new()
    }
}

impl StoreFixture {
    pub fn new() -> StoreFixture {
        StoreFixture::with_nginx("")
    }

    /// With extra directives in nginx's `server` block (a rate limit).
    pub fn with_nginx(extra: &str) -> StoreFixture {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        ok(&store_cli(&["keygen", key.to_str().unwrap()]));
        let repo = dir.path().join("repo");
        ok(&store_cli(&[
            "init",
            repo.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]));
        let nginx = Nginx::serve_with(&repo, extra);
        let mut fx = StoreFixture {
            dir,
            nginx: Some(nginx),
            root: TestRoot::new(),
            daemon: None,
            installed: Vec::new(),
        };
        fx.start_daemon();
        fx
    }

    /// The daemon on the fixture's root, pointed at the store by its environment.
    pub fn start_daemon(&mut self) {
        self.start_daemon_with(&[]);
    }

    /// The daemon pointed at the store, with `extra` in its environment.
    pub fn start_daemon_with(&mut self, extra: &[(&str, &str)]) {
        let keys = std::fs::read_to_string(self.dir.path().join("key.pub")).unwrap();
        let url = self.nginx.as_ref().expect("nginx runs").url();
        let mut env = vec![
            ("SNAPD_STORE_URL", url.as_str()),
            ("SNAPD_STORE_KEYS", keys.trim()),
        ];
        env.extend_from_slice(extra);
        self.daemon = Some(Daemon::start(&self.root, &env));
    }

    /// Stops the daemon cleanly and starts it again with `extra` in its environment.
    pub fn restart_daemon_with(&mut self, extra: &[(&str, &str)]) {
        let st = self.daemon.take().expect("running").stop();
        assert!(st.success(), "snapd exited with {st}");
        self.start_daemon_with(extra);
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// Packs and publishes a snap on `channel`.
    pub fn publish(&self, file: &Path, channel: &str) {
        let (repo, key) = (self.repo(), self.dir.path().join("key"));
        ok(&store_cli(&[
            "publish",
            repo.to_str().unwrap(),
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--publisher",
            "acme",
            "--channel",
            channel,
        ]));
    }

    pub fn app(&self, name: &str, version: &str) -> PathBuf {
        app_snap(
            &self.dir.path().join(format!("in-{name}-{version}")),
            name,
            version,
            "core24",
        )
    }

    pub fn base(&self) -> PathBuf {
        base_snap(&self.dir.path().join("in-base"), "core24")
    }

    pub fn snap(&self, args: &[&str]) -> std::process::Output {
        self.root.snap(args)
    }

    pub fn snapshot(&self) -> BTreeMap<PathBuf, String> {
        tree(self.root.path(), VOLATILE)
    }

    pub fn finish(mut self) {
        remove_all_and_stop(&self.root, &mut self.installed, &mut self.daemon);
    }
}

impl Drop for StoreFixture {
    fn drop(&mut self) {
        remove_all_best_effort(&self.root, &mut self.installed, &mut self.daemon);
    }
}

pub fn store_cli(args: &[&str]) -> std::process::Output {
    Command::new(bin("snap-store")).args(args).output().unwrap()
}

/// Moves a file's mtime ahead (nginx's ETag is the mtime in seconds and the size).
pub fn bump_mtime(path: &Path) {
    use std::time::{Duration, SystemTime};
    static STEP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(10);
    let ahead = STEP.fetch_add(10, std::sync::atomic::Ordering::SeqCst);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(ahead))
        .unwrap();
}

/// A snap named `big` of `type` (`app` or `base`) holding `mb` MiB of incompressible bytes
/// (packed with lz4): a download that takes long enough to be cut.
pub fn big_snap(dir: &Path, mb: usize, snap_type: &str) -> PathBuf {
    let src = dir.join("big-src");
    std::fs::create_dir_all(src.join("meta")).unwrap();
    std::fs::write(
        src.join("meta/snap.yaml"),
        format!("name: big\nversion: '1'\ntype: {snap_type}\nsummary: big\n"),
    )
    .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..mb << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(src.join("data"), data).unwrap();
    let opts = snap_squashfs::PackOptions {
        compression: snap_squashfs::Compression::Lz4,
        filename: None,
    };
    snap_squashfs::pack_snap(&src, dir, &opts).unwrap().path
}
