//! Each service's cgroup v2 directory: `<cgroup2 mount>/snapd-<hash of the root>/snap.NAME.APP.service`.
//! The per-root parent keeps the services of parallel test roots apart. The launcher joins the
//! directory before it runs anything (`snap-confine --cgroup=DIR`), so every process of the
//! service is in it, whatever it forks: stopping kills the whole tree with `cgroup.kill`, and a
//! restarted daemon finds a running service by its cgroup being populated.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("no cgroup v2 filesystem is mounted (services need one)")]
    NoCgroup2,
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CgroupError {
    let path = path.to_owned();
    move |source| CgroupError::Io { op, path, source }
}

/// Where this daemon's service cgroups live.
#[derive(Clone, Debug)]
pub struct Cgroups {
    parent: PathBuf,
}

/// The mount point of the cgroup v2 hierarchy in `/proc/self/mountinfo`'s text (field 5 is the
/// mount point; the filesystem type follows the ` - ` separator).
pub fn cgroup2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (right.split_whitespace().next() == Some("cgroup2"))
            .then(|| left.split_whitespace().nth(4).map(unescape))
            .flatten()
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) if b[i] == b'\\' => {
                let v = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// `snapd-` and 16 hex digits of the root's path (FNV-1a): stable for a root, distinct between
/// roots.
pub fn parent_name(root: &Path) -> String {
    let h = root
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        });
    format!("snapd-{h:016x}")
}

impl Cgroups {
    /// The cgroups of the daemon running on `root` (canonical path).
    pub fn for_root(root: &Path) -> Result<Cgroups, CgroupError> {
        let info = fs::read_to_string("/proc/self/mountinfo")
            .map_err(io_err("read", Path::new("/proc/self/mountinfo")))?;
        let mount = cgroup2_mount_in(&info).ok_or(CgroupError::NoCgroup2)?;
        Ok(Cgroups {
            parent: mount.join(parent_name(root)),
        })
    }

    pub fn dir(&self, unit: &str) -> PathBuf {
        self.parent.join(unit)
    }

    /// Creates the service's directory (and the parent).
    pub fn create(&self, unit: &str) -> Result<PathBuf, CgroupError> {
        let d = self.dir(unit);
        fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        Ok(d)
    }

    /// Whether any process is in the service's cgroup (`cgroup.events`: `populated 1`). A
    /// missing cgroup is empty.
    pub fn populated(&self, unit: &str) -> bool {
        fs::read_to_string(self.dir(unit).join("cgroup.events"))
            .map(|t| t.lines().any(|l| l.trim() == "populated 1"))
            .unwrap_or(false)
    }

    /// The pids in the service's cgroup.
    pub fn pids(&self, unit: &str) -> Vec<i32> {
        fs::read_to_string(self.dir(unit).join("cgroup.procs"))
            .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Sends `sig` to every process of the service.
    pub fn signal_all(&self, unit: &str, sig: rustix::process::Signal) {
        for pid in self.pids(unit) {
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, sig);
            }
        }
    }

    /// SIGKILL to the whole cgroup at once (`cgroup.kill`), processes forked away included.
    pub fn kill(&self, unit: &str) {
        let f = self.dir(unit).join("cgroup.kill");
        if fs::write(&f, "1").is_err() {
            // Kernels before 5.14 have no cgroup.kill: kill what is listed.
            self.signal_all(unit, rustix::process::Signal::KILL);
        }
    }

    /// Kills everything in the cgroup and waits (up to `limit`) until it is empty.
    pub fn kill_and_wait(&self, unit: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if !self.populated(unit) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            self.kill(unit);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The units with a cgroup here whose name starts with `prefix`.
    pub fn units_with_prefix(&self, prefix: &str) -> Vec<String> {
        std::fs::read_dir(&self.parent)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n.starts_with(prefix))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes the service's cgroup (it must be empty), and the parent when it is empty too.
    pub fn remove(&self, unit: &str) -> Result<(), CgroupError> {
        let d = self.dir(unit);
        match fs::remove_dir(&d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &d)(e)),
        }
        // Another service may still have its cgroup here: then the parent stays.
        let _ = fs::remove_dir(&self.parent);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount() {
        let hybrid = "25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
            26 25 0:23 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
            27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        assert_eq!(
            cgroup2_mount_in(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified = "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup2_mount_in(unified),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(
            cgroup2_mount_in("1 0 0:1 / / rw - ext4 /dev/sda rw\n"),
            None
        );
        let escaped = "1 0 0:1 / /a\\040b rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_mount_in(escaped), Some(PathBuf::from("/a b")));
    }

    #[test]
    fn parents_differ_per_root() {
        let a = parent_name(Path::new("/tmp/snap-root-a"));
        let b = parent_name(Path::new("/tmp/snap-root-b"));
        assert_ne!(a, b);
        assert_eq!(a, parent_name(Path::new("/tmp/snap-root-a")));
        assert!(a.starts_with("snapd-") && a.len() == 22, "{a}");
    }
}
