//! Restore: every archive of the request is unpacked into a fresh hidden directory beside its
//! target while its checksum is computed on another thread; only when every archive of every
//! snap passed (checksum, entry rules, space) are the old directories renamed aside and the
//! new ones renamed in. Any failure before or during the swap puts the old data back.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use snap_core::Revision;

use crate::creds::AsUser;
use crate::digest::sha256_open;
use crate::entry::EntryChecker;
use crate::error::{Result, SnapshotError, io};
use crate::plan::{RestoreRequest, Unit, plan_restore};
use crate::store::Snapshots;
use crate::unpack::{Ownership, UnpackError, unpack};

/// One snap whose data was restored, with the configuration saved with it (the daemon applies
/// it).
#[derive(Clone, Debug, PartialEq)]
pub struct Restored {
    pub snap: String,
    pub revision: Revision,
    pub conf: Option<serde_json::Value>,
}

/// An archive unpacked and verified, waiting to be swapped in.
struct Staged {
    base: PathBuf,
    tmp: Option<tempfile::TempDir>,
    tops: Vec<String>,
    /// For user data restored by root: the ids every step in the home runs as.
    as_user: Option<(u32, u32)>,
}

impl Staged {
    fn tmp(&self) -> &Path {
        self.tmp.as_ref().map_or(Path::new(""), |t| t.path())
    }
}

/// Removes the staging directories (the old data after a swap, the new data after a failure),
/// each as the user it belongs to.
fn clean_up(staged: Vec<Staged>) {
    for mut st in staged {
        let _user = AsUser::enter(st.as_user);
        drop(st.tmp.take());
    }
}

/// Directories this restore created for bases that did not exist (removed again on failure).
#[derive(Default)]
struct Created(Vec<(PathBuf, Option<(u32, u32)>)>);

impl Created {
    fn undo(&self) {
        for (d, as_user) in self.0.iter().rev() {
            let _user = AsUser::enter(*as_user);
            let _ = std::fs::remove_dir(d);
        }
    }
}

impl Snapshots {
    /// Restores the request's snaps (and users) from a set. Nothing is changed unless every
    /// archive involved verified and unpacked.
    pub fn restore(&self, req: &RestoreRequest) -> Result<Vec<Restored>> {
        let set = self.select(req.set_id, &req.snaps)?;
        let plans = plan_restore(&self.dirs, &set, req)?;
        let chown = rustix::process::geteuid().is_root();
        let mut created = Created::default();
        let mut staged = Vec::new();
        for plan in &plans {
            let s = &plan.snapshot;
            let sdir = self.dir.join(s.dir_name());
            for unit in &plan.units {
                // As snapd: a user whose home is gone gets nothing restored.
                let home = unit.base.parent().and_then(Path::parent);
                if unit.user.is_some() && !home.is_some_and(Path::is_dir) {
                    continue;
                }
                match stage(&sdir, s, unit, chown, &mut created) {
                    Ok(st) => staged.push(st),
                    Err(e) => {
                        clean_up(staged);
                        created.undo();
                        return Err(e);
                    }
                }
            }
        }
        if let Err(e) = swap_in(&staged) {
            clean_up(staged);
            created.undo();
            return Err(e);
        }
        // Removing the staging directories removes the old data moved into them.
        clean_up(staged);
        Ok(plans
            .iter()
            .map(|p| Restored {
                snap: p.snapshot.snap.clone(),
                revision: req
                    .revisions
                    .get(&p.snapshot.snap)
                    .copied()
                    .unwrap_or(p.snapshot.revision),
                conf: p.snapshot.conf.clone(),
            })
            .collect())
    }
}

