//! What a service's launch adds: joining the service's cgroup before anything else, and the
//! sd_notify socket the sandbox may reach. Both come from the daemon, the only caller that
//! passes `--cgroup` and `--notify-socket`; the checks make a mistake fail the launch rather
//! than put an app somewhere it does not belong.

use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

use crate::args::ServiceCommand;
use crate::error::Error;
use crate::plan::{MountPlan, RunEntry, Step};

/// `statfs` type of a cgroup v2 filesystem.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Where the notify socket appears inside the sandbox (`NOTIFY_SOCKET`).
pub const NOTIFY_TARGET: &str = "/run/snap-notify.socket";

/// Whether `dir`'s last component names a cgroup of `snap` (`snap.SNAP.…`): a launch never
/// joins another snap's cgroup.
pub fn cgroup_name_fits(dir: &Path, snap: &str) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("snap."))
        .and_then(|n| n.strip_prefix(snap))
        .is_some_and(|rest| rest.starts_with('.') && rest.len() > 1)
}

/// Moves this process into the cgroup v2 directory `dir` (writes `0` to its `cgroup.procs`).
/// Everything the launch starts afterwards is born in it.
pub fn join_cgroup(dir: &Path, snap: &str) -> Result<(), Error> {
    if !cgroup_name_fits(dir, snap) {
        return Err(Error::Unsafe {
            path: dir.to_owned(),
            reason: format!("not a cgroup of snap {snap:?} (snap.{snap}.…)"),
        });
    }
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open the cgroup", dir, e.into()))?;
    let fs = rustix::fs::fstatfs(&fd).map_err(|e| Error::path("statfs", dir, e.into()))?;
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between architectures.
    if fs.f_type as i64 != CGROUP2_SUPER_MAGIC {
        return Err(Error::Unsafe {
            path: dir.to_owned(),
            reason: "not on a cgroup v2 filesystem".into(),
        });
    }
    let procs = rustix::fs::openat(
        fd.as_fd(),
        "cgroup.procs",
        OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open", dir.join("cgroup.procs"), e.into()))?;
    std::fs::File::from(procs)
        .write_all(b"0\n")
        .map_err(|e| Error::path("join the cgroup", dir, e))
}

/// Checks that `path` is a unix socket (what the daemon made), before it is bound in.
pub fn check_notify_socket(path: &Path) -> Result<(), Error> {
    let st = rustix::fs::lstat(path).map_err(|e| Error::path("stat", path, e.into()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Socket {
        return Err(Error::Unsafe {
            path: path.to_owned(),
            reason: "the notify socket is not a socket".into(),
        });
    }
    Ok(())
}

/// Adds the notify socket `source` to the plan's `/run` at [`NOTIFY_TARGET`], writable
/// (sending a datagram needs write permission on the socket).
pub fn add_notify_socket(plan: &mut MountPlan, source: &Path) {
    for step in &mut plan.steps {
        if let Step::Run { entries } = step {
            entries.retain(|e| e.path != NOTIFY_TARGET);
            entries.push(RunEntry {
                path: NOTIFY_TARGET.to_owned(),
                writable: true,
                source: Some(source.to_owned()),
            });
            entries.sort_by(|a, b| a.path.cmp(&b.path));
        }
    }
}

/// The argument vector to run: the service's `--command=` from the profile, or its main
/// command.
pub fn command_for<'p>(
    profile: &'p snap_interfaces::profile::Profile,
    command: Option<ServiceCommand>,
    target: &str,
) -> Result<&'p [String], Error> {
    match command {
        None => Ok(&profile.command),
        Some(c) => profile
            .service_commands
            .get(c.as_str())
            .map(Vec::as_slice)
            .ok_or_else(|| Error::Usage(format!("{target} has no {} command", c.as_str()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_names_must_name_the_snap() {
        let ok = |p: &str, s: &str| cgroup_name_fits(Path::new(p), s);
        assert!(ok(
            "/sys/fs/cgroup/snapd-ab/snap.hello.svc.service",
            "hello"
        ));
        assert!(ok("/c/snap.hello.hook.install", "hello"));
        assert!(!ok("/c/snap.hello-other.svc.service", "hello"));
        assert!(!ok("/c/snap.hellosvc.service", "hello"));
        assert!(!ok("/c/snap.hello.", "hello"));
        assert!(!ok("/c/snap.hello", "hello"));
        assert!(!ok("/c/system.slice", "hello"));
        assert!(!ok("/", "hello"));
    }

    #[test]
    fn joining_refuses_what_is_not_a_cgroup() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("snap.hello.svc.service");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("cgroup.procs"), "").unwrap();
        let e = join_cgroup(&dir, "hello").unwrap_err().to_string();
        assert!(e.contains("not on a cgroup v2 filesystem"), "{e}");
        // Nothing was written: the check comes first.
        assert_eq!(std::fs::read(dir.join("cgroup.procs")).unwrap(), b"");
        let e = join_cgroup(&d.path().join("snap.other.x"), "hello").unwrap_err();
        assert!(e.to_string().contains("not a cgroup of snap"), "{e}");
    }

    #[test]
    fn notify_socket_must_be_a_socket() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("n");
        std::fs::write(&f, "").unwrap();
        assert!(check_notify_socket(&f).is_err());
        let s = d.path().join("s");
        let _l = std::os::unix::net::UnixDatagram::bind(&s).unwrap();
        check_notify_socket(&s).unwrap();
    }
}
