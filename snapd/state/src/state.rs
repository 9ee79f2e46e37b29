//! The in-memory state: changes, tasks and their statuses.
//!
//! `data` keys live in `datakeys.rs`, the JSON document in `document.rs`.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::change::Change;
use crate::datakeys::DataKeys;
use crate::task::Task;
use crate::tracked::{Slots, Tracked};
use crate::warning::Warning;
use crate::{ChangeId, StateError, Status, TaskId, Timestamp};

/// A task status transition, as reported to persistence observers and crash
/// points once it is durable on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub task: TaskId,
    pub kind: String,
    pub status: Status,
}

/// The whole persistent state: `data` keys, changes, tasks, warnings and
/// id counters, plus bookkeeping for checkpoints.
///
/// All access goes through a [`crate::StateGuard`] (the state lock).
/// Mutations flag the state as modified and record what they touched;
/// releasing the guard then journals what changed, once.
#[derive(Debug, Default)]
pub struct State {
    pub(crate) data: DataKeys,
    pub(crate) changes: Slots<ChangeId, Change>,
    pub(crate) tasks: Slots<TaskId, Task>,
    pub(crate) warnings: Tracked<BTreeMap<String, Warning>>,
    pub(crate) last_change_id: u64,
    pub(crate) last_task_id: u64,
    pub(crate) last_lane_id: u64,
    pub(crate) last_notice_id: u64,
    /// Top-level keys we do not model (`notices`...), kept verbatim so a
    /// state written by snapd survives a round trip.
    pub(crate) extra: Tracked<BTreeMap<String, Box<RawValue>>>,
    pub(crate) modified: bool,
    pub(crate) ensure_requested: bool,
    pub(crate) transitions: Vec<Transition>,
}

impl State {
    /// An empty state (what a fresh system starts with).
    pub fn new() -> Self {
        State {
            modified: true,
            ..Default::default()
        }
    }

    /// Whether something changed since the last checkpoint.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// Asks the task runner for an ensure pass as soon as the lock is released.
    pub fn ensure_soon(&mut self) {
        self.ensure_requested = true;
    }

    // ----- changes and tasks -----------------------------------------

    /// Creates a change (no tasks yet) and returns its id.
    pub fn new_change(&mut self, kind: &str, summary: &str) -> ChangeId {
        self.last_change_id += 1;
        let id = ChangeId(self.last_change_id);
        self.changes
            .insert(id, Change::new(id, kind, summary, Timestamp::now()));
        self.modified = true;
        self.ensure_requested = true;
        id
    }

    /// Creates a task not yet attached to any change.
    pub fn new_task(&mut self, kind: &str, summary: &str) -> TaskId {
        self.last_task_id += 1;
        let id = TaskId(self.last_task_id);
        self.tasks
            .insert(id, Task::new(id, kind, summary, Timestamp::now()));
        self.modified = true;
        id
    }

    /// Creates a task and adds it to `change` in one go.
    pub fn new_task_in(
        &mut self,
        change: ChangeId,
        kind: &str,
        summary: &str,
    ) -> Result<TaskId, StateError> {
        if !self.changes.contains_key(&change) {
            return Err(StateError::NoSuchChange(change));
        }
        let id = self.new_task(kind, summary);
        self.add_task(change, id)?;
        Ok(id)
    }

    /// Attaches `task` to `change`.
    pub fn add_task(&mut self, change: ChangeId, task: TaskId) -> Result<(), StateError> {
        if !self.changes.contains_key(&change) {
            return Err(StateError::NoSuchChange(change));
        }
        let t = self.task_ref(task)?;
        match t.change {
            Some(c) if c == change => return Ok(()),
            Some(c) => return Err(StateError::TaskInOtherChange { task, change: c }),
            None => {}
        }
        let t = self.task_slot(task)?;
        t.change = Some(change);
        let task_ready = t.status.is_ready();
        let chg = self.change_slot(change)?;
        chg.task_ids.push(task);
        // Adding pending work re-opens a change that looked finished.
        if !task_ready && chg.status.is_none() {
            chg.ready_time = None;
        }
        self.modified = true;
        self.ensure_requested = true;
        Ok(())
    }

    /// Makes `task` wait for `predecessor` (its Do runs only once the
    /// predecessor is Done; the predecessor's Undo waits for `task` to be
    /// ready). Both edge lists are kept symmetric.
    pub fn wait_for(&mut self, task: TaskId, predecessor: TaskId) -> Result<(), StateError> {
        let p = self.task_ref(predecessor)?;
        let add_halt = !p.halt_tasks.contains(&task);
        let add_wait = !self.task_ref(task)?.wait_tasks.contains(&predecessor);
        if add_wait {
            self.task_slot(task)?.wait_tasks.push(predecessor);
        }
        if add_halt {
            self.task_slot(predecessor)?.halt_tasks.push(task);
        }
        self.modified = true;
        Ok(())
    }

