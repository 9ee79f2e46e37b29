//! Prints how long checkpoints and an 8-task "install" take on an empty
//! state and on one with 500 installed snaps (and, worst case, 500 ready
//! changes kept for `snap changes`). Not a timed assertion — run with
//! `cargo run --release -p snap-state --example checkpoint_bench`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use snap_state::{HandlerError, StateStore, StoreOptions, TaskContext, TaskRunner};

const KINDS: [&str; 8] = [
    "prerequisites",
    "download-snap",
    "validate-snap",
    "mount-snap",
    "copy-snap-data",
    "setup-profiles",
    "link-snap",
    "start-snap-services",
];

/// A SnapState-sized entry (~700 bytes of JSON).
fn snap_state(name: &str) -> serde_json::Value {
    json!({
        "type": "app",
        "sequence": [{"name": name, "snap-id": format!("{name:0>32}"), "revision": "42",
                      "channel": "latest/stable", "title": format!("The {name} snap"),
                      "summary": "A snap used to make the state file realistically large",
                      "links": {"website": [format!("https://example.com/{name}")]}}],
        "active": true, "current": "42", "channel": "latest/stable",
        "last-active-disabled-services": [], "aliases": {},
        "last-refresh-time": "2026-11-25T10:00:00.123456789Z",
        "user-id": 0, "cohort-key": "", "instance-key": "",
        "migrated-hidden": false, "refresh-inhibited-time": null
    })
}

fn runner(store: &Arc<StateStore>) -> TaskRunner {
    let mut r = TaskRunner::new(store.clone());
    for kind in KINDS {
        r.add_handler_with_undo(
            kind,
            move |ctx: &TaskContext<'_>| {
                if ctx.kind() == "link-snap" {
                    let name: String = ctx
                        .change_get::<Vec<String>>("snap-names")?
                        .unwrap_or_default()
                        .remove(0);
                    ctx.finish(|st| st.set_entry("snaps", &name, &snap_state(&name)))?;
                } else if ctx.kind() == "mount-snap" {
                    // Typical handler bookkeeping: one persisted task-data write.
                    ctx.set("mounted", &true)?;
                }
                Ok(())
            },
            |_: &TaskContext<'_>| Ok::<(), HandlerError>(()),
        );
    }
    r
}

fn install(store: &Arc<StateStore>, runner: &TaskRunner, name: &str) -> Duration {
    let t0 = Instant::now();
    {
        let mut st = store.lock();
        st.check_conflict(name).unwrap();
        let chg = st.new_change("install-snap", &format!("Install {name:?} snap"));
        st.change_mut(chg)
            .unwrap()
            .set("snap-names", &[name])
            .unwrap();
        let mut prev = None;
        for kind in KINDS {
            let t = st
                .new_task_in(chg, kind, &format!("{kind} {name}"))
                .unwrap();
            if kind == "prerequisites" {
                st.task_mut(t)
                    .unwrap()
                    .set(
                        "snap-setup",
                        &json!({"side-info": {"name": name, "revision": "42"}}),
                    )
                    .unwrap();
            } else {
                st.task_mut(t)
                    .unwrap()
                    .set(
                        "snap-setup-task",
                        &prev.map(|p: snap_state::TaskId| p.to_string()),
                    )
                    .unwrap();
            }
            if let Some(p) = prev {
                st.wait_for(t, p).unwrap();
            }
            prev = Some(t);
        }
    }
    runner.run_until_idle().unwrap();
    t0.elapsed()
}

fn measure(label: &str, store: &Arc<StateStore>, runner: &TaskRunner) {
    let rounds = 20;
    let before = store.checkpoint_stats().count;
    let mut total = Duration::ZERO;
    let (mut ser, mut wr) = (Duration::ZERO, Duration::ZERO);
    let (mut n, mut bytes) = (0u32, 0usize);
    store.set_persist_hook(None);
    for i in 0..rounds {
        total += install(store, runner, &format!("bench-{label}-{i}"));
        let s = store.checkpoint_stats();
        ser += s.serialize;
        wr += s.write;
        bytes = s.bytes;
        n += 1;
    }
    let checkpoints = store.checkpoint_stats().count - before;
    println!(
        "{label:<34} install(8 tasks) avg {:>7.2} ms | {:>5.1} checkpoints/install | state {:>8} bytes | \
         last checkpoint: serialize {:>6.3} ms, write+fsync {:>6.3} ms",
        total.as_secs_f64() * 1e3 / f64::from(rounds),
        checkpoints as f64 / f64::from(rounds),
        bytes,
        ser.as_secs_f64() * 1e3 / f64::from(n),
        wr.as_secs_f64() * 1e3 / f64::from(n),
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        crash_from_env: false,
        ..Default::default()
    };

    let empty =
        Arc::new(StateStore::open_with(dir.path().join("empty/state.json"), &opts).unwrap());
    measure("empty state", &empty, &runner(&empty));

    let big = Arc::new(StateStore::open_with(dir.path().join("big/state.json"), &opts).unwrap());
    {
        let mut st = big.lock();
        for i in 0..500 {
            let name = format!("snap{i}");
            st.set_entry("snaps", &name, &snap_state(&name)).unwrap();
            st.set_entry("config", &name, &json!({"port": 8000 + i, "debug": false}))
                .unwrap();
        }
    }
    measure("500 snaps", &big, &runner(&big));

    // Worst case: also 500 ready install changes kept for `snap changes`.
    let r = runner(&big);
    for i in 0..500 {
        install(&big, &r, &format!("old{i}"));
    }
    // Reload from disk so caches start from the file, as after a restart.
    drop(r);
    drop(big);
    let t = Instant::now();
    let big = Arc::new(StateStore::open_with(dir.path().join("big/state.json"), &opts).unwrap());
    println!(
        "reload of the worst-case state: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    measure("500 snaps + 500 ready changes", &big, &runner(&big));

    // Full re-serialization cost (what a naive checkpoint would pay).
    let mut st = big.lock();
    let t = Instant::now();
    let json = st.to_json();
    let cached = t.elapsed();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let t = Instant::now();
    let naive = serde_json::to_vec(&value).unwrap();
    println!(
        "worst-case document: {} bytes; cached write_json {:.3} ms vs. full serde_json re-serialization {:.3} ms ({} bytes)",
        json.len(),
        cached.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3,
        naive.len()
    );
}
