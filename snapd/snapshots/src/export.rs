//! Export and import of a set as one stream: an uncompressed tar holding each snapshot's
//! directory (`<dir>/meta.json`, `<dir>/meta.sha256`, `<dir>/archive.tar.zst`,
//! `<dir>/user/<name>.tar.zst`) and, last, `export.json` listing every file, so an importer
//! knows the stream is complete (snapd's layout, with directories instead of zips).
//!
//! Import trusts nothing: names are checked before anything is written, everything lands in a
//! hidden staging directory, and a set is published only after its metadata, checksums and
//! every archive entry passed the same rules a restore applies.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tar::{EntryType, Header};

use crate::entry::EntryChecker;
use crate::error::{Result, SnapshotError, io};
use crate::meta::{self, META_FILE, META_SUM_FILE, Snapshot};
use crate::plan::{next_set_id, tops};
use crate::store::{Snapshots, read_meta, sync_dir, verify_member, write_meta};
use crate::unpack::{UnpackError, scan};

pub const EXPORT_FILE: &str = "export.json";
/// `meta.json`, `meta.sha256` and `export.json` are small; a bigger one is refused unread.
const MAX_SMALL_FILE: u64 = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct ExportJson {
    format: u32,
    set: u64,
    snaps: Vec<String>,
    files: Vec<String>,
}

/// What an import published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub set_id: u64,
    pub snaps: Vec<String>,
    /// True when an identical set was already there (its id is returned, nothing added).
    pub duplicate: bool,
}

struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Snapshots {
    /// Writes set `id` as one export stream; returns its length.
    pub fn export(&self, id: u64, w: impl Write) -> Result<u64> {
        self.write_export(id, w, false)
    }

    /// The length [`Snapshots::export`] will write (for `Content-Length`), without reading the
    /// archives.
    pub fn export_len(&self, id: u64) -> Result<u64> {
        self.write_export(id, io::sink(), true)
    }

    fn write_export(&self, id: u64, w: impl Write, zeros: bool) -> Result<u64> {
        let set = self.set(id)?;
        let werr = |e| io("write export of", self.dir.clone())(e);
        let mut tar = tar::Builder::new(Counting { inner: w, n: 0 });
        let mut files = Vec::new();
        for m in &set {
            let dir = m.dir_name();
            let names = [META_FILE.to_owned(), META_SUM_FILE.to_owned()]
                .into_iter()
                .chain(m.sha256.keys().cloned());
            for name in names {
                let path = self.dir.join(&dir).join(&name);
                let file = File::open(&path).map_err(io("open", &path))?;
                let len = file.metadata().map_err(io("stat", &path))?.len();
                let mut h = plain_header(len);
                let entry = format!("{dir}/{name}");
                if zeros {
                    tar.append_data(&mut h, &entry, io::repeat(0).take(len))
                        .map_err(werr)?;
                } else {
                    tar.append_data(&mut h, &entry, file.take(len))
                        .map_err(werr)?;
                }
                files.push(entry);
            }
        }
        let ej = ExportJson {
            format: meta::FORMAT,
            set: id,
            snaps: set.iter().map(|m| m.snap.clone()).collect(),
            files,
        };
        let json = serde_json::to_vec(&ej).map_err(|e| werr(e.into()))?;
        let mut h = plain_header(json.len() as u64);
        tar.append_data(&mut h, EXPORT_FILE, json.as_slice())
            .map_err(werr)?;
        let mut counting = tar.into_inner().map_err(werr)?;
        counting.flush().map_err(werr)?;
        Ok(counting.n)
    }

    /// Reads an export stream, validates it completely and publishes it as a new set (past
    /// `last_in_state` and every set on disk). A set identical to one already there is not
    /// added twice.
    pub fn import(&self, r: impl Read, last_in_state: u64) -> Result<Imported> {
        let staging = self.scratch(".import-")?;
        let received = receive(r, staging.path())?;
        let mut metas: Vec<Snapshot> = Vec::new();
        for (dir, members) in &received {
            let sdir = staging.path().join(dir);
            let m = read_meta(&sdir).map_err(|e| bad(format!("{dir}: {e}")))?;
            if &m.dir_name() != dir {
                return Err(bad(format!("{dir}: meta.json names {}", m.dir_name())));
            }
            let expected: BTreeSet<&String> = m.sha256.keys().collect();
            if expected != members.iter().collect() {
                return Err(bad(format!("{dir}: members do not match meta.json")));
            }
            for (member, sum) in &m.sha256 {
                verify_member(&sdir, &m, member, sum)?;
                let limit = m.unpacked.get(member).copied().unwrap_or(0);
                let mut checker = EntryChecker::new(tops(m.revision, m.revision), limit);
                scan(&sdir.join(member), &mut checker).map_err(|e| match e {
                    UnpackError::Hostile { entry, reason } => SnapshotError::HostileEntry {
                        snapshot: dir.clone(),
                        member: member.clone(),
                        entry,
                        reason,
                    },
                    UnpackError::Archive(source) => SnapshotError::Archive {
                        snapshot: dir.clone(),
                        member: member.clone(),
                        source,
                    },
                    UnpackError::Io { op, path, source } => SnapshotError::Io { op, path, source },
                })?;
            }
            metas.push(m);
        }
        metas.sort_by(|a, b| a.snap.cmp(&b.snap));
        // One snapshot per snap, as a save makes: two would restore over each other.
        if metas.windows(2).any(|w| w[0].snap == w[1].snap) {
            return Err(bad("two snapshots of the same snap".into()));
        }
        let snaps: Vec<String> = metas.iter().map(|m| m.snap.clone()).collect();
        if let Some(id) = self.identical_set(&metas)? {
            return Ok(Imported {
                set_id: id,
                snaps,
                duplicate: true,
            });
        }
        let id = next_set_id(self.set_ids()?, last_in_state);
        let mut published: Vec<PathBuf> = Vec::new();
        for m in &mut metas {
            let old = staging.path().join(m.dir_name());
            m.set = id;
            write_meta(&old, m)?;
            let to = self.dir.join(m.dir_name());
            if let Err(e) = std::fs::rename(&old, &to) {
                for p in &published {
                    let _ = std::fs::remove_dir_all(p);
                }
                return Err(io("rename", &old)(e));
            }
            published.push(to);
        }
        sync_dir(&self.dir)?;
        Ok(Imported {
            set_id: id,
            snaps,
            duplicate: false,
        })
    }

    /// A set on disk with the same snaps, revisions and member checksums.
    fn identical_set(&self, metas: &[Snapshot]) -> Result<Option<u64>> {
        let key = |ms: &[Snapshot]| -> Vec<(String, String, BTreeMap<String, String>)> {
            ms.iter()
                .map(|m| (m.snap.clone(), m.revision.to_string(), m.sha256.clone()))
                .collect()
        };
        let want = key(metas);
        Ok(self
            .list()?
            .sets
            .iter()
            .find(|(_, ms)| key(ms) == want)
            .map(|(id, _)| *id))
    }
}

