//! The state lock: a mutex around [`State`] that checkpoints on release.
//!
//! # Checkpoints: snapshot plus journal
//!
//! A checkpoint (releasing a modified [`StateGuard`]) appends **one** record
//! to `state.journal` holding only what changed since the previous
//! checkpoint, and fdatasyncs it (the format is described in `journal.rs`).
//! Its cost follows the size of the change, not of the state.
//!
//! `state.json` stays the full snapshot, in snapd's layout plus
//! `"journal-seq"`, the last record it includes. The journal is folded into
//! a new snapshot (temp file, fsync, rename, fsync dir; then the journal is
//! emptied) when appending would make it larger than
//! max([`StoreOptions::journal_limit`], the snapshot's size), so the journal
//! costs at most about as much again as the changes, amortized. A clean
//! [`StateStore::close`] (or dropping the store) also writes a snapshot and
//! deletes the journal. Loading reads the snapshot, then replays the records
//! after its `journal-seq`, stopping at (and cutting off) a torn last record.
//!
//! Crash safety: a record is acknowledged (the guard released, crash points
//! checked) only once it is durable. A crash during a compaction leaves the
//! old snapshot and the whole journal, or the new snapshot and a journal
//! whose records it all includes (skipped at load by their sequence
//! number). After any failed write the next checkpoint writes a full
//! snapshot, so no record is ever appended after a possibly partial one.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::crash::CrashPoints;
use crate::journal::{self, Record};
use crate::observe::{CommitObserver, Committed};
use crate::persist::{Backend, OnDisk};
use crate::{State, StateError, Transition};

/// Default [`StoreOptions::journal_limit`]: 1 MiB.
pub const DEFAULT_JOURNAL_LIMIT: u64 = 1 << 20;

/// Called after every successful checkpoint with the task status
/// transitions it made durable (tests and diagnostics). It runs with the
/// state lock held, so it must not call back into the store.
pub type PersistHook = Box<dyn Fn(&[Transition]) + Send + Sync>;

/// How to open the state file.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long to wait for another holder of `state.lock` (snapd: 60 s).
    pub lock_timeout: Duration,
    /// fsync the file and directory on each checkpoint. Only tests that do
    /// not care about power loss should turn this off.
    pub fsync: bool,
    /// Arm crash points from `SNAPD_CRASH_AFTER_TASK` (see [`crate::crash`]).
    pub crash_from_env: bool,
    /// Retries of a failing checkpoint when a guard is dropped.
    pub retry: RetryPolicy,
    /// Checkpoints append what changed to `state.journal`, which is folded
    /// into a new `state.json` once it would grow past this many bytes or
    /// the snapshot's size, whichever is larger (default
    /// [`DEFAULT_JOURNAL_LIMIT`]). `None`: no journal, every checkpoint
    /// rewrites the whole `state.json` (a pending journal is folded in at
    /// open).
    pub journal_limit: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            lock_timeout: Duration::from_secs(60),
            fsync: true,
            crash_from_env: true,
            retry: RetryPolicy::default(),
            journal_limit: Some(DEFAULT_JOURNAL_LIMIT),
        }
    }
}

/// snapd retries a failed checkpoint every 3 s for up to 5 min, then dies:
/// carrying on with state that cannot be saved would lose acknowledged work.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub interval: Duration,
    pub max_time: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            interval: Duration::from_secs(3),
            max_time: Duration::from_secs(300),
        }
    }
}

/// Timing of the most recent checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Bytes written: the journal record, or the whole snapshot.
    pub bytes: usize,
    /// Building the journal record (and the snapshot, if one was written).
    pub serialize: Duration,
    /// Writing and syncing (appending to the journal, or writing, fsyncing
    /// and renaming the snapshot and emptying the journal).
    pub write: Duration,
    /// Checkpoints since open.
    pub count: u64,
    /// Whether this checkpoint wrote a full snapshot (a compaction).
    pub snapshot: bool,
    /// Snapshots written since open (compactions included).
    pub snapshots: u64,
    /// Size of the journal after this checkpoint.
    pub journal_bytes: u64,
    /// Bytes written by all checkpoints since open.
    pub total_bytes: u64,
    /// Time spent in all checkpoints since open (serialize + write).
    pub total_time: Duration,
}

