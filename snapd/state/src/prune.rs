//! Pruning old changes, as snapd does every 10 minutes.

use std::time::Duration;

use crate::{ChangeId, State, Timestamp};

/// Pruning limits; the defaults are snapd's.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Ready changes older than this are removed (24 h).
    pub prune_wait: Duration,
    /// Unready changes spawned longer ago than this get their unready
    /// lanes aborted (3 days).
    pub abort_wait: Duration,
    /// At most this many ready changes are kept, oldest removed first (500).
    pub max_ready_changes: usize,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            prune_wait: Duration::from_secs(24 * 3600),
            abort_wait: Duration::from_secs(3 * 24 * 3600),
            max_ready_changes: 500,
        }
    }
}

/// What a prune did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub removed_changes: Vec<ChangeId>,
    pub aborted_changes: Vec<ChangeId>,
    pub removed_tasks: usize,
}

impl State {
    /// Removes ready changes (with their tasks) that became ready more than
    /// `prune_wait` before `now`, then the oldest ready ones beyond
    /// `max_ready_changes`; aborts unready lanes of changes spawned more than
    /// `abort_wait` ago; drops changes that never got tasks and unattached
    /// tasks after `prune_wait`; drops expired warnings.
    ///
    /// `start_of_operation` is when the daemon started: spawn times before
    /// it count as that instant, so a machine that was off for a week does
    /// not abort everything the moment it boots.
    pub fn prune(
        &mut self,
        now: Timestamp,
        start_of_operation: Timestamp,
        opts: &PruneOptions,
    ) -> PruneReport {
        let prune_limit = now - opts.prune_wait;
        let abort_limit = now - opts.abort_wait;
        let mut report = PruneReport::default();
        self.prune_warnings(now);

        // Oldest ready first, so the excess-count rule removes the oldest.
        let mut ready: Vec<(Timestamp, ChangeId)> = self
            .changes()
            .filter_map(|c| c.ready_time().map(|t| (t, c.id())))
            .collect();
        ready.sort();
        let mut ready_count = ready.len();
        for (ready_time, id) in ready {
            if ready_time < prune_limit || ready_count > opts.max_ready_changes {
                report.removed_tasks += self.remove_change(id);
                report.removed_changes.push(id);
                ready_count -= 1;
            }
        }

        let unready: Vec<(ChangeId, Timestamp, bool)> = self
            .changes()
            .filter(|c| !c.is_ready())
            .map(|c| {
                (
                    c.id(),
                    c.spawn_time().max(start_of_operation),
                    c.task_ids().is_empty(),
                )
            })
            .collect();
        for (id, spawn, no_tasks) in unready {
            if no_tasks && spawn < prune_limit {
                self.remove_change(id);
                report.removed_changes.push(id);
            } else if spawn < abort_limit && !no_tasks {
                self.abort_unready_lanes(id);
                report.aborted_changes.push(id);
            }
        }

        let orphans: Vec<_> = self
            .tasks()
            .filter(|t| t.change().is_none() && t.spawn_time() < prune_limit)
            .map(|t| t.id())
            .collect();
        for id in orphans {
            self.tasks.remove(&id);
            report.removed_tasks += 1;
            self.modified = true;
        }
        report
    }

    /// Deletes a change and its tasks; returns how many tasks went.
    fn remove_change(&mut self, id: ChangeId) -> usize {
        let Some(chg) = self.changes.remove(&id) else {
            return 0;
        };
        self.modified = true;
        chg.task_ids
            .iter()
            .filter(|t| self.tasks.remove(t).is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    const HOUR: Duration = Duration::from_secs(3600);

    fn done_change(st: &mut State) -> ChangeId {
        let c = st.new_change("k", "s");
        let t = st.new_task_in(c, "t", "t").unwrap();
        st.force_status(t, Status::Done);
        c
    }

    #[test]
    fn old_ready_changes_go() {
        let mut st = State::new();
        let start = Timestamp::now();
        let old = done_change(&mut st);
        let pending = st.new_change("k", "pending");
        let t = st.new_task_in(pending, "t", "t").unwrap();
        // Not yet old.
        let r = st.prune(Timestamp::now() + HOUR, start, &PruneOptions::default());
        assert!(r.removed_changes.is_empty());
        let r = st.prune(
            Timestamp::now() + 25 * HOUR,
            start,
            &PruneOptions::default(),
        );
        assert_eq!(r.removed_changes, [old]);
        assert_eq!(r.removed_tasks, 1);
        assert!(st.change(old).is_none() && st.change(pending).is_some());
        // After 3 days the stuck change is aborted, not removed.
        let r = st.prune(
            Timestamp::now() + 73 * HOUR,
            start,
            &PruneOptions::default(),
        );
        assert_eq!(r.aborted_changes, [pending]);
        assert_eq!(st.task(t).unwrap().status(), Status::Hold);
    }

    #[test]
    fn keeps_at_most_max_ready_changes() {
        let mut st = State::new();
        let ids: Vec<_> = (0..7).map(|_| done_change(&mut st)).collect();
        let opts = PruneOptions {
            max_ready_changes: 5,
            ..Default::default()
        };
        let r = st.prune(Timestamp::now(), Timestamp::now(), &opts);
        assert_eq!(r.removed_changes, ids[..2]);
        assert_eq!(st.changes().count(), 5);
    }

    #[test]
    fn empty_changes_and_orphan_tasks_go_after_a_day() {
        let mut st = State::new();
        let start = Timestamp::now();
        let empty = st.new_change("k", "never got tasks");
        let orphan = st.new_task("t", "orphan");
        let r = st.prune(
            Timestamp::now() + 25 * HOUR,
            start,
            &PruneOptions::default(),
        );
        assert_eq!(r.removed_changes, [empty]);
        assert!(st.task(orphan).is_none());
        // Spawn times before the daemon started count as the start.
        let mut st = State::new();
        let c = st.new_change("k", "s");
        st.new_task_in(c, "t", "t").unwrap();
        let later_start = Timestamp::now() + 100 * HOUR;
        let r = st.prune(later_start + HOUR, later_start, &PruneOptions::default());
        assert!(r.aborted_changes.is_empty());
    }
}
