//! Property: whatever sequence of mutations (through every public mutating
//! call and the task runner), checkpoints, clean restarts and crashes —
//! including a crash mid-append — what a restart loads from `state.json`
//! plus `state.journal` is exactly the in-memory document as of the last
//! acknowledged checkpoint. Run with journal limits that compact all the
//! time, sometimes, never, and with the journal off.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use snap_state::{
    ChangeId, HandlerError, PruneOptions, State, StateStore, Status, StoreOptions, TaskContext,
    TaskId, TaskRunner, Timestamp,
};

#[derive(Debug, Clone)]
enum Op {
    NewChange,
    NewTaskIn(Index, u8),
    NewOrphan(u8),
    AttachOrphan(Index, Index),
    WaitFor(Index, Index),
    JoinNewLane(Index),
    TaskSet(Index, u8, u32),
    TaskRemove(Index, u8),
    TaskLog(Index),
    ChangeSet(Index, u8, u32),
    ChangeRemove(Index, u8),
    SetStatus(Index, u8),
    ToWait(Index),
    ResolveWait(Index),
    ChangeStatus(Index, Option<u8>),
    Progress(Index, u8, u8),
    Schedule(Index, Option<u16>),
    Set(u8, u32),
    SetObject(u8, u8),
    Remove(u8),
    SetEntry(u8, u8, u32),
    RemoveEntry(u8, u8),
    Warn(u8, u8),
    Unwarn(u8),
    OkayWarnings,
    Prune(u8, u16),
    AbortChange(Index),
    AbortLanes(Index),
}

