//! The on-disk side: `state.lock` exclusivity and atomic `state.json` writes.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::StateError;

/// Name of the lock file, next to `state.json`.
pub const LOCK_FILE_NAME: &str = "state.lock";

/// Owns the lock on the state directory and writes the state file.
#[derive(Debug)]
pub(crate) struct Backend {
    path: PathBuf,
    tmp_path: PathBuf,
    /// Kept open for the directory fsync after each rename.
    dir: File,
    /// Holding this open keeps the flock; it drops with the backend.
    _lock: File,
    fsync: bool,
}

impl Backend {
    /// Takes the exclusive lock (waiting up to `lock_timeout`) and returns
    /// the backend plus the current file content, if any.
    pub(crate) fn open(
        path: &Path,
        lock_timeout: Duration,
        fsync: bool,
    ) -> Result<(Backend, Option<Vec<u8>>), StateError> {
        let dir_path = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir_path)
            .map_err(|e| StateError::io("create directory", &dir_path, e))?;
        let lock_path = dir_path.join(LOCK_FILE_NAME);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| StateError::io("open lock file", &lock_path, e))?;
        lock_exclusive(&lock, &lock_path, lock_timeout)?;

        let dir =
            File::open(&dir_path).map_err(|e| StateError::io("open directory", &dir_path, e))?;
        let content = match fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(StateError::io("read", path, e)),
        };
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp~");
        let backend = Backend {
            path: path.to_path_buf(),
            tmp_path: dir_path.join(tmp_name),
            dir,
            _lock: lock,
            fsync,
        };
        Ok((backend, content))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the state file atomically: write a temp file in the same
    /// directory (mode 0600), fsync it, rename over, fsync the directory.
    /// A crash at any point leaves either the old or the new document.
    pub(crate) fn write(&self, bytes: &[u8]) -> Result<(), StateError> {
        let tmp = &self.tmp_path;
        // A leftover from a crash mid-write; we hold the lock so it is ours.
        match fs::remove_file(tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("remove", tmp, e)),
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
            .map_err(|e| StateError::io("create", tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| StateError::io("write", tmp, e))?;
        if self.fsync {
            f.sync_all().map_err(|e| StateError::io("fsync", tmp, e))?;
        }
        drop(f);
        fs::rename(tmp, &self.path)
            .map_err(|e| StateError::io("rename into place", &self.path, e))?;
        if self.fsync {
            self.dir
                .sync_all()
                .map_err(|e| StateError::io("fsync directory of", &self.path, e))?;
        }
        Ok(())
    }
}

/// flock(LOCK_EX|LOCK_NB) in a loop: snapd waits (60 s) for a previous
/// daemon to exit rather than failing at once.
fn lock_exclusive(lock: &File, lock_path: &Path, timeout: Duration) -> Result<(), StateError> {
    let deadline = Instant::now() + timeout;
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Err(StateError::Locked {
                        path: lock_path.to_path_buf(),
                    });
                }
                std::thread::sleep(Duration::from_millis(50).min(timeout));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StateError::io("lock", lock_path, e));
            }
        }
    }
}
