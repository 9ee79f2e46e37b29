//! The namespaces, the mounts of a [`MountPlan`] and the `pivot_root` into the result.
//!
//! Every path inside the sandbox is opened with `openat2(RESOLVE_IN_ROOT)` from the sandbox's
//! root and mounted through its `/proc/self/fd/N` (or the descriptor itself, for the new mount
//! API): a symlink in the base snap resolves inside the sandbox, never to the host, and nothing
//! can be swapped between the check and the mount.
//!
//! Mounts are made read-only with `mount_setattr(MOUNT_ATTR_RDONLY)`, recursively where a tree
//! is concerned: it changes nothing else, so the flags the machine's mounts carry (nosuid,
//! nodev, noexec, atime; locked in a user namespace) are kept as they are.

use std::ffi::CStr;
use std::fs::DirBuilder;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use rustix::mount::{
    MountFlags, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};
use rustix::thread::UnshareFlags;

use crate::error::Error;
use crate::host::PrivateDir;
use crate::identity::Identity;
use crate::plan::{Bind, MountPlan, RunEntry, Step, nested_scratch, relative_in_sandbox};

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

/// `struct mount_attr` of `mount_setattr(2)` (version 0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `MOUNT_ATTR_RDONLY`.
const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// Makes the mount whose root `fd` is read-only, and every mount below it if `recursive`,
/// changing no other flag.
pub fn set_read_only(fd: impl AsFd, recursive: bool) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: the path is an empty NUL-terminated string, `attr` is a valid `mount_attr` of
    // the size passed, both alive for the call; the kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags,
            &raw const attr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        Err(Errno::from_raw_os_error(
            e.raw_os_error().unwrap_or(libc::EINVAL),
        ))
    } else {
        Ok(())
    }
}

/// A detached recursive copy of the mount tree at `fd` (`open_tree(OPEN_TREE_CLONE)`), with
/// the flags its mounts have now.
fn clone_tree(fd: impl AsFd) -> Result<OwnedFd, Errno> {
    rustix::mount::open_tree(
        fd,
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE
            | OpenTreeFlags::AT_EMPTY_PATH,
    )
}

