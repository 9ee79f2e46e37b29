//! Persistence: file format, locking, resume after restart, crash points.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{Calls, chain, register, statuses};
use snap_state::{
    CRASH_ENV, ChangeId, HandlerError, StateError, StateStore, Status, StoreOptions, TaskContext,
    TaskRunner,
};

use Status::*;

fn opts() -> StoreOptions {
    // Never let a crash spec from the environment hit the parent tests.
    StoreOptions {
        lock_timeout: std::time::Duration::ZERO,
        crash_from_env: false,
        ..Default::default()
    }
}

fn open(path: &Path) -> Arc<StateStore> {
    Arc::new(StateStore::open_with(path, &opts()).unwrap())
}

#[test]
fn round_trip_through_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("var/lib/snapd/state.json");
    let (chg, ids, before) = {
        let store = open(&path);
        let mut st = store.lock();
        st.set("seeded", &true).unwrap();
        st.set_entry(
            "snaps",
            "hello",
            &serde_json::json!({"active": true, "current": "42"}),
        )
        .unwrap();
        let (chg, ids) = chain(&mut st, &["download-snap", "mount-snap"]);
        st.change_mut(chg)
            .unwrap()
            .set("api-data", &serde_json::json!({"snap-names": ["hello"]}))
            .unwrap();
        st.task_mut(ids[0]).unwrap().log_info("downloading");
        st.set_task_status(ids[0], Done).unwrap();
        st.add_warning("hello", std::time::Duration::from_secs(60));
        let before = st.to_json();
        (chg, ids, before)
    };
    let store = open(&path);
    let mut st = store.lock();
    assert_eq!(st.to_json(), before);
    assert_eq!(st.change_status(chg), Some(Do));
    assert_eq!(st.task(ids[0]).unwrap().status(), Done);
    assert_eq!(
        st.get_entry::<serde_json::Value>("snaps", "hello")
            .unwrap()
            .unwrap()["current"],
        "42"
    );
    assert_eq!(st.all_warnings().len(), 1);
    // Counters survive: new ids continue after the old ones.
    assert_eq!(st.new_change("x", "y"), ChangeId(chg.0 + 1));

    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(path.with_file_name("state.lock").exists());
    // No temp file left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn fresh_state_is_written_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let _store = open(&path);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(v["last-change-id"], 0);
    assert_eq!(v["changes"], serde_json::json!({}));
}

#[test]
fn second_open_fails_while_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let first = open(&path);
    let err = StateStore::open_with(&path, &opts()).unwrap_err();
    assert!(matches!(err, StateError::Locked { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("state is locked by another process") && msg.contains("state.lock"),
        "{msg}"
    );
    drop(first);
    open(&path);
}

#[test]
fn corrupt_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, "{not json").unwrap();
    let err = StateStore::open_with(&path, &opts()).unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    assert!(err.to_string().starts_with("cannot read state"));
}

#[test]
fn checkpoints_combine_done_and_next_doing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("state.json"));
    let calls = Calls::default();
    let mut runner = TaskRunner::new(store.clone());
    let kinds = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for k in kinds {
        register(&mut runner, &calls, k, false, true);
    }
    chain(&mut store.lock(), &kinds);
    let before = store.checkpoint_stats().count;
    runner.run_until_idle().unwrap();
    let used = store.checkpoint_stats().count - before;
    // One write per task start (carrying the previous Done) plus the last Done.
    assert_eq!(used, kinds.len() as u64 + 1);
}

fn resume_runner(store: &Arc<StateStore>, calls: &Calls) -> TaskRunner {
    let mut runner = TaskRunner::new(store.clone());
    register(&mut runner, calls, "a", false, true);
    register(&mut runner, calls, "b", false, true);
    runner
}

#[test]
fn task_left_doing_is_rerun_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (chg, ids) = {
        let store = open(&path);
        let mut st = store.lock();
        let (chg, ids) = chain(&mut st, &["a", "b"]);
        st.set_task_status(ids[0], Done).unwrap();
        st.set_task_status(ids[1], Doing).unwrap();
        (chg, ids)
    }; // "crash": the store is gone with b in Doing
    let store = open(&path);
    let calls = Calls::default();
    resume_runner(&store, &calls).run_until_idle().unwrap();
    assert_eq!(calls.take(), ["do:b"]);
    assert_eq!(statuses(&store, &ids), [Done, Done]);
    assert_eq!(store.lock().change_status(chg), Some(Done));
}

#[test]
fn task_left_undoing_is_rerun_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (chg, ids) = {
        let store = open(&path);
        let mut st = store.lock();
        let (chg, ids) = chain(&mut st, &["a", "b"]);
        st.set_task_status(ids[0], Undoing).unwrap();
        st.set_task_status(ids[1], Error).unwrap();
        (chg, ids)
    };
    let store = open(&path);
    let calls = Calls::default();
    resume_runner(&store, &calls).run_until_idle().unwrap();
    assert_eq!(calls.take(), ["undo:a"]);
    assert_eq!(statuses(&store, &ids), [Undone, Error]);
    assert_eq!(store.lock().change_status(chg), Some(Error));
}

// ----- crash injection through a real process abort ---------------------

const CHILD_DIR_ENV: &str = "SNAP_STATE_TEST_CRASH_DIR";
/// Journal mode of the child: `default`, `tiny` (compacting all the time)
/// or `off` (a snapshot per checkpoint).
const JOURNAL_MODE_ENV: &str = "SNAP_STATE_TEST_JOURNAL";