impl CheckpointStats {
    fn next(
        &self,
        bytes: usize,
        serialize: Duration,
        write: Duration,
        snapshot: bool,
        journal_bytes: u64,
    ) -> CheckpointStats {
        CheckpointStats {
            bytes,
            serialize,
            write,
            count: self.count + 1,
            snapshot,
            snapshots: self.snapshots + u64::from(snapshot),
            journal_bytes,
            total_bytes: self.total_bytes + bytes as u64,
            total_time: self.total_time + serialize + write,
        }
    }
}

struct Inner {
    state: State,
    backend: Option<Backend>,
    crash: Option<CrashPoints>,
    hook: Option<PersistHook>,
    observer: Option<CommitObserver>,
    retry: RetryPolicy,
    /// Reused between checkpoints to avoid reallocating a large buffer.
    buf: Vec<u8>,
    stats: CheckpointStats,
    /// See [`StoreOptions::journal_limit`].
    journal_limit: Option<u64>,
    /// Sequence number of the last record (or snapshot) written, or
    /// attempted: a number is never reused, even after a failed write.
    seq: u64,
    /// Size of the last snapshot written or loaded.
    snapshot_len: u64,
    /// The next checkpoint must write a snapshot: fresh state, or a
    /// previous write failed (the journal may end in a partial frame).
    force_snapshot: bool,
}

/// Wake-up flag for the task runner.
struct Wake {
    requested: bool,
    at: Option<Instant>,
}

/// The shared state: one mutex-protected [`State`] plus its persistence.
///
/// Share it as `Arc<StateStore>` between the runner thread and request
/// handlers. Take the lock with [`StateStore::lock`]; releasing the guard
/// checkpoints (journals what changed) if anything changed. Dropping the
/// store (or [`StateStore::close`]) folds the journal into `state.json`.
pub struct StateStore {
    inner: Mutex<Inner>,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl StateStore {
    /// Opens (or creates) the state at `path` with default options: waits
    /// up to 60 s for `state.lock`, fsyncs, arms `SNAPD_CRASH_AFTER_TASK`.
    pub fn open(path: impl AsRef<Path>) -> Result<StateStore, StateError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens with explicit options.
    ///
    /// Loads `state.json` and replays `state.journal` on top of it (see
    /// the module docs); a torn last record is cut off.
    pub fn open_with(
        path: impl AsRef<Path>,
        opts: &StoreOptions,
    ) -> Result<StateStore, StateError> {
        let path = path.as_ref();
        let crash = if opts.crash_from_env {
            CrashPoints::from_env()?
        } else {
            None
        };
        let (mut backend, on_disk) = Backend::open(path, opts.lock_timeout, opts.fsync)?;
        let OnDisk { snapshot, journal } = on_disk;
        let fresh = snapshot.is_none();
        let snapshot_len = snapshot.as_ref().map_or(0, |s| s.len() as u64);
        let (mut state, snap_seq) = match &snapshot {
            Some(bytes) => State::parse_document(bytes).map_err(|source| StateError::Corrupt {
                path: path.to_path_buf(),
                source,
            })?,
            None => (State::new(), 0),
        };
        drop(snapshot);
        let seq = replay(&mut state, snap_seq, &journal, &mut backend, fresh)?;
        drop(journal);
        state.finish_load();
        if fresh {
            state.modified = true;
        }
        let pending_journal = backend.journal_exists();
        let mut store = Self::build(state, Some(backend), crash, opts.retry.clone());
        {
            let inner = store.inner.get_mut().unwrap_or_else(|p| p.into_inner());
            inner.journal_limit = opts.journal_limit;
            inner.seq = seq;
            inner.snapshot_len = snapshot_len;
            inner.force_snapshot = fresh;
        }
        if fresh {
            // Write the empty document now so a missing file later means
            // something went wrong rather than "never started".
            store.lock().commit()?;
        } else if pending_journal && opts.journal_limit.is_none() {
            // Journaling is off: fold a journal left by an earlier run in.
            store.close()?;
        }
        Ok(store)
    }

    /// A state that is never written to disk (unit tests, dry runs).
    pub fn in_memory(state: State) -> StateStore {
        Self::build(state, None, None, RetryPolicy::default())
    }

    fn build(
        state: State,
        backend: Option<Backend>,
        crash: Option<CrashPoints>,
        retry: RetryPolicy,
    ) -> StateStore {
        let path = backend.as_ref().map(|b| b.path().to_path_buf());
        StateStore {
            inner: Mutex::new(Inner {
                state,
                backend,
                crash,
                hook: None,
                observer: None,
                retry,
                buf: Vec::new(),
                stats: CheckpointStats::default(),
                journal_limit: None,
                seq: 0,
                snapshot_len: 0,
                force_snapshot: false,
            }),
            wake: Mutex::new(Wake {
                requested: false,
                at: None,
            }),
            wake_cv: Condvar::new(),
            path,
        }
    }

    /// Folds the journal into a new `state.json` and deletes it, as a clean
    /// shutdown does; dropping the store does the same (ignoring errors).
    ///
    /// Nothing is written if the state holds modifications that were never
    /// checkpointed (a guard released while panicking, or a failed
    /// commit): what is on disk stays as the last successful checkpoint
    /// left it. The store stays usable; the next checkpoint starts a new
    /// journal.
    pub fn close(&self) -> Result<(), StateError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.close()
    }

