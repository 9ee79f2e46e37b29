//! Task runner semantics: ordering, rollback, abort, retry, wait, cleanup.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{Calls, chain, memory_store, register, statuses};
use snap_state::{HandlerError, Status, TaskContext, TaskRunner, UnknownKinds};

use Status::*;

#[test]
fn four_task_chain_succeeds_in_order() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    for k in ["a", "b", "c", "d"] {
        register(&mut runner, &calls, k, false, true);
    }
    // Created in reverse so ids alone would give the wrong order.
    let (chg, ids) = {
        let mut st = store.lock();
        let chg = st.new_change("install-snap", "Install");
        let ids: Vec<_> = ["d", "c", "b", "a"]
            .iter()
            .map(|k| st.new_task_in(chg, k, k).unwrap())
            .collect();
        for w in ids.windows(2) {
            st.wait_for(w[0], w[1]).unwrap();
        }
        (chg, ids)
    };
    let idle = runner.run_until_idle().unwrap();
    assert_eq!(idle.handlers_run, 4);
    assert_eq!(calls.take(), ["do:a", "do:b", "do:c", "do:d"]);
    assert_eq!(statuses(&store, &ids), [Done; 4]);
    let st = store.lock();
    assert_eq!(st.change_status(chg), Some(Done));
    let c = st.change(chg).unwrap();
    assert!(c.is_ready() && c.ready_time().is_some() && c.is_clean());
    assert!(
        st.change_tasks(chg)
            .iter()
            .all(|t| t.ready_time().is_some())
    );
}

#[test]
fn do_waits_for_all_predecessors() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    for k in ["a", "b", "join"] {
        register(&mut runner, &calls, k, false, true);
    }
    let (a, b, join) = {
        let mut st = store.lock();
        let chg = st.new_change("k", "s");
        let join = st.new_task_in(chg, "join", "join").unwrap();
        let a = st.new_task_in(chg, "a", "a").unwrap();
        let b = st.new_task_in(chg, "b", "b").unwrap();
        st.wait_all(&[join], &[a, b]).unwrap();
        assert_eq!(st.task(a).unwrap().halt_tasks(), [join]);
        (a, b, join)
    };
    runner.run_until_idle().unwrap();
    assert_eq!(calls.take(), ["do:a", "do:b", "do:join"]);
    assert_eq!(statuses(&store, &[a, b, join]), [Done; 3]);
}

#[test]
fn failure_in_task_three_undoes_one_and_two_in_reverse() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "t1", false, true);
    register(&mut runner, &calls, "t2", false, true);
    register(&mut runner, &calls, "t3", true, true);
    register(&mut runner, &calls, "t4", false, true);
    let (chg, ids) = chain(&mut store.lock(), &["t1", "t2", "t3", "t4"]);
    runner.run_until_idle().unwrap();
    assert_eq!(
        calls.take(),
        ["do:t1", "do:t2", "do:t3", "undo:t2", "undo:t1"]
    );
    assert_eq!(statuses(&store, &ids), [Undone, Undone, Error, Hold]);
    let st = store.lock();
    assert_eq!(st.change_status(chg), Some(Error));
    assert!(st.change(chg).unwrap().is_ready());
    assert_eq!(
        st.change_err(chg).unwrap(),
        "cannot perform the following tasks:\n- Run t3 (t3 broke)"
    );
    let log = st.task(ids[2]).unwrap().log();
    assert!(log.last().unwrap().ends_with(" ERROR t3 broke"), "{log:?}");
}

#[test]
fn change_shows_undoing_while_rolling_back() {
    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    runner.add_handler_with_undo(
        "ok",
        |_: &TaskContext<'_>| Ok(()),
        move |ctx: &TaskContext<'_>| {
            let st = ctx.lock();
            s.lock()
                .unwrap()
                .push(st.change_status(ctx.change_id()).unwrap());
            Ok(())
        },
    );
    runner.add_handler(
        "bad",
        |_: &TaskContext<'_>| Err(HandlerError::error("no")),
        None,
    );
    let (chg, _) = chain(&mut store.lock(), &["ok", "bad"]);
    runner.run_until_idle().unwrap();
    assert_eq!(*seen.lock().unwrap(), [Undoing]);
    assert_eq!(store.lock().change_status(chg), Some(Error));
}

