//! Writing one archive member: the tops of a data base (`<rev>`, `common`) as a tar stream
//! compressed by multithreaded zstd, hashed (SHA-256) on its way to the file.
//!
//! The walk is sorted, so the same tree gives the same archive. Ownership, modes, nanosecond
//! mtimes and `user.` extended attributes (PAX), symlinks, hard links and fifos are kept; sockets are skipped as GNU tar does;
//! device nodes and symlinks that a restore would refuse make the save fail rather than write a
//! snapshot that cannot be restored.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header, HeaderMode};

use crate::creds::AsUser;
use crate::digest::HashingWriter;
use crate::entry::{Top, check_symlink_target};
use crate::error::{Result, SnapshotError, io};
use crate::{pax, xattr};

/// Compression settings. Level 1, not zstd's default 3 (what `tar --zstd` uses): on this
/// machine's data mix it costs about a quarter less CPU for archives about 2% larger, which is
/// what keeps save ahead of `tar --zstd` when the cores are busy (see spec/decisions.md).
#[derive(Clone, Copy, Debug)]
pub struct Compression {
    pub level: i32,
    /// zstd worker threads; 0 compresses on the calling thread.
    pub workers: u32,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            level: 1,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    pub sha256: String,
    /// Bytes of the member file.
    pub size: u64,
    /// Sum of the regular files' sizes in the archive.
    pub unpacked: u64,
}

/// Packs the tops of `base` that exist into a new file `out` (mode 0600). With `as_user`, the
/// data is read as that user (`out` is opened first, as root).
pub fn pack(
    base: &Path,
    tops: &[Top],
    out: &Path,
    comp: Compression,
    as_user: Option<(u32, u32)>,
) -> Result<Packed> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(io("create", out))?;
    let hashing = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
    let werr = io("write", out);
    let mut enc = zstd::stream::Encoder::new(hashing, comp.level).map_err(io("write", out))?;
    if comp.workers > 0 {
        enc.multithread(comp.workers).map_err(io("write", out))?;
    }
    let mut tar = tar::Builder::new(enc);
    let user = AsUser::enter(as_user)?;
    let mut unpacked = 0u64;
    let mut walk = Walk {
        links: HashMap::new(),
        buf: vec![0u8; 1 << 20],
        xbuf: Vec::new(),
    };
    for top in tops {
        let dir = base.join(&top.archived);
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("stat", &dir)(e)),
            Ok(m) if !m.is_dir() => {
                return Err(SnapshotError::Unsavable {
                    path: dir,
                    reason: "not a directory".into(),
                });
            }
            Ok(_) => {}
        }
        for entry in walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&dir).to_owned();
                io("read", path)(e.into())
            })?;
            let rel = Path::new(&top.archived)
                .join(entry.path().strip_prefix(&dir).unwrap_or(Path::new("")));
            let meta = entry
                .metadata()
                .map_err(|e| io("stat", entry.path())(e.into()))?;
            unpacked += append(
                &mut tar,
                entry.path(),
                &rel,
                entry.depth(),
                &meta,
                &mut walk,
            )?;
        }
    }
    drop(user);
    let enc = tar.into_inner().map_err(io("write", out))?;
    let hashing = enc.finish().map_err(io("write", out))?;
    let (buffered, sha256, size) = hashing.finish();
    let file = buffered.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(io("sync", out))?;
    Ok(Packed {
        sha256,
        size,
        unpacked,
    })
}

/// What the walk carries from entry to entry.
struct Walk {
    /// First path of each multiply-linked inode, for hard-link entries.
    links: HashMap<(u64, u64), PathBuf>,
    /// Copy buffer for file contents.
    buf: Vec<u8>,
    /// Buffer for extended attribute names.
    xbuf: Vec<u8>,
}

/// Appends one entry; returns the content bytes it added.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    src: &Path,
    rel: &Path,
    depth: usize,
    meta: &std::fs::Metadata,
    walk: &mut Walk,
) -> Result<u64> {
    let Walk { links, buf, xbuf } = walk;
    let ft = meta.file_type();
    if ft.is_socket() {
        return Ok(0);
    }
    if ft.is_block_device() || ft.is_char_device() {
        return Err(SnapshotError::Unsavable {
            path: src.to_owned(),
            reason: "device nodes are not saved".into(),
        });
    }
    let werr = |e| io("archive", src)(e);
    let mut pax_data = Vec::new();
    if meta.mtime_nsec() != 0 {
        let t = pax::mtime_value(meta.mtime(), meta.mtime_nsec() as u32);
        pax_data.extend(pax::record("mtime", t.as_bytes()));
    }
    if !ft.is_symlink() {
        for (name, value) in
            xattr::read(src, xbuf).map_err(io("read extended attributes of", src))?
        {
            pax_data.extend(pax::record(&format!("{}{name}", xattr::PAX_PREFIX), &value));
        }
    }
    if !pax_data.is_empty() {
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::XHeader);
        h.set_path("PaxHeader").map_err(werr)?;
        h.set_size(pax_data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append(&h, pax_data.as_slice()).map_err(werr)?;
    }
    let mut h = Header::new_gnu();
    h.set_metadata_in_mode(meta, HeaderMode::Complete);
    if ft.is_dir() {
        h.set_size(0);
        let mut name = rel.as_os_str().to_owned();
        name.push("/");
        tar.append_data(&mut h, name, io::empty()).map_err(werr)?;
        return Ok(0);
    }
    if ft.is_symlink() {
        let target = std::fs::read_link(src).map_err(io("read link", src))?;
        use std::os::unix::ffi::OsStrExt;
        check_symlink_target(depth, target.as_os_str().as_bytes()).map_err(|reason| {
            SnapshotError::Unsavable {
                path: src.to_owned(),
                reason: format!("{reason} ({target:?}): a restore would refuse it"),
            }
        })?;
        h.set_size(0);
        tar.append_link(&mut h, rel, &target).map_err(werr)?;
        return Ok(0);
    }
    if ft.is_fifo() {
        h.set_size(0);
        tar.append_data(&mut h, rel, io::empty()).map_err(werr)?;
        return Ok(0);
    }
    if meta.nlink() > 1 {
        match links.get(&(meta.dev(), meta.ino())) {
            Some(first) => {
                h.set_entry_type(EntryType::Link);
                h.set_size(0);
                tar.append_link(&mut h, rel, first).map_err(werr)?;
                return Ok(0);
            }
            None => {
                links.insert((meta.dev(), meta.ino()), rel.to_owned());
            }
        }
    }
    let size = meta.len();
    let mut file = File::open(src).map_err(io("open", src))?;
    // The header alone (tar writes no padding after empty data), then the content in large
    // blocks straight into the encoder: the tar crate would copy it 8 KiB at a time.
    tar.append_data(&mut h, rel, io::empty()).map_err(werr)?;
    let out = tar.get_mut();
    let mut left = size;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = file.read(&mut buf[..want]).map_err(io("read", src))?;
        if n == 0 {
            return Err(SnapshotError::Unsavable {
                path: src.to_owned(),
                reason: "file shrank while being saved".into(),
            });
        }
        out.write_all(&buf[..n]).map_err(werr)?;
        left -= n as u64;
    }
    let pad = (512 - size % 512) % 512;
    out.write_all(&[0u8; 512][..pad as usize]).map_err(werr)?;
    Ok(size)
}