fn plain_header(len: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(EntryType::Regular);
    h.set_mode(0o600);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(len);
    h
}

fn bad(reason: String) -> SnapshotError {
    SnapshotError::Import(reason)
}

/// Reads the stream into `staging`, checking names before writing; returns each snapshot
/// directory with its member names. `export.json` must come last and list exactly what came.
fn receive(r: impl Read, staging: &std::path::Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut ar = tar::Archive::new(r);
    let mut dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut metas_seen: BTreeMap<String, u8> = BTreeMap::new();
    let mut files: Vec<String> = Vec::new();
    let mut export: Option<ExportJson> = None;
    let mut set: Option<u64> = None;
    let mut buf = vec![0u8; 1 << 20];
    for e in ar
        .entries()
        .map_err(|e| bad(format!("not a tar stream: {e}")))?
    {
        let mut e = e.map_err(|e| bad(format!("corrupt stream: {e}")))?;
        if export.is_some() {
            return Err(bad("entries after export.json".into()));
        }
        let name = String::from_utf8(e.path_bytes().into_owned())
            .map_err(|_| bad("non-UTF-8 name".into()))?;
        if !matches!(
            e.header().entry_type(),
            EntryType::Regular | EntryType::Continuous
        ) {
            return Err(bad(format!("{name:?} is not a regular file")));
        }
        let size = e.size();
        if name == EXPORT_FILE {
            if size > MAX_SMALL_FILE {
                return Err(bad("export.json too large".into()));
            }
            let mut json = Vec::new();
            e.read_to_end(&mut json)
                .map_err(|e| bad(format!("corrupt stream: {e}")))?;
            export =
                Some(serde_json::from_slice(&json).map_err(|e| bad(format!("export.json: {e}")))?);
            continue;
        }
        let (dir, rest) = name
            .split_once('/')
            .ok_or_else(|| bad(format!("unexpected file {name:?}")))?;
        let id = meta::set_of_dir_name(dir)
            .ok_or_else(|| bad(format!("unexpected directory {dir:?}")))?;
        if *set.get_or_insert(id) != id {
            return Err(bad("files of more than one set".into()));
        }
        let small = rest == META_FILE || rest == META_SUM_FILE;
        if !small && meta::parse_member(rest).is_none() {
            return Err(bad(format!("unexpected file {name:?}")));
        }
        if small && size > MAX_SMALL_FILE {
            return Err(bad(format!("{name} too large")));
        }
        if files.contains(&name) {
            return Err(bad(format!("{name} appears twice")));
        }
        let sdir = staging.join(dir);
        if !sdir.exists() {
            DirBuilder::new()
                .mode(0o700)
                .create(&sdir)
                .map_err(io("create directory", &sdir))?;
        }
        if rest.starts_with("user/") && !sdir.join("user").exists() {
            DirBuilder::new()
                .mode(0o700)
                .create(sdir.join("user"))
                .map_err(io("create directory", &sdir))?;
        }
        let path = sdir.join(rest);
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io("create", &path))?;
        let mut left = size;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = e
                .read(&mut buf[..want])
                .map_err(|e| bad(format!("corrupt stream: {e}")))?;
            if n == 0 {
                return Err(bad("truncated stream".into()));
            }
            out.write_all(&buf[..n]).map_err(io("write", &path))?;
            left -= n as u64;
        }
        if small {
            *metas_seen.entry(dir.to_owned()).or_default() += 1;
        } else {
            dirs.entry(dir.to_owned())
                .or_default()
                .insert(rest.to_owned());
        }
        files.push(name);
    }
    let export = export.ok_or_else(|| bad("no export.json: the stream is incomplete".into()))?;
    if export.format != meta::FORMAT {
        return Err(bad(format!("unsupported export format {}", export.format)));
    }
    let listed: BTreeSet<&String> = export.files.iter().collect();
    if listed != files.iter().collect() || export.files.len() != files.len() {
        return Err(bad("export.json does not list the files received".into()));
    }
    if dirs.is_empty() {
        return Err(bad("no snapshots in the stream".into()));
    }
    for dir in dirs.keys() {
        if metas_seen.get(dir) != Some(&2) {
            return Err(bad(format!("{dir}: meta.json or meta.sha256 missing")));
        }
    }
    if metas_seen.keys().any(|d| !dirs.contains_key(d)) {
        return Err(bad("metadata without archives".into()));
    }
    Ok(dirs)
}
