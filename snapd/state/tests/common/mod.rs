//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use snap_state::{
    ChangeId, HandlerError, State, StateStore, Status, TaskContext, TaskId, TaskRunner,
};

/// Records handler calls as "do:<kind>" / "undo:<kind>".
#[derive(Clone, Default)]
pub struct Calls(pub Arc<Mutex<Vec<String>>>);

impl Calls {
    pub fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Registers a recording do handler (failing if `fail`) and, if `undo`, a
/// recording undo handler for `kind`.
pub fn register(runner: &mut TaskRunner, calls: &Calls, kind: &str, fail: bool, undo: bool) {
    let c = calls.clone();
    let do_ = move |ctx: &TaskContext<'_>| {
        c.push(format!("do:{}", ctx.kind()));
        if fail {
            Err(HandlerError::error(format!("{} broke", ctx.kind())))
        } else {
            Ok(())
        }
    };
    let undo_h: Option<snap_state::Handler> = undo.then(|| {
        let c = calls.clone();
        Box::new(move |ctx: &TaskContext<'_>| {
            c.push(format!("undo:{}", ctx.kind()));
            Ok(())
        }) as snap_state::Handler
    });
    runner.add_handler(kind, do_, undo_h);
}

/// A change whose tasks of the given kinds form a linear chain.
pub fn chain(st: &mut State, kinds: &[&str]) -> (ChangeId, Vec<TaskId>) {
    let chg = st.new_change("test-change", "a chain");
    let mut ids: Vec<TaskId> = Vec::new();
    for kind in kinds {
        let t = st.new_task_in(chg, kind, &format!("Run {kind}")).unwrap();
        if let Some(prev) = ids.last() {
            st.wait_for(t, *prev).unwrap();
        }
        ids.push(t);
    }
    (chg, ids)
}

pub fn statuses(store: &StateStore, ids: &[TaskId]) -> Vec<Status> {
    let st = store.lock();
    ids.iter().map(|t| st.task(*t).unwrap().status()).collect()
}

pub fn memory_store() -> Arc<StateStore> {
    Arc::new(StateStore::in_memory(State::new()))
}