    /// Path of `state.json`, if persisted.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Takes the state lock.
    pub fn lock(&self) -> StateGuard<'_> {
        // A panic while holding the lock cannot leave a half-written file
        // (the guard skips checkpointing while unwinding), so keep serving.
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        StateGuard {
            guard,
            store: self,
            released: false,
        }
    }

    /// Arms (or with `None` disarms) crash points programmatically.
    pub fn set_crash_points(&self, points: Option<CrashPoints>) {
        self.lock().guard.crash = points;
    }

    /// Installs a hook called after each successful checkpoint.
    pub fn set_persist_hook(&self, hook: Option<PersistHook>) {
        self.lock().guard.hook = hook;
    }

    /// Installs an observer called after each successful checkpoint with the changes and
    /// `data` keys it wrote (see [`crate::observe`]).
    pub fn set_commit_observer(&self, observer: Option<CommitObserver>) {
        self.lock().guard.observer = observer;
    }

    /// Timing of the last checkpoint.
    pub fn checkpoint_stats(&self) -> CheckpointStats {
        self.lock().guard.stats
    }

    /// Path of the journal (`state.journal` next to `state.json`), if persisted.
    pub fn journal_path(&self) -> Option<PathBuf> {
        self.path.as_deref().map(crate::persist::journal_path_for)
    }

    /// Wakes the task runner now (snapd's `EnsureBefore(0)`).
    pub fn ensure_soon(&self) {
        self.ensure_before(Duration::ZERO);
    }

    /// Asks the runner to run a pass within `d`.
    pub fn ensure_before(&self, d: Duration) {
        let when = Instant::now() + d;
        let mut w = self.wake.lock().unwrap_or_else(|p| p.into_inner());
        if d.is_zero() {
            w.requested = true;
        } else {
            w.at = Some(w.at.map_or(when, |at| at.min(when)));
        }
        self.wake_cv.notify_all();
    }

    /// Blocks until woken, `deadline` passes, or `stop` is set.
    pub(crate) fn wait_for_work(&self, deadline: Instant, stop: &AtomicBool) {
        let mut w = self.wake.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            if w.at.is_some_and(|at| at <= now) {
                w.at = None;
                w.requested = true;
            }
            if w.requested || stop.load(Ordering::SeqCst) || now >= deadline {
                w.requested = false;
                return;
            }
            let until = w.at.map_or(deadline, |at| at.min(deadline));
            w = self
                .wake_cv
                .wait_timeout(w, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// The held state lock. Dereferences to [`State`]. Dropping it writes the
/// state if it was modified (retrying per [`RetryPolicy`], then panicking,
/// as snapd does); use [`StateGuard::commit`] to handle the error instead.
pub struct StateGuard<'a> {
    guard: MutexGuard<'a, Inner>,
    store: &'a StateStore,
    released: bool,
}

impl StateGuard<'_> {
    /// Writes the state now (if modified) and releases the lock; one attempt.
    pub fn commit(mut self) -> Result<(), StateError> {
        self.released = true;
        let res = self.checkpoint();
        self.wake_runner_if_asked();
        res
    }

    /// Like [`commit`](Self::commit) but retrying per the store's policy.
    pub fn commit_retrying(mut self) -> Result<(), StateError> {
        self.released = true;
        let res = self.checkpoint_retrying();
        self.wake_runner_if_asked();
        res
    }

    fn checkpoint_retrying(&mut self) -> Result<(), StateError> {
        let policy = self.guard.retry.clone();
        let start = Instant::now();
        loop {
            match self.checkpoint() {
                Ok(()) => return Ok(()),
                Err(e) if start.elapsed() + policy.interval > policy.max_time => return Err(e),
                Err(_) => std::thread::sleep(policy.interval),
            }
        }
    }

    fn checkpoint(&mut self) -> Result<(), StateError> {
        let inner = &mut *self.guard;
        if !inner.state.modified {
            inner.state.transitions.clear();
            return Ok(());
        }
        // What the observer will be told, taken before persisting clears it.
        let touched = inner.observer.is_some().then(|| inner.state.touched());
        // In memory, a checkpoint is only the bookkeeping (hooks still see
        // the transitions, so tests can observe them without a disk).
        if inner.backend.is_some() {
            inner.persist()?;
        } else {
            inner.state.clear_dirty();
        }
        inner.state.modified = false;
        let persisted = std::mem::take(&mut inner.state.transitions);
        if let Some(hook) = &inner.hook {
            hook(&persisted);
        }
        if let (Some(observer), Some((changes, keys))) = (&inner.observer, touched) {
            observer(&Committed {
                transitions: persisted.clone(),
                changes,
                keys,
            });
        }
        if let Some(crash) = &inner.crash {
            crash.check(&persisted);
        }
        Ok(())
    }

    fn wake_runner_if_asked(&mut self) {
        if std::mem::take(&mut self.guard.state.ensure_requested) {
            self.store.ensure_soon();
        }
    }
}

