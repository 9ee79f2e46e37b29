//! Property: whatever the failure/abort/interruption points in a chain, the
//! change ends ready with every task Done, or with the executed prefix
//! rolled back in reverse order (Undone, or Done when it has no undo) and
//! the rest on Hold.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use snap_state::{HandlerError, State, StateStore, Status, TaskContext, TaskRunner};

#[derive(Debug, Clone)]
struct Scenario {
    has_undo: Vec<bool>,
    fail_at: Option<usize>,
    abort_at: Option<usize>,
    /// This task's first run returns Retry and the daemon "restarts"
    /// (state reloaded from its JSON) before it runs again.
    interrupt_at: Option<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (1usize..=8).prop_flat_map(|n| {
        (
            proptest::collection::vec(any::<bool>(), n),
            proptest::option::of(0..n),
            proptest::option::of(0..n),
            proptest::option::of(0..n),
        )
            .prop_map(|(has_undo, fail_at, abort_at, interrupt_at)| Scenario {
                has_undo,
                fail_at,
                abort_at,
                interrupt_at,
            })
    })
}

struct Shared {
    sc: Scenario,
    calls: Mutex<Vec<String>>,
    interrupted: Mutex<HashSet<usize>>,
}

fn runner_for(store: Arc<StateStore>, shared: &Arc<Shared>) -> TaskRunner {
    let mut runner = TaskRunner::new(store);
    for (i, has_undo) in shared.sc.has_undo.iter().enumerate() {
        let sh = shared.clone();
        let do_ = move |ctx: &TaskContext<'_>| {
            if sh.sc.interrupt_at == Some(i) && sh.interrupted.lock().unwrap().insert(i) {
                return Err(HandlerError::retry(Duration::ZERO));
            }
            sh.calls.lock().unwrap().push(format!("do:{i}"));
            if sh.sc.fail_at == Some(i) {
                return Err(HandlerError::error("boom"));
            }
            if sh.sc.abort_at == Some(i) {
                ctx.lock().abort_change(ctx.change_id())?;
            }
            Ok(())
        };
        let undo: Option<snap_state::Handler> = has_undo.then(|| {
            let sh = shared.clone();
            Box::new(move |_: &TaskContext<'_>| {
                sh.calls.lock().unwrap().push(format!("undo:{i}"));
                Ok(())
            }) as snap_state::Handler
        });
        runner.add_handler(&format!("t{i}"), do_, undo);
    }
    runner
}

fn expected(sc: &Scenario) -> (Vec<Status>, Vec<String>) {
    let n = sc.has_undo.len();
    // The first of failure/abort to be reached stops the forward run; a
    // failure wins a tie (the handler fails before it could abort).
    let stop = match (sc.fail_at, sc.abort_at) {
        (Some(f), Some(a)) if a < f => Some((a, false)),
        (Some(f), _) => Some((f, true)),
        (None, Some(a)) => Some((a, false)),
        (None, None) => None,
    };
    let Some((at, failed)) = stop else {
        return (
            vec![Status::Done; n],
            (0..n).map(|i| format!("do:{i}")).collect(),
        );
    };
    let mut calls: Vec<String> = (0..=at).map(|i| format!("do:{i}")).collect();
    // The failing task itself is not undone; an aborted-but-finished one is.
    let undone_upto = if failed { at } else { at + 1 };
    calls.extend(
        (0..undone_upto)
            .rev()
            .filter(|i| sc.has_undo[*i])
            .map(|i| format!("undo:{i}")),
    );
    let statuses = (0..n)
        .map(|i| match i {
            i if i == at && failed => Status::Error,
            i if i < undone_upto => {
                if sc.has_undo[i] {
                    Status::Undone
                } else {
                    Status::Done
                }
            }
            _ => Status::Hold,
        })
        .collect();
    (statuses, calls)
}

