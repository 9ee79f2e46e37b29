//! Aborting changes and lanes (snapd's rollback propagation).
//!
//! Per task in the aborted set: `Do`→`Hold` (never runs), `Doing`→`Abort`
//! (undone once its handler returns), `Done`→`Undo`. Aborting follows
//! halt-tasks (successors) and spreads to every lane an aborted task is in,
//! except to tasks that also belong to a lane that is entirely healthy.

use std::collections::HashSet;

use crate::{ChangeId, State, StateError, Status, TaskId};

impl State {
    /// Flags a whole change for cancellation (`POST /v2/changes/{id}`
    /// `{"action":"abort"}`); the runner does the work on its next pass.
    /// Fails with [`StateError::NothingPending`] if the change is ready.
    pub fn abort_change(&mut self, id: ChangeId) -> Result<(), StateError> {
        let chg = self.change(id).ok_or(StateError::NoSuchChange(id))?;
        if chg.is_ready() {
            return Err(StateError::NothingPending(id));
        }
        let tasks = chg.task_ids.clone();
        self.abort_tasks(id, tasks, &mut HashSet::new(), &mut HashSet::new());
        self.modified = true;
        self.ensure_requested = true;
        Ok(())
    }

    /// Aborts the tasks of `lanes` in `change` and whatever waits on them,
    /// sparing tasks that are also in a fully healthy lane. This is what
    /// the runner does when a task fails (tasks in no lane are in lane 0).
    pub fn abort_lanes(&mut self, change: ChangeId, lanes: &[u64]) {
        self.abort_lanes_inner(
            change,
            lanes.to_vec(),
            &mut HashSet::new(),
            &mut HashSet::new(),
        );
        self.ensure_requested = true;
    }

    /// Aborts every lane that still has unready tasks (used by pruning for
    /// changes stuck for too long).
    pub fn abort_unready_lanes(&mut self, change: ChangeId) {
        let mut lanes: Vec<u64> = self
            .change_tasks(change)
            .into_iter()
            .filter(|t| !t.status().is_ready())
            .flat_map(|t| t.lanes())
            .collect();
        lanes.sort_unstable();
        lanes.dedup();
        self.abort_lanes(change, &lanes);
    }

    fn abort_lanes_inner(
        &mut self,
        change: ChangeId,
        lanes: Vec<u64>,
        aborted_lanes: &mut HashSet<u64>,
        seen: &mut HashSet<TaskId>,
    ) {
        // Opinion about lanes outside the kill list: a lane whose tasks are
        // all still live (Do/Doing/Done) keeps its shared tasks alive.
        let mut has_live = HashSet::new();
        let mut has_dead = HashSet::new();
        let mut lane_tasks = Vec::new();
        for t in self.change_tasks(change) {
            let live = matches!(
                effective_status(t),
                Status::Do | Status::Doing | Status::Done
            );
            let t_lanes = t.lanes();
            if t_lanes.iter().any(|l| lanes.contains(l)) {
                lane_tasks.push((t.id(), t_lanes));
                continue;
            }
            for l in t_lanes {
                if live {
                    has_live.insert(l);
                } else {
                    has_dead.insert(l);
                }
            }
        }
        let to_abort: Vec<TaskId> = lane_tasks
            .into_iter()
            .filter(|(_, t_lanes)| {
                !t_lanes
                    .iter()
                    .any(|l| has_live.contains(l) && !has_dead.contains(l))
            })
            .map(|(id, _)| id)
            .collect();
        aborted_lanes.extend(lanes);
        if !to_abort.is_empty() {
            self.abort_tasks(change, to_abort, aborted_lanes, seen);
        }
    }

