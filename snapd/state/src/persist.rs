//! The on-disk side: `state.lock` exclusivity, atomic `state.json` writes
//! and appends to `state.journal`.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::StateError;

/// Name of the lock file, next to `state.json`.
pub const LOCK_FILE_NAME: &str = "state.lock";

/// What [`Backend::open`] found on disk.
pub(crate) struct OnDisk {
    /// `state.json`, if it exists.
    pub(crate) snapshot: Option<Vec<u8>>,
    /// `state.journal` (empty if it does not exist).
    pub(crate) journal: Vec<u8>,
}

/// Owns the lock on the state directory and writes the state files.
#[derive(Debug)]
pub(crate) struct Backend {
    path: PathBuf,
    tmp_path: PathBuf,
    journal_path: PathBuf,
    /// Kept open for the directory fsync after each rename.
    dir: File,
    /// Holding this open keeps the flock; it drops with the backend.
    _lock: File,
    fsync: bool,
    /// The journal, opened for appending once it is first needed.
    journal: Option<File>,
    /// Whether a journal file exists on disk (as far as we know).
    journal_exists: bool,
    /// Its length: where the next frame starts.
    journal_len: u64,
}

/// `state.json` → `state.journal`; any other name gets `.journal` appended.
pub(crate) fn journal_path_for(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let journal = match name.strip_suffix(".json") {
        Some(stem) if !stem.is_empty() => format!("{stem}.journal"),
        _ => format!("{name}.journal"),
    };
    path.with_file_name(journal)
}

impl Backend {
    /// Takes the exclusive lock (waiting up to `lock_timeout`) and returns
    /// the backend plus the current files' content.
    pub(crate) fn open(
        path: &Path,
        lock_timeout: Duration,
        fsync: bool,
    ) -> Result<(Backend, OnDisk), StateError> {
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
        let read = |p: &Path| match fs::read(p) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("read", p, e)),
        };
        let snapshot = read(path)?;
        let journal_path = journal_path_for(path);
        let journal = read(&journal_path)?;
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp~");
        let backend = Backend {
            path: path.to_path_buf(),
            tmp_path: dir_path.join(tmp_name),
            journal_exists: journal.is_some(),
            journal_len: journal.as_ref().map_or(0, |j| j.len() as u64),
            journal_path,
            dir,
            _lock: lock,
            fsync,
            journal: None,
        };
        Ok((
            backend,
            OnDisk {
                snapshot,
                journal: journal.unwrap_or_default(),
            },
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// Length of the journal file (0 if there is none).
    pub(crate) fn journal_len(&self) -> u64 {
        self.journal_len
    }

    pub(crate) fn journal_exists(&self) -> bool {
        self.journal_exists
    }

    /// Replaces the state file atomically: write a temp file in the same
    /// directory (mode 0600), fsync it, rename over, fsync the directory.
    /// A crash at any point leaves either the old or the new document.
    pub(crate) fn write_snapshot(&self, bytes: &[u8]) -> Result<(), StateError> {
        let tmp = &self.tmp_path;
        #[cfg(test)]
        if faults::SNAPSHOT.take() {
            let e = std::io::Error::other("injected snapshot failure");
            return Err(StateError::io("write", tmp, e));
        }
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
        self.sync_dir()
    }

    fn sync_dir(&self) -> Result<(), StateError> {
        if self.fsync {
            self.dir
                .sync_all()
                .map_err(|e| StateError::io("fsync directory of", &self.path, e))?;
        }
        Ok(())
    }

    /// The journal, opened for appending; creating it makes its directory
    /// entry durable before anything relies on it.
    fn journal_file(&mut self) -> Result<&mut File, StateError> {
        if self.journal.is_none() {
            let p = &self.journal_path;
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(p)
                .map_err(|e| StateError::io("open", p, e))?;
            if !self.journal_exists {
                self.journal_exists = true;
                self.journal_len = 0;
                self.sync_dir()?;
            }
            self.journal = Some(f);
        }
        Ok(self.journal.as_mut().expect("opened above"))
    }

    /// Appends one frame and makes it durable (fdatasync). On error the
    /// journal may end in a partial frame: the caller must not append
    /// again before it was truncated.
    pub(crate) fn append(&mut self, frame: &[u8]) -> Result<(), StateError> {
        let fsync = self.fsync;
        let f = self.journal_file()?;
        #[cfg(test)]
        if let Some(n) = faults::APPEND_PARTIAL.take() {
            let _ = f.write_all(&frame[..n.min(frame.len())]);
            self.journal_len = u64::MAX;
            let e = std::io::Error::other("injected append failure");
            return Err(StateError::io("append to", &self.journal_path, e));
        }
        let res = f
            .write_all(frame)
            .and_then(|()| if fsync { f.sync_data() } else { Ok(()) });
        if let Err(e) = res {
            // Where the file ends now is unknown.
            self.journal_len = u64::MAX;
            return Err(StateError::io("append to", &self.journal_path, e));
        }
        self.journal_len += frame.len() as u64;
        Ok(())
    }

    /// Cuts the journal to `len` bytes (dropping a torn tail, or emptying
    /// it after a compaction) and makes that durable.
    pub(crate) fn truncate_journal(&mut self, len: u64) -> Result<(), StateError> {
        if !self.journal_exists {
            return Ok(());
        }
        let fsync = self.fsync;
        let f = self.journal_file()?;
        let res = f
            .set_len(len)
            .and_then(|()| if fsync { f.sync_all() } else { Ok(()) });
        if let Err(e) = res {
            self.journal_len = u64::MAX;
            return Err(StateError::io("truncate", &self.journal_path, e));
        }
        self.journal_len = len;
        Ok(())
    }

    /// Deletes the journal (after a snapshot that includes all of it).
    pub(crate) fn remove_journal(&mut self) -> Result<(), StateError> {
        if !self.journal_exists {
            return Ok(());
        }
        self.journal = None;
        match fs::remove_file(&self.journal_path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("remove", &self.journal_path, e)),
        }
        self.journal_exists = false;
        self.journal_len = 0;
        self.sync_dir()
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

/// Fault injection for unit tests: the next append writes only this many
/// bytes of its frame and fails; the next snapshot write fails.
#[cfg(test)]
pub(crate) mod faults {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static APPEND_PARTIAL: Cell<Option<usize>> = const { Cell::new(None) };
        pub(crate) static SNAPSHOT: Cell<bool> = const { Cell::new(false) };
    }
}
