//! Every path the daemon, the CLI and the launcher use, derived from one root directory.
//!
//! The root is `/` on a device and a temporary directory in tests, set by `SNAPPY_GLOBAL_ROOT`
//! as snapd does. Nothing else in the project spells an absolute path of the snap layout.

use std::path::{Path, PathBuf};

use crate::Revision;

/// The environment variable that moves the root, honoured by snapd and by its clients.
pub const ROOT_ENV: &str = "SNAPPY_GLOBAL_ROOT";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    root: PathBuf,
}

impl Dirs {
    pub fn new(root: impl Into<PathBuf>) -> Dirs {
        Dirs { root: root.into() }
    }

    /// `$SNAPPY_GLOBAL_ROOT` if set and not empty, else `/`.
    pub fn from_env() -> Dirs {
        match std::env::var_os(ROOT_ENV) {
            Some(r) if !r.is_empty() => Dirs::new(r),
            _ => Dirs::new("/"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn under(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `/snap`: where revisions are mounted.
    pub fn snap_mount_dir(&self) -> PathBuf {
        self.under("snap")
    }

    /// `/snap/bin`: the command wrappers users put on `$PATH`.
    pub fn snap_bin_dir(&self) -> PathBuf {
        self.under("snap/bin")
    }

    /// `/snap/NAME`.
    pub fn snap_dir(&self, name: &str) -> PathBuf {
        self.snap_mount_dir().join(name)
    }

    /// `/snap/NAME/REV`: the revision's read-only mount point.
    pub fn mount_point(&self, name: &str, rev: Revision) -> PathBuf {
        self.snap_dir(name).join(rev.to_string())
    }

    /// `/snap/NAME/current`: symlink to the active revision.
    pub fn current_link(&self, name: &str) -> PathBuf {
        self.snap_dir(name).join("current")
    }

    /// `/var/lib/snapd`.
    pub fn snapd_state_dir(&self) -> PathBuf {
        self.under("var/lib/snapd")
    }

    pub fn state_file(&self) -> PathBuf {
        self.snapd_state_dir().join("state.json")
    }

    /// `/var/lib/snapd/snaps`: the blobs of every retained revision.
    pub fn blob_dir(&self) -> PathBuf {
        self.snapd_state_dir().join("snaps")
    }

    /// `/var/lib/snapd/snaps/NAME_REV.snap`.
    pub fn blob(&self, name: &str, rev: Revision) -> PathBuf {
        self.blob_dir().join(format!("{name}_{rev}.snap"))
    }

    /// Where uploads are spooled before a change takes them over.
    pub fn upload_dir(&self) -> PathBuf {
        self.snapd_state_dir().join("uploads")
    }

    pub fn maintenance_file(&self) -> PathBuf {
        self.snapd_state_dir().join("maintenance.json")
    }

    /// `/var/snap`: per-snap writable data.
    pub fn snap_data_root(&self) -> PathBuf {
        self.under("var/snap")
    }

    /// `/var/snap/NAME`.
    pub fn snap_data_base(&self, name: &str) -> PathBuf {
        self.snap_data_root().join(name)
    }

    /// `/var/snap/NAME/REV`: `$SNAP_DATA`.
    pub fn snap_data(&self, name: &str, rev: Revision) -> PathBuf {
        self.snap_data_base(name).join(rev.to_string())
    }

    /// `/var/snap/NAME/common`: `$SNAP_COMMON`.
    pub fn snap_common(&self, name: &str) -> PathBuf {
        self.snap_data_base(name).join("common")
    }

    /// `/var/snap/NAME/current`.
    pub fn snap_data_current(&self, name: &str) -> PathBuf {
        self.snap_data_base(name).join("current")
    }

    /// `/var/lib/snapd/profiles`: the compiled security profile of every app and hook.
    pub fn profiles_dir(&self) -> PathBuf {
        self.snapd_state_dir().join("profiles")
    }

    /// An empty directory the launcher builds each sandbox's root on, in its own mount
    /// namespace (nothing mounted there is visible outside it).
    pub fn sandbox_scratch_dir(&self) -> PathBuf {
        self.snapd_state_dir().join("sandbox")
    }

    /// `/tmp/snap-private-tmp/snap.NAME`: holds the snap's private `/tmp` (a `tmp` directory
    /// inside it), shared by its apps and kept between runs, as snapd does.
    pub fn private_tmp_base(&self, name: &str) -> PathBuf {
        self.under("tmp/snap-private-tmp")
            .join(format!("snap.{name}"))
    }

    /// A user's home directory under the root: the password database's entry (`/home/alice`,
    /// `/root`) placed under the root, so that on a test root nothing touches real homes.
    pub fn user_home(&self, pw_dir: &Path) -> PathBuf {
        self.root.join(pw_dir.strip_prefix("/").unwrap_or(pw_dir))
    }

    /// `/run/snapd.socket`: the API socket.
    pub fn snapd_socket(&self) -> PathBuf {
        self.under("run/snapd.socket")
    }

    /// `/run/snapd-snap.socket`: the socket confined snaps may reach.
    pub fn snap_socket(&self) -> PathBuf {
        self.under("run/snapd-snap.socket")
    }

    /// `<root>/var/lib/snapd/cookie`: one root-only file per snap holding its `snapctl`
    /// cookie, hidden inside every sandbox.
    pub fn cookie_dir(&self) -> PathBuf {
        self.under("var/lib/snapd/cookie")
    }

    /// `<root>/run/snapd/running`: a directory per snap with a file per running app (its pid),
    /// which the launcher writes and automatic refreshes read to put off a snap in use.
    pub fn running_apps_dir(&self) -> PathBuf {
        self.under("run/snapd/running")
    }

    pub fn snap_cookie(&self, name: &str) -> PathBuf {
        self.cookie_dir().join(format!("snap.{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_snapds_under_the_root() {
        let d = Dirs::new("/tmp/r");
        let x1 = Revision::local(1);
        assert_eq!(
            d.mount_point("hello", x1),
            Path::new("/tmp/r/snap/hello/x1")
        );
        assert_eq!(
            d.current_link("hello"),
            Path::new("/tmp/r/snap/hello/current")
        );
        assert_eq!(
            d.blob("hello", x1),
            Path::new("/tmp/r/var/lib/snapd/snaps/hello_x1.snap")
        );
        assert_eq!(
            d.blob("hello", Revision::store(42)),
            Path::new("/tmp/r/var/lib/snapd/snaps/hello_42.snap")
        );
        assert_eq!(
            d.snap_data("hello", x1),
            Path::new("/tmp/r/var/snap/hello/x1")
        );
        assert_eq!(
            d.snap_common("hello"),
            Path::new("/tmp/r/var/snap/hello/common")
        );
        assert_eq!(d.snapd_socket(), Path::new("/tmp/r/run/snapd.socket"));
        assert_eq!(d.state_file(), Path::new("/tmp/r/var/lib/snapd/state.json"));
        assert_eq!(d.snap_bin_dir(), Path::new("/tmp/r/snap/bin"));
        assert_eq!(d.profiles_dir(), Path::new("/tmp/r/var/lib/snapd/profiles"));
        assert_eq!(
            d.private_tmp_base("hello"),
            Path::new("/tmp/r/tmp/snap-private-tmp/snap.hello")
        );
        assert_eq!(
            d.user_home(Path::new("/home/alice")),
            Path::new("/tmp/r/home/alice")
        );
        assert_eq!(
            Dirs::new("/").user_home(Path::new("/root")),
            Path::new("/root")
        );
    }
}
