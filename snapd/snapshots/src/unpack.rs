//! Reading one archive member into a fresh directory, every entry judged by the
//! [`EntryChecker`] first. Only the directory given is written to: files are created with
//! `O_EXCL` (no overwriting, no following a symlink), links are made, never followed, and
//! nothing is created under a symlink. Directory metadata is applied last, deepest first, so a
//! read-only directory can still be filled.

use std::collections::HashSet;
use std::fs::{File, FileTimes, OpenOptions, Permissions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, CWD, FileType, Mode, Timespec, Timestamps};
use tar::EntryType;

use crate::entry::{Action, EntryChecker, EntryKind, owner_and_mode};
use crate::{pax, xattr};

/// Why an unpack (or scan) stopped.
#[derive(Debug)]
pub enum UnpackError {
    /// The entry broke a rule; the reason says which.
    Hostile { entry: String, reason: String },
    /// The compressed stream or the tar framing is broken.
    Archive(io::Error),
    /// Creating something in the destination failed.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// How to own what is restored.
#[derive(Clone, Copy, Debug)]
pub struct Ownership {
    /// The user every entry belongs to, for user data.
    pub user: Option<(u32, u32)>,
    /// Whether to chown at all (only root can give files away).
    pub chown: bool,
}

struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: (i64, u32),
    /// `user.` extended attributes (others in the archive are ignored).
    xattrs: Vec<(String, Vec<u8>)>,
}

/// One entry as read from the archive.
struct Read1 {
    path: Vec<u8>,
    kind: EntryKind,
    link: Option<Vec<u8>>,
    size: u64,
    meta: Meta,
}