impl Inner {
    /// Makes the state durable: one journal record, or a full snapshot
    /// when one is due.
    fn persist(&mut self) -> Result<(), StateError> {
        let t0 = Instant::now();
        let seq = self.seq + 1;
        let mut buf = std::mem::take(&mut self.buf);
        let res = match self.journal_limit {
            Some(limit) if !self.force_snapshot => {
                journal::begin_frame(&mut buf);
                self.state.write_record(seq, &mut buf);
                journal::finish_frame(&mut buf);
                let backend = self.backend.as_mut().expect("persisted store");
                let over = backend.journal_len().saturating_add(buf.len() as u64)
                    > limit.max(self.snapshot_len);
                if over {
                    self.snapshot(seq, &mut buf, t0)
                } else {
                    let t1 = Instant::now();
                    self.seq = seq;
                    match backend.append(&buf) {
                        Ok(()) => {
                            self.state.clear_dirty();
                            self.stats = self.stats.next(
                                buf.len(),
                                t1 - t0,
                                t1.elapsed(),
                                false,
                                backend.journal_len(),
                            );
                            Ok(())
                        }
                        Err(e) => {
                            // The journal may now end in a partial frame.
                            self.force_snapshot = true;
                            Err(e)
                        }
                    }
                }
            }
            _ => self.snapshot(seq, &mut buf, t0),
        };
        self.buf = buf;
        res
    }

