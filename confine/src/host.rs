//! What is prepared on the host, as the caller, before entering the sandbox: the sources of the
//! root's bind mounts, the user's directories, the snap's private tmp and `/dev/shm`, and its
//! runtime directory.

use std::fs::DirBuilder;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use snap_core::dirs::Dirs;

use crate::env::substitute_user;
use crate::error::Error;
use crate::plan::{MountPlan, Step, relative_in_sandbox};

/// Creates the missing sources of the plan's binds that may be created (directories under the
/// root). Failing to create a required one is an error; others are reported through `note` and
/// their mounts are skipped later.
pub fn create_bind_sources(plan: &MountPlan, note: &mut dyn FnMut(String)) -> Result<(), Error> {
    for step in &plan.steps {
        let Step::Bind(b) = step else { continue };
        let Some(mode) = b.create_source else {
            continue;
        };
        if b.source.symlink_metadata().is_ok() {
            continue;
        }
        match DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&b.source)
        {
            Ok(()) => note(format!("created {}", b.source.display())),
            Err(e) if b.required => return Err(Error::path("create", &b.source, e)),
            Err(e) => note(format!("cannot create {}: {e}", b.source.display())),
        }
    }
    Ok(())
}

/// The host path of a profile user directory: `$HOME/REST` under `home_host` (`$UID`
/// substituted in REST). `None` for entries outside the home or that climb with `..`.
pub fn host_user_dir(entry: &str, home_host: &Path, uid: u32) -> Option<PathBuf> {
    let rest = entry.strip_prefix("$HOME/")?;
    let rest = substitute_user(rest, "", uid);
    let rel = relative_in_sandbox(&format!("/{rest}"))?.to_owned();
    if rel == "." {
        return None;
    }
    Some(home_host.join(rel))
}

/// Creates the profile's user directories (0755, owned by the caller, who runs this) under the
/// user's home as seen from the host. A home that does not exist (e.g. `nobody`'s
/// `/nonexistent`) is left alone.
pub fn create_user_dirs(
    user_dirs: &[String],
    home_host: &Path,
    uid: u32,
    note: &mut dyn FnMut(String),
) -> Result<(), Error> {
    if user_dirs.is_empty() {
        return Ok(());
    }
    if !home_host.is_dir() {
        note(format!(
            "home {} does not exist: user directories not created",
            home_host.display()
        ));
        return Ok(());
    }
    for entry in user_dirs {
        let Some(path) = host_user_dir(entry, home_host, uid) else {
            note(format!(
                "user directory {entry:?} is not under $HOME: skipped"
            ));
            continue;
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&path)
            .map_err(|e| Error::path("create user directory", &path, e))?;
    }
    Ok(())
}

/// A private directory of the snap (its tmp, its shared memory), open, ready to be bound.
#[derive(Debug)]
pub struct PrivateDir {
    pub path: PathBuf,
    pub fd: OwnedFd,
}

