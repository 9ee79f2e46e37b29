//! The state lock: a mutex around [`State`] that checkpoints on release.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::crash::CrashPoints;
use crate::persist::Backend;
use crate::{State, StateError, Transition};

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
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            lock_timeout: Duration::from_secs(60),
            fsync: true,
            crash_from_env: true,
            retry: RetryPolicy::default(),
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
    pub bytes: usize,
    /// Building the JSON document.
    pub serialize: Duration,
    /// Writing, fsyncing and renaming.
    pub write: Duration,
    /// Checkpoints since open.
    pub count: u64,
}

struct Inner {
    state: State,
    backend: Option<Backend>,
    crash: Option<CrashPoints>,
    hook: Option<PersistHook>,
    retry: RetryPolicy,
    /// Reused between checkpoints to avoid reallocating a large buffer.
    buf: Vec<u8>,
    stats: CheckpointStats,
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
/// writes `state.json` if anything changed.
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
        let (backend, content) = Backend::open(path, opts.lock_timeout, opts.fsync)?;
        let (state, fresh) = match content {
            Some(bytes) => {
                let st = State::from_json(&bytes).map_err(|source| StateError::Corrupt {
                    path: path.to_path_buf(),
                    source,
                })?;
                (st, false)
            }
            None => (State::new(), true),
        };
        let store = Self::build(state, Some(backend), crash, opts.retry.clone());
        if fresh {
            // Write the empty document now so a missing file later means
            // something went wrong rather than "never started".
            store.lock().commit()?;
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
                retry,
                buf: Vec::new(),
                stats: CheckpointStats::default(),
            }),
            wake: Mutex::new(Wake {
                requested: false,
                at: None,
            }),
            wake_cv: Condvar::new(),
            path,
        }
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

    /// Timing of the last checkpoint.
    pub fn checkpoint_stats(&self) -> CheckpointStats {
        self.lock().guard.stats
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
        // In memory, a checkpoint is only the bookkeeping (hooks still see
        // the transitions, so tests can observe them without a disk).
        if let Some(backend) = &inner.backend {
            let t0 = Instant::now();
            let mut buf = std::mem::take(&mut inner.buf);
            buf.clear();
            inner.state.write_json(&mut buf);
            let t1 = Instant::now();
            let res = backend.write(&buf);
            let t2 = Instant::now();
            let bytes = buf.len();
            inner.buf = buf;
            res?;
            inner.stats = CheckpointStats {
                bytes,
                serialize: t1 - t0,
                write: t2 - t1,
                count: inner.stats.count + 1,
            };
        }
        inner.state.modified = false;
        let persisted = std::mem::take(&mut inner.state.transitions);
        if let Some(hook) = &inner.hook {
            hook(&persisted);
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