#[test]
fn task_without_undo_handler_stays_done() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "no-undo", false, false);
    register(&mut runner, &calls, "with-undo", false, true);
    register(&mut runner, &calls, "fails", true, true);
    let (chg, ids) = chain(&mut store.lock(), &["no-undo", "with-undo", "fails"]);
    runner.run_until_idle().unwrap();
    assert_eq!(
        calls.take(),
        ["do:no-undo", "do:with-undo", "do:fails", "undo:with-undo"]
    );
    assert_eq!(statuses(&store, &ids), [Done, Undone, Error]);
    assert_eq!(store.lock().change_status(chg), Some(Error));
}

#[test]
fn abort_of_a_running_change() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "first", false, true);
    register(&mut runner, &calls, "last", false, true);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let started_tx = Mutex::new(started_tx);
    let c = calls.clone();
    let cancelled_seen = Arc::new(Mutex::new(None));
    let seen = cancelled_seen.clone();
    runner.add_handler_with_undo(
        "slow",
        move |ctx: &TaskContext<'_>| {
            c.push("do:slow".into());
            started_tx.lock().unwrap().send(()).unwrap();
            release_rx.lock().unwrap().recv().unwrap();
            *seen.lock().unwrap() = Some(ctx.is_cancelled());
            Ok(())
        },
        {
            let c = calls.clone();
            move |_: &TaskContext<'_>| {
                c.push("undo:slow".into());
                Ok(())
            }
        },
    );
    let (chg, ids) = chain(&mut store.lock(), &["first", "slow", "last"]);
    let runner = Arc::new(runner);
    let worker = {
        let r = runner.clone();
        std::thread::spawn(move || r.run_until_idle().unwrap())
    };
    started_rx.recv().unwrap();
    {
        // The REST side stays responsive while the handler runs.
        let mut st = store.lock();
        st.abort_change(chg).unwrap();
        assert_eq!(
            ids.iter()
                .map(|t| st.task(*t).unwrap().status())
                .collect::<Vec<_>>(),
            [Undo, Abort, Hold]
        );
        assert_eq!(st.change_status(chg), Some(Abort));
    }
    release_tx.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(*cancelled_seen.lock().unwrap(), Some(true));
    assert_eq!(
        calls.take(),
        ["do:first", "do:slow", "undo:slow", "undo:first"]
    );
    assert_eq!(statuses(&store, &ids), [Undone, Undone, Hold]);
    let st = store.lock();
    assert_eq!(st.change_status(chg), Some(Undone));
    assert!(st.change(chg).unwrap().is_ready());
    drop(st);
    assert!(matches!(
        store.lock().abort_change(chg),
        Err(snap_state::StateError::NothingPending(_))
    ));
}

#[test]
fn abort_before_anything_ran_holds_everything() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "a", false, true);
    let (chg, ids) = chain(&mut store.lock(), &["a", "a"]);
    store.lock().abort_change(chg).unwrap();
    runner.run_until_idle().unwrap();
    assert!(calls.take().is_empty());
    assert_eq!(statuses(&store, &ids), [Hold, Hold]);
    assert_eq!(store.lock().change_status(chg), Some(Hold));
}

#[test]
fn retry_reruns_later_and_keeps_status() {
    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    runner.add_handler(
        "flaky",
        move |_: &TaskContext<'_>| match a.fetch_add(1, Ordering::SeqCst) {
            0 => Err(HandlerError::Retry {
                after: Duration::from_millis(30),
                reason: "busy".into(),
            }),
            1 => Err(HandlerError::retry(Duration::ZERO)),
            _ => Ok(()),
        },
        None,
    );
    let (chg, ids) = chain(&mut store.lock(), &["flaky"]);
    let idle = runner.run_until_idle().unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(statuses(&store, &ids), [Doing]);
    let at = store
        .lock()
        .task(ids[0])
        .unwrap()
        .at_time()
        .expect("scheduled");
    assert_eq!(idle.next_wakeup, Some(at));
    assert!(store.lock().task(ids[0]).unwrap().log()[0].ends_with("will retry: busy"));
    // Too early: nothing runs.
    assert_eq!(runner.run_until_idle().unwrap().handlers_run, 0);
    std::thread::sleep(Duration::from_millis(40));
    // Second attempt asks for an immediate retry; with nothing else moving
    // the call returns instead of spinning.
    let idle = runner.run_until_idle().unwrap();
    assert_eq!(idle.retrying, ids);
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    runner.run_until_idle().unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(store.lock().change_status(chg), Some(Done));
    assert_eq!(store.lock().task(ids[0]).unwrap().at_time(), None);
}

