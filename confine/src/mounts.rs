//! The namespaces, the mounts of a [`MountPlan`] and the `pivot_root` into the result.
//!
//! Every path inside the sandbox is opened with `openat2(RESOLVE_IN_ROOT)` from the sandbox's
//! root and mounted through its `/proc/self/fd/N`: a symlink in the base snap resolves inside
//! the sandbox, never to the host, and nothing can be swapped between the check and the mount.

use std::ffi::CStr;
use std::fs::DirBuilder;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

use crate::error::Error;
use crate::host::PrivateTmp;
use crate::identity::Identity;
use crate::plan::{Bind, MountPlan, Step, nested_scratch, relative_in_sandbox};

/// Which namespaces the launch created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespaces {
    /// The caller is root: a mount namespace.
    Mount,
    /// Any other caller: a user namespace mapping its ids to themselves, and a mount namespace.
    UserAndMount,
}

/// Enters new namespaces (see the crate documentation) and makes every mount a slave, so that
/// nothing mounted from now on propagates back to the host.
pub fn enter_namespaces(id: &Identity) -> Result<Namespaces, Error> {
    let kind = if rustix::process::geteuid().is_root() {
        // SAFETY: `unshare_unsafe` is unsafe only for CLONE_FILES, not used here; the launcher
        // is single-threaded.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
            .map_err(|e| Error::sys("create a mount namespace", e))?;
        Namespaces::Mount
    } else {
        // SAFETY: as above; CLONE_NEWUSER also needs a single-threaded caller, which this is.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER | UnshareFlags::NEWNS) }
            .map_err(|e| Error::sys("create a user and mount namespace", e))?;
        let write = |file: &str, text: String| {
            std::fs::write(file, text).map_err(|e| Error::path("write", file, e))
        };
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("{0} {0} 1\n", id.uid))?;
        write("/proc/self/gid_map", format!("{0} {0} 1\n", id.gid))?;
        Namespaces::UserAndMount
    };
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::REC | MountPropagationFlags::DOWNSTREAM,
    )
    .map_err(|e| Error::sys("make / a recursive slave mount", e))?;
    Ok(kind)
}

fn fd_path(fd: impl AsFd) -> String {
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

fn file_type(fd: impl AsFd) -> Result<FileType, Errno> {
    rustix::fs::fstat(fd).map(|st| FileType::from_raw_mode(st.st_mode))
}

/// The flags a read-only remount of the mount at `fd` must carry: its current nosuid, nodev,
/// noexec and atime flags (in a user namespace they are locked and may not be cleared).
fn remount_flags(fd: impl AsFd) -> Result<MountFlags, Errno> {
    let f = rustix::fs::fstatvfs(fd)?.f_flag;
    let mut flags = MountFlags::BIND | MountFlags::RDONLY;
    for (st, ms) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
    ] {
        if f.contains(st) {
            flags |= ms;
        }
    }
    flags |= if f.contains(StatVfsMountFlags::NOATIME) {
        MountFlags::NOATIME
    } else if f.contains(StatVfsMountFlags::RELATIME) {
        MountFlags::RELATIME
    } else {
        MountFlags::STRICTATIME
    };
    Ok(flags)
}

/// Builds the sandbox: binds the base ([`Builder::new`]), carries out the plan's steps
/// ([`Builder::run`]) and makes the result the root ([`Builder::pivot`]).
pub struct Builder<'a> {
    root: OwnedFd,
    scratch: &'a Path,
    note: &'a mut dyn FnMut(String),
}