fn read_entry<R: Read>(e: &mut tar::Entry<'_, R>) -> Result<Read1, UnpackError> {
    let h = e.header();
    let kind = match h.entry_type() {
        EntryType::Regular | EntryType::Continuous => EntryKind::File,
        EntryType::Directory => EntryKind::Dir,
        EntryType::Symlink => EntryKind::Symlink,
        EntryType::Link => EntryKind::HardLink,
        EntryType::Fifo => EntryKind::Fifo,
        EntryType::Char => EntryKind::Other("character device"),
        EntryType::Block => EntryKind::Other("block device"),
        EntryType::GNUSparse => EntryKind::Other("sparse file"),
        _ => EntryKind::Other("unknown entry type"),
    };
    let field = |r: io::Result<u64>| -> Result<u32, UnpackError> {
        let v = r.map_err(UnpackError::Archive)?;
        u32::try_from(v)
            .map_err(|_| UnpackError::Archive(io::Error::other("id or mode out of range")))
    };
    let uid = field(h.uid())?;
    let gid = field(h.gid())?;
    let mode = field(h.mode().map(u64::from))?;
    let mut mtime = (
        i64::try_from(h.mtime().map_err(UnpackError::Archive)?).unwrap_or(i64::MAX),
        0,
    );
    let path = e.path_bytes().into_owned();
    let link = e.link_name_bytes().map(|l| l.into_owned());
    let size = e.size();
    let mut xattrs = Vec::new();
    if let Some(exts) = e.pax_extensions().map_err(UnpackError::Archive)? {
        for ext in exts {
            let ext = ext.map_err(UnpackError::Archive)?;
            if ext.key_bytes() == b"mtime"
                && let Some(t) = ext.value().ok().and_then(pax::parse_time)
            {
                mtime = t;
            }
            if let Some(name) = ext
                .key()
                .ok()
                .and_then(|k| k.strip_prefix(xattr::PAX_PREFIX))
                && xattr::allowed(name)
            {
                xattrs.push((name.to_owned(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(Read1 {
        path,
        kind,
        link,
        size,
        meta: Meta {
            uid,
            gid,
            mode,
            mtime,
            xattrs,
        },
    })
}

fn open_archive(
    archive: &Path,
) -> Result<tar::Archive<zstd::stream::Decoder<'static, BufReader<File>>>, UnpackError> {
    let f = File::open(archive).map_err(|source| UnpackError::Io {
        op: "open",
        path: archive.to_owned(),
        source,
    })?;
    let dec = zstd::stream::Decoder::new(f).map_err(UnpackError::Archive)?;
    Ok(tar::Archive::new(dec))
}

/// Decompressed bytes arriving from the decompressing thread.
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// Spent chunks go back to the decompressing thread: no allocation or zeroing per chunk.
    back: Sender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    let spent = std::mem::replace(&mut self.chunk, chunk?);
                    let _ = self.back.send(spent);
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decompresses `archive` on its own thread, so that decompression and file creation run on
/// both cores (as `tar --zstd -x` does with two processes). The thread stops when the reader
/// is dropped.
fn pipelined<T>(
    f: File,
    body: impl FnOnce(tar::Archive<ChannelReader>) -> Result<T, UnpackError>,
) -> Result<T, UnpackError> {
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(8);
    let (back, recycled) = channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut dec = match zstd::stream::Decoder::new(f) {
                Ok(d) => d,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            loop {
                let mut chunk = recycled.try_recv().unwrap_or_default();
                chunk.resize(CHUNK, 0);
                let mut filled = 0;
                // Fill whole chunks: fewer hand-overs between the threads.
                while filled < CHUNK {
                    match dec.read(&mut chunk[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                if filled == 0 {
                    return;
                }
                chunk.truncate(filled);
                if tx.send(Ok(chunk)).is_err() {
                    return;
                }
            }
        });
        body(tar::Archive::new(ChannelReader {
            rx,
            back,
            chunk: Vec::new(),
            pos: 0,
        }))
    })
}

const CHUNK: usize = 256 << 10;

/// Checks every entry of an archive without writing anything (import's validation).
pub fn scan(archive: &Path, checker: &mut EntryChecker) -> Result<(), UnpackError> {
    let mut ar = open_archive(archive)?;
    let mut buf = vec![0u8; 1 << 16];
    for e in ar.entries().map_err(UnpackError::Archive)? {
        let mut e = e.map_err(UnpackError::Archive)?;
        let r = read_entry(&mut e)?;
        checker
            .check(&r.path, &r.kind, r.link.as_deref(), r.size)
            .map_err(|reason| hostile(&r.path, reason))?;
        // Read the content so a truncated archive is noticed here, not at restore.
        let mut left = r.size;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = e.read(&mut buf[..want]).map_err(UnpackError::Archive)?;
            if n == 0 {
                return Err(UnpackError::Archive(io::ErrorKind::UnexpectedEof.into()));
            }
            left -= n as u64;
        }
    }
    Ok(())
}

/// Unpacks the archive (an open member file) into `dest`, an empty directory the caller
/// created. The file is opened by the caller so that this can run as the user.
pub fn unpack(
    archive: File,
    dest: &Path,
    checker: &mut EntryChecker,
    own: Ownership,
) -> Result<(), UnpackError> {
    pipelined(archive, |ar| unpack_from(ar, dest, checker, own))
}

fn unpack_from(
    mut ar: tar::Archive<ChannelReader>,
    dest: &Path,
    checker: &mut EntryChecker,
    own: Ownership,
) -> Result<(), UnpackError> {
    let mut made: HashSet<PathBuf> = HashSet::new();
    made.insert(PathBuf::new());
    let mut dirs: Vec<(PathBuf, Meta)> = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    // New files get this thread's effective ids, unless `dest` passes its group down (set-gid;
    // the directories made here get their set-gid bits only at the end): then chown is a
    // no-op for files whose owner is already right, one system call saved per file.
    let inherits_group = std::fs::metadata(dest)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o2000 != 0)
        .unwrap_or(true);
    let created_as = (!inherits_group).then(|| {
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )
    });
    for e in ar.entries().map_err(UnpackError::Archive)? {
        let mut e = e.map_err(UnpackError::Archive)?;
        let r = read_entry(&mut e)?;
        let action = checker
            .check(&r.path, &r.kind, r.link.as_deref(), r.size)
            .map_err(|reason| hostile(&r.path, reason))?;
        let (uid, gid, mode) = owner_and_mode(r.meta.uid, r.meta.gid, r.meta.mode, own.user);
        let meta = Meta {
            uid,
            gid,
            mode,
            mtime: r.meta.mtime,
            xattrs: r.meta.xattrs,
        };
        match action {
            Action::Dir(rel) => {
                let full = dest.join(&rel);
                if !made.contains(&rel) {
                    ensure_parent(dest, &rel, &mut made)?;
                    std::fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&full)
                        .map_err(ioe("create directory", &full))?;
                    made.insert(rel.clone());
                }
                dirs.push((full, meta));
            }
            Action::File(rel) => {
                ensure_parent(dest, &rel, &mut made)?;
                let full = dest.join(&rel);
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&full)
                    .map_err(ioe("create", &full))?;
                let mut left = r.size;
                while left > 0 {
                    let want = left.min(buf.len() as u64) as usize;
                    let n = e.read(&mut buf[..want]).map_err(UnpackError::Archive)?;
                    if n == 0 {
                        return Err(UnpackError::Archive(io::ErrorKind::UnexpectedEof.into()));
                    }
                    f.write_all(&buf[..n]).map_err(ioe("write", &full))?;
                    left -= n as u64;
                }
                if own.chown && created_as != Some((meta.uid, meta.gid)) {
                    std::os::unix::fs::fchown(&f, Some(meta.uid), Some(meta.gid))
                        .map_err(ioe("chown", &full))?;
                }
                // Before chmod: setting a user. attribute needs write permission.
                xattr::write_fd(&f, &meta.xattrs)
                    .map_err(ioe("set extended attributes of", &full))?;
                // After chown, which clears set-id bits.
                f.set_permissions(Permissions::from_mode(meta.mode))
                    .map_err(ioe("chmod", &full))?;
                f.set_times(FileTimes::new().set_modified(system_time(meta.mtime)))
                    .map_err(ioe("set times of", &full))?;
            }
            Action::Symlink { path, target } => {
                ensure_parent(dest, &path, &mut made)?;
                let full = dest.join(&path);
                std::os::unix::fs::symlink(&target, &full).map_err(ioe("create symlink", &full))?;
                finish_meta(&full, &meta, own.chown, false)?;
            }
            Action::HardLink { path, target } => {
                ensure_parent(dest, &path, &mut made)?;
                let full = dest.join(&path);
                std::fs::hard_link(dest.join(&target), &full).map_err(ioe("link", &full))?;
            }
            Action::Fifo(rel) => {
                ensure_parent(dest, &rel, &mut made)?;
                let full = dest.join(&rel);
                rustix::fs::mknodat(CWD, &full, FileType::Fifo, Mode::from_raw_mode(0o600), 0)
                    .map_err(|e| ioe("create fifo", &full)(e.into()))?;
                finish_meta(&full, &meta, own.chown, true)?;
            }
        }
    }
    for (full, meta) in dirs.iter().rev() {
        finish_meta(full, meta, own.chown, true)?;
    }
    Ok(())
}

