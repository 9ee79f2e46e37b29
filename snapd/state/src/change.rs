//! A change: a user-visible operation made of tasks, and how its status is
//! derived from them.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::data::DataMap;
use crate::status::{CHANGE_STATUS_ORDER, int_serde};
use crate::task::LOG_ERROR;
use crate::{ChangeId, State, StateError, Status, TaskId, Timestamp};

/// A change as stored in the state. Read it with [`State::change`], edit its
/// data with [`State::change_mut`]; its status is derived by
/// [`State::change_status`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Change {
    pub(crate) id: ChangeId,
    pub(crate) kind: String,
    pub(crate) summary: String,
    /// Explicit status; `None` (0 on disk) means "derive from the tasks".
    #[serde(with = "int_serde")]
    pub(crate) status: Option<Status>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) clean: bool,
    #[serde(default, skip_serializing_if = "DataMap::is_empty")]
    pub(crate) data: DataMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) task_ids: Vec<TaskId>,
    pub(crate) spawn_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ready_time: Option<Timestamp>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Change {
    pub(crate) fn new(id: ChangeId, kind: &str, summary: &str, now: Timestamp) -> Self {
        Change {
            id,
            kind: kind.to_owned(),
            summary: summary.to_owned(),
            status: None,
            clean: false,
            data: DataMap::default(),
            task_ids: Vec::new(),
            spawn_time: now,
            ready_time: None,
        }
    }

    pub fn id(&self) -> ChangeId {
        self.id
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// Tasks of the change, in the order they were added.
    pub fn task_ids(&self) -> &[TaskId] {
        &self.task_ids
    }

    pub fn spawn_time(&self) -> Timestamp {
        self.spawn_time
    }

    /// When the change became ready (Done/Undone/Hold/Error), if it has.
    pub fn ready_time(&self) -> Option<Timestamp> {
        self.ready_time
    }

    /// Whether it is ready. Unlike `State::change_status(..).is_ready()` this
    /// is false for a freshly created change that has no tasks yet (whose
    /// derived status is Hold), so it is not reported or pruned as finished.
    pub fn is_ready(&self) -> bool {
        self.ready_time.is_some()
    }

    /// Whether the cleanups of all its tasks have run.
    pub fn is_clean(&self) -> bool {
        self.clean
    }

    /// Deserializes change data `key` (e.g. `snap-names`, `api-data`).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StateError> {
        self.data.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.data.has(key)
    }

    pub fn data(&self) -> &DataMap {
        &self.data
    }

    /// Sets change data `key`.
    pub fn set<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), StateError> {
        self.data.set(key, value)
    }

    /// Sets change data `key` from already-serialized JSON.
    pub fn set_raw(&mut self, key: &str, raw: Box<RawValue>) {
        self.data.set_raw(key, raw);
    }

    /// Removes change data `key`.
    pub fn remove(&mut self, key: &str) -> bool {
        self.data.remove(key)
    }
}

/// Memo for the "is every pending task blocked behind a Wait task" walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WaitMemo {
    Computing,
    Waiting,
    NotWaiting,
}

impl State {
    /// The change's status: the explicit one if set, otherwise derived as
    /// snapd does — `Wait` when every pending task is blocked behind a task
    /// in Wait, else the first status present in the priority order Abort,
    /// Undoing, Undo, Doing, Do, Wait, Error, Undone, Done, Hold. A change
    /// with no tasks is Hold.
    pub fn change_status(&self, id: ChangeId) -> Option<Status> {
        let chg = self.change(id)?;
        Some(self.derive_status(chg))
    }

    pub(crate) fn derive_status(&self, chg: &Change) -> Status {
        if let Some(st) = chg.status {
            return st;
        }
        if chg.task_ids.is_empty() {
            return Status::Hold;
        }
        let mut counts = [0usize; 10];
        for tid in &chg.task_ids {
            if let Some(t) = self.task(*tid) {
                counts[Self::slot_of(t.status)] += 1;
            }
        }
        if counts[Self::slot_of(Status::Wait)] > 0 && self.is_change_waiting(chg) {
            return Status::Wait;
        }
        CHANGE_STATUS_ORDER
            .into_iter()
            .find(|s| counts[Self::slot_of(*s)] > 0)
            // Only reachable if every task id dangles; Hold is the "nothing to do" answer.
            .unwrap_or(Status::Hold)
    }

    fn slot_of(s: Status) -> usize {
        usize::from(s.to_int() - 1)
    }

    /// True iff every task still in Do/Undo is (transitively) blocked only by
    /// tasks that are ready or in Wait, and at least one blocker is in Wait.
    fn is_change_waiting(&self, chg: &Change) -> bool {
        let mut memo = HashMap::new();
        for tid in &chg.task_ids {
            let Some(t) = self.task(*tid) else { continue };
            let deps = match t.status {
                Status::Wait | Status::Done | Status::Undone | Status::Error | Status::Hold => {
                    continue;
                }
                Status::Do => &t.wait_tasks,
                Status::Undo => &t.halt_tasks,
                _ => return false,
            };
            if !self.is_task_waiting(&mut memo, *tid, deps) {
                return false;
            }
        }
        true
    }