impl<'a> Builder<'a> {
    /// Binds the base (read-only) onto the scratch directory.
    pub fn new(plan: &'a MountPlan, note: &'a mut dyn FnMut(String)) -> Result<Builder<'a>, Error> {
        let base = std::fs::canonicalize(&plan.base_link)
            .map_err(|e| Error::path("resolve the base snap", &plan.base_link, e))?;
        let scratch = plan.scratch.as_path();
        let parent = scratch.parent().unwrap_or(Path::new("/"));
        let name = scratch.file_name().unwrap_or_default();
        if scratch.symlink_metadata().is_err() {
            DirBuilder::new()
                .mode(0o755)
                .create(scratch)
                .map_err(|e| Error::path("create", scratch, e))?;
        }
        let parent_fd = rustix::fs::open(
            parent,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", parent, e.into()))?;
        let open_scratch = || {
            rustix::fs::openat(
                &parent_fd,
                name,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| Error::path("open the scratch directory", scratch, e.into()))
        };
        let below = open_scratch()?;
        let base_fd = rustix::fs::open(
            &base,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open the base snap", &base, e.into()))?;
        rustix::mount::mount_bind_recursive(fd_path(&base_fd), fd_path(&below))
            .map_err(|e| Error::path("bind the base snap onto", scratch, e.into()))?;
        // Opened again, the path now leads to the new mount.
        let root = open_scratch()?;
        let flags = remount_flags(&root).map_err(|e| Error::path("stat", scratch, e.into()))?;
        rustix::mount::mount_remount(fd_path(&root), flags, "")
            .map_err(|e| Error::path("make read-only", scratch, e.into()))?;
        note(format!(
            "mount: base {} (read-only) on {}",
            base.display(),
            scratch.display()
        ));
        Ok(Builder {
            root,
            scratch,
            note,
        })
    }

    /// Opens `path` inside the sandbox; `None` if it does not exist.
    fn open_in(&self, path: &str, flags: OFlags) -> Result<Option<OwnedFd>, Error> {
        let rel = relative_in_sandbox(path).ok_or_else(|| Error::Unsafe {
            path: path.into(),
            reason: "not an absolute path without `..`".into(),
        })?;
        match rustix::fs::openat2(
            &self.root,
            rel,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::path("open (in the sandbox)", path, e.into())),
        }
    }

    fn open_path(&self, path: &str) -> Result<Option<OwnedFd>, Error> {
        self.open_in(path, OFlags::PATH)
    }

    fn remount_ro(&self, target: &str) -> Result<(), Error> {
        let fd = self
            .open_path(target)?
            .ok_or_else(|| Error::MissingTarget(target.into()))?;
        let flags = remount_flags(&fd).map_err(|e| Error::path("stat", target, e.into()))?;
        rustix::mount::mount_remount(fd_path(&fd), flags, "")
            .map_err(|e| Error::path("make read-only", target, e.into()))
    }

    fn skip(&mut self, required: bool, target: &str, why: &str) -> Result<(), Error> {
        if required {
            return Err(Error::MissingTarget(format!("{target} ({why})")));
        }
        (self.note)(format!("skip: {target}: {why}"));
        Ok(())
    }

    /// Carries out the plan's steps after the base.
    pub fn run(&mut self, plan: &MountPlan, private_tmp: &PrivateTmp) -> Result<(), Error> {
        for step in &plan.steps {
            match step {
                Step::Bind(b) => self.bind(b)?,
                Step::Devpts => self.devpts()?,
                Step::Mask {
                    files,
                    dirs,
                    ssh_dir,
                } => self.masks(files, dirs, ssh_dir)?,
                Step::PrivateTmp { source } => {
                    let target = self
                        .open_path("/tmp")?
                        .ok_or_else(|| Error::MissingTarget("/tmp".into()))?;
                    rustix::mount::mount_bind(fd_path(&private_tmp.fd), fd_path(&target)).map_err(
                        |e| Error::path("bind the private tmp onto /tmp from", source, e.into()),
                    )?;
                    (self.note)(format!("mount: {} on /tmp", source.display()));
                }
                Step::Extra {
                    source,
                    target,
                    read_only,
                } => self.extra(source, target, *read_only)?,
            }
        }
        Ok(())
    }

