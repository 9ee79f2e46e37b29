//! The task runner: executes ready tasks' do/undo handlers.
//!
//! # Execution model
//!
//! Tasks run **sequentially on the thread that calls** [`TaskRunner::run_until_idle`]
//! or [`TaskRunner::run_forever`] — one handler at a time, lowest change id
//! first and, within a change, lowest task id first. This keeps ordering
//! deterministic and makes snapd's "blocked" predicates (which serialise
//! conflicting tasks) unnecessary, at the price of a slow handler delaying
//! unrelated changes.
//!
//! Handlers run without the state lock; request handlers of the daemon can
//! lock the state meanwhile. Each step is:
//!
//! 1. lock; apply the previous handler's result (`Done`/`Undone`/`Error`+
//!    lane abort/...); pick the next runnable task and mark it
//!    `Doing`/`Undoing`; release = **one** checkpoint for both;
//! 2. run the handler unlocked.
//!
//! So a task's status is always durable before its handler starts, and a
//! crash re-runs whatever is found in `Doing`/`Undoing` (handlers must be
//! idempotent).

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::context::TaskContext;
use crate::prune::PruneOptions;
use crate::{ChangeId, State, StateError, StateStore, Status, TaskId, Timestamp};

/// Why a handler did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// A real failure: the task goes to Error and its lanes are rolled back.
    #[error("{0}")]
    Error(String),
    /// Try again later (at the next pass, or no earlier than `after`).
    /// The task keeps its status.
    #[error("task should be retried")]
    Retry { after: Duration, reason: String },
    /// Done for now but blocked on an external event (e.g. a reboot): the
    /// task goes to Wait and takes `waited_status` on
    /// [`State::resolve_wait`].
    #[error("task set to wait, manual action required")]
    Wait {
        reason: String,
        waited_status: Status,
    },
}

impl HandlerError {
    /// A failure with this message.
    pub fn error(msg: impl std::fmt::Display) -> Self {
        HandlerError::Error(msg.to_string())
    }

    /// Retry no earlier than `after` from now (zero: at the next pass).
    pub fn retry(after: Duration) -> Self {
        HandlerError::Retry {
            after,
            reason: String::new(),
        }
    }

    /// Wait for an external event, then become Done.
    pub fn wait(reason: impl Into<String>) -> Self {
        HandlerError::Wait {
            reason: reason.into(),
            waited_status: Status::Done,
        }
    }
}

impl From<StateError> for HandlerError {
    fn from(e: StateError) -> Self {
        HandlerError::Error(e.to_string())
    }
}

/// A do, undo or cleanup handler.
pub type Handler = Box<dyn Fn(&TaskContext<'_>) -> Result<(), HandlerError> + Send + Sync>;

struct HandlerPair {
    do_: Handler,
    undo: Option<Handler>,
}

/// What to do with tasks of a kind nobody registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownKinds {
    /// Mark them Done with a log line, like snapd, so a change created by a
    /// newer daemon can still finish.
    MarkDone,
    /// Leave them alone (another runner handles them).
    Ignore,
}

/// Tuning for [`TaskRunner::run_forever`].
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Longest sleep between passes when nobody wakes the runner (snapd: 5 min).
    pub ensure_interval: Duration,
    /// How often to prune; `None` disables pruning (snapd: 10 min).
    pub prune_interval: Option<Duration>,
    pub prune: PruneOptions,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            ensure_interval: Duration::from_secs(300),
            prune_interval: Some(Duration::from_secs(600)),
            prune: PruneOptions::default(),
        }
    }
}

/// Result of [`TaskRunner::run_until_idle`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Idle {
    /// Handlers run (do, undo and cleanup).
    pub handlers_run: usize,
    /// Earliest `at-time` of a task waiting for its scheduled time.
    pub next_wakeup: Option<Timestamp>,
    /// Tasks that asked to be retried and were not retried in this call.
    pub retrying: Vec<TaskId>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Do,
    Undo,
    Cleanup,
}

struct Job {
    task: TaskId,
    change: ChangeId,
    kind: String,
    summary: String,
    phase: Phase,
}

/// Registry of handlers plus the loop that runs them. Register handlers
/// first (`&mut self`), then share it in an `Arc` to run and stop it.
pub struct TaskRunner {
    store: Arc<StateStore>,
    handlers: HashMap<String, HandlerPair>,
    cleanups: HashMap<String, Handler>,
    unknown: UnknownKinds,
    options: RunnerOptions,
    stopping: AtomicBool,
    start_of_operation: Timestamp,
}

impl TaskRunner {
    pub fn new(store: Arc<StateStore>) -> Self {
        Self::with_options(store, RunnerOptions::default())
    }