    fn is_task_waiting(
        &self,
        memo: &mut HashMap<TaskId, WaitMemo>,
        id: TaskId,
        deps: &[TaskId],
    ) -> bool {
        match memo.get(&id) {
            // A cycle: answer "not waiting" so the normal order applies.
            Some(WaitMemo::Computing) => return false,
            Some(m) => return *m == WaitMemo::Waiting,
            None => {}
        }
        memo.insert(id, WaitMemo::Computing);
        let mut waiting = false;
        for dep in deps {
            let Some(wt) = self.task(*dep) else { continue };
            match wt.status {
                Status::Wait => waiting = true,
                Status::Done | Status::Undone | Status::Error | Status::Hold => continue,
                Status::Do => {
                    waiting = self.is_task_waiting(memo, *dep, &wt.wait_tasks);
                    if !waiting {
                        break;
                    }
                }
                Status::Undo => {
                    waiting = self.is_task_waiting(memo, *dep, &wt.halt_tasks);
                    if !waiting {
                        break;
                    }
                }
                _ => {
                    waiting = false;
                    break;
                }
            }
        }
        memo.insert(
            id,
            if waiting {
                WaitMemo::Waiting
            } else {
                WaitMemo::NotWaiting
            },
        );
        waiting
    }

    /// The change's `err` as the API shows it: only when the change is in
    /// Error, built from the `ERROR` log lines of its tasks in Error:
    /// `cannot perform the following tasks:\n- <summary> (<message>)`.
    pub fn change_err(&self, id: ChangeId) -> Option<String> {
        let chg = self.change(id)?;
        if self.derive_status(chg) != Status::Error {
            return None;
        }
        let mut lines = Vec::new();
        for t in chg.task_ids.iter().filter_map(|tid| self.task(*tid)) {
            if t.status != Status::Error {
                continue;
            }
            for line in &t.log {
                if let Some(msg) = strip_error_prefix(line) {
                    lines.push(format!("- {} ({msg})", t.summary));
                }
            }
        }
        if lines.is_empty() {
            return Some(format!(
                "internal inconsistency: change {:?} in ErrorStatus with no task errors logged",
                chg.kind
            ));
        }
        Some(format!(
            "cannot perform the following tasks:\n{}",
            lines.join("\n")
        ))
    }
}

/// `"<time> ERROR <msg>"` → `Some("<msg>")`.
fn strip_error_prefix(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once(' ')?;
    rest.strip_prefix(LOG_ERROR)?.strip_prefix(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a change whose tasks have the given statuses (no edges).
    fn change_with(statuses: &[Status]) -> (State, ChangeId) {
        let mut st = State::new();
        let chg = st.new_change("k", "s");
        for s in statuses {
            let t = st.new_task("t", "t");
            st.add_task(chg, t).unwrap();
            st.force_status(t, *s);
        }
        (st, chg)
    }

    #[test]
    fn derivation_follows_priority_order() {
        use Status::*;
        let cases: &[(&[Status], Status)] = &[
            (&[], Hold),
            (&[Done, Done], Done),
            (&[Done, Undone], Undone),
            (&[Done, Error, Undone], Error),
            (&[Error, Do], Do),
            (&[Done, Doing, Do], Doing),
            (&[Doing, Undo], Undo),
            (&[Undo, Undoing], Undoing),
            (&[Undoing, Abort, Do], Abort),
            (&[Hold, Done], Done),
            (&[Hold, Hold], Hold),
            (&[Error, Hold, Undone], Error),
            // A lone Wait with nothing pending behind it: the change waits.
            (&[Done, Wait], Wait),
            // Wait plus an unblocked Do (no edges): Do wins by priority.
            (&[Wait, Do], Do),
        ];
        for (statuses, want) in cases {
            let (st, chg) = change_with(statuses);
            assert_eq!(st.change_status(chg), Some(*want), "{statuses:?}");
        }
    }

    #[test]
    fn wait_when_pending_tasks_are_blocked_by_a_waiter() {
        let (mut st, chg) = change_with(&[Status::Done, Status::Wait, Status::Do]);
        let ids = st.change(chg).unwrap().task_ids().to_vec();
        st.wait_for(ids[2], ids[1]).unwrap();
        assert_eq!(st.change_status(chg), Some(Status::Wait));
        assert!(!Status::Wait.is_ready());
    }

    #[test]
    fn explicit_status_wins() {
        let (mut st, chg) = change_with(&[Status::Do]);
        st.set_change_status(chg, Some(Status::Done)).unwrap();
        assert_eq!(st.change_status(chg), Some(Status::Done));
        assert!(st.change(chg).unwrap().is_ready());
    }

    #[test]
    fn err_lists_error_lines_of_failed_tasks() {
        let (mut st, chg) = change_with(&[Status::Undone, Status::Error, Status::Hold]);
        let ids = st.change(chg).unwrap().task_ids().to_vec();
        st.task_mut(ids[1]).unwrap().summary = "Start snap \"x\" (3) services".into();
        st.task_mut(ids[1]).unwrap().log_info("starting");
        st.task_mut(ids[1]).unwrap().log_error("systemctl failed");
        st.task_mut(ids[0])
            .unwrap()
            .log_error("ignored: not in Error");
        assert_eq!(
            st.change_err(chg).unwrap(),
            "cannot perform the following tasks:\n- Start snap \"x\" (3) services (systemctl failed)"
        );
        let (st, chg) = change_with(&[Status::Done]);
        assert_eq!(st.change_err(chg), None);
    }
}