fn derived(statuses: &[Status]) -> Status {
    [Status::Error, Status::Undone, Status::Done, Status::Hold]
        .into_iter()
        .find(|s| statuses.contains(s))
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn chains_always_end_consistently(sc in scenario()) {
        let shared = Arc::new(Shared { sc: sc.clone(), calls: Mutex::new(Vec::new()), interrupted: Mutex::new(HashSet::new()) });
        let mut store = Arc::new(StateStore::in_memory(State::new()));
        let (chg, ids) = {
            let mut st = store.lock();
            let chg = st.new_change("k", "s");
            let mut ids: Vec<snap_state::TaskId> = Vec::new();
            for i in 0..sc.has_undo.len() {
                let t = st.new_task_in(chg, &format!("t{i}"), "task").unwrap();
                if let Some(p) = ids.last() {
                    st.wait_for(t, *p).unwrap();
                }
                ids.push(t);
            }
            (chg, ids)
        };
        let idle = runner_for(store.clone(), &shared).run_until_idle().unwrap();
        if !idle.retrying.is_empty() {
            // "Restart": rebuild everything from the persisted document.
            let json = store.lock().to_json();
            store = Arc::new(StateStore::in_memory(State::from_json(json.as_bytes()).unwrap()));
            runner_for(store.clone(), &shared).run_until_idle().unwrap();
        }

        let (want_statuses, want_calls) = expected(&sc);
        let st = store.lock();
        let got: Vec<Status> = ids.iter().map(|t| st.task(*t).unwrap().status()).collect();
        prop_assert_eq!(&got, &want_statuses);
        prop_assert_eq!(&*shared.calls.lock().unwrap(), &want_calls);
        let status = st.change_status(chg).unwrap();
        prop_assert!(status.is_ready());
        prop_assert!(st.change(chg).unwrap().is_ready());
        prop_assert_eq!(status, derived(&got));
        // Either everything is Done, or nothing after the stop point ran.
        prop_assert!(got.iter().all(|s| *s == Status::Done) || got.iter().any(|s| matches!(s, Status::Error | Status::Hold | Status::Undone)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Two snaps in one change, each in its own lane: a failure in lane A
    /// rolls back lane A only; lane B completes.
    #[test]
    fn lanes_are_independent(a_undo in proptest::collection::vec(any::<bool>(), 1..5),
                             b_len in 1usize..5,
                             fail_seed in any::<proptest::sample::Index>(),
                             fails in any::<bool>()) {
        let fail_at = fails.then(|| fail_seed.index(a_undo.len()));
        let sc = Scenario { has_undo: a_undo.clone(), fail_at, abort_at: None, interrupt_at: None };
        let shared = Arc::new(Shared { sc: sc.clone(), calls: Mutex::new(Vec::new()), interrupted: Mutex::new(HashSet::new()) });
        let store = Arc::new(StateStore::in_memory(State::new()));
        let mut runner = runner_for(store.clone(), &shared);
        runner.add_handler("b", |_: &TaskContext<'_>| Ok(()), None);
        let (chg, a_ids, b_ids) = {
            let mut st = store.lock();
            let chg = st.new_change("install-snap", "two snaps");
            let (la, lb) = (st.new_lane(), st.new_lane());
            let mut mk = |kinds: Vec<String>, lane: u64| {
                let mut ids: Vec<snap_state::TaskId> = Vec::new();
                for k in kinds {
                    let t = st.new_task_in(chg, &k, "task").unwrap();
                    st.task_mut(t).unwrap().join_lane(lane);
                    if let Some(p) = ids.last() {
                        st.wait_for(t, *p).unwrap();
                    }
                    ids.push(t);
                }
                ids
            };
            let a = mk((0..a_undo.len()).map(|i| format!("t{i}")).collect(), la);
            let b = mk(vec!["b".to_owned(); b_len], lb);
            (chg, a, b)
        };
        runner.run_until_idle().unwrap();
        let (want_a, _) = expected(&sc);
        let st = store.lock();
        let got_a: Vec<Status> = a_ids.iter().map(|t| st.task(*t).unwrap().status()).collect();
        let got_b: Vec<Status> = b_ids.iter().map(|t| st.task(*t).unwrap().status()).collect();
        prop_assert_eq!(got_a, want_a);
        prop_assert_eq!(got_b, vec![Status::Done; b_len]);
        let want_chg = if fail_at.is_some() { Status::Error } else { Status::Done };
        prop_assert_eq!(st.change_status(chg), Some(want_chg));
    }
}
