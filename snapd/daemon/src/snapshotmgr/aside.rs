//! The data a restore replaces, kept until its change is over so that an undo can put it back
//! (snapd moves it to `NAME.~xxx~` and deletes it in `cleanup-after-restore`), and the
//! recovery of what an interrupted engine restore left in a data directory.
//!
//! Before the engine restores a snap, each of its data directories (`REV`, `common`, system's
//! and every user's) is renamed to a hidden sibling, and the moves are recorded in the task.
//! The engine then restores into absent directories, so it never holds old data itself; a
//! crash at any point leaves the old data in a recorded hidden directory, from which the
//! re-run (or the undo) of the task puts it back.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::creds::AsUser;

/// The prefix of the engine's unpacking directories (`.snapshot-restore-*`).
const ENGINE_STAGING: &str = ".snapshot-restore-";
/// Inside one: the old data the engine moved aside (`.old-TOP`).
const ENGINE_OLD: &str = ".old-";

/// One data directory moved aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub dir: PathBuf,
    pub aside: PathBuf,
    /// For user data: the user every step runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<(u32, u32)>,
}

/// Where `dir` goes: a hidden sibling named after the task, so that two tasks never collide.
pub fn aside_path(dir: &Path, tag: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".snapshot-undo-{tag}-{name}"))
}

/// Renames `m.dir` aside if it exists; returns whether it did.
pub fn move_aside(m: &Moved) -> io::Result<bool> {
    let _user = AsUser::enter(m.owner)?;
    if m.dir.symlink_metadata().is_err() {
        return Ok(false);
    }
    // A leftover of an earlier attempt whose record was lost holds nothing recorded.
    if m.aside.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(&m.aside)?;
    }
    std::fs::rename(&m.dir, &m.aside)?;
    Ok(true)
}

/// Puts the old data back in place of whatever is there now (restored or partial data).
/// Nothing to do once it is back.
pub fn put_back(m: &Moved) -> io::Result<()> {
    let _user = AsUser::enter(m.owner)?;
    if m.aside.symlink_metadata().is_err() {
        return Ok(());
    }
    if m.dir.symlink_metadata().is_ok() {
        remove_any(&m.dir)?;
    }
    std::fs::rename(&m.aside, &m.dir)
}

/// After a restore: a directory the snapshot had no copy of is not replaced, so its old data
/// goes back. Returns whether the old data is still aside (the snapshot replaced it).
pub fn keep_if_replaced(m: &Moved) -> io::Result<bool> {
    let _user = AsUser::enter(m.owner)?;
    if m.aside.symlink_metadata().is_err() {
        return Ok(false);
    }
    if m.dir.symlink_metadata().is_ok() {
        return Ok(true);
    }
    std::fs::rename(&m.aside, &m.dir)?;
    Ok(false)
}

/// Deletes the old data once the change no longer needs it.
pub fn discard(m: &Moved) -> io::Result<()> {
    let _user = AsUser::enter(m.owner)?;
    match m.aside.symlink_metadata() {
        Ok(_) => remove_any(&m.aside),
        Err(_) => Ok(()),
    }
}

fn remove_any(p: &Path) -> io::Result<()> {
    if p.symlink_metadata()?.is_dir() {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    }
}

/// Recovers the engine's unpacking directories left in the data bases `bases` (each a
/// `var/snap/NAME` or `~/snap/NAME`, with the user to act as): old data the engine had moved
/// aside goes back where nothing replaced it, then the directory goes. Returns what was put
/// back.
pub fn recover_engine_leftovers(bases: &[(PathBuf, Option<(u32, u32)>)]) -> Vec<PathBuf> {
    let mut restored = Vec::new();
    for (base, owner) in bases {
        let Ok(_user) = AsUser::enter(*owner) else {
            continue;
        };
        let Ok(rd) = std::fs::read_dir(base) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with(ENGINE_STAGING) {
                continue;
            }
            let staging = e.path();
            if let Ok(inner) = std::fs::read_dir(&staging) {
                for old in inner.flatten() {
                    let oname = old.file_name().to_string_lossy().into_owned();
                    let Some(top) = oname.strip_prefix(ENGINE_OLD) else {
                        continue;
                    };
                    let target = base.join(top);
                    if target.symlink_metadata().is_err()
                        && std::fs::rename(old.path(), &target).is_ok()
                    {
                        restored.push(target);
                    }
                }
            }
            if let Err(err) = std::fs::remove_dir_all(&staging) {
                tracing::warn!("cannot remove {}: {err}", staging.display());
            }
        }
    }
    restored
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn moved(base: &Path, top: &str) -> Moved {
        let dir = base.join(top);
        Moved {
            aside: aside_path(&dir, "7"),
            dir,
            owner: None,
        }
    }

    #[test]
    fn aside_and_back_replaces_whatever_is_there() {
        let t = tempfile::tempdir().unwrap();
        let m = moved(t.path(), "x1");
        fs::create_dir(&m.dir).unwrap();
        fs::write(m.dir.join("f"), "old").unwrap();
        assert!(move_aside(&m).unwrap());
        assert!(!m.dir.exists());
        assert_eq!(m.aside.file_name().unwrap(), ".snapshot-undo-7-x1");
        // The restore writes new data; the undo puts the old back over it.
        fs::create_dir(&m.dir).unwrap();
        fs::write(m.dir.join("f"), "new").unwrap();
        put_back(&m).unwrap();
        assert_eq!(fs::read_to_string(m.dir.join("f")).unwrap(), "old");
        assert!(!m.aside.exists());
        // Again: nothing to do.
        put_back(&m).unwrap();
        assert_eq!(fs::read_to_string(m.dir.join("f")).unwrap(), "old");
    }

    #[test]
    fn a_missing_directory_is_not_moved_and_an_unreplaced_one_comes_back() {
        let t = tempfile::tempdir().unwrap();
        let absent = moved(t.path(), "common");
        assert!(!move_aside(&absent).unwrap());
        let m = moved(t.path(), "x1");
        fs::create_dir(&m.dir).unwrap();
        assert!(move_aside(&m).unwrap());
        // The snapshot had no x1: the old one comes back and nothing is kept.
        assert!(!keep_if_replaced(&m).unwrap());
        assert!(m.dir.is_dir() && !m.aside.exists());
        assert!(move_aside(&m).unwrap());
        fs::create_dir(&m.dir).unwrap();
        assert!(keep_if_replaced(&m).unwrap());
        discard(&m).unwrap();
        assert!(!m.aside.exists() && m.dir.is_dir());
    }

    #[test]
    fn engine_leftovers_put_the_old_data_back_only_where_nothing_replaced_it() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().join("var/snap/app");
        let staging = base.join(".snapshot-restore-abc");
        // The crash came between the engine's two renames of x1: x1 is only in `.old-x1`;
        // common had been swapped completely (its old copy is aside, the new one in place).
        fs::create_dir_all(staging.join(".old-x1")).unwrap();
        fs::write(staging.join(".old-x1/f"), "old x1").unwrap();
        fs::create_dir_all(staging.join(".old-common")).unwrap();
        fs::create_dir_all(staging.join("x1")).unwrap();
        fs::create_dir_all(base.join("common")).unwrap();
        fs::write(base.join("common/g"), "new common").unwrap();
        let back = recover_engine_leftovers(&[(base.clone(), None)]);
        assert_eq!(back, vec![base.join("x1")]);
        assert_eq!(fs::read_to_string(base.join("x1/f")).unwrap(), "old x1");
        assert_eq!(
            fs::read_to_string(base.join("common/g")).unwrap(),
            "new common"
        );
        assert!(!staging.exists());
    }
}