    fn bind(&mut self, b: &Bind) -> Result<(), Error> {
        let src = match rustix::fs::open(&b.source, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                return self.skip(
                    b.required,
                    &b.target,
                    &format!("{} does not exist", b.source.display()),
                );
            }
            Err(e) => return Err(Error::path("open", &b.source, e.into())),
        };
        let Some(target) = self.open_path(&b.target)? else {
            return self.skip(b.required, &b.target, "not present in the base");
        };
        let src_dir = file_type(&src)
            .map_err(|e| Error::path("stat", &b.source, e.into()))?
            .is_dir();
        let tgt_dir = file_type(&target)
            .map_err(|e| Error::path("stat", &b.target, e.into()))?
            .is_dir();
        if src_dir != tgt_dir {
            return self.skip(
                b.required,
                &b.target,
                "not the same kind of file as the source",
            );
        }
        let mut flags = MountFlags::BIND;
        if b.recursive {
            flags |= MountFlags::from_bits_retain(MountPropagationFlags::REC.bits());
        }
        rustix::mount::mount(fd_path(&src), fd_path(&target), "", flags, None).map_err(|e| {
            Error::path(
                "bind mount",
                format!("{} on {}", b.source.display(), b.target),
                e.into(),
            )
        })?;
        if b.recursive
            && let Some(nested) = nested_scratch(&b.source, &b.target, self.scratch)
            && let Some(fd) = self.open_path(&nested)?
        {
            match rustix::mount::unmount(fd_path(&fd), UnmountFlags::DETACH) {
                Ok(()) | Err(Errno::INVAL) => {}
                Err(e) => {
                    return Err(Error::path(
                        "detach the sandbox's copy at",
                        &nested,
                        e.into(),
                    ));
                }
            }
        }
        if b.read_only {
            self.remount_ro(&b.target)?;
        }
        (self.note)(format!(
            "mount: {} on {}{}{}",
            b.source.display(),
            b.target,
            if b.recursive { " (recursive)" } else { "" },
            if b.read_only { " (read-only)" } else { "" }
        ));
        Ok(())
    }

    fn devpts(&mut self) -> Result<(), Error> {
        let pts = self
            .open_path("/dev/pts")?
            .ok_or_else(|| Error::MissingTarget("/dev/pts".into()))?;
        let data: &CStr = c"newinstance,ptmxmode=0666,mode=0620";
        rustix::mount::mount(
            "devpts",
            fd_path(&pts),
            "devpts",
            MountFlags::NOSUID | MountFlags::NOEXEC,
            data,
        )
        .map_err(|e| Error::path("mount a new devpts instance on", "/dev/pts", e.into()))?;
        let ptmx = self
            .open_path("/dev/pts/ptmx")?
            .ok_or_else(|| Error::MissingTarget("/dev/pts/ptmx".into()))?;
        match self.open_in("/dev/ptmx", OFlags::PATH | OFlags::NOFOLLOW)? {
            Some(t) if file_type(&t).map(|t| t.is_symlink()).unwrap_or(true) => {
                (self.note)(
                    "mount: devpts on /dev/pts; /dev/ptmx is a symlink, left as it is".into(),
                );
            }
            Some(t) => {
                rustix::mount::mount_bind(fd_path(&ptmx), fd_path(&t))
                    .map_err(|e| Error::path("bind /dev/pts/ptmx onto", "/dev/ptmx", e.into()))?;
                (self.note)(
                    "mount: devpts (newinstance) on /dev/pts, /dev/pts/ptmx on /dev/ptmx".into(),
                );
            }
            None => (self.note)("mount: devpts on /dev/pts; no /dev/ptmx".into()),
        }
        Ok(())
    }

    /// Hides files and directories under an empty file and directory made on a small tmpfs,
    /// mounted on the base's `/tmp` for the moment (the private tmp goes on top later) and
    /// detached once the masks hold it; its superblock is read-only before any mask is bound.
    fn masks(&mut self, files: &[String], dirs: &[String], ssh_dir: &str) -> Result<(), Error> {
        let tmp = self
            .open_path("/tmp")?
            .ok_or_else(|| Error::MissingTarget("/tmp".into()))?;
        let data: &CStr = c"size=16k,mode=0755";
        rustix::mount::mount(
            "tmpfs",
            fd_path(&tmp),
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            data,
        )
        .map_err(|e| Error::path("mount a tmpfs on", "/tmp", e.into()))?;
        let tmpfs = self
            .open_in("/tmp", OFlags::RDONLY | OFlags::DIRECTORY)?
            .ok_or_else(|| Error::MissingTarget("/tmp".into()))?;
        let mk = |e: Errno| Error::path("create the empty mask in", "/tmp (tmpfs)", e.into());
        drop(
            rustix::fs::openat(
                &tmpfs,
                "empty",
                OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(mk)?,
        );
        rustix::fs::mkdirat(&tmpfs, "empty-dir", Mode::empty()).map_err(mk)?;
        rustix::mount::mount_remount(
            fd_path(&tmpfs),
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            "",
        )
        .map_err(|e| Error::path("make read-only", "/tmp (tmpfs)", e.into()))?;
        let open_mask = |name: &str| {
            rustix::fs::openat(&tmpfs, name, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
                .map_err(mk)
        };
        let empty = open_mask("empty")?;
        let empty_dir = open_mask("empty-dir")?;

        let mut ssh_keys = Vec::new();
        if let Some(fd) = self.open_in(ssh_dir, OFlags::PATH | OFlags::DIRECTORY)?
            && let Ok(entries) = std::fs::read_dir(fd_path(&fd))
        {
            for entry in entries.flatten() {
                let name = entry.file_name();
                if let Some(name) = name.to_str()
                    && crate::plan::is_ssh_host_private_key(name)
                {
                    ssh_keys.push(format!("{ssh_dir}/{name}"));
                }
            }
            ssh_keys.sort();
        }
        let mut masked = Vec::new();
        for (path, want_dir) in files
            .iter()
            .chain(&ssh_keys)
            .map(|f| (f, false))
            .chain(dirs.iter().map(|d| (d, true)))
        {
            let Some(target) = self.open_in(path, OFlags::PATH | OFlags::NOFOLLOW)? else {
                continue;
            };
            let ft = file_type(&target).map_err(|e| Error::path("stat", path, e.into()))?;
            let ok = if want_dir { ft.is_dir() } else { ft.is_file() };
            if !ok {
                (self.note)(format!(
                    "mask: {path} is not a {}: left as it is",
                    if want_dir {
                        "directory"
                    } else {
                        "regular file"
                    }
                ));
                continue;
            }
            let source = if want_dir { &empty_dir } else { &empty };
            rustix::mount::mount_bind(fd_path(source), fd_path(&target))
                .map_err(|e| Error::path("mask", path, e.into()))?;
            masked.push(path.as_str());
        }
        drop((empty, empty_dir));
        rustix::mount::unmount(fd_path(&tmpfs), UnmountFlags::DETACH)
            .map_err(|e| Error::path("detach the tmpfs from", "/tmp", e.into()))?;
        (self.note)(if masked.is_empty() {
            "mask: nothing to mask".into()
        } else {
            format!("mask: {}", masked.join(" "))
        });
        Ok(())
    }

    fn extra(&mut self, source: &str, target: &str, read_only: bool) -> Result<(), Error> {
        let Some(src) = self.open_path(source)? else {
            return self.skip(
                false,
                target,
                &format!("profile mount source {source} does not exist"),
            );
        };
        let Some(tgt) = self.open_path(target)? else {
            return self.skip(false, target, "profile mount target does not exist");
        };
        rustix::mount::mount(
            fd_path(&src),
            fd_path(&tgt),
            "",
            MountFlags::BIND | MountFlags::from_bits_retain(MountPropagationFlags::REC.bits()),
            None,
        )
        .map_err(|e| Error::path("bind mount", format!("{source} on {target}"), e.into()))?;
        if read_only {
            self.remount_ro(target)?;
        }
        (self.note)(format!(
            "mount: {source} on {target} (profile){}",
            if read_only { " (read-only)" } else { "" }
        ));
        Ok(())
    }

    /// Makes the sandbox the root: `pivot_root(".", ".")` stacks the old root on top of the new
    /// one, and detaching "." removes it without needing a directory to put it in.
    pub fn pivot(self) -> Result<(), Error> {
        rustix::process::fchdir(&self.root).map_err(|e| Error::sys("enter the sandbox", e))?;
        rustix::process::pivot_root(".", ".")
            .map_err(|e| Error::sys("pivot_root into the sandbox", e))?;
        rustix::mount::unmount(".", UnmountFlags::DETACH)
            .map_err(|e| Error::sys("detach the old root", e))?;
        rustix::process::chdir("/").map_err(|e| Error::sys("chdir to /", e))?;
        (self.note)("pivot_root: done, old root detached".into());
        Ok(())
    }
}