/// Owner, mode (not for symlinks) and mtime of a path that is not followed.
fn finish_meta(full: &Path, meta: &Meta, chown: bool, chmod: bool) -> Result<(), UnpackError> {
    if chown {
        std::os::unix::fs::lchown(full, Some(meta.uid), Some(meta.gid))
            .map_err(ioe("chown", full))?;
    }
    xattr::write(full, &meta.xattrs).map_err(ioe("set extended attributes of", full))?;
    if chmod {
        rustix::fs::chmodat(CWD, full, Mode::from_raw_mode(meta.mode), AtFlags::empty())
            .map_err(|e| ioe("chmod", full)(e.into()))?;
    }
    let ts = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: meta.mtime.0,
            tv_nsec: i64::from(meta.mtime.1),
        },
    };
    rustix::fs::utimensat(CWD, full, &ts, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| ioe("set times of", full)(e.into()))
}

/// Makes the missing parents of `rel` under `dest` (an entry may come without its directory).
/// The checker guarantees no parent is a symlink the archive made.
fn ensure_parent(dest: &Path, rel: &Path, made: &mut HashSet<PathBuf>) -> Result<(), UnpackError> {
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    if made.contains(parent) {
        return Ok(());
    }
    let full = dest.join(parent);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&full)
        .map_err(ioe("create directory", &full))?;
    let mut p = parent;
    while !p.as_os_str().is_empty() && made.insert(p.to_owned()) {
        p = p.parent().unwrap_or(Path::new(""));
    }
    Ok(())
}

fn system_time((secs, nanos): (i64, u32)) -> SystemTime {
    let secs = u64::try_from(secs).unwrap_or(0);
    UNIX_EPOCH + Duration::new(secs, nanos)
}

fn hostile(path: &[u8], reason: String) -> UnpackError {
    UnpackError::Hostile {
        entry: String::from_utf8_lossy(path).into_owned(),
        reason,
    }
}

fn ioe(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> UnpackError {
    let path = path.to_owned();
    move |source| UnpackError::Io { op, path, source }
}