    pub fn with_options(store: Arc<StateStore>, options: RunnerOptions) -> Self {
        TaskRunner {
            store,
            handlers: HashMap::new(),
            cleanups: HashMap::new(),
            unknown: UnknownKinds::MarkDone,
            options,
            stopping: AtomicBool::new(false),
            start_of_operation: Timestamp::now(),
        }
    }

    pub fn store(&self) -> &Arc<StateStore> {
        &self.store
    }

    /// Registers the handlers of a task kind. Without an undo handler a
    /// Done task of this kind stays Done when its change is rolled back.
    pub fn add_handler<D>(&mut self, kind: &str, do_: D, undo: Option<Handler>)
    where
        D: Fn(&TaskContext<'_>) -> Result<(), HandlerError> + Send + Sync + 'static,
    {
        self.handlers.insert(
            kind.to_owned(),
            HandlerPair {
                do_: Box::new(do_),
                undo,
            },
        );
    }

    /// Registers a do handler and an undo handler.
    pub fn add_handler_with_undo<D, U>(&mut self, kind: &str, do_: D, undo: U)
    where
        D: Fn(&TaskContext<'_>) -> Result<(), HandlerError> + Send + Sync + 'static,
        U: Fn(&TaskContext<'_>) -> Result<(), HandlerError> + Send + Sync + 'static,
    {
        self.add_handler(kind, do_, Some(Box::new(undo)));
    }

    /// Registers a cleanup, run once per task of `kind` after its whole
    /// change is ready, whatever the outcome (e.g. removing `.old` data
    /// kept for a possible undo). Errors are retried at a later pass.
    pub fn add_cleanup<C>(&mut self, kind: &str, cleanup: C)
    where
        C: Fn(&TaskContext<'_>) -> Result<(), HandlerError> + Send + Sync + 'static,
    {
        self.cleanups.insert(kind.to_owned(), Box::new(cleanup));
    }

    pub fn set_unknown_kinds(&mut self, policy: UnknownKinds) {
        self.unknown = policy;
    }

    /// Whether `kind` has an undo handler.
    pub fn kind_has_undo(&self, kind: &str) -> bool {
        self.handlers.get(kind).is_some_and(|h| h.undo.is_some())
    }

    /// Asks a running loop to stop: the current handler finishes (its
    /// errors then count as Retry, since they may stem from the shutdown),
    /// its result is persisted, no new handler starts.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.store.ensure_soon();
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Runs handlers until nothing can make progress now: every remaining
    /// task waits on others, on its `at-time`, on an external event, or
    /// asked to be retried and nothing else progressed since. Returns early
    /// (with everything persisted) after [`TaskRunner::stop`].
    pub fn run_until_idle(&self) -> Result<Idle, StateError> {
        let mut idle = Idle::default();
        // Tasks that returned Retry: not re-run until something else moved,
        // otherwise a task polling for a condition would spin.
        let mut retried: HashSet<TaskId> = HashSet::new();
        let mut progressed_since_retry = false;
        let mut pending: Option<(Job, Result<(), HandlerError>, Duration)> = None;
        loop {
            let mut st = self.store.lock();
            if let Some((job, res, took)) = pending.take() {
                let moved = self.apply(&mut st, &job, res, took, &mut retried);
                progressed_since_retry |= moved;
            }
            if self.is_stopping() {
                return st.commit_retrying().map(|()| idle);
            }
            let job = loop {
                let (job, moved, next_wakeup) = self.pick(&mut st, &retried);
                progressed_since_retry |= moved;
                idle.next_wakeup = next_wakeup;
                // Status-only moves (e.g. an Undo without handler → Done)
                // may have unblocked tasks earlier in the scan: rescan.
                if job.is_some() || !moved {
                    break job;
                }
            };
            let Some(job) = job else {
                if progressed_since_retry && !retried.is_empty() {
                    retried.clear();
                    progressed_since_retry = false;
                    st.commit_retrying()?;
                    continue;
                }
                idle.retrying = retried.into_iter().collect();
                idle.retrying.sort();
                // Requests made by our own status moves were just served.
                st.ensure_requested = false;
                st.commit_retrying()?;
                return Ok(idle);
            };
            // The Doing/Undoing mark (and the previous result) must be on
            // disk before the handler touches the system. The runner is
            // about to run anyway, so its own wake-up requests are moot.
            st.ensure_requested = false;
            st.commit_retrying()?;
            let started = Instant::now();
            let res = self.execute(&job);
            idle.handlers_run += 1;
            pending = Some((job, res, started.elapsed()));
        }
    }

    /// Runs passes until [`TaskRunner::stop`], sleeping in between until
    /// woken by [`StateStore::ensure_soon`] (which the state requests
    /// automatically when changes/tasks are added or aborted), a task's
    /// `at-time`, the ensure interval, or the next prune.
    pub fn run_forever(&self) -> Result<(), StateError> {
        let mut next_prune = Instant::now();
        while !self.is_stopping() {
            let idle = self.run_until_idle()?;
            if let Some(every) = self.options.prune_interval
                && Instant::now() >= next_prune
            {
                let mut st = self.store.lock();
                st.prune(
                    Timestamp::now(),
                    self.start_of_operation,
                    &self.options.prune,
                );
                st.commit_retrying()?;
                next_prune = Instant::now() + every;
            }
            let mut deadline = Instant::now() + self.options.ensure_interval;
            if self.options.prune_interval.is_some() {
                deadline = deadline.min(next_prune);
            }
            if let Some(at) = idle.next_wakeup {
                let wait = at.duration_since(Timestamp::now());
                deadline = deadline.min(Instant::now() + wait);
            }
            self.store.wait_for_work(deadline, &self.stopping);
        }
        Ok(())
    }

    fn execute(&self, job: &Job) -> Result<(), HandlerError> {
        let handler = match job.phase {
            Phase::Do => self.handlers.get(&job.kind).map(|h| &h.do_),
            Phase::Undo => self.handlers.get(&job.kind).and_then(|h| h.undo.as_ref()),
            Phase::Cleanup => self.cleanups.get(&job.kind),
        };
        let Some(handler) = handler else {
            return Err(HandlerError::error(format!(
                "internal error: no handler for task kind {:?}",
                job.kind
            )));
        };
        let ctx = TaskContext {
            store: &self.store,
            stopping: &self.stopping,
            task: job.task,
            change: job.change,
            kind: job.kind.clone(),
            summary: job.summary.clone(),
            undoing: job.phase == Phase::Undo,
        };
        // A panicking handler fails its task instead of killing the daemon.
        match catch_unwind(AssertUnwindSafe(|| handler(&ctx))) {
            Ok(res) => res,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(HandlerError::error(format!(
                    "internal error: task handler panicked: {msg}"
                )))
            }
        }
    }

    /// Records a handler's outcome; returns whether it was progress.
    fn apply(
        &self,
        st: &mut State,
        job: &Job,
        res: Result<(), HandlerError>,
        took: Duration,
        retried: &mut HashSet<TaskId>,
    ) -> bool {
        let Some(task) = st.task(job.task) else {
            return false;
        };
        let status = task.status();
        if job.phase == Phase::Cleanup {
            if res.is_ok() {
                st.set_task_clean(job.task);
                return true;
            }
            retried.insert(job.task);
            return false;
        }
        if let Ok(t) = st.task_slot(job.task) {
            let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
            match job.phase {
                Phase::Undo => t.undoing_time_ns = t.undoing_time_ns.saturating_add(ns),
                _ => t.doing_time_ns = t.doing_time_ns.saturating_add(ns),
            }
        }
        let res = match res {
            // During shutdown failures may be caused by the shutdown itself.
            Err(HandlerError::Error(_)) if self.is_stopping() => {
                Err(HandlerError::retry(Duration::ZERO))
            }
            other => other,
        };
        match res {
            Ok(()) => {
                let next = match status {
                    Status::Doing => Some(Status::Done),
                    // Aborted while running but it completed: undo it.
                    Status::Abort => Some(Status::Undo),
                    Status::Undoing => Some(Status::Undone),
                    // The handler already set its final status itself.
                    _ => None,
                };
                if let Some(next) = next {
                    st.force_status(job.task, next);
                }
                true
            }
            Err(HandlerError::Retry { after, reason }) => {
                if status == Status::Abort {
                    self.try_undo(st, job.task);
                    return true;
                }
                if !after.is_zero() {
                    let _ = st.schedule_task(job.task, Some(Timestamp::now() + after));
                }
                if !reason.is_empty()
                    && let Some(t) = st.task_mut(job.task)
                {
                    t.log_info(format!("will retry: {reason}"));
                }
                retried.insert(job.task);
                false
            }
            Err(HandlerError::Wait {
                reason,
                waited_status,
            }) => {
                if status == Status::Abort {
                    self.try_undo(st, job.task);
                } else {
                    let _ = st.set_task_to_wait(job.task, waited_status);
                    if !reason.is_empty()
                        && let Some(t) = st.task_mut(job.task)
                    {
                        t.log_info(reason);
                    }
                }
                true
            }
            Err(HandlerError::Error(msg)) => {
                let lanes = st.task(job.task).map(|t| t.lanes()).unwrap_or_default();
                st.abort_lanes(job.change, &lanes);
                st.force_status(job.task, Status::Error);
                if let Some(t) = st.task_mut(job.task) {
                    t.log_error(msg);
                }
                true
            }
        }
    }

    /// A task in Abort that is not running: undo it, or Hold it if it
    /// cannot be undone (so it does not look like it finished).
    fn try_undo(&self, st: &mut State, id: TaskId) {
        let kind = st.task(id).map(|t| t.kind().to_owned()).unwrap_or_default();
        let next = if self.has_undo(&kind) {
            Status::Undo
        } else {
            Status::Hold
        };
        st.force_status(id, next);
    }

    fn has_undo(&self, kind: &str) -> bool {
        self.kind_has_undo(kind)
    }

    fn is_handled(&self, kind: &str) -> bool {
        self.handlers.contains_key(kind)
    }

    /// Finds the next job, doing the status-only transitions on the way
    /// (Abort→Undo/Hold, Undo without handler→Done, unknown kinds→Done,
    /// clean flags). Returns the job (already marked Doing/Undoing), whether
    /// any status moved, and the earliest future `at-time`.
    fn pick(
        &self,
        st: &mut State,
        retried: &HashSet<TaskId>,
    ) -> (Option<Job>, bool, Option<Timestamp>) {
        let now = Timestamp::now();
        let mut moved = false;
        let mut next_wakeup: Option<Timestamp> = None;
        let changes: Vec<ChangeId> = st
            .changes()
            .filter(|c| !(c.is_ready() && c.is_clean()))
            .map(|c| c.id())
            .collect();
        for cid in changes {
            let mut ids = st
                .change(cid)
                .map(|c| c.task_ids().to_vec())
                .unwrap_or_default();
            ids.sort_unstable();
            for tid in ids {
                let Some(t) = st.task(tid) else { continue };
                let kind = t.kind().to_owned();
                if !self.is_handled(&kind) && self.unknown == UnknownKinds::Ignore {
                    continue;
                }
                if t.status() == Status::Abort {
                    // Nothing runs concurrently, so an Abort task is idle.
                    self.try_undo(st, tid);
                    moved = true;
                }
                let t = st.task(tid).expect("still present");
                let status = t.status();
                if status.is_ready() {
                    if !t.is_clean() && st.change(cid).is_some_and(|c| c.is_ready()) {
                        if self.cleanups.contains_key(&kind) {
                            if !retried.contains(&tid) {
                                return (
                                    Some(self.job(st, tid, cid, Phase::Cleanup)),
                                    moved,
                                    next_wakeup,
                                );
                            }
                        } else {
                            st.set_task_clean(tid);
                        }
                    }
                    continue;
                }
                if status == Status::Wait || must_wait(st, tid) {
                    continue;
                }
                if !self.is_handled(&kind) {
                    // Unknown kind (MarkDone policy): nothing to do or undo.
                    if let Some(t) = st.task_mut(tid) {
                        t.log_info(format!("no handler for task {kind:?}, marking it as done"));
                    }
                    st.force_status(tid, Status::Done);
                    moved = true;
                    continue;
                }
                if matches!(status, Status::Undo | Status::Undoing) && !self.has_undo(&kind) {
                    // Cannot be undone: it stays done (snapd marks it Done).
                    st.force_status(tid, Status::Done);
                    moved = true;
                    continue;
                }
                if let Some(at) = t.at_time()
                    && at > now
                {
                    next_wakeup = Some(next_wakeup.map_or(at, |n| n.min(at)));
                    continue;
                }
                if retried.contains(&tid) {
                    continue;
                }
                let phase = match status {
                    Status::Do => {
                        st.force_status(tid, Status::Doing);
                        Phase::Do
                    }
                    Status::Doing => Phase::Do,
                    Status::Undo => {
                        st.force_status(tid, Status::Undoing);
                        Phase::Undo
                    }
                    Status::Undoing => Phase::Undo,
                    _ => continue,
                };
                // A Retry's schedule is consumed by this run.
                if st.task(tid).is_some_and(|t| t.at_time.is_some())
                    && let Ok(t) = st.task_slot(tid)
                {
                    t.at_time = None;
                }
                // Starting a task is not progress: a Retry-ing task re-picked
                // after nothing else moved must not reset the retry set.
                return (Some(self.job(st, tid, cid, phase)), moved, next_wakeup);
            }
        }
        (None, moved, next_wakeup)
    }

    fn job(&self, st: &State, task: TaskId, change: ChangeId, phase: Phase) -> Job {
        let t = st.task(task).expect("job for existing task");
        Job {
            task,
            change,
            kind: t.kind().to_owned(),
            summary: t.summary().to_owned(),
            phase,
        }
    }
}

/// Do waits for every wait-task to be Done; Undo waits for every halt-task
/// to be ready (hence undo runs in reverse order).
fn must_wait(st: &State, id: TaskId) -> bool {
    let Some(t) = st.task(id) else { return true };
    match t.status() {
        Status::Do => t
            .wait_tasks()
            .iter()
            .any(|w| st.task(*w).is_some_and(|w| w.status() != Status::Done)),
        Status::Undo => t
            .halt_tasks()
            .iter()
            .any(|h| st.task(*h).is_some_and(|h| !h.status().is_ready())),
        _ => false,
    }
}
