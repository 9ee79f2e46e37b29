//! Filesystem primitives for crash-safe, idempotent handlers.
//!
//! A crash at any point leaves either the old or the new content under the final name, never
//! a half-written file, and re-running the operation converges. A crash can leave a hidden
//! temporary file (`.NAME.PID.N.tmp`) next to the target; re-running does not trip over it.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::SysError;
use crate::mountinfo::mounts_under;

/// Replaces `path` with `bytes` atomically and durably, with permission bits exactly `mode`
/// (umask does not apply).
///
/// Writes a temporary file in the same directory, fsyncs it, renames it over `path` and fsyncs
/// the directory. The file is owned by the calling user; the old file's owner is not kept.
pub fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SysError> {
    let (dir, tmp, mut file) = create_temp(path, |tmp| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
    })?;
    let written = (|| {
        file.write_all(bytes)?;
        file.set_permissions(Permissions::from_mode(mode))?;
        file.sync_all()
    })();
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(SysError::io("writing", tmp, e));
    }
    rename_into_place(&tmp, path)?;
    sync_dir(&dir)
}

/// Makes `link` a symlink to `target`, atomically replacing whatever file or symlink was there.
///
/// Creates a temporary symlink in the same directory and renames it over `link` (so `link`
/// always resolves to the old or the new target, never to nothing), then fsyncs the directory.
/// An existing *directory* at `link` is not replaced: that is an error.
pub fn replace_symlink_atomically(link: &Path, target: &Path) -> Result<(), SysError> {
    let (dir, tmp, ()) = create_temp(link, |tmp| std::os::unix::fs::symlink(target, tmp))?;
    rename_into_place(&tmp, link)?;
    sync_dir(&dir)
}

/// Removes the file or symlink `path`; `Ok` if there is none. A directory is an error.
pub fn remove_if_exists(path: &Path) -> Result<(), SysError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(SysError::io("removing", path, e)),
        _ => Ok(()),
    }
}

/// Removes the directory tree `path` (not following symlinks); `Ok` if there is none.
///
/// Refuses ([`SysError::MountedBeneath`]) when anything is mounted at or below `path`, so a
/// forgotten mount is reported instead of having its contents deleted. A symlink or file at
/// `path` is removed itself.
pub fn remove_dir_all_if_exists(path: &Path) -> Result<(), SysError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SysError::io("removing", path, e)),
    };
    if !meta.is_dir() {
        return remove_if_exists(path);
    }
    if let Some(m) = mounts_under(path)?.into_iter().next() {
        return Err(SysError::MountedBeneath {
            path: path.into(),
            mount_point: m.mount_point,
        });
    }
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(SysError::io("removing", path, e)),
        _ => Ok(()),
    }
}

/// Creates a fresh temporary sibling of `path` with `create`, retrying on name clashes.
/// Returns the directory, the temporary path and what `create` returned.
fn create_temp<T>(
    path: &Path,
    create: impl Fn(&Path) -> io::Result<T>,
) -> Result<(PathBuf, PathBuf, T), SysError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        SysError::io(
            "writing",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let pid = std::process::id();
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{pid}.{n}.tmp"));
        let tmp = dir.join(tmp_name);
        match create(&tmp) {
            Ok(t) => return Ok((dir, tmp, t)),
            // Left over by a crashed process that had our pid.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SysError::io("creating", tmp, e)),
        }
    }
    Err(SysError::io(
        "creating a temporary file for",
        path,
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

fn rename_into_place(tmp: &Path, path: &Path) -> Result<(), SysError> {
    fs::rename(tmp, path).map_err(|source| {
        let _ = fs::remove_file(tmp);
        SysError::Rename {
            from: tmp.into(),
            to: path.into(),
            source,
        }
    })
}

/// Makes a rename or creation in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), SysError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SysError::io("syncing directory", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn atomic_write_creates_and_replaces_with_exact_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        atomic_write(&p, b"one", 0o640).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o640);
        atomic_write(&p, b"two", 0o755).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o7777, 0o755);
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn atomic_write_into_missing_dir_fails_cleanly() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope/state.json");
        let err = atomic_write(&p, b"x", 0o644).unwrap_err();
        assert!(err.to_string().starts_with("creating "), "{err}");
    }

    #[test]
    fn atomic_write_over_directory_fails_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("dir");
        fs::create_dir(&p).unwrap();
        fs::write(p.join("keep"), b"k").unwrap();
        let err = atomic_write(&p, b"x", 0o644).unwrap_err();
        assert!(matches!(err, SysError::Rename { .. }), "{err}");
        assert!(leftovers(d.path()).is_empty());
        assert!(p.join("keep").exists());
    }

    #[test]
    fn symlink_is_created_and_replaced() {
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("current");
        replace_symlink_atomically(&link, Path::new("x1")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("x1"));
        replace_symlink_atomically(&link, Path::new("x2")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("x2"));
        // A symlink to a directory is replaced itself, not followed.
        fs::create_dir(d.path().join("x2")).unwrap();
        replace_symlink_atomically(&link, Path::new("x3")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("x3"));
        assert!(d.path().join("x2").is_dir());
        // A plain file is replaced too.
        let file = d.path().join("file");
        fs::write(&file, b"f").unwrap();
        replace_symlink_atomically(&file, Path::new("x1")).unwrap();
        assert_eq!(fs::read_link(&file).unwrap(), Path::new("x1"));
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn symlink_does_not_replace_a_directory() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("dir");
        fs::create_dir(&dir).unwrap();
        assert!(replace_symlink_atomically(&dir, Path::new("x")).is_err());
        assert!(dir.is_dir());
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn removals_are_idempotent() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        fs::write(&f, b"x").unwrap();
        remove_if_exists(&f).unwrap();
        remove_if_exists(&f).unwrap();
        assert!(!f.exists());

        let tree = d.path().join("tree");
        fs::create_dir_all(tree.join("a/b")).unwrap();
        fs::write(tree.join("a/b/c"), b"x").unwrap();
        remove_dir_all_if_exists(&tree).unwrap();
        remove_dir_all_if_exists(&tree).unwrap();
        assert!(!tree.exists());
    }

    #[test]
    fn remove_dir_all_does_not_follow_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("keep"), b"k").unwrap();
        let tree = d.path().join("tree");
        fs::create_dir(&tree).unwrap();
        std::os::unix::fs::symlink(&real, tree.join("link")).unwrap();
        remove_dir_all_if_exists(&tree).unwrap();
        assert!(real.join("keep").exists());
        // A symlink at the top is removed itself.
        let top = d.path().join("top");
        std::os::unix::fs::symlink(&real, &top).unwrap();
        remove_dir_all_if_exists(&top).unwrap();
        assert!(fs::symlink_metadata(&top).is_err());
        assert!(real.join("keep").exists());
    }

    #[test]
    fn remove_if_exists_refuses_directories() {
        let d = tempfile::tempdir().unwrap();
        assert!(remove_if_exists(d.path()).is_err());
        assert!(d.path().is_dir());
    }
}