/// Unpacks one archive beside its target and verifies it. For user data restored by root,
/// everything in the home runs as the user ([`AsUser`]); the member file is opened first.
fn stage(
    sdir: &Path,
    s: &crate::meta::Snapshot,
    unit: &Unit,
    chown: bool,
    created: &mut Created,
) -> Result<Staged> {
    let member = sdir.join(&unit.member);
    let expected = s.sha256.get(&unit.member).cloned().unwrap_or_default();
    let limit = s.unpacked.get(&unit.member).copied().unwrap_or(0);
    let open = || File::open(&member).map_err(io("open", &member));
    let (for_hash, for_unpack) = (open()?, open()?);
    let as_user = unit.owner.filter(|_| chown);
    let _user = AsUser::enter(as_user)?;
    make_base(&unit.base, as_user, created)?;
    check_space(&unit.base, limit)?;
    let tmp = tempfile::Builder::new()
        .prefix(".snapshot-restore-")
        .tempdir_in(&unit.base)
        .map_err(io("create a directory in", &unit.base))?;
    let mut checker = EntryChecker::new(unit.tops.clone(), limit);
    let own = Ownership {
        user: unit.owner,
        chown,
    };
    // Hash on another core while unpacking on this one; nothing is swapped in before both end.
    let (hashed, unpacked) = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| sha256_open(for_hash, &member));
        let unpacked = unpack(for_unpack, tmp.path(), &mut checker, own);
        (hasher.join(), unpacked)
    });
    let (found, len) = hashed.map_err(|_| SnapshotError::Io {
        op: "hash",
        path: member.clone(),
        source: std::io::Error::other("hashing thread panicked"),
    })??;
    if found != expected || Some(&len) != s.sizes.get(&unit.member) {
        return Err(SnapshotError::Checksum {
            snapshot: s.dir_name(),
            member: unit.member.clone(),
            expected,
            found,
        });
    }
    unpacked.map_err(|e| match e {
        UnpackError::Hostile { entry, reason } => SnapshotError::HostileEntry {
            snapshot: s.dir_name(),
            member: unit.member.clone(),
            entry,
            reason,
        },
        UnpackError::Archive(source) => SnapshotError::Archive {
            snapshot: s.dir_name(),
            member: unit.member.clone(),
            source,
        },
        UnpackError::Io { op, path, source } => SnapshotError::Io { op, path, source },
    })?;
    let tops = unit
        .tops
        .iter()
        .map(|t| t.restored.clone())
        .filter(|t| tmp.path().join(t).symlink_metadata().is_ok())
        .collect();
    Ok(Staged {
        base: unit.base.clone(),
        tmp: Some(tmp),
        tops,
        as_user,
    })
}

/// Creates the data base if missing (a removed snap's data). For user data this runs as the
/// user, so what it creates is the user's.
fn make_base(base: &Path, owner: Option<(u32, u32)>, created: &mut Created) -> Result<()> {
    let mut missing = Vec::new();
    let mut p = base;
    while std::fs::symlink_metadata(p).is_err() {
        missing.push(p.to_owned());
        p = match p.parent() {
            Some(parent) => parent,
            None => break,
        };
    }
    for d in missing.iter().rev() {
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(d)
            .map_err(io("create directory", d))?;
        created.0.push((d.clone(), owner));
    }
    let m = std::fs::symlink_metadata(base).map_err(io("stat", base))?;
    if !m.is_dir() {
        return Err(SnapshotError::Io {
            op: "restore into",
            path: base.to_owned(),
            source: std::io::Error::other("not a directory"),
        });
    }
    // The owner check is for user data only: a home's snap directory owned by someone else
    // is not where this user's data goes.
    if let Some((uid, _)) = owner
        && m.uid() != uid
    {
        return Err(SnapshotError::Io {
            op: "restore into",
            path: base.to_owned(),
            source: std::io::Error::other("owned by another user"),
        });
    }
    Ok(())
}

fn check_space(base: &Path, need: u64) -> Result<()> {
    let st = rustix::fs::statvfs(base).map_err(|e| io("statfs", base)(e.into()))?;
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    if need > free {
        return Err(SnapshotError::NoSpace {
            path: base.to_owned(),
            need,
            free,
        });
    }
    Ok(())
}

/// A rename done (from, to) and the user it was done as.
type Renamed = (PathBuf, PathBuf, Option<(u32, u32)>);

/// Renames each old top into its staging directory and the new one into place (as the user
/// for user data); undoes every rename done so far if one fails.
fn swap_in(staged: &[Staged]) -> Result<()> {
    let mut done: Vec<Renamed> = Vec::new();
    let result = (|| {
        for st in staged {
            let _user = AsUser::enter(st.as_user)?;
            for top in &st.tops {
                let target = st.base.join(top);
                let new = st.tmp().join(top);
                if target.symlink_metadata().is_ok() {
                    let aside = st.tmp().join(format!(".old-{top}"));
                    std::fs::rename(&target, &aside).map_err(io("rename", &target))?;
                    done.push((target.clone(), aside, st.as_user));
                }
                std::fs::rename(&new, &target).map_err(io("rename", &new))?;
                done.push((new, target, st.as_user));
            }
        }
        Ok(())
    })();
    if result.is_err() {
        for (from, to, as_user) in done.iter().rev() {
            let _user = AsUser::enter(*as_user);
            let _ = std::fs::rename(to, from);
        }
    }
    result
}
