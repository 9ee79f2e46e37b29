//! What a task handler sees: its task's identity and brief, locked access
//! to the state.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{ChangeId, State, StateError, StateGuard, StateStore, Status, TaskId};

/// Handed to do/undo/cleanup handlers, which run **without** the state lock.
///
/// Every accessor takes the lock briefly, and every mutating accessor
/// checkpoints when it releases it (a journal append and fdatasync). To make
/// several updates durable together, take [`TaskContext::lock`] once.
pub struct TaskContext<'a> {
    pub(crate) store: &'a StateStore,
    pub(crate) stopping: &'a AtomicBool,
    pub(crate) task: TaskId,
    pub(crate) change: ChangeId,
    pub(crate) kind: String,
    pub(crate) summary: String,
    pub(crate) undoing: bool,
}

impl<'a> TaskContext<'a> {
    pub fn task_id(&self) -> TaskId {
        self.task
    }

    pub fn change_id(&self) -> ChangeId {
        self.change
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Whether this is an undo run.
    pub fn is_undo(&self) -> bool {
        self.undoing
    }

    /// The store, e.g. to share with a helper thread.
    pub fn store(&self) -> &'a StateStore {
        self.store
    }

    /// True once the runner is stopping or the task's change was aborted
    /// while it runs: a long handler should return `HandlerError::retry`
    /// (stopping) or finish quickly. Returning `Ok` from an aborted do
    /// leads to the task being undone.
    pub fn is_cancelled(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
            || self
                .store
                .lock()
                .task(self.task)
                .is_none_or(|t| t.status() == Status::Abort)
    }

    /// Takes the state lock. Changes made through the guard are written
    /// once, when it is dropped.
    pub fn lock(&self) -> StateGuard<'a> {
        self.store.lock()
    }

    /// Runs `f` under the lock; everything it changes is one checkpoint.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.store.lock();
        f(&mut st)
    }

    /// Task data `key` of this task.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        let st = self.store.lock();
        st.task(self.task)
            .ok_or(StateError::NoSuchTask(self.task))?
            .get(key)
    }

    /// Sets task data `key` of this task (persisted before returning).
    pub fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), StateError> {
        let mut st = self.store.lock();
        st.task_mut(self.task)
            .ok_or(StateError::NoSuchTask(self.task))?
            .set(key, value)?;
        st.commit_retrying()
    }

    /// Change data `key` of this task's change.
    pub fn change_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        let st = self.store.lock();
        st.change(self.change)
            .ok_or(StateError::NoSuchChange(self.change))?
            .get(key)
    }

    /// Sets change data `key` of this task's change (persisted).
    pub fn change_set<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let mut st = self.store.lock();
        st.change_mut(self.change)
            .ok_or(StateError::NoSuchChange(self.change))?
            .set(key, value)?;
        st.commit_retrying()
    }

    /// State `data[key]`.
    pub fn state_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        self.store.lock().get(key)
    }

    /// Sets state `data[key]` (persisted).
    pub fn state_set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), StateError> {
        let mut st = self.store.lock();
        st.set(key, value)?;
        st.commit_retrying()
    }

    /// State `data[key][entry]` (e.g. one snap of `snaps`).
    pub fn state_get_entry<T: DeserializeOwned>(
        &self,
        key: &str,
        entry: &str,
    ) -> Result<Option<T>, StateError> {
        self.store.lock().get_entry(key, entry)
    }

    /// Sets state `data[key][entry]` (persisted).
    pub fn state_set_entry<T: Serialize + ?Sized>(
        &self,
        key: &str,
        entry: &str,
        value: &T,
    ) -> Result<(), StateError> {
        let mut st = self.store.lock();
        st.set_entry(key, entry, value)?;
        st.commit_retrying()
    }

    /// Appends an INFO line to the task log (persisted).
    pub fn log(&self, msg: impl std::fmt::Display) {
        let mut st = self.store.lock();
        if let Some(t) = st.task_mut(self.task) {
            t.log_info(msg);
        }
    }

    /// Reports progress; only the final value (`done == total`) is written
    /// to disk, intermediate values are visible to the API only.
    pub fn set_progress(&self, label: &str, done: u64, total: u64) {
        let mut st = self.store.lock();
        let _ = st.set_task_progress(self.task, label, done, total);
    }

    /// Applies `f` and marks this task finished (`Done` when doing,
    /// `Undone` when undoing) under the same lock, so the mutation and the
    /// status are in the same checkpoint. Use it when re-running `f` after
    /// a crash would not be idempotent (snapd's rule for such handlers).
    /// If `f` fails the task is not marked and the error is returned; `f`
    /// should then leave the state untouched (what it did change would
    /// still be written when the lock is released).
    pub fn finish<R, E>(&self, f: impl FnOnce(&mut State) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StateError>,
    {
        let mut st = self.store.lock();
        let r = f(&mut st)?;
        let status = if self.undoing {
            Status::Undone
        } else {
            Status::Done
        };
        st.set_task_status(self.task, status)?;
        st.commit_retrying()?;
        Ok(r)
    }
}