#[test]
fn retrying_task_is_retried_after_other_progress() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "other", false, false);
    // Polls until the other change's task is done.
    let other_done = Arc::new(Mutex::new(None));
    let od = other_done.clone();
    runner.add_handler(
        "poller",
        move |ctx: &TaskContext<'_>| {
            let id = od.lock().unwrap().expect("set");
            let done = ctx.lock().task(id).unwrap().status() == Done;
            if done {
                Ok(())
            } else {
                Err(HandlerError::retry(Duration::ZERO))
            }
        },
        None,
    );
    let (c1, _) = chain(&mut store.lock(), &["poller"]);
    let (_, other) = chain(&mut store.lock(), &["other"]);
    *other_done.lock().unwrap() = Some(other[0]);
    let idle = runner.run_until_idle().unwrap();
    assert!(idle.retrying.is_empty());
    assert_eq!(store.lock().change_status(c1), Some(Done));
}

#[test]
fn wait_then_resolve() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    runner.add_handler(
        "reboot",
        |_: &TaskContext<'_>| Err(HandlerError::wait("reboot required")),
        None,
    );
    register(&mut runner, &calls, "after", false, false);
    let (chg, ids) = chain(&mut store.lock(), &["reboot", "after"]);
    runner.run_until_idle().unwrap();
    assert_eq!(statuses(&store, &ids), [Wait, Do]);
    assert_eq!(store.lock().change_status(chg), Some(Wait));
    store.lock().resolve_wait(ids[0]).unwrap();
    runner.run_until_idle().unwrap();
    assert_eq!(statuses(&store, &ids), [Done, Done]);
}

#[test]
fn handler_finishing_itself_commits_mutation_and_status_together() {
    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    let observed = Arc::new(Mutex::new(Vec::new()));
    let o = observed.clone();
    store.set_persist_hook(Some(Box::new(move |trs| {
        o.lock()
            .unwrap()
            .extend(trs.iter().map(|t| (t.kind.clone(), t.status)));
    })));
    runner.add_handler(
        "link-snap",
        |ctx: &TaskContext<'_>| {
            ctx.finish(|st| st.set_entry("snaps", "hello", &serde_json::json!({"current": "42"})))?;
            // Already Done: the runner must not record another transition.
            assert_eq!(ctx.lock().task(ctx.task_id()).unwrap().status(), Done);
            Ok(())
        },
        None,
    );
    let (chg, _) = chain(&mut store.lock(), &["link-snap"]);
    runner.run_until_idle().unwrap();
    let st = store.lock();
    assert_eq!(st.change_status(chg), Some(Done));
    assert_eq!(
        st.get_entry::<serde_json::Value>("snaps", "hello")
            .unwrap()
            .unwrap()["current"],
        "42"
    );
    assert_eq!(
        *observed.lock().unwrap(),
        [
            ("link-snap".to_owned(), Doing),
            ("link-snap".to_owned(), Done)
        ]
    );
}

#[test]
fn lanes_roll_back_independently() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "ok", false, true);
    register(&mut runner, &calls, "bad", true, true);
    let (chg, lane_a, lane_b) = {
        let mut st = store.lock();
        let chg = st.new_change("install-snap", "Install two snaps");
        let (la, lb) = (st.new_lane(), st.new_lane());
        let mut mk = |kinds: &[&str], lane: u64| {
            let mut ids: Vec<snap_state::TaskId> = Vec::new();
            for k in kinds {
                let t = st.new_task_in(chg, k, k).unwrap();
                st.task_mut(t).unwrap().join_lane(lane);
                if let Some(p) = ids.last() {
                    st.wait_for(t, *p).unwrap();
                }
                ids.push(t);
            }
            ids
        };
        let a = mk(&["ok", "ok"], la);
        let b = mk(&["ok", "bad"], lb);
        (chg, a, b)
    };
    runner.run_until_idle().unwrap();
    assert_eq!(statuses(&store, &lane_a), [Done, Done]);
    assert_eq!(statuses(&store, &lane_b), [Undone, Error]);
    assert_eq!(store.lock().change_status(chg), Some(Error));
}

#[test]
fn cleanups_run_once_change_is_ready() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "copy-data", false, true);
    register(&mut runner, &calls, "tail", false, true);
    let c = calls.clone();
    runner.add_cleanup("copy-data", move |ctx: &TaskContext<'_>| {
        let ready = ctx.lock().change(ctx.change_id()).unwrap().is_ready();
        c.push(format!("cleanup:{}:{ready}", ctx.kind()));
        Ok(())
    });
    let (chg, _) = chain(&mut store.lock(), &["copy-data", "tail"]);
    runner.run_until_idle().unwrap();
    assert_eq!(
        calls.take(),
        ["do:copy-data", "do:tail", "cleanup:copy-data:true"]
    );
    assert!(store.lock().change(chg).unwrap().is_clean());
    runner.run_until_idle().unwrap();
    assert!(calls.take().is_empty(), "cleanup runs once");
}