/// Where the private tmp of `snap` lives for `uid`: `<root>/tmp/snap-private-tmp/snap.NAME/tmp`
/// for root, as snapd has it. The parent is root's and `0700`, so another caller cannot even
/// reach it (without setuid, nothing lets it); each other user gets its own
/// `<root>/tmp/snap-private-tmp-UID/snap.NAME/tmp`, kept between runs and shared by that user's
/// apps of the snap just like root's.
pub fn private_tmp_path(dirs: &Dirs, snap: &str, uid: u32) -> PathBuf {
    let base = dirs.private_tmp_base(snap);
    if uid == 0 {
        return base.join("tmp");
    }
    let name = base.file_name().map(PathBuf::from).unwrap_or_default();
    let parent = base.parent().unwrap_or(Path::new("/"));
    let user_parent = parent.with_file_name(format!(
        "{}-{uid}",
        parent
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    user_parent.join(name).join("tmp")
}

/// Creates (or checks) the private tmp at [`private_tmp_path`]: each directory is created or
/// opened without following symlinks and must belong to the caller; the two upper ones are
/// `0700`, `tmp` is `1777`. Anything else there is refused: a world-writable `/tmp` must not
/// let another user choose what the app's `/tmp` is.
pub fn prepare_private_tmp(dirs: &Dirs, snap: &str, uid: u32) -> Result<PrivateDir, Error> {
    let path = private_tmp_path(dirs, snap, uid);
    let snap_dir = path.parent().unwrap_or(Path::new("/"));
    let top = snap_dir.parent().unwrap_or(Path::new("/"));
    let tmp_root = top.parent().unwrap_or(Path::new("/"));
    if !tmp_root.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(tmp_root)
            .and_then(|()| {
                std::fs::set_permissions(tmp_root, std::fs::Permissions::from_mode(0o1777))
            })
            .map_err(|e| Error::path("create", tmp_root, e))?;
    }
    let root_fd = rustix::fs::open(
        tmp_root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open", tmp_root, e.into()))?;
    let top_fd = ensure_dir(&root_fd, top, 0o700, uid)?;
    let snap_fd = ensure_dir(&top_fd, snap_dir, 0o700, uid)?;
    let fd = ensure_dir(&snap_fd, &path, 0o1777, uid)?;
    Ok(PrivateDir { path, fd })
}

/// The machine's shared memory directory, which holds the snaps' private ones.
pub const SHM_DIR: &str = "/dev/shm";

/// Where the private `/dev/shm` of `snap` lives for `uid` in the machine's shared memory
/// directory `shm`: `snap.NAME` for root, `snap.NAME.UID` for anyone else (each user has
/// their own, kept between runs and shared by that user's apps of the snap, as the private
/// tmp is). Snap names have no dot, so the two never meet.
pub fn private_shm_path(shm: &Path, snap: &str, uid: u32) -> PathBuf {
    if uid == 0 {
        shm.join(format!("snap.{snap}"))
    } else {
        shm.join(format!("snap.{snap}.{uid}"))
    }
}

/// Creates (or checks) the private shared memory directory of `snap` for `uid` in `shm`
/// ([`private_shm_path`]): a directory of the caller's, `0700`, created or opened without
/// following symlinks; anything else there (another user's directory, a symlink: `shm` is
/// world-writable) is refused. `None` if `shm` is not a directory (a symlink, or missing):
/// the sandbox then has no `/dev/shm` of its own.
pub fn prepare_private_shm(shm: &Path, snap: &str, uid: u32) -> Result<Option<PrivateDir>, Error> {
    let shm_fd = match rustix::fs::open(
        shm,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => return Ok(None),
        Err(e) => return Err(Error::path("open", shm, e.into())),
    };
    let path = private_shm_path(shm, snap, uid);
    let fd = ensure_dir(&shm_fd, &path, 0o700, uid)?;
    Ok(Some(PrivateDir { path, fd }))
}

/// Makes `path` (whose last component is created in `parent`) a directory of `owner` with
/// `mode`, refusing symlinks and other owners.
fn ensure_dir(parent: &OwnedFd, path: &Path, mode: u32, owner: u32) -> Result<OwnedFd, Error> {
    let name = path.file_name().unwrap_or_default();
    match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(Error::path("create", path, e.into())),
    }
    let fd = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        Errno::LOOP | Errno::NOTDIR => Error::Unsafe {
            path: path.to_owned(),
            reason: "not a directory (or a symlink)".into(),
        },
        e => Error::path("open", path, e.into()),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::path("stat", path, e.into()))?;
    if st.st_uid != owner {
        return Err(Error::Unsafe {
            path: path.to_owned(),
            reason: format!("owned by uid {}, expected uid {owner}", st.st_uid),
        });
    }
    if st.st_mode & 0o7777 != mode {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::path("chmod", path, e.into()))?;
    }
    Ok(fd)
}