#[derive(Debug, Clone)]
enum Step {
    /// Ops under one lock: one checkpoint.
    Batch(Vec<Op>),
    /// A batch, then a crash while its record was being appended (cut at
    /// the given point): the restart must load the state from before it.
    TornBatch(Vec<Op>, Index),
    /// Runs the task runner until idle (many checkpoints).
    Run,
    /// Clean stop (compaction) and restart.
    Reopen,
    /// Crash (copy the files as they are) and restart from the copy.
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    let i = any::<Index>;
    prop_oneof![
        2 => Just(Op::NewChange),
        4 => (i(), 0u8..6).prop_map(|(c, k)| Op::NewTaskIn(c, k)),
        1 => (0u8..6).prop_map(Op::NewOrphan),
        1 => (i(), i()).prop_map(|(c, t)| Op::AttachOrphan(c, t)),
        2 => (i(), i()).prop_map(|(a, b)| Op::WaitFor(a, b)),
        1 => i().prop_map(Op::JoinNewLane),
        2 => (i(), 0u8..4, any::<u32>()).prop_map(|(t, k, v)| Op::TaskSet(t, k, v)),
        1 => (i(), 0u8..4).prop_map(|(t, k)| Op::TaskRemove(t, k)),
        1 => i().prop_map(Op::TaskLog),
        1 => (i(), 0u8..4, any::<u32>()).prop_map(|(c, k, v)| Op::ChangeSet(c, k, v)),
        1 => (i(), 0u8..4).prop_map(|(c, k)| Op::ChangeRemove(c, k)),
        3 => (i(), 0u8..9).prop_map(|(t, s)| Op::SetStatus(t, s)),
        1 => i().prop_map(Op::ToWait),
        1 => i().prop_map(Op::ResolveWait),
        1 => (i(), proptest::option::of(0u8..9)).prop_map(|(c, s)| Op::ChangeStatus(c, s)),
        1 => (i(), 0u8..4, 1u8..4).prop_map(|(t, d, n)| Op::Progress(t, d, n)),
        1 => (i(), proptest::option::of(0u16..100)).prop_map(|(t, s)| Op::Schedule(t, s)),
        2 => (0u8..4, any::<u32>()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (0u8..4, 0u8..4).prop_map(|(k, n)| Op::SetObject(k, n)),
        1 => (0u8..4).prop_map(Op::Remove),
        4 => (0u8..4, 0u8..3, any::<u32>()).prop_map(|(k, e, v)| Op::SetEntry(k, e, v)),
        2 => (0u8..4, 0u8..3).prop_map(|(k, e)| Op::RemoveEntry(k, e)),
        1 => (0u8..4, 0u8..3).prop_map(|(m, r)| Op::Warn(m, r)),
        1 => (0u8..4).prop_map(Op::Unwarn),
        1 => Just(Op::OkayWarnings),
        1 => (0u8..4, 0u16..800).prop_map(|(m, h)| Op::Prune(m, h)),
        1 => i().prop_map(Op::AbortChange),
        1 => i().prop_map(Op::AbortLanes),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => proptest::collection::vec(op(), 1..8).prop_map(Step::Batch),
        2 => (proptest::collection::vec(op(), 1..4), any::<Index>())
            .prop_map(|(ops, cut)| Step::TornBatch(ops, cut)),
        2 => Just(Step::Run),
        1 => Just(Step::Reopen),
        1 => Just(Step::Crash),
    ]
}

const KINDS: [&str; 6] = ["ok", "data", "finish", "fail", "retry", "unknown"];
const STATUSES: [Status; 9] = [
    Status::Do,
    Status::Doing,
    Status::Done,
    Status::Undo,
    Status::Undoing,
    Status::Undone,
    Status::Error,
    Status::Hold,
    Status::Abort,
];

fn pick<T: Copy>(items: &[T], i: &Index) -> Option<T> {
    (!items.is_empty()).then(|| items[i.index(items.len())])
}

fn key(k: u8) -> String {
    format!("key{k}")
}

/// Applies one op; returns whether it was an intermediate progress update
/// (which alone does not trigger a checkpoint).
fn apply(st: &mut State, op: &Op, now: Timestamp) -> bool {
    let changes: Vec<ChangeId> = st.changes().map(|c| c.id()).collect();
    let tasks: Vec<TaskId> = st.tasks().map(|t| t.id()).collect();
    let orphans: Vec<TaskId> = st
        .tasks()
        .filter(|t| t.change().is_none() && t.status() == Status::Do)
        .map(|t| t.id())
        .collect();
    let task = |i: &Index| pick(&tasks, i);
    let change = |i: &Index| pick(&changes, i);
    match op {
        Op::NewChange => {
            st.new_change("test", "a change");
        }
        Op::NewTaskIn(c, k) => {
            if let Some(c) = change(c) {
                st.new_task_in(c, KINDS[usize::from(*k)], "a task").unwrap();
            }
        }
        Op::NewOrphan(k) => {
            st.new_task(KINDS[usize::from(*k)], "an orphan");
        }
        Op::AttachOrphan(c, t) => {
            if let (Some(c), Some(t)) = (change(c), pick(&orphans, t)) {
                st.add_task(c, t).unwrap();
            }
        }
        Op::WaitFor(a, b) => {
            if let (Some(a), Some(b)) = (task(a), task(b))
                && a != b
            {
                st.wait_for(a, b).unwrap();
            }
        }
        Op::JoinNewLane(t) => {
            if let Some(t) = task(t) {
                let lane = st.new_lane();
                st.task_mut(t).unwrap().join_lane(lane);
            }
        }
        Op::TaskSet(t, k, v) => {
            if let Some(t) = task(t) {
                st.task_mut(t).unwrap().set(&key(*k), v).unwrap();
            }
        }
        Op::TaskRemove(t, k) => {
            if let Some(t) = task(t) {
                st.task_mut(t).unwrap().remove(&key(*k));
            }
        }
        Op::TaskLog(t) => {
            if let Some(t) = task(t) {
                st.task_mut(t).unwrap().log_error("something");
            }
        }
        Op::ChangeSet(c, k, v) => {
            if let Some(c) = change(c) {
                st.change_mut(c).unwrap().set(&key(*k), v).unwrap();
            }
        }
        Op::ChangeRemove(c, k) => {
            if let Some(c) = change(c) {
                st.change_mut(c).unwrap().remove(&key(*k));
            }
        }
        Op::SetStatus(t, s) => {
            if let Some(t) = task(t) {
                st.set_task_status(t, STATUSES[usize::from(*s)]).unwrap();
            }
        }
        Op::ToWait(t) => {
            if let Some(t) = task(t) {
                st.set_task_to_wait(t, Status::Done).unwrap();
            }
        }
        Op::ResolveWait(t) => {
            if let Some(t) = task(t) {
                st.resolve_wait(t).unwrap();
            }
        }
        Op::ChangeStatus(c, s) => {
            if let Some(c) = change(c) {
                st.set_change_status(c, s.map(|s| STATUSES[usize::from(s)]))
                    .unwrap();
            }
        }
        Op::Progress(t, d, n) => {
            if let Some(t) = task(t) {
                st.set_task_progress(t, "dl", u64::from(*d), u64::from(*n))
                    .unwrap();
                return d != n;
            }
        }
        Op::Schedule(t, s) => {
            if let Some(t) = task(t) {
                let at = s.map(|s| now + Duration::from_secs(u64::from(s)));
                st.schedule_task(t, at).unwrap();
            }
        }
        Op::Set(k, v) => st.set(&key(*k), v).unwrap(),
        Op::SetObject(k, n) => {
            let obj: serde_json::Map<String, serde_json::Value> = (0..*n)
                .map(|e| (format!("e{e}"), json!({"whole": e})))
                .collect();
            st.set(&key(*k), &obj).unwrap();
        }
        Op::Remove(k) => {
            st.remove(&key(*k));
        }
        Op::SetEntry(k, e, v) => {
            // Fails (harmlessly) when the key holds a non-object.
            let _ = st.set_entry(&key(*k), &format!("e{e}"), &json!({"v": v}));
        }
        Op::RemoveEntry(k, e) => {
            let _ = st.remove_entry(&key(*k), &format!("e{e}"));
        }
        Op::Warn(m, r) => {
            st.add_warning(
                &format!("warning {m}"),
                Duration::from_secs(3600 * u64::from(*r)),
            );
        }
        Op::Unwarn(m) => {
            st.remove_warning(&format!("warning {m}"));
        }
        Op::OkayWarnings => {
            st.okay_warnings(Timestamp::now());
        }
        Op::Prune(max, hours) => {
            let opts = PruneOptions {
                max_ready_changes: usize::from(*max),
                ..Default::default()
            };
            let later = now + Duration::from_secs(3600 * u64::from(*hours));
            st.prune(later, now, &opts);
        }
        Op::AbortChange(c) => {
            if let Some(c) = change(c) {
                let _ = st.abort_change(c);
            }
        }
        Op::AbortLanes(c) => {
            if let Some(c) = change(c) {
                st.abort_unready_lanes(c);
            }
        }
    }
    false
}

fn runner(store: Arc<StateStore>) -> TaskRunner {
    let mut r = TaskRunner::new(store);
    r.add_handler_with_undo(
        "ok",
        |_: &TaskContext<'_>| Ok(()),
        |ctx: &TaskContext<'_>| {
            ctx.log("undone");
            Ok(())
        },
    );
    r.add_cleanup("ok", |_: &TaskContext<'_>| Ok(()));
    r.add_handler(
        "data",
        |ctx: &TaskContext<'_>| {
            ctx.set("ran", &true)?;
            ctx.change_set("seen", &ctx.task_id().to_string())?;
            ctx.state_set("last-data", &ctx.task_id().to_string())?;
            Ok(())
        },
        None,
    );
    r.add_handler(
        "finish",
        |ctx: &TaskContext<'_>| {
            let name = format!("snap-{}", ctx.task_id());
            ctx.finish(|st| st.set_entry("snaps", &name, &json!({"active": true})))?;
            Ok(())
        },
        None,
    );
    r.add_handler(
        "fail",
        |_: &TaskContext<'_>| Err(HandlerError::error("broken")),
        None,
    );
    r.add_handler(
        "retry",
        |ctx: &TaskContext<'_>| {
            ctx.set_progress("dl", 1, 3);
            Err(HandlerError::Retry {
                after: Duration::from_secs(3600),
                reason: "later".into(),
            })
        },
        None,
    );
    r
}

