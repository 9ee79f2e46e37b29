//! A refresh copies the old revision's data for the new one: `$SNAP_DATA`
//! (`var/snap/NAME/OLD` → `NEW`) and every user's `~/snap/NAME/OLD` → `NEW`, as snapd does;
//! `common` is shared and stays. The old copy is never touched, so going back to the old
//! revision finds its data exactly as it was.
//!
//! Each copy is made beside its target under a temporary name and renamed into place, so a
//! crash leaves either no target (the re-run starts over) or a complete one.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_sys::remove_dir_all_if_exists;

/// The data directories of `old` that have a counterpart for `new`: system data and each
/// user's (homes are the root's `root` and the directories of its `home`).
pub fn pairs(dirs: &Dirs, name: &str, old: Revision, new: Revision) -> Vec<(PathBuf, PathBuf)> {
    let mut out = vec![(dirs.snap_data(name, old), dirs.snap_data(name, new))];
    for home in super::userdata::homes(dirs) {
        // A user may put symlinks in their own home: root never copies through one.
        if !super::userdata::real_dirs(&home, &["snap", name, &old.to_string()]) {
            continue;
        }
        let base = home.join("snap").join(name);
        out.push((base.join(old.to_string()), base.join(new.to_string())));
    }
    out
}

/// Copies `from` to `to` with everything `cp -a` keeps (modes, owners, times, links, special
/// files, extended attributes), unless `to` is already complete. A missing `from` (a user who
/// never ran the snap) is nothing to copy.
pub fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    if to.exists() || !from.is_dir() {
        return Ok(());
    }
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = to.with_file_name(format!(".{name}.copying"));
    remove_dir_all_if_exists(&tmp).map_err(|e| e.to_string())?;
    let out = Command::new("cp")
        .arg("-a")
        .arg("--reflink=auto")
        .arg("--")
        .arg(from)
        .arg(&tmp)
        .output()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if !out.status.success() {
        let _ = remove_dir_all_if_exists(&tmp);
        return Err(format!(
            "cannot copy {} to {}: {}",
            from.display(),
            to.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    fs::rename(&tmp, to).map_err(|e| format!("cannot rename {}: {e}", tmp.display()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    #[test]
    fn copies_a_tree_whole_and_leaves_the_source_alone() {
        let d = tempfile::tempdir().unwrap();
        let from = d.path().join("x1");
        fs::create_dir_all(from.join("sub")).unwrap();
        fs::write(from.join("sub/file"), b"data").unwrap();
        fs::set_permissions(from.join("sub/file"), fs::Permissions::from_mode(0o640)).unwrap();
        symlink("sub/file", from.join("link")).unwrap();
        let to = d.path().join("x2");
        copy_dir(&from, &to).unwrap();
        assert_eq!(fs::read(to.join("sub/file")).unwrap(), b"data");
        assert_eq!(
            fs::metadata(to.join("sub/file"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_link(to.join("link")).unwrap(),
            Path::new("sub/file")
        );
        assert!(!d.path().join(".x2.copying").exists());
        // Done already: a second run changes nothing.
        fs::write(to.join("sub/file"), b"changed by the new revision").unwrap();
        copy_dir(&from, &to).unwrap();
        assert_eq!(
            fs::read(to.join("sub/file")).unwrap(),
            b"changed by the new revision"
        );
        assert_eq!(fs::read(from.join("sub/file")).unwrap(), b"data");
        // Nothing to copy from.
        copy_dir(&d.path().join("none"), &d.path().join("x3")).unwrap();
        assert!(!d.path().join("x3").exists());
    }
}
