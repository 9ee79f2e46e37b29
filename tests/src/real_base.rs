//! A daemon on a test root with a real base installed (`scripts/make-base.sh`: busybox and the
//! host's C library), for tests whose snaps run programs: hooks, services, apps. Everything the
//! test installed is removed at the end (and best effort after a failure), so that mounts and
//! loop devices go with the test.

use std::path::Path;
use std::process::Output;

use crate::{
    Daemon, TestRoot, make_base_tree, ok, pack_tree, remove_all_and_stop, remove_all_best_effort,
};

/// Skips the calling test (with a line saying so) unless it runs as root.
#[macro_export]
macro_rules! need_root {
    () => {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
    };
}

pub struct RealBase {
    pub root: TestRoot,
    pub daemon: Option<Daemon>,
    /// Scratch space for trees and packed snaps.
    pub work: tempfile::TempDir,
    /// What to remove at the end, in reverse order.
    pub installed: Vec<String>,
    done: bool,
}

impl RealBase {
    /// Starts the daemon with `env` and installs the base `base`.
    pub fn new(base: &str, env: &[(&str, &str)]) -> RealBase {
        let root = TestRoot::new();
        let daemon = Daemon::start(&root, env);
        let work = tempfile::Builder::new()
            .prefix(&format!("{base}-"))
            .tempdir()
            .unwrap();
        let fx = RealBase {
            root,
            daemon: Some(daemon),
            work,
            installed: vec![base.to_owned()],
            done: false,
        };
        let tree = fx.work.path().join("base");
        make_base_tree(&tree, base, &[]);
        let file = pack_tree(&tree, &fx.work.path().join("out"));
        ok(&fx.snap(&["install", "--dangerous", file.to_str().unwrap()]));
        fx
    }

    pub fn path(&self) -> &Path {
        self.root.path()
    }

    pub fn snap(&self, args: &[&str]) -> Output {
        self.root.snap(args)
    }

    /// Stops the daemon cleanly and starts it again with `env`.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let st = self.daemon.take().expect("running").stop();
        assert!(st.success(), "snapd exited with {st}");
        self.daemon = Some(Daemon::start(&self.root, env));
    }

    /// Removes everything installed, checks nothing is left mounted, stops the daemon.
    pub fn finish(mut self) {
        self.done = true;
        remove_all_and_stop(&self.root, &mut self.installed, &mut self.daemon);
    }
}

impl Drop for RealBase {
    fn drop(&mut self) {
        if !self.done {
            remove_all_best_effort(&self.root, &mut self.installed, &mut self.daemon);
        }
    }
}