#[test]
fn unknown_kinds_are_marked_done_or_ignored() {
    let store = memory_store();
    let runner = TaskRunner::new(store.clone());
    let (chg, ids) = chain(&mut store.lock(), &["from-the-future"]);
    runner.run_until_idle().unwrap();
    assert_eq!(store.lock().change_status(chg), Some(Done));
    assert!(store.lock().task(ids[0]).unwrap().log()[0].contains("no handler for task"));

    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    runner.set_unknown_kinds(UnknownKinds::Ignore);
    let (chg, _) = chain(&mut store.lock(), &["from-the-future"]);
    runner.run_until_idle().unwrap();
    assert_eq!(store.lock().change_status(chg), Some(Do));
}

#[test]
fn panicking_handler_fails_its_task() {
    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    runner.add_handler("boom", |_: &TaskContext<'_>| panic!("kaboom"), None);
    let (chg, _) = chain(&mut store.lock(), &["boom"]);
    runner.run_until_idle().unwrap();
    let st = store.lock();
    assert_eq!(st.change_status(chg), Some(Error));
    assert!(
        st.change_err(chg)
            .unwrap()
            .contains("task handler panicked: kaboom")
    );
}

#[test]
fn context_accessors() {
    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    runner.add_handler(
        "k",
        |ctx: &TaskContext<'_>| {
            assert_eq!(ctx.kind(), "k");
            assert_eq!(ctx.summary(), "Run k");
            assert!(!ctx.is_undo() && !ctx.is_cancelled());
            assert_eq!(ctx.get::<u32>("n")?, Some(1));
            ctx.set("n", &2)?;
            ctx.change_set("api-data", &serde_json::json!({"snap-names": ["x"]}))?;
            assert!(ctx.change_get::<serde_json::Value>("api-data")?.is_some());
            ctx.state_set("seeded", &true)?;
            assert_eq!(ctx.state_get::<bool>("seeded")?, Some(true));
            ctx.state_set_entry("snaps", "x", &1)?;
            assert_eq!(ctx.state_get_entry::<u32>("snaps", "x")?, Some(1));
            ctx.log("working");
            ctx.set_progress("copying", 5, 10);
            Ok(())
        },
        None,
    );
    let (chg, ids) = chain(&mut store.lock(), &["k"]);
    store.lock().task_mut(ids[0]).unwrap().set("n", &1).unwrap();
    runner.run_until_idle().unwrap();
    let st = store.lock();
    assert_eq!(st.change_status(chg), Some(Done));
    let t = st.task(ids[0]).unwrap();
    assert_eq!(t.get::<u32>("n").unwrap(), Some(2));
    assert_eq!(t.progress(), ("copying".into(), 5, 10));
    assert!(t.log()[0].ends_with(" INFO working"));
    assert!(t.doing_time() > Duration::ZERO);
}

#[test]
fn run_forever_wakes_on_new_changes_and_stops_cleanly() {
    let store = memory_store();
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, &calls, "a", false, false);
    let runner = Arc::new(runner);
    let worker = {
        let r = runner.clone();
        std::thread::spawn(move || r.run_forever())
    };
    let (chg, _) = chain(&mut store.lock(), &["a", "a"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.lock().change_status(chg) != Some(Done) {
        assert!(
            std::time::Instant::now() < deadline,
            "runner did not wake up"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    runner.stop();
    worker.join().unwrap().unwrap();
}

#[test]
fn stop_turns_errors_into_retries() {
    let store = memory_store();
    let mut runner = TaskRunner::new(store.clone());
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    runner.add_handler(
        "long",
        move |ctx: &TaskContext<'_>| {
            rx.lock().unwrap().recv().unwrap();
            assert!(ctx.is_cancelled());
            Err(HandlerError::error("interrupted by shutdown"))
        },
        None,
    );
    let (chg, ids) = chain(&mut store.lock(), &["long"]);
    let runner = Arc::new(runner);
    let worker = {
        let r = runner.clone();
        std::thread::spawn(move || r.run_until_idle().unwrap())
    };
    while statuses(&store, &ids) != [Doing] {
        std::thread::sleep(Duration::from_millis(2));
    }
    runner.stop();
    tx.send(()).unwrap();
    worker.join().unwrap();
    // Left in Doing: re-run by the next daemon.
    assert_eq!(statuses(&store, &ids), [Doing]);
    assert_eq!(store.lock().change_status(chg), Some(Doing));
}
