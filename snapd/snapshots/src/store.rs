//! The snapshot directory (`var/lib/snapd/snapshots`) and the operations on it that are not
//! restore or export/import: save, list, check, forget, prune.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use snap_core::dirs::Dirs;

use crate::digest::{sha256_file, sha256_hex};
use crate::error::{Result, SnapshotError, io};
use crate::meta::{self, EpochJson, FORMAT, META_FILE, META_SUM_FILE, Snapshot, format_time};
use crate::pack::{Compression, pack};
use crate::plan::{SaveRequest, expired_sets, next_set_id, plan_save};

/// Every snapshot set on disk, and the directories that could not be read.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub sets: BTreeMap<u64, Vec<Snapshot>>,
    /// Directory name and why it is broken (snapd lists these as `broken`).
    pub broken: Vec<(String, String)>,
}

/// The snapshots of one root. Cheap to create; holds no open files.
#[derive(Clone, Debug)]
pub struct Snapshots {
    pub(crate) dirs: Dirs,
    pub(crate) dir: PathBuf,
    pub(crate) compression: Compression,
}

impl Snapshots {
    pub fn new(dirs: &Dirs) -> Self {
        Snapshots {
            dir: dirs.snapd_state_dir().join("snapshots"),
            dirs: dirs.clone(),
            compression: Compression::default(),
        }
    }

    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// `var/lib/snapd/snapshots` under the root.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn ensure_dir(&self) -> Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io("create directory", &self.dir))
    }

    /// A fresh hidden directory inside the snapshot directory, removed when dropped.
    pub(crate) fn scratch(&self, prefix: &str) -> Result<tempfile::TempDir> {
        self.ensure_dir()?;
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&self.dir)
            .map_err(io("create a directory in", &self.dir))
    }

    /// Names of the snapshot directories on disk (hidden staging directories excluded).
    pub(crate) fn dir_names(&self) -> Result<Vec<String>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read", &self.dir)(e)),
        };
        let mut names = Vec::new();
        for e in rd {
            let e = e.map_err(io("read", &self.dir))?;
            if let Some(name) = e.file_name().to_str()
                && meta::set_of_dir_name(name).is_some()
            {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// The id to give the next set: past every id on disk and `last_in_state` (the daemon's
    /// `last-snapshot-set-id`).
    pub fn next_set_id(&self, last_in_state: u64) -> Result<u64> {
        let ids = self
            .dir_names()?
            .iter()
            .filter_map(|n| meta::set_of_dir_name(n))
            .collect::<Vec<_>>();
        Ok(next_set_id(ids, last_in_state))
    }

    /// Saves every snap of the request into set `req.set_id`; all or nothing.
    pub fn save(&self, req: &SaveRequest) -> Result<Vec<Snapshot>> {
        let plans = plan_save(&self.dirs, req)?;
        if self
            .dir_names()?
            .iter()
            .any(|n| meta::set_of_dir_name(n) == Some(req.set_id))
        {
            return Err(SnapshotError::SetExists(req.set_id));
        }
        let staging = self.scratch(".save-")?;
        let mut metas = Vec::new();
        for plan in &plans {
            let sdir = staging.path().join(&plan.dir_name);
            DirBuilder::new()
                .mode(0o700)
                .create(&sdir)
                .map_err(io("create directory", &sdir))?;
            let mut sha256 = BTreeMap::new();
            let mut sizes = BTreeMap::new();
            let mut unpacked = BTreeMap::new();
            let mut users = Vec::new();
            for unit in &plan.units {
                // A user without data for this snap has no member; the system member is always
                // written (possibly empty) so that every snapshot restores the same way.
                if let Some(user) = &unit.user {
                    if !unit.base.is_dir() {
                        continue;
                    }
                    users.push(user.clone());
                    let udir = sdir.join("user");
                    if !udir.exists() {
                        DirBuilder::new()
                            .mode(0o700)
                            .create(&udir)
                            .map_err(io("create directory", &udir))?;
                    }
                }
                let out = sdir.join(&unit.member);
                let as_user = unit.owner.filter(|_| rustix::process::geteuid().is_root());
                let packed = pack(&unit.base, &unit.tops, &out, self.compression, as_user)?;
                sha256.insert(unit.member.clone(), packed.sha256);
                sizes.insert(unit.member.clone(), packed.size);
                unpacked.insert(unit.member.clone(), packed.unpacked);
            }
            users.sort();
            let snap = &plan.snap;
            let m = Snapshot {
                format: FORMAT,
                set: req.set_id,
                snap: snap.name.clone(),
                revision: snap.revision,
                snap_id: snap.snap_id.clone(),
                epoch: EpochJson::from(&snap.epoch),
                summary: snap.summary.clone(),
                version: snap.version.clone(),
                time: format_time(req.time),
                users,
                conf: snap.conf.clone(),
                size: sizes.values().sum(),
                sha256,
                sizes,
                unpacked,
                auto: req.expiry.is_some(),
                expiry_time: req.expiry.map(format_time),
            };
            write_meta(&sdir, &m)?;
            metas.push(m);
        }
        // Publish: one rename per snapshot; undo the ones done if a later one fails.
        let mut published: Vec<PathBuf> = Vec::new();
        for plan in &plans {
            let from = staging.path().join(&plan.dir_name);
            let to = self.dir.join(&plan.dir_name);
            if let Err(e) = std::fs::rename(&from, &to) {
                for p in &published {
                    let _ = std::fs::remove_dir_all(p);
                }
                return Err(io("rename", &from)(e));
            }
            published.push(to);
        }
        sync_dir(&self.dir)?;
        Ok(metas)
    }

    /// Every set on disk, each snapshot's `meta.json` checked against `meta.sha256`.
    pub fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        for name in self.dir_names()? {
            match read_meta(&self.dir.join(&name)) {
                Ok(m) if m.dir_name() == name => listing.sets.entry(m.set).or_default().push(m),
                Ok(_) => listing
                    .broken
                    .push((name, "meta.json does not match the name".into())),
                Err(e) => listing.broken.push((name, e.to_string())),
            }
        }
        for snaps in listing.sets.values_mut() {
            snaps.sort_by(|a, b| a.snap.cmp(&b.snap));
        }
        Ok(listing)
    }

    /// The snapshots of one set; a broken snapshot in it is an error.
    pub fn set(&self, id: u64) -> Result<Vec<Snapshot>> {
        let mut snaps = Vec::new();
        for name in self.dir_names()? {
            if meta::set_of_dir_name(&name) != Some(id) {
                continue;
            }
            let m = read_meta(&self.dir.join(&name))?;
            if m.dir_name() != name || m.set != id {
                return Err(SnapshotError::BadMeta {
                    snapshot: name,
                    reason: "meta.json does not match the name".into(),
                });
            }
            snaps.push(m);
        }
        if snaps.is_empty() {
            return Err(SnapshotError::SetNotFound(id));
        }
        snaps.sort_by(|a, b| a.snap.cmp(&b.snap));
        Ok(snaps)
    }

    /// Verifies the checksum and size of every member of the set (of the given snaps, and of
    /// the given users' members when `users` is set).
    pub fn check(&self, id: u64, snaps: &[String], users: Option<&[String]>) -> Result<()> {
        let set = self.select(id, snaps)?;
        for m in &set {
            let sdir = self.dir.join(m.dir_name());
            for (member, expected) in &m.sha256 {
                if let (Some(users), Some(meta::MemberKind::User(u))) =
                    (users, meta::parse_member(member))
                    && !users.contains(&u)
                {
                    continue;
                }
                verify_member(&sdir, m, member, expected)?;
            }
        }
        Ok(())
    }

    /// The set's snapshots of the given snaps (all when empty); unknown snaps are an error.
    pub(crate) fn select(&self, id: u64, snaps: &[String]) -> Result<Vec<Snapshot>> {
        let set = self.set(id)?;
        for s in snaps {
            if !set.iter().any(|m| &m.snap == s) {
                return Err(SnapshotError::SnapNotInSet {
                    set: id,
                    snap: s.clone(),
                });
            }
        }
        Ok(set
            .into_iter()
            .filter(|m| snaps.is_empty() || snaps.contains(&m.snap))
            .collect())
    }

    /// Deletes the set (or only the given snaps' snapshots in it).
    pub fn forget(&self, id: u64, snaps: &[String]) -> Result<()> {
        for m in self.select(id, snaps)? {
            let path = self.dir.join(m.dir_name());
            // Renamed away first, so that a crash mid-delete leaves no half snapshot listed.
            let doomed = self.dir.join(format!(".forget-{}", m.dir_name()));
            // A leftover of an interrupted forget of a snapshot with the same name.
            let _ = std::fs::remove_dir_all(&doomed);
            std::fs::rename(&path, &doomed).map_err(io("rename", &path))?;
            std::fs::remove_dir_all(&doomed).map_err(io("remove", &doomed))?;
        }
        Ok(())
    }

    /// Forgets every set all of whose snapshots expired at `now`; returns their ids.
    pub fn prune_expired(&self, now: SystemTime) -> Result<Vec<u64>> {
        let expired = expired_sets(&self.list()?.sets, now);
        for id in &expired {
            self.forget(*id, &[])?;
        }
        Ok(expired)
    }

    /// Removes what interrupted saves, imports and forgets left in the snapshot directory
    /// (hidden `.save-*`, `.import-*`, `.forget-*` directories); for the daemon's start-up.
    pub fn clean_staging(&self) -> Result<()> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("read", &self.dir)(e)),
        };
        for e in rd {
            let e = e.map_err(io("read", &self.dir))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if [".save-", ".import-", ".forget-"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                std::fs::remove_dir_all(e.path()).map_err(io("remove", e.path()))?;
            }
        }
        Ok(())
    }

    /// Ids of the sets on disk.
    pub fn set_ids(&self) -> Result<BTreeSet<u64>> {
        Ok(self
            .dir_names()?
            .iter()
            .filter_map(|n| meta::set_of_dir_name(n))
            .collect())
    }
}

