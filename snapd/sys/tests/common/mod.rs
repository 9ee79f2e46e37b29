//! Helpers for the privileged tests: they need root, `/dev/loop-control` and `mksquashfs`, and
//! fail loudly (never skip) without them. Every test works in its own temporary directory, so
//! tests can run concurrently with each other and with other software using loop devices.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use snap_sys::{LoopInfo, loops_backed_by, mounts_under};

/// Panics with a clear message unless this machine can run the privileged tests.
pub fn require_privileges() {
    assert!(
        rustix::process::geteuid().is_root(),
        "snap-sys privileged tests must run as root (they attach loop devices and mount)"
    );
    assert!(
        Path::new("/dev/loop-control").exists(),
        "/dev/loop-control is missing: this project requires loop device support (modprobe loop)"
    );
    let ok = Command::new("mksquashfs")
        .arg("-version")
        .output()
        .map(|o| o.status.success());
    assert!(
        matches!(ok, Ok(true)),
        "mksquashfs not found: apt-get install squashfs-tools ({ok:?})"
    );
}

/// A scratch directory; everything a test creates (images, mount points) lives below it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        require_privileges();
        Scratch {
            dir: tempfile::Builder::new()
                .prefix("snap-sys-test.")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A squashfs image `NAME.snap` holding `hello.txt` with `content`, and `meta/snap.yaml`.
    pub fn image(&self, name: &str, content: &str) -> PathBuf {
        let src = self.path().join(format!("{name}.src"));
        fs::create_dir_all(src.join("meta")).unwrap();
        fs::write(src.join("hello.txt"), content).unwrap();
        fs::write(
            src.join("meta/snap.yaml"),
            format!("name: {name}\nversion: 1\n"),
        )
        .unwrap();
        let img = self.path().join(format!("{name}.snap"));
        let out = Command::new("mksquashfs")
            .arg(&src)
            .arg(&img)
            .args([
                "-noappend",
                "-comp",
                "xz",
                "-no-xattrs",
                "-all-root",
                "-quiet",
            ])
            .output()
            .expect("running mksquashfs");
        assert!(
            out.status.success(),
            "mksquashfs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        img
    }

    /// A fresh, empty mount point directory.
    pub fn target(&self, name: &str) -> PathBuf {
        let t = self.path().join("snap").join(name);
        fs::create_dir_all(&t).unwrap();
        t
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Never leave mounts behind, even when a test fails halfway; then tempdir removal is safe.
        if let Ok(mounts) = mounts_under(self.path()) {
            for m in mounts.iter().rev() {
                let _ = rustix::mount::unmount(&m.mount_point, rustix::mount::UnmountFlags::DETACH);
            }
        }
    }
}

/// How long a released loop device may take to disappear from sysfs.
const LOOP_RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asserts that no loop device is (or, within a few seconds, still is) backed by a file at or
/// below `prefix`.
///
/// AUTOCLEAR detaches a device on its *last* close, synchronously. That close is usually ours
/// (or the umount's), but another process may hold the device for a moment: a concurrent
/// attacher that got the same number from LOOP_CTL_GET_FREE and is about to see EBUSY, a child
/// forked by another test thread that has not exec'd yet (it inherits every fd until then), or
/// udev's blkid on a full system. So this polls; a real leak still fails, after the timeout.
pub fn assert_no_loops(prefix: &Path) {
    let start = Instant::now();
    let first: Vec<LoopInfo> = loops_backed_by(prefix);
    let mut now = first.clone();
    while !now.is_empty() && start.elapsed() < LOOP_RELEASE_TIMEOUT {
        std::thread::sleep(Duration::from_millis(5));
        now = loops_backed_by(prefix);
    }
    assert!(
        now.is_empty(),
        "loop devices still backed by {} after {:?}: {now:?}",
        prefix.display(),
        start.elapsed()
    );
    if !first.is_empty() {
        eprintln!(
            "note: {} loop device(s) took {:?} to be released",
            first.len(),
            start.elapsed()
        );
    }
}

/// Asserts that nothing is mounted at or below `prefix`.
pub fn assert_no_mounts(prefix: &Path) {
    let m = mounts_under(prefix).unwrap();
    assert!(
        m.is_empty(),
        "mounts left under {}: {m:#?}",
        prefix.display()
    );
}