    /// Writes the whole state as the snapshot numbered `seq`, then empties
    /// the journal (whose records it all includes).
    fn snapshot(&mut self, seq: u64, buf: &mut Vec<u8>, t0: Instant) -> Result<(), StateError> {
        buf.clear();
        self.state.write_document(buf, Some(seq));
        let t1 = Instant::now();
        let backend = self.backend.as_mut().expect("persisted store");
        // Never reuse a number that may have reached the disk.
        self.seq = seq;
        if let Err(e) = backend.write_snapshot(buf) {
            self.force_snapshot = true;
            return Err(e);
        }
        self.snapshot_len = buf.len() as u64;
        self.state.clear_dirty();
        // The checkpoint is durable. Emptying the journal only saves space
        // and replay time; if it fails, snapshots go on until it succeeds
        // (appending after a possibly partial frame is never safe).
        self.force_snapshot = if backend.journal_exists() {
            backend.truncate_journal(0).is_err()
        } else {
            false
        };
        self.stats = self.stats.next(
            buf.len(),
            t1 - t0,
            t1.elapsed(),
            true,
            backend.journal_len(),
        );
        Ok(())
    }

    /// See [`StateStore::close`].
    fn close(&mut self) -> Result<(), StateError> {
        let Some(backend) = &self.backend else {
            return Ok(());
        };
        if self.state.modified {
            return Ok(());
        }
        if !backend.journal_exists() && !self.force_snapshot && !self.state.has_dirty_objects() {
            return Ok(());
        }
        let seq = self.seq + 1;
        let mut buf = std::mem::take(&mut self.buf);
        let res = self.snapshot(seq, &mut buf, Instant::now());
        self.buf = buf;
        res?;
        let backend = self.backend.as_mut().expect("checked above");
        backend.remove_journal()?;
        self.force_snapshot = false;
        Ok(())
    }
}

/// Replays the journal onto the snapshot just loaded; returns the last
/// sequence number included. Cuts off a torn tail, and empties a journal
/// that the snapshot already includes entirely.
fn replay(
    state: &mut State,
    snap_seq: u64,
    journal: &[u8],
    backend: &mut Backend,
    fresh: bool,
) -> Result<u64, StateError> {
    let mismatch = |reason: String| StateError::JournalMismatch {
        path: backend.journal_path().to_path_buf(),
        reason,
    };
    let frames = journal::scan(journal);
    if fresh && !frames.payloads.is_empty() {
        return Err(mismatch(format!(
            "{} has {} records but there is no {}",
            backend.journal_path().display(),
            frames.payloads.len(),
            backend.path().display()
        )));
    }
    let mut last = snap_seq;
    let mut replayed = 0usize;
    for payload in &frames.payloads {
        let rec = Record::parse(payload).map_err(|source| StateError::JournalCorrupt {
            seq: last + 1,
            source,
        })?;
        if replayed == 0 && rec.seq <= snap_seq {
            // Left over by a compaction that crashed before emptying it.
            continue;
        }
        if rec.seq != last + 1 {
            return Err(mismatch(format!(
                "record {} follows {} (snapshot includes up to {snap_seq})",
                rec.seq, last
            )));
        }
        last = rec.seq;
        state.apply_record(rec)?;
        replayed += 1;
    }
    if replayed == 0 && !journal.is_empty() {
        backend.truncate_journal(0)?;
    } else if frames.valid_len < journal.len() {
        // A record cut short by a crash: it was never acknowledged. Cut it
        // off so that the next append does not land after garbage.
        backend.truncate_journal(frames.valid_len as u64)?;
    }
    Ok(last)
}

