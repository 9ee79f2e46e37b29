//! What running a snap's apps and hooks leaves outside its system data: each user's
//! `~/snap/NAME/REV` (and `common`), and the snap's private `/tmp` per user. Removed with the
//! revision, and with the snap's last revision, so that a removed snap leaves the root as it
//! found it. Homes are the root's `root` and every directory of its `home`.

use std::fs;
use std::path::{Path, PathBuf};

use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_sys::remove_dir_all_if_exists;

/// The homes under the root whose snap data the daemon manages.
pub fn homes(dirs: &Dirs) -> Vec<PathBuf> {
    let mut out = vec![dirs.root().join("root")];
    if let Ok(entries) = fs::read_dir(dirs.root().join("home")) {
        out.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    out
}

/// Removes the users' data of `rev` (`None`: all of the snap's user data, its private tmp
/// directories included).
pub fn remove(dirs: &Dirs, name: &str, rev: Option<Revision>) -> Result<(), String> {
    for home in homes(dirs) {
        let snaps = home.join("snap");
        // A user may put symlinks in their own home: root never goes through one.
        if !real_dirs(&home, &["snap", name]) {
            continue;
        }
        let target = match rev {
            Some(r) => snaps.join(name).join(r.to_string()),
            None => snaps.join(name),
        };
        remove_dir_all_if_exists(&target).map_err(|e| e.to_string())?;
        if rev.is_some() {
            remove_if_empty(&snaps.join(name));
        }
        remove_if_empty(&snaps);
    }
    if rev.is_none() {
        remove_private_tmp(dirs, name)?;
    }
    Ok(())
}

/// `<root>/tmp/snap-private-tmp[-UID]/snap.NAME`, for every user.
fn remove_private_tmp(dirs: &Dirs, name: &str) -> Result<(), String> {
    let base = dirs.private_tmp_base(name);
    let (Some(parent), Some(tmp)) = (base.parent(), base.parent().and_then(Path::parent)) else {
        return Ok(());
    };
    let prefix = parent
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(entries) = fs::read_dir(tmp) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let ours = file == prefix
            || file
                .strip_prefix(&format!("{prefix}-"))
                .is_some_and(|uid| !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit()));
        if !ours || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        remove_dir_all_if_exists(&e.path().join(format!("snap.{name}")))
            .map_err(|e| e.to_string())?;
        remove_if_empty(&e.path());
    }
    Ok(())
}

/// Whether each of `parts` below `base` is a directory and not a symlink (a missing one is
/// nothing to go through either).
pub fn real_dirs(base: &Path, parts: &[&str]) -> bool {
    let mut at = base.to_owned();
    for p in parts {
        at.push(p);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_dir() => {}
            _ => return false,
        }
    }
    true
}

fn remove_if_empty(dir: &Path) {
    // Fails (and leaves it) when something else is in there, which is what is wanted.
    let _ = fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_the_snaps_user_data_and_private_tmp() {
        let root = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(root.path());
        let mk = |p: &str| fs::create_dir_all(root.path().join(p)).unwrap();
        mk("root/snap/a/x1");
        mk("root/snap/a/x2");
        mk("root/snap/a/common");
        mk("root/snap/b/x1");
        mk("home/al/snap/a/x1");
        mk("home/al/Documents");
        mk("tmp/snap-private-tmp/snap.a/tmp");
        mk("tmp/snap-private-tmp-1000/snap.a/tmp");
        mk("tmp/snap-private-tmp-1000/snap.b/tmp");
        mk("tmp/other/snap.a");

        remove(&dirs, "a", Some(Revision::local(1))).unwrap();
        assert!(!root.path().join("root/snap/a/x1").exists());
        assert!(root.path().join("root/snap/a/x2").exists());
        assert!(!root.path().join("home/al/snap").exists());
        assert!(root.path().join("home/al/Documents").exists());
        assert!(root.path().join("tmp/snap-private-tmp/snap.a").exists());

        remove(&dirs, "a", None).unwrap();
        assert!(!root.path().join("root/snap/a").exists());
        assert!(root.path().join("root/snap/b/x1").exists());
        assert!(!root.path().join("tmp/snap-private-tmp").exists());
        assert!(
            !root
                .path()
                .join("tmp/snap-private-tmp-1000/snap.a")
                .exists()
        );
        assert!(
            root.path()
                .join("tmp/snap-private-tmp-1000/snap.b")
                .exists()
        );
        assert!(root.path().join("tmp/other/snap.a").exists());
    }
}