    fn abort_tasks(
        &mut self,
        change: ChangeId,
        mut tasks: Vec<TaskId>,
        aborted_lanes: &mut HashSet<u64>,
        seen: &mut HashSet<TaskId>,
    ) {
        let mut more_lanes = Vec::new();
        let mut i = 0;
        while i < tasks.len() {
            let id = tasks[i];
            i += 1;
            if !seen.insert(id) {
                continue;
            }
            let Some(t) = self.task(id) else { continue };
            let new = match effective_status(t) {
                Status::Do => Some(Status::Hold),
                Status::Doing => Some(Status::Abort),
                Status::Done => Some(Status::Undo),
                _ => None,
            };
            let t_lanes = t.lanes();
            if t_lanes.iter().any(|l| !aborted_lanes.contains(l)) {
                more_lanes.extend(t_lanes);
            }
            tasks.extend(t.halt_tasks().iter().filter(|h| !seen.contains(h)));
            if let Some(new) = new {
                self.force_status(id, new);
            }
        }
        if !more_lanes.is_empty() {
            more_lanes.sort_unstable();
            more_lanes.dedup();
            self.abort_lanes_inner(change, more_lanes, aborted_lanes, seen);
        }
    }
}

/// A task in Wait counts as the status it will take after the wait.
fn effective_status(t: &crate::Task) -> Status {
    if t.status() == Status::Wait {
        t.waited_status()
    } else {
        t.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear chain of `n` tasks in one change, in lane `lane` if given.
    fn chain(st: &mut State, chg: ChangeId, n: usize, lane: Option<u64>) -> Vec<TaskId> {
        let mut ids: Vec<TaskId> = Vec::new();
        for i in 0..n {
            let t = st.new_task_in(chg, "t", &format!("t{i}")).unwrap();
            if let Some(l) = lane {
                st.task_mut(t).unwrap().join_lane(l);
            }
            if let Some(prev) = ids.last() {
                st.wait_for(t, *prev).unwrap();
            }
            ids.push(t);
        }
        ids
    }

    fn statuses(st: &State, ids: &[TaskId]) -> Vec<Status> {
        ids.iter().map(|t| st.task(*t).unwrap().status()).collect()
    }

    #[test]
    fn abort_change_maps_statuses() {
        let mut st = State::new();
        let chg = st.new_change("k", "s");
        let ids = chain(&mut st, chg, 4, None);
        st.force_status(ids[0], Status::Done);
        st.force_status(ids[1], Status::Doing);
        st.abort_change(chg).unwrap();
        use Status::*;
        assert_eq!(statuses(&st, &ids), [Undo, Abort, Hold, Hold]);
    }

    #[test]
    fn abort_of_ready_change_is_refused() {
        let mut st = State::new();
        let chg = st.new_change("k", "s");
        let ids = chain(&mut st, chg, 1, None);
        st.force_status(ids[0], Status::Done);
        assert!(matches!(
            st.abort_change(chg),
            Err(StateError::NothingPending(_))
        ));
        assert!(matches!(
            st.abort_change(ChangeId(99)),
            Err(StateError::NoSuchChange(_))
        ));
    }

    #[test]
    fn failing_lane_spares_healthy_lane() {
        let mut st = State::new();
        let chg = st.new_change("k", "s");
        let (l1, l2) = (st.new_lane(), st.new_lane());
        let a = chain(&mut st, chg, 2, Some(l1));
        let b = chain(&mut st, chg, 2, Some(l2));
        st.force_status(a[0], Status::Done);
        st.force_status(b[0], Status::Done);
        st.abort_lanes(chg, &[l1]);
        use Status::*;
        assert_eq!(statuses(&st, &a), [Undo, Hold]);
        assert_eq!(statuses(&st, &b), [Done, Do]);
    }

    #[test]
    fn abort_follows_halt_tasks_across_lanes() {
        let mut st = State::new();
        let chg = st.new_change("k", "s");
        let (l1, l2) = (st.new_lane(), st.new_lane());
        let a = chain(&mut st, chg, 2, Some(l1));
        let b = chain(&mut st, chg, 2, Some(l2));
        // b waits on the end of a: aborting a drags b down too.
        st.wait_for(b[0], a[1]).unwrap();
        st.force_status(a[0], Status::Done);
        st.abort_lanes(chg, &[l1]);
        assert_eq!(statuses(&st, &b), [Status::Hold, Status::Hold]);
    }
}