    /// Makes every task of `tasks` wait for every task of `predecessors`.
    pub fn wait_all(
        &mut self,
        tasks: &[TaskId],
        predecessors: &[TaskId],
    ) -> Result<(), StateError> {
        for t in tasks {
            for p in predecessors {
                self.wait_for(*t, *p)?;
            }
        }
        Ok(())
    }

    /// Allocates a new lane number (tasks in different lanes of a change
    /// roll back independently).
    pub fn new_lane(&mut self) -> u64 {
        self.last_lane_id += 1;
        self.modified = true;
        self.last_lane_id
    }

    pub fn change(&self, id: ChangeId) -> Option<&Change> {
        self.changes.get(&id)
    }

    /// Mutable access to a change's data.
    pub fn change_mut(&mut self, id: ChangeId) -> Option<&mut Change> {
        let chg = self.changes.get_mut(&id)?;
        self.modified = true;
        Some(chg)
    }

    /// All changes, by ascending id.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.values()
    }

    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.get(&id)
    }

    /// Mutable access to a task's data, log and lanes.
    pub fn task_mut(&mut self, id: TaskId) -> Option<&mut Task> {
        let t = self.tasks.get_mut(&id)?;
        self.modified = true;
        Some(t)
    }

    /// All tasks (attached or not), by ascending id.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// Tasks of a change in the order they were added.
    pub fn change_tasks(&self, id: ChangeId) -> Vec<&Task> {
        self.change(id)
            .map(|c| c.task_ids.iter().filter_map(|t| self.task(*t)).collect())
            .unwrap_or_default()
    }

    /// Tasks of `change` that are in any of `lanes` (a task in no lane is in lane 0).
    pub fn lane_tasks(&self, change: ChangeId, lanes: &[u64]) -> Vec<TaskId> {
        self.change_tasks(change)
            .into_iter()
            .filter(|t| t.lanes().iter().any(|l| lanes.contains(l)))
            .map(Task::id)
            .collect()
    }

    fn task_ref(&self, id: TaskId) -> Result<&Task, StateError> {
        self.tasks.get(&id).ok_or(StateError::NoSuchTask(id))
    }

    /// Mutable access to a task for internal bookkeeping: it is journaled
    /// at the next checkpoint (the caller decides about `modified`).
    pub(crate) fn task_slot(&mut self, id: TaskId) -> Result<&mut Task, StateError> {
        self.tasks.get_mut(&id).ok_or(StateError::NoSuchTask(id))
    }

    /// Like [`State::task_slot`], for a change.
    pub(crate) fn change_slot(&mut self, id: ChangeId) -> Result<&mut Change, StateError> {
        self.changes
            .get_mut(&id)
            .ok_or(StateError::NoSuchChange(id))
    }

    // ----- statuses --------------------------------------------------

    /// Sets a task's status. This is how a handler finishes itself
    /// (`Done`/`Undone`) in the same checkpoint as its state mutation.
    ///
    /// As in snapd, setting `Done` on a task in `Abort` keeps it in `Abort`
    /// (so it is undone), and `Wait` must go through [`State::set_task_to_wait`].
    pub fn set_task_status(&mut self, id: TaskId, status: Status) -> Result<(), StateError> {
        if status == Status::Wait {
            return Err(StateError::BadStatus {
                task: id,
                status,
                reason: "use set_task_to_wait",
            });
        }
        let t = self.task_ref(id)?;
        if status == Status::Done && t.status == Status::Abort {
            return Ok(());
        }
        self.force_status(id, status);
        self.ensure_requested = true;
        Ok(())
    }

    /// Puts a task in `Wait`; once resolved ([`State::resolve_wait`]) it
    /// takes `waited` (usually Done). Ignored for a task in `Abort`.
    pub fn set_task_to_wait(&mut self, id: TaskId, waited: Status) -> Result<(), StateError> {
        if matches!(waited, Status::Wait) {
            return Err(StateError::BadStatus {
                task: id,
                status: waited,
                reason: "cannot wait for Wait",
            });
        }
        let t = self.task_ref(id)?;
        if t.status == Status::Abort {
            return Ok(());
        }
        if t.waited_status != waited {
            self.task_slot(id)?.waited_status = waited;
            self.modified = true;
        }
        self.force_status(id, Status::Wait);
        Ok(())
    }

    /// Ends the wait of a task in `Wait` (e.g. after the expected reboot).
    pub fn resolve_wait(&mut self, id: TaskId) -> Result<(), StateError> {
        let t = self.task_ref(id)?;
        if t.status == Status::Wait {
            let waited = t.waited_status;
            self.force_status(id, waited);
            self.ensure_requested = true;
        }
        Ok(())
    }

    /// Raw status change with all bookkeeping: ready-time of the task, of
    /// its change, and the transition log used by crash points.
    pub(crate) fn force_status(&mut self, id: TaskId, new: Status) {
        let Some(t) = self.tasks.get(&id) else {
            return;
        };
        let old = t.status;
        if old == new {
            return;
        }
        let now = Timestamp::now();
        let t = self.tasks.get_mut(&id).expect("checked above");
        t.status = new;
        if !old.is_ready() && new.is_ready() {
            t.ready_time = Some(now);
        }
        self.modified = true;
        self.transitions.push(Transition {
            task: id,
            kind: t.kind.clone(),
            status: new,
        });
        if old.is_ready() != new.is_ready()
            && let Some(chg) = t.change
        {
            self.update_change_readiness(chg, now);
        }
    }

    fn update_change_readiness(&mut self, id: ChangeId, now: Timestamp) {
        let Some(chg) = self.changes.get(&id) else {
            return;
        };
        if chg.status.is_some() {
            return;
        }
        let all_ready = chg
            .task_ids
            .iter()
            .all(|t| self.task(*t).is_none_or(|t| t.status.is_ready()));
        let ready_time = match (all_ready, chg.ready_time.is_some()) {
            (true, false) => Some(now),
            (false, true) => None,
            _ => return,
        };
        self.changes.get_mut(&id).expect("checked above").ready_time = ready_time;
        self.modified = true;
    }

    /// Overrides (or with `None` clears) the derived status of a change;
    /// e.g. the API marks a change with no tasks Done.
    pub fn set_change_status(
        &mut self,
        id: ChangeId,
        status: Option<Status>,
    ) -> Result<(), StateError> {
        let now = Timestamp::now();
        let chg = self.change_slot(id)?;
        chg.status = status;
        match status {
            Some(s) if s.is_ready() => {
                chg.ready_time.get_or_insert(now);
            }
            _ => self.update_change_readiness(id, now),
        }
        self.modified = true;
        Ok(())
    }

    /// Sets a task's progress. Like snapd, only a final value
    /// (`done == total`) marks the state modified: intermediate download
    /// progress is shown by the API but not worth a disk write (it is
    /// written with the next checkpoint that happens anyway).
    pub fn set_task_progress(
        &mut self,
        id: TaskId,
        label: &str,
        done: u64,
        total: u64,
    ) -> Result<(), StateError> {
        self.task_slot(id)?.set_progress(label, done, total);
        if total > 0 && done == total {
            self.modified = true;
        }
        Ok(())
    }

    /// Schedules a task to run no earlier than `at` (`None` clears).
    pub fn schedule_task(&mut self, id: TaskId, at: Option<Timestamp>) -> Result<(), StateError> {
        let t = self.task_ref(id)?;
        if at.is_some() && t.status.is_ready() {
            return Ok(());
        }
        self.task_slot(id)?.at_time = at;
        self.modified = true;
        self.ensure_requested = true;
        Ok(())
    }

    pub(crate) fn set_task_clean(&mut self, id: TaskId) {
        let Some(t) = self.tasks.get(&id) else {
            return;
        };
        if t.clean {
            return;
        }
        let t = self.tasks.get_mut(&id).expect("checked above");
        t.clean = true;
        self.modified = true;
        let Some(chg) = t.change else { return };
        let all_clean = self.change(chg).is_some_and(|c| {
            !c.clean
                && c.task_ids
                    .iter()
                    .all(|t| self.task(*t).is_none_or(|t| t.clean))
        });
        if all_clean && let Some(c) = self.changes.get_mut(&chg) {
            c.clean = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_is_invalidated_by_mutation() {
        let mut st = State::new();
        let chg = st.new_change("k", "s");
        let t = st.new_task_in(chg, "a", "A").unwrap();
        let first = st.to_json();
        st.task_mut(t).unwrap().set("x", &1).unwrap();
        let second = st.to_json();
        assert_ne!(first, second);
        assert!(second.contains("\"data\":{\"x\":1}"));
        st.force_status(t, Status::Done);
        assert!(st.to_json().contains("\"status\":4"));
        assert!(st.change(chg).unwrap().is_ready());
    }
}