/// The app's `XDG_RUNTIME_DIR`: `/run/user/UID/snap.NAME`.
pub fn runtime_dir(snap: &str, uid: u32) -> String {
    format!("/run/user/{uid}/snap.{snap}")
}

/// Creates [`runtime_dir`] (0700) on the machine when `/run/user/UID` exists; the sandbox's
/// `/run` gets it bound from there (see [`crate::plan::Step::Run`]).
pub fn prepare_runtime_dir(snap: &str, uid: u32, note: &mut dyn FnMut(String)) {
    let user_run = PathBuf::from(format!("/run/user/{uid}"));
    if !user_run.is_dir() {
        note(format!(
            "{} does not exist: no runtime directory",
            user_run.display()
        ));
        return;
    }
    let dir = PathBuf::from(runtime_dir(snap, uid));
    match DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => note(format!("created {}", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => note(format!("cannot create {}: {e}", dir.display())),
    }
}

/// The snap's `snapctl` cookie (snapd's `SNAP_COOKIE`). A hook gets the context id the daemon
/// made for that run (`SNAPD_HOOK_CONTEXT`, set by the daemon when it launches the hook); an app
/// always gets its own snap's cookie file, readable only by root, and never a value from its
/// caller's environment: an app of one snap launching another snap's app must not hand it its
/// identity. Absent when there is none: `snapctl` then fails with the daemon's refusal.
pub fn snap_cookie(dirs: &Dirs, snap: &str, hook: bool) -> Option<String> {
    let valid =
        |c: &str| !c.is_empty() && c.len() <= 256 && c.bytes().all(|b| b.is_ascii_graphic());
    // Only a hook context (the daemon's own form): a snap's cookie passed in its place would let
    // the launcher's caller lend the hook another snap's identity.
    let context = std::env::var(HOOK_CONTEXT_VAR)
        .ok()
        .filter(|c| valid(c) && c.starts_with(HOOK_CONTEXT_PREFIX));
    if hook && let Some(c) = context {
        return Some(c);
    }
    let c = std::fs::read_to_string(dirs.snap_cookie(snap)).ok()?;
    valid(c.trim()).then(|| c.trim().to_owned())
}

/// Where the daemon puts a hook's context id for the launcher.
pub const HOOK_CONTEXT_VAR: &str = "SNAPD_HOOK_CONTEXT";
/// What the daemon's hook context ids start with (cookies are bare hex).
pub const HOOK_CONTEXT_PREFIX: &str = "hook:";

/// Records this launch as a running app of `snap`: `<root>/run/snapd/running/snap.NAME.PID`
/// holding the process's start time (the exec keeps the pid). Automatic refreshes put off a
/// snap whose apps run. Best effort: tracking is no part of confinement, so a failure only
/// means the snap may be refreshed while the app runs. The directory is sticky and
/// world-writable (as /tmp) so that every user's apps are seen; the file is created without
/// following a symlink (a name another user planted fails the record, never redirects it), and
/// a false entry can only put off a refresh, for at most the policy's limit.
pub fn record_running_app(dirs: &Dirs, snap: &str) -> Result<PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = dirs.running_apps_dir();
    if !dir.is_dir() {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        match DirBuilder::new().mode(0o1777).create(&dir) {
            // The umask took bits off.
            Ok(()) => std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777))
                .map_err(|e| e.to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
    }
    let start = snap_sys::proc::start_time(None).ok_or("cannot read /proc/self/stat")?;
    let file = dir.join(format!("snap.{snap}.{}", std::process::id()));
    let fd = rustix::fs::open(
        &file,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map_err(|e| format!("{}: {e}", file.display()))?;
    std::fs::File::from(fd)
        .write_all(format!("{start}\n").as_bytes())
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dirs_live_under_the_home() {
        let h = Path::new("/r/root");
        assert_eq!(
            host_user_dir("$HOME/snap/hello/x1", h, 0),
            Some(PathBuf::from("/r/root/snap/hello/x1"))
        );
        assert_eq!(
            host_user_dir("$HOME/x-$UID", h, 7),
            Some(PathBuf::from("/r/root/x-7"))
        );
        assert_eq!(host_user_dir("/etc/x", h, 0), None);
        assert_eq!(host_user_dir("$HOME/../x", h, 0), None);
        assert_eq!(host_user_dir("$HOME/", h, 0), None);
        assert_eq!(host_user_dir("$HOMEX/a", h, 0), None);
        assert_eq!(host_user_dir("${HOME}/a", h, 0), None);
    }

    #[test]
    fn private_tmp_paths() {
        let d = Dirs::new("/r");
        assert_eq!(
            private_tmp_path(&d, "hello", 0),
            Path::new("/r/tmp/snap-private-tmp/snap.hello/tmp")
        );
        assert_eq!(
            private_tmp_path(&d, "hello", 1000),
            Path::new("/r/tmp/snap-private-tmp-1000/snap.hello/tmp")
        );
    }

    #[test]
    fn private_shm_paths() {
        let shm = Path::new("/dev/shm");
        assert_eq!(
            private_shm_path(shm, "hello", 0),
            Path::new("/dev/shm/snap.hello")
        );
        assert_eq!(
            private_shm_path(shm, "hello_foo", 1000),
            Path::new("/dev/shm/snap.hello_foo.1000")
        );
        assert_eq!(runtime_dir("hello", 1000), "/run/user/1000/snap.hello");
    }

    #[test]
    fn private_shm_is_created_and_checked() {
        let shm = tempfile::tempdir().unwrap();
        let uid = rustix::process::getuid().as_raw();
        let d = prepare_private_shm(shm.path(), "hello", uid)
            .unwrap()
            .unwrap();
        let mode = std::fs::metadata(&d.path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700);
        assert_eq!(d.path, private_shm_path(shm.path(), "hello", uid));
        drop(d);
        prepare_private_shm(shm.path(), "hello", uid)
            .unwrap()
            .unwrap();
        // A symlink planted in its place is refused.
        std::fs::create_dir(shm.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(
            shm.path().join("elsewhere"),
            private_shm_path(shm.path(), "other", uid),
        )
        .unwrap();
        let e = prepare_private_shm(shm.path(), "other", uid).unwrap_err();
        assert!(matches!(e, Error::Unsafe { .. }), "{e}");
        // No shared memory directory: no private one.
        assert!(
            prepare_private_shm(&shm.path().join("missing"), "hello", uid)
                .unwrap()
                .is_none()
        );
        let link = shm.path().join("link");
        std::os::unix::fs::symlink(shm.path().join("elsewhere"), &link).unwrap();
        assert!(prepare_private_shm(&link, "hello", uid).unwrap().is_none());
    }

    #[test]
    fn private_tmp_is_created_and_checked() {
        let root = tempfile::tempdir().unwrap();
        let d = Dirs::new(root.path());
        let uid = rustix::process::getuid().as_raw();
        let t = prepare_private_tmp(&d, "hello", uid).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&t.path), 0o1777);
        assert_eq!(mode(t.path.parent().unwrap()), 0o700);
        assert_eq!(mode(t.path.parent().unwrap().parent().unwrap()), 0o700);
        drop(t);
        // Again: the existing directories are accepted.
        prepare_private_tmp(&d, "hello", uid).unwrap();
        // A symlink planted in place of the snap's directory is refused.
        let other = private_tmp_path(&d, "other", uid);
        std::fs::create_dir_all(root.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(root.path().join("elsewhere"), other.parent().unwrap()).unwrap();
        let e = prepare_private_tmp(&d, "other", uid).unwrap_err();
        assert!(matches!(e, Error::Unsafe { .. }), "{e}");
    }
}
