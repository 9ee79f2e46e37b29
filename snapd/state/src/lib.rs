//! The persistent state engine: changes made of tasks with do/undo.
//!
//! A re-implementation of snapd's overlord state (`overlord/state`):
//!
//! * [`State`] — the in-memory document: `data` keys (`snaps`, `conns`…),
//!   [`Change`]s, [`Task`]s, warnings and id counters, stored as
//!   `state.json` in snapd's layout (the snapshot) plus `state.journal`.
//! * [`StateStore`] — the state lock. Releasing a [`StateGuard`] that
//!   modified the state is a checkpoint: one record with only what changed
//!   (changes, tasks, data keys or single entries of `snaps`-like keys,
//!   removals, warnings, counters) is appended to `state.journal` and
//!   fdatasync'ed, so its cost follows the change, not the state's size.
//!   Once the journal outgrows max(1 MiB, the snapshot), and at a clean
//!   [`StateStore::close`]/drop, the whole document is written atomically
//!   as the new snapshot (temp file, fsync, rename, fsync dir; mode 0600)
//!   and the journal emptied. Loading replays the journal's records after
//!   the snapshot's `journal-seq`, ignoring a torn last record. See the
//!   `store` module source for the crash-safety argument. `state.lock`
//!   (flock) keeps a second daemon out.
//! * [`TaskRunner`] — runs do/undo handlers per task kind, sequentially on
//!   its own thread, with snapd's ordering, abort/rollback and crash-resume
//!   rules. See [`runner`] for the execution model and [`crash`] for the
//!   `SNAPD_CRASH_AFTER_TASK` crash points.
//!
//! ```
//! use std::sync::Arc;
//! use snap_state::{HandlerError, StateStore, Status, TaskRunner};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Arc::new(StateStore::open(dir.path().join("state.json")).unwrap());
//!
//! let mut runner = TaskRunner::new(store.clone());
//! runner.add_handler_with_undo(
//!     "mount-snap",
//!     |ctx| {
//!         ctx.set("mounted", &true)?; // persisted before the next step
//!         Ok(())
//!     },
//!     |ctx| ctx.set("mounted", &false).map_err(HandlerError::from),
//! );
//! runner.add_handler("link-snap", |ctx| {
//!     // Non-idempotent state mutation + final status in one checkpoint.
//!     ctx.finish(|st| st.set_entry("snaps", "hello", &serde_json::json!({"active": true})))
//!         .map_err(HandlerError::from)
//! }, None);
//!
//! // A REST handler creates the change under the lock.
//! let chg = {
//!     let mut st = store.lock();
//!     st.check_conflict("hello").unwrap();
//!     let chg = st.new_change("install-snap", "Install \"hello\" snap");
//!     st.change_mut(chg).unwrap().set("snap-names", &["hello"]).unwrap();
//!     let mount = st.new_task_in(chg, "mount-snap", "Mount snap \"hello\"").unwrap();
//!     let link = st.new_task_in(chg, "link-snap", "Make snap \"hello\" available").unwrap();
//!     st.wait_for(link, mount).unwrap();
//!     chg
//! }; // guard dropped: the change journaled (durable), runner woken
//!
//! // The daemon would run `runner.run_forever()` on a thread; here:
//! runner.run_until_idle().unwrap();
//! let st = store.lock();
//! assert_eq!(st.change_status(chg), Some(Status::Done));
//! let info = serde_json::to_value(st.change_info(chg).unwrap()).unwrap();
//! assert_eq!(info["ready"], true);
//! ```

#![forbid(unsafe_code)]

mod abort;
mod change;
mod conflict;
mod context;
pub mod crash;
mod data;
mod datakeys;
mod document;
mod error;
mod ids;
mod info;
mod journal;
pub mod observe;
mod persist;
mod prune;
pub mod runner;
mod state;
mod status;
mod store;
mod task;
mod time;
mod tracked;
mod warning;

pub use change::Change;
pub use conflict::ChangeConflict;
pub use context::TaskContext;
pub use crash::{CRASH_ENV, CrashPoint, CrashPoints};
pub use data::DataMap;
pub use error::StateError;
pub use ids::{ChangeId, TaskId};
pub use info::{ChangeInfo, TaskInfo};
pub use observe::{CommitObserver, Committed};
pub use persist::LOCK_FILE_NAME;
pub use prune::{PruneOptions, PruneReport};
pub use runner::{Handler, HandlerError, Idle, RunnerOptions, TaskRunner, UnknownKinds};
pub use state::{State, Transition};
pub use status::Status;
pub use store::{
    CheckpointStats, DEFAULT_JOURNAL_LIMIT, PersistHook, RetryPolicy, StateGuard, StateStore,
    StoreOptions,
};
pub use task::{LOG_ERROR, LOG_INFO, MAX_LOG_LINES, Progress, Task};
pub use time::Timestamp;
pub use warning::{DEFAULT_EXPIRE_AFTER, DEFAULT_REPEAT_AFTER, Warning};