impl Drop for StateStore {
    fn drop(&mut self) {
        // A clean shutdown leaves just `state.json`. On error the journal
        // is still there and still valid, so nothing is lost.
        let inner = self.inner.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = inner.close();
    }
}

impl Deref for StateGuard<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.guard.state
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // While unwinding the state may be half-updated: do not persist it.
        if std::thread::panicking() {
            return;
        }
        if let Err(e) = self.checkpoint_retrying() {
            panic!("cannot checkpoint state even after retries: {e}");
        }
        self.wake_runner_if_asked();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::faults;

    fn opts() -> StoreOptions {
        StoreOptions {
            lock_timeout: Duration::ZERO,
            crash_from_env: false,
            fsync: false,
            ..Default::default()
        }
    }

    /// What a restart would load now (the files are copied: the store
    /// keeps its lock).
    fn reload(store: &StateStore) -> String {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("state.json");
        std::fs::copy(store.path().unwrap(), &copy).unwrap();
        let journal = store.journal_path().unwrap();
        if journal.exists() {
            std::fs::copy(&journal, dir.path().join("state.journal")).unwrap();
        }
        let st = StateStore::open_with(&copy, &opts()).unwrap();
        st.lock().to_json()
    }

    #[test]
    fn failed_append_forces_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open_with(dir.path().join("state.json"), &opts()).unwrap();
        {
            let mut st = store.lock();
            st.set("x", &1).unwrap();
            st.commit().unwrap();
        }
        assert!(!store.checkpoint_stats().snapshot);
        let after_one = store.lock().to_json();

        faults::APPEND_PARTIAL.set(Some(5));
        let mut st = store.lock();
        st.set("x", &2).unwrap();
        let err = st.commit().unwrap_err();
        assert!(err.to_string().contains("injected"), "{err}");
        // Crash now: the partial frame is ignored.
        assert_eq!(reload(&store), after_one);

        // Still modified: the next release writes it, as a full snapshot.
        assert!(store.lock().is_modified());
        store.lock().commit().unwrap();
        let stats = store.checkpoint_stats();
        assert!(stats.snapshot);
        assert_eq!(stats.journal_bytes, 0);
        assert_eq!(reload(&store), store.lock().to_json());

        // Then appends resume.
        store.lock().set("x", &3).unwrap();
        assert!(!store.checkpoint_stats().snapshot);
        assert_eq!(reload(&store), store.lock().to_json());
        assert!(store.lock().to_json().contains("\"x\":3"));
    }

    #[test]
    fn failed_snapshot_is_retried_as_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open_with(dir.path().join("state.json"), &opts()).unwrap();
        store.lock().set("x", &1).unwrap();
        let before = store.lock().to_json();

        // A compaction at close that fails leaves snapshot + journal valid.
        faults::SNAPSHOT.set(true);
        assert!(store.close().is_err());
        assert!(store.journal_path().unwrap().exists());
        assert_eq!(reload(&store), before);

        // The next checkpoint must not append after the failure.
        store.lock().set("x", &2).unwrap();
        let stats = store.checkpoint_stats();
        assert!(stats.snapshot, "{stats:?}");
        assert_eq!(reload(&store), store.lock().to_json());
        store.close().unwrap();
        assert!(!store.journal_path().unwrap().exists());
        assert_eq!(reload(&store), store.lock().to_json());
    }

    #[test]
    fn intermediate_progress_goes_with_the_next_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open_with(dir.path().join("state.json"), &opts()).unwrap();
        let t = {
            let mut st = store.lock();
            let c = st.new_change("k", "s");
            st.new_task_in(c, "t", "T").unwrap()
        };
        let count = store.checkpoint_stats().count;
        store.lock().set_task_progress(t, "dl", 1, 10).unwrap();
        assert_eq!(store.checkpoint_stats().count, count, "not worth a write");
        store.lock().set("other", &true).unwrap();
        let text = reload(&store);
        assert!(text.contains("\"label\":\"dl\",\"done\":1"), "{text}");
        assert_eq!(text, store.lock().to_json());
    }
}