/// The files of the state directory as they are now, copied to a new one.
fn crash_copy(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for name in ["state.json", "state.journal"] {
        let src = from.join(name);
        if src.exists() {
            std::fs::copy(&src, to.join(name)).unwrap();
        }
    }
    to.join("state.json")
}

fn doc(store: &StateStore) -> serde_json::Value {
    serde_json::from_str(&store.lock().to_json()).unwrap()
}

fn run(steps: &[Step], limit: Option<u64>) -> Result<(), TestCaseError> {
    let root = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        lock_timeout: Duration::ZERO,
        crash_from_env: false,
        fsync: false,
        journal_limit: limit,
        ..Default::default()
    };
    let mut generation = 0;
    let mut dir = root.path().join("0");
    let mut store = Arc::new(StateStore::open_with(dir.join("state.json"), &opts).unwrap());
    let now = Timestamp::now();
    let mut batch_no = 0u32;
    for (i, step) in steps.iter().enumerate() {
        let mut torn: Option<(u64, usize, serde_json::Value)> = None;
        match step {
            Step::Batch(ops) | Step::TornBatch(ops, _) => {
                let before_len =
                    std::fs::metadata(dir.join("state.journal")).map_or(0, |m| m.len());
                let before = doc(&store);
                let mut st = store.lock();
                let mut unpersisted = false;
                for op in ops {
                    unpersisted |= apply(&mut st, op, now);
                }
                if unpersisted {
                    // Intermediate progress alone is not worth a write:
                    // make this batch a checkpoint anyway.
                    batch_no += 1;
                    st.set("batch", &batch_no).unwrap();
                }
                let modified = st.is_modified();
                st.commit().unwrap();
                let stats = store.checkpoint_stats();
                if let Step::TornBatch(_, cut) = step
                    && modified
                    && !stats.snapshot
                {
                    torn = Some((before_len, cut.index(stats.bytes), before));
                }
            }
            Step::Run => {
                runner(store.clone()).run_until_idle().unwrap();
                // Like intermediate progress, the doing-time the runner adds
                // after a handler that finished itself waits for the next
                // checkpoint: make one, so it must carry it.
                batch_no += 1;
                store.lock().set("batch", &batch_no).unwrap();
            }
            Step::Reopen => {
                let want = doc(&store);
                drop(store);
                prop_assert!(!dir.join("state.journal").exists(), "journal left at close");
                store = Arc::new(StateStore::open_with(dir.join("state.json"), &opts).unwrap());
                prop_assert_eq!(doc(&store), want, "after reopen at step {}", i);
                continue;
            }
            Step::Crash => {}
        }
        // Crash now: restart from a copy of the files.
        let want = doc(&store);
        generation += 1;
        let copy = crash_copy(&dir, &root.path().join(generation.to_string()));
        if let Some((before_len, cut, before)) = torn {
            // The crash hit while the last record was being appended.
            let j = copy.with_file_name("state.journal");
            let f = std::fs::OpenOptions::new().write(true).open(&j).unwrap();
            f.set_len(before_len + cut as u64).unwrap();
            let reloaded = StateStore::open_with(&copy, &opts).unwrap();
            prop_assert_eq!(doc(&reloaded), before, "torn record at step {}", i);
            drop(reloaded);
            // Go on from the crashed copy, like a restarted daemon.
            dir = copy.parent().unwrap().to_path_buf();
            store = Arc::new(StateStore::open_with(&copy, &opts).unwrap());
            continue;
        }
        let reloaded = Arc::new(StateStore::open_with(&copy, &opts).unwrap());
        prop_assert_eq!(doc(&reloaded), want, "after step {}: {:?}", i, step);
        if matches!(step, Step::Crash) {
            // Go on from the crashed copy, like a restarted daemon.
            dir = copy.parent().unwrap().to_path_buf();
            store = reloaded;
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("JOURNAL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Limit 0: a compaction whenever the journal outgrows the snapshot.
    #[test]
    fn reload_matches_memory_compacting_often(steps in proptest::collection::vec(step(), 1..40)) {
        run(&steps, Some(0))?;
    }

    /// The default limit: with these small states, never a compaction
    /// except at clean stops.
    #[test]
    fn reload_matches_memory_default_limit(steps in proptest::collection::vec(step(), 1..40)) {
        run(&steps, Some(snap_state::DEFAULT_JOURNAL_LIMIT))?;
    }

    /// Journal off: every checkpoint is a snapshot.
    #[test]
    fn reload_matches_memory_without_journal(steps in proptest::collection::vec(step(), 1..25)) {
        run(&steps, None)?;
    }
}
