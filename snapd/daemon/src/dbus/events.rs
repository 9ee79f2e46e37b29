//! Telling clients what changed, so that a UI stays current without polling. The state
//! store's commit observer (called after each checkpoint with the changes and `data` keys it
//! wrote) feeds a broadcast channel of [`Event`]s; the D-Bus front end turns them into
//! signals. Any other front end may subscribe to the same channel.

use std::collections::HashMap;

use snap_state::{ChangeId, Committed, StateStore};
use tokio::sync::broadcast;

use crate::ifacemgr::conns::CONNS_KEY;
use crate::snapmgr::holds::HOLDS_KEY;
use crate::snapmgr::model::SNAPS_KEY;

/// Something clients may want to know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A change was created, moved or finished.
    Change(ChangeId),
    /// The installed snaps (or their holds) changed.
    Snaps,
    /// Connections changed.
    Connections,
}

/// What one checkpoint means to clients, in a stable order.
pub fn events_of(c: &Committed) -> Vec<Event> {
    let mut out: Vec<Event> = c.changes.iter().map(|id| Event::Change(*id)).collect();
    if c.keys.contains(SNAPS_KEY) || c.keys.contains(HOLDS_KEY) {
        out.push(Event::Snaps);
    }
    if c.keys.contains(CONNS_KEY) {
        out.push(Event::Connections);
    }
    out
}

/// Subscribes a broadcast channel to the store's checkpoints. Sending never blocks the
/// checkpoint: a subscriber that falls behind loses the oldest events (and is told so).
pub fn observe(store: &StateStore) -> broadcast::Sender<Event> {
    let (tx, _) = broadcast::channel(1024);
    let sender = tx.clone();
    store.set_commit_observer(Some(Box::new(move |c| {
        for e in events_of(c) {
            // No subscriber yet is not an error.
            let _ = sender.send(e);
        }
    })));
    tx
}

/// Remembers what was last said about each change, so that a change is announced ready
/// once and unchanged progress is not repeated.
#[derive(Default)]
pub struct ChangeTracker {
    last: HashMap<ChangeId, (String, u32, u32, bool)>,
}

impl ChangeTracker {
    /// Whether `(status, done, total, ready)` is news for `id`, and whether it just became
    /// ready. Forgets finished changes once they are announced.
    pub fn update(
        &mut self,
        id: ChangeId,
        status: &str,
        done: u32,
        total: u32,
        ready: bool,
    ) -> (bool, bool) {
        let now = (status.to_owned(), done, total, ready);
        let before = self.last.get(&id);
        let news = before != Some(&now);
        let became_ready = ready && before.is_none_or(|b| !b.3);
        if ready {
            // A ready change moves no more; keep it only to stay quiet about it.
            self.last.insert(id, now);
            if self.last.len() > 4096 {
                self.last.retain(|_, v| !v.3);
            }
        } else {
            self.last.insert(id, now);
        }
        (news, became_ready)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn keys_map_to_events() {
        let c = Committed {
            transitions: vec![],
            changes: BTreeSet::from([ChangeId(3), ChangeId(1)]),
            keys: BTreeSet::from([
                "conns".to_owned(),
                "snaps-hold".to_owned(),
                "config".to_owned(),
            ]),
        };
        assert_eq!(
            events_of(&c),
            vec![
                Event::Change(ChangeId(1)),
                Event::Change(ChangeId(3)),
                Event::Snaps,
                Event::Connections
            ]
        );
        assert!(events_of(&Committed::default()).is_empty());
    }

    #[test]
    fn changes_are_announced_once_per_state_and_ready_once() {
        let mut t = ChangeTracker::default();
        let id = ChangeId(7);
        assert_eq!(t.update(id, "Do", 0, 1, false), (true, false));
        assert_eq!(t.update(id, "Do", 0, 1, false), (false, false));
        assert_eq!(t.update(id, "Doing", 0, 1, false), (true, false));
        assert_eq!(t.update(id, "Done", 1, 1, true), (true, true));
        assert_eq!(t.update(id, "Done", 1, 1, true), (false, false));
        // A change ready at creation (nothing to do) is ready news at once.
        assert_eq!(t.update(ChangeId(8), "Done", 0, 0, true), (true, true));
    }
}