/// Writes `meta.json` and `meta.sha256` into a snapshot directory.
pub(crate) fn write_meta(sdir: &Path, m: &Snapshot) -> Result<()> {
    let json = serde_json::to_vec_pretty(m).map_err(|e| SnapshotError::BadMeta {
        snapshot: m.dir_name(),
        reason: e.to_string(),
    })?;
    write_private(&sdir.join(META_FILE), &json)?;
    write_private(
        &sdir.join(META_SUM_FILE),
        format!("{}\n", sha256_hex(&json)).as_bytes(),
    )
}

/// Writes a file readable by root only (snapshots hold users' data and configuration).
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(io("write", path))
}

/// Reads and validates a snapshot's `meta.json` against `meta.sha256`.
pub(crate) fn read_meta(sdir: &Path) -> Result<Snapshot> {
    let name = sdir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = |reason: String| SnapshotError::BadMeta {
        snapshot: name.clone(),
        reason,
    };
    let path = sdir.join(META_FILE);
    let json = std::fs::read(&path).map_err(io("read", &path))?;
    let sum_path = sdir.join(META_SUM_FILE);
    let sum = std::fs::read_to_string(&sum_path).map_err(io("read", &sum_path))?;
    if sum.trim_end() != sha256_hex(&json) {
        return Err(SnapshotError::Checksum {
            snapshot: name.clone(),
            member: META_FILE.into(),
            expected: sum.trim_end().to_owned(),
            found: sha256_hex(&json),
        });
    }
    let m: Snapshot = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    m.validate().map_err(bad)?;
    Ok(m)
}

/// Checks one member's size and SHA-256 against the metadata.
pub(crate) fn verify_member(sdir: &Path, m: &Snapshot, member: &str, expected: &str) -> Result<()> {
    let (found, len) = sha256_file(&sdir.join(member))?;
    if found != expected || Some(&len) != m.sizes.get(member) {
        return Err(SnapshotError::Checksum {
            snapshot: m.dir_name(),
            member: member.to_owned(),
            expected: expected.to_owned(),
            found,
        });
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))
}