/// Attaches the detached tree `tree` onto `target`.
fn attach_tree(tree: impl AsFd, target: impl AsFd) -> Result<(), Errno> {
    rustix::mount::move_mount(
        tree,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
}

/// Builds the sandbox: binds the base ([`Builder::new`]), carries out the plan's steps
/// ([`Builder::run`]) and makes the result the root ([`Builder::pivot`]).
pub struct Builder<'a> {
    root: OwnedFd,
    scratch: &'a Path,
    note: &'a mut dyn FnMut(String),
    /// Targets of the trees actually bound (a missing source or target is skipped).
    bound: Vec<String>,
    /// Copies of the sources of read-write profile mounts taken before the trees were made
    /// read-only, used (once each) by [`Step::Extra`].
    rw_sources: Vec<(String, OwnedFd)>,
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
        set_read_only(&root, true).map_err(|e| Error::path("make read-only", scratch, e.into()))?;
        note(format!(
            "mount: base {} (read-only) on {}",
            base.display(),
            scratch.display()
        ));
        Ok(Builder {
            root,
            scratch,
            note,
            bound: Vec::new(),
            rw_sources: Vec::new(),
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

    /// Opens `path`, which must exist now (a mount was just made there).
    fn open_existing(&self, path: &str) -> Result<OwnedFd, Error> {
        self.open_path(path)?
            .ok_or_else(|| Error::MissingTarget(path.into()))
    }

    /// Makes the mount just made at `target` read-only, with everything below it.
    fn make_read_only(&self, target: &str) -> Result<(), Error> {
        let fd = self.open_existing(target)?;
        set_read_only(&fd, true).map_err(|e| Error::path("make read-only", target, e.into()))
    }

    /// Detaches the copy of the sandbox being built that a recursive bind of `source` onto
    /// `target` brought along, if any (see [`nested_scratch`]).
    fn detach_nested(&self, source: &Path, target: &str) -> Result<(), Error> {
        if let Some(nested) = nested_scratch(source, target, self.scratch)
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
        Ok(())
    }

    fn skip(&mut self, required: bool, target: &str, why: &str) -> Result<(), Error> {
        if required {
            return Err(Error::MissingTarget(format!("{target} ({why})")));
        }
        (self.note)(format!("skip: {target}: {why}"));
        Ok(())
    }

    /// Carries out the plan's steps after the base. `private_shm` is `None` when the machine
    /// has no `/dev/shm` directory.
    pub fn run(
        &mut self,
        plan: &MountPlan,
        private_tmp: &PrivateDir,
        private_shm: Option<&PrivateDir>,
    ) -> Result<(), Error> {
        for step in &plan.steps {
            match step {
                Step::Bind(b) => self.bind(b)?,
                Step::Mask {
                    files,
                    dirs,
                    ssh_dir,
                } => self.masks(files, dirs, ssh_dir)?,
                Step::ReadOnly {
                    trees,
                    writable,
                    sources,
                } => self.read_only(trees, writable, sources)?,
                Step::Devpts => self.devpts()?,
                Step::PrivateShm { source } => match private_shm {
                    Some(shm) => self.private_shm(source, shm)?,
                    None => {
                        self.skip(false, "/dev/shm", "the machine has no /dev/shm directory")?
                    }
                },
                Step::PrivateTmp { source } => {
                    let target = self
                        .open_path("/tmp")?
                        .ok_or_else(|| Error::MissingTarget("/tmp".into()))?;
                    rustix::mount::mount_bind(fd_path(&private_tmp.fd), fd_path(&target)).map_err(
                        |e| Error::path("bind the private tmp onto /tmp from", source, e.into()),
                    )?;
                    (self.note)(format!("mount: {} on /tmp", source.display()));
                }
                Step::Run { entries } => self.run_dir(entries)?,
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
        rustix::mount::mount_bind_recursive(fd_path(&src), fd_path(&target)).map_err(|e| {
            Error::path(
                "bind mount",
                format!("{} on {}", b.source.display(), b.target),
                e.into(),
            )
        })?;
        self.detach_nested(&b.source, &b.target)?;
        self.bound.push(b.target.clone());
        (self.note)(format!(
            "mount: {} on {} (recursive)",
            b.source.display(),
            b.target
        ));
        Ok(())
    }

    /// [`Step::ReadOnly`]: copies of the writable paths (and of the read-write profile mounts'
    /// sources) first, then every bound tree read-only, then the copies attached on top.
    fn read_only(
        &mut self,
        trees: &[String],
        writable: &[String],
        sources: &[String],
    ) -> Result<(), Error> {
        let copy = |b: &Self, path: &str| -> Result<Option<OwnedFd>, Error> {
            match b.open_path(path)? {
                Some(fd) => clone_tree(&fd)
                    .map(Some)
                    .map_err(|e| Error::path("copy the mounts at", path, e.into())),
                None => Ok(None),
            }
        };
        let mut copies = Vec::new();
        let mut missing = Vec::new();
        for path in writable {
            match copy(self, path)? {
                Some(tree) => copies.push((path.as_str(), tree)),
                None => missing.push(path.as_str()),
            }
        }
        for source in sources {
            if let Some(tree) = copy(self, source)? {
                self.rw_sources.push((source.clone(), tree));
            }
        }
        let mut made = Vec::new();
        for tree in trees.iter().filter(|t| self.bound.contains(t)) {
            self.make_read_only(tree)?;
            made.push(tree.as_str());
        }
        (self.note)(format!(
            "mount: read-only (recursive): {}",
            if made.is_empty() {
                "nothing".to_owned()
            } else {
                made.join(" ")
            }
        ));
        for (path, tree) in &copies {
            let target = self.open_existing(path)?;
            attach_tree(tree, &target)
                .map_err(|e| Error::path("bind read-write again", *path, e.into()))?;
        }
        (self.note)(format!(
            "mount: read-write again (as on the machine): {}{}",
            if copies.is_empty() {
                "nothing".to_owned()
            } else {
                copies.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(" ")
            },
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", missing.join(" "))
            }
        ));
        Ok(())
    }

    /// The snap's private shared memory directory onto `/dev/shm`.
    fn private_shm(&mut self, source: &Path, shm: &PrivateDir) -> Result<(), Error> {
        let Some(target) = self.open_in("/dev/shm", OFlags::PATH | OFlags::NOFOLLOW)? else {
            return self.skip(false, "/dev/shm", "not present in the sandbox");
        };
        let is_dir = file_type(&target)
            .map_err(|e| Error::path("stat", "/dev/shm", e.into()))?
            .is_dir();
        if !is_dir {
            return self.skip(false, "/dev/shm", "not a directory");
        }
        rustix::mount::mount_bind(fd_path(&shm.fd), fd_path(&target)).map_err(|e| {
            Error::path(
                "bind the private /dev/shm onto /dev/shm from",
                source,
                e.into(),
            )
        })?;
        (self.note)(format!("mount: {} on /dev/shm (private)", source.display()));
        Ok(())
    }

    /// [`Step::Run`]: a tmpfs on `/run` with only `entries` of the machine's `/run` in it.
    fn run_dir(&mut self, entries: &[RunEntry]) -> Result<(), Error> {
        let Some(run) = self.open_in("/run", OFlags::PATH | OFlags::DIRECTORY)? else {
            return self.skip(false, "/run", "not present in the base");
        };
        let data: &CStr = c"size=64k,nr_inodes=1024,mode=0755";
        rustix::mount::mount(
            "tmpfs",
            fd_path(&run),
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            data,
        )
        .map_err(|e| Error::path("mount a tmpfs on", "/run", e.into()))?;
        let tmpfs = self
            .open_in("/run", OFlags::RDONLY | OFlags::DIRECTORY)?
            .ok_or_else(|| Error::MissingTarget("/run".into()))?;
        let tmpfs_dev = rustix::fs::fstat(&tmpfs)
            .map_err(|e| Error::path("stat", "/run (tmpfs)", e.into()))?
            .st_dev;
        let mut bound = Vec::new();
        let mut absent = Vec::new();
        for e in entries {
            let source = e.source.as_deref().unwrap_or(Path::new(&e.path));
            let src = match rustix::fs::open(source, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
            {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    absent.push(e.path.as_str());
                    continue;
                }
                Err(err) => return Err(Error::path("open", source, err.into())),
            };
            let is_dir = file_type(&src)
                .map_err(|err| Error::path("stat", &e.path, err.into()))?
                .is_dir();
            if !self.mount_point(&e.path, is_dir, tmpfs_dev)? {
                (self.note)(format!(
                    "skip: {}: no mount point for it in the sandbox's /run",
                    e.path
                ));
                continue;
            }
            let target = self.open_existing(&e.path)?;
            let mut flags = MountFlags::BIND;
            if is_dir {
                flags |= MountFlags::from_bits_retain(MountPropagationFlags::REC.bits());
            }
            rustix::mount::mount(fd_path(&src), fd_path(&target), "", flags, None).map_err(
                |err| {
                    Error::path(
                        "bind mount",
                        format!("{} on {}", e.path, e.path),
                        err.into(),
                    )
                },
            )?;
            if is_dir {
                self.detach_nested(Path::new(&e.path), &e.path)?;
            }
            if !e.writable {
                self.make_read_only(&e.path)?;
            }
            bound.push(format!(
                "{}{}",
                e.path,
                if e.writable { " (read-write)" } else { "" }
            ));
        }
        rustix::mount::mount_remount(
            fd_path(&tmpfs),
            MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            "",
        )
        .map_err(|e| Error::path("make read-only", "/run (tmpfs)", e.into()))?;
        (self.note)(format!(
            "mount: tmpfs on /run (read-only), from the machine's /run: {}{}",
            if bound.is_empty() {
                "nothing".to_owned()
            } else {
                bound.join(" ")
            },
            if absent.is_empty() {
                String::new()
            } else {
                format!(" (not on the machine: {})", absent.join(" "))
            }
        ));
        Ok(())
    }

    /// Makes sure `path` (under `/run`) exists in the sandbox as a directory (`is_dir`) or
    /// another file to mount on, creating what is missing, but only on the tmpfs whose device
    /// is `tmpfs_dev` (never in a directory bound from the machine). `false` if it cannot.
    fn mount_point(&self, path: &str, is_dir: bool, tmpfs_dev: u64) -> Result<bool, Error> {
        let mut so_far = String::new();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let parent = if so_far.is_empty() { "/" } else { &so_far };
            let parent = parent.to_owned();
            so_far.push('/');
            so_far.push_str(part);
            let last = i + 1 == parts.len();
            if let Some(fd) = self.open_in(&so_far, OFlags::PATH | OFlags::NOFOLLOW)? {
                let ft = file_type(&fd).map_err(|e| Error::path("stat", &so_far, e.into()))?;
                if ft.is_dir() == (is_dir || !last) && !ft.is_symlink() {
                    continue;
                }
                return Ok(false);
            }
            let Some(dir) = self.open_in(&parent, OFlags::PATH | OFlags::DIRECTORY)? else {
                return Ok(false);
            };
            let st = rustix::fs::fstat(&dir).map_err(|e| Error::path("stat", &parent, e.into()))?;
            if st.st_dev != tmpfs_dev {
                return Ok(false);
            }
            let made = if is_dir || !last {
                rustix::fs::mkdirat(&dir, *part, Mode::from_raw_mode(0o755))
            } else {
                rustix::fs::openat(
                    &dir,
                    *part,
                    OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o644),
                )
                .map(drop)
            };
            made.map_err(|e| Error::path("create the mount point", &so_far, e.into()))?;
        }
        Ok(true)
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
        let Some(tgt) = self.open_path(target)? else {
            return self.skip(false, target, "profile mount target does not exist");
        };
        // A read-write mount from a source in a tree: the copy taken before the tree was made
        // read-only.
        if !read_only && let Some(i) = self.rw_sources.iter().position(|(s, _)| s == source) {
            let (_, tree) = self.rw_sources.remove(i);
            attach_tree(&tree, &tgt).map_err(|e| {
                Error::path("bind mount", format!("{source} on {target}"), e.into())
            })?;
            (self.note)(format!(
                "mount: {source} on {target} (profile) (read-write)"
            ));
            return Ok(());
        }
        let Some(src) = self.open_path(source)? else {
            return self.skip(
                false,
                target,
                &format!("profile mount source {source} does not exist"),
            );
        };
        rustix::mount::mount_bind_recursive(fd_path(&src), fd_path(&tgt))
            .map_err(|e| Error::path("bind mount", format!("{source} on {target}"), e.into()))?;
        if read_only {
            self.make_read_only(target)?;
        }
        (self.note)(format!(
            "mount: {source} on {target} (profile){}",
            if read_only {
                " (read-only)"
            } else {
                " (flags of the source's mounts)"
            }
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