/// Kinds of the crash scenario: `d` fails when `fail` is set.
const KINDS: [&str; 4] = ["a", "b", "c", "d"];

/// Handlers that append each call to `effects.log` (the "system").
fn crash_runner(store: &Arc<StateStore>, dir: &Path, fail: bool) -> TaskRunner {
    let mut runner = TaskRunner::new(store.clone());
    for kind in KINDS {
        let log = dir.join("effects.log");
        let fails = fail && kind == "d";
        let record = move |what: &str, ctx: &TaskContext<'_>| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&log)
                .unwrap();
            writeln!(f, "{what}:{}", ctx.kind()).unwrap();
        };
        let r2 = record.clone();
        runner.add_handler_with_undo(
            kind,
            move |ctx: &TaskContext<'_>| {
                record("do", ctx);
                if fails {
                    Err(HandlerError::error("d failed"))
                } else {
                    Ok(())
                }
            },
            move |ctx: &TaskContext<'_>| {
                r2("undo", ctx);
                Ok(())
            },
        );
    }
    runner
}

/// Runs only as a child of `crash_at_every_boundary_then_resume`: opens the
/// state with crash points armed from the environment and runs the chain.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV).map(PathBuf::from) else {
        return;
    };
    let fail = std::env::var("SNAP_STATE_TEST_FAIL").is_ok();
    let journal_limit = match std::env::var(JOURNAL_MODE_ENV).as_deref() {
        Ok("off") => None,
        // Compact whenever the journal outgrows the (small) snapshot.
        Ok("tiny") => Some(0),
        _ => Some(snap_state::DEFAULT_JOURNAL_LIMIT),
    };
    let opts = StoreOptions {
        journal_limit,
        ..Default::default()
    };
    let store = Arc::new(StateStore::open_with(dir.join("state.json"), &opts).unwrap());
    chain(&mut store.lock(), &KINDS);
    crash_runner(&store, &dir, fail).run_until_idle().unwrap();
    // Reaching this point means the crash point was never hit.
    std::process::exit(3);
}

fn effects(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("effects.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn crash_at_every_boundary_then_resume() {
    let ok_run = ["do:a", "do:b", "do:c", "do:d"];
    let failed_run = ["do:a", "do:b", "do:c", "do:d", "undo:c", "undo:b", "undo:a"];
    let mut cases: Vec<(String, bool)> = Vec::new();
    for k in KINDS {
        cases.push((format!("{k}:Doing"), false));
        cases.push((k.to_owned(), false)); // default status: Done
    }
    for p in ["d:Error", "c:Undoing", "b:undone", "a:Undone", "*:Undoing"] {
        cases.push((p.to_owned(), true));
    }
    let cases: Vec<(String, bool, &str)> = ["default", "tiny", "off"]
        .into_iter()
        .flat_map(|mode| cases.iter().map(move |(p, f)| (p.clone(), *f, mode)))
        .collect();
    for (point, fail, mode) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .env(JOURNAL_MODE_ENV, mode)
            .env(CRASH_ENV, &point)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if fail {
            cmd.env("SNAP_STATE_TEST_FAIL", "1");
        } else {
            cmd.env_remove("SNAP_STATE_TEST_FAIL");
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(6),
            "{point}: child should abort, got {:?}: {stderr}",
            out.status
        );
        assert!(stderr.contains(CRASH_ENV), "{point}: {stderr}");
        let journal = std::fs::metadata(dir.path().join("state.journal")).map_or(0, |m| m.len());
        match mode {
            // The status that fired the crash point is durable in the
            // journal only: it was appended, never compacted.
            "default" => assert!(journal > 0, "{point}: no journal"),
            "off" => assert_eq!(journal, 0, "{point}: journal in off mode"),
            _ => {}
        }
        let point_mode = format!("{point} ({mode} journal)");
        let point = point_mode.as_str();

        // The crash happened right after the named status became durable.
        let spec = snap_state::CrashPoints::parse(point.split(' ').next().unwrap()).unwrap();
        let want = &spec.0[0];
        let store = open(&dir.path().join("state.json"));
        let ids: Vec<_> = store.lock().tasks().map(|t| t.id()).collect();
        {
            let st = store.lock();
            assert!(
                st.tasks()
                    .any(|t| want.kind.as_deref().is_none_or(|k| k == t.kind())
                        && t.status() == want.status),
                "{point}: state after crash: {:?}",
                st.tasks()
                    .map(|t| (t.kind().to_owned(), t.status()))
                    .collect::<Vec<_>>()
            );
        }

        // Restart: the same handlers finish the job; since the runner
        // persists a status before and after each handler, and the crash
        // hits between handlers, every handler ran exactly once overall.
        crash_runner(&store, dir.path(), fail)
            .run_until_idle()
            .unwrap();
        let st = store.lock();
        let chg = st.changes().next().unwrap().id();
        if fail {
            assert_eq!(effects(dir.path()), failed_run, "{point}");
            assert_eq!(
                statuses_of(&st, &ids),
                [Undone, Undone, Undone, Error],
                "{point}"
            );
            assert_eq!(st.change_status(chg), Some(Error));
        } else {
            assert_eq!(effects(dir.path()), ok_run, "{point}");
            assert_eq!(statuses_of(&st, &ids), [Done; 4], "{point}");
            assert_eq!(st.change_status(chg), Some(Done));
        }
    }
}

fn statuses_of(st: &snap_state::State, ids: &[snap_state::TaskId]) -> Vec<Status> {
    ids.iter().map(|t| st.task(*t).unwrap().status()).collect()
}
