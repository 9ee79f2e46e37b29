//! What a checkpoint made durable, for observers that keep others informed (the daemon's
//! D-Bus signals): which changes moved and which `data` keys were written. Computed only when
//! an observer is installed, from the same dirty tracking the journal uses, so it costs
//! nothing otherwise and never misses a mutation the journal records.

use std::collections::BTreeSet;

use crate::{ChangeId, State, Transition};

/// Called after each successful checkpoint with what it made durable. It runs with the state
/// lock held: it must be quick and must not call back into the store (hand the summary to
/// another thread).
pub type CommitObserver = Box<dyn Fn(&Committed) + Send + Sync>;

/// What one checkpoint wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// Task status transitions, as the persist hook sees them.
    pub transitions: Vec<Transition>,
    /// Changes created, modified or removed, including those whose tasks moved (status,
    /// progress, log).
    pub changes: BTreeSet<ChangeId>,
    /// Top-level `data` keys set or removed, whole or by entry (`snaps`, `conns`...).
    pub keys: BTreeSet<String>,
}

impl State {
    /// The changes and keys touched since the last checkpoint.
    pub(crate) fn touched(&self) -> (BTreeSet<ChangeId>, BTreeSet<String>) {
        let mut changes: BTreeSet<ChangeId> = self.changes.dirty_ids().collect();
        changes.extend(
            self.tasks
                .dirty_ids()
                .filter_map(|t| self.tasks.get(&t).and_then(|t| t.change)),
        );
        let keys = self.data.dirty_keys().map(str::to_owned).collect();
        (changes, keys)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{StateStore, Status};

    #[test]
    fn observer_sees_changes_tasks_and_keys_once() {
        let store = StateStore::in_memory(State::new());
        // A new state starts modified; its first checkpoint is not under test.
        store.lock().commit().unwrap();
        let seen: Arc<Mutex<Vec<Committed>>> = Arc::default();
        let sink = seen.clone();
        store.set_commit_observer(Some(Box::new(move |c| {
            sink.lock().unwrap().push(c.clone())
        })));
        let (chg, task) = {
            let mut st = store.lock();
            let chg = st.new_change("connect-snap", "Connect");
            let task = st.new_task_in(chg, "connect", "Connect").unwrap();
            st.set_entry("conns", "a:b c:d", &1).unwrap();
            st.commit().unwrap();
            (chg, task)
        };
        {
            let mut st = store.lock();
            st.set_task_status(task, Status::Done).unwrap();
            st.commit().unwrap();
        }
        // Nothing modified: no checkpoint, no call.
        store.lock().commit().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].changes, BTreeSet::from([chg]));
        assert_eq!(seen[0].keys, BTreeSet::from(["conns".to_owned()]));
        assert_eq!(seen[1].changes, BTreeSet::from([chg]));
        assert!(seen[1].keys.is_empty());
        assert_eq!(seen[1].transitions.len(), 1);
        assert_eq!(seen[1].transitions[0].status, Status::Done);
    }
}
