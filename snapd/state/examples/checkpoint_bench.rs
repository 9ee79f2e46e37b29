//! Prints how long checkpoints and an 8-task "install" take on an empty
//! state and on one with 500 installed snaps and 1000 ready changes kept
//! for `snap changes`, with the journal (the default) and without it (every
//! checkpoint rewrites `state.json`), and the large/empty ratios. Not a
//! timed assertion — run with
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

/// What a series of installs cost.
struct Measured {
    install: Duration,
    checkpoints: u64,
    ckpt_time: Duration,
    ckpt_bytes: u64,
    snapshots: u64,
    state_bytes: usize,
}

impl Measured {
    fn per_checkpoint(&self) -> f64 {
        self.ckpt_time.as_secs_f64() * 1e3 / self.checkpoints as f64
    }

    fn per_install(&self, rounds: u32) -> f64 {
        self.install.as_secs_f64() * 1e3 / f64::from(rounds)
    }
}

const ROUNDS: u32 = 40;
const TRIALS: usize = 3;

fn measure(store: &Arc<StateStore>, label: &str) -> Measured {
    let runner = runner(store);
    let before = store.checkpoint_stats();
    let mut install_time = Duration::ZERO;
    for i in 0..ROUNDS {
        install_time += install(store, &runner, &format!("bench-{label}-{i}"));
    }
    let after = store.checkpoint_stats();
    let state_bytes = store.lock().to_json().len();
    Measured {
        install: install_time,
        checkpoints: after.count - before.count,
        ckpt_time: after.total_time - before.total_time,
        ckpt_bytes: after.total_bytes - before.total_bytes,
        snapshots: after.snapshots - before.snapshots,
        state_bytes,
    }
}

fn report(label: &str, runs: &mut [Measured]) -> (f64, f64) {
    runs.sort_by_key(|m| m.install);
    let m = &runs[runs.len() / 2];
    let mut ckpt: Vec<f64> = runs.iter().map(Measured::per_checkpoint).collect();
    ckpt.sort_by(f64::total_cmp);
    let ckpt = ckpt[ckpt.len() / 2];
    println!(
        "{label:<32} install {:>6.2} ms | {:>4.1} checkpoints/install, each {:>6.3} ms, {:>7} bytes \
         | {:>3} snapshots in {} checkpoints | state {:>8} bytes",
        m.per_install(ROUNDS),
        m.checkpoints as f64 / f64::from(ROUNDS),
        ckpt,
        m.ckpt_bytes / m.checkpoints,
        m.snapshots,
        m.checkpoints,
        m.state_bytes,
    );
    (m.per_install(ROUNDS), ckpt)
}

fn open(path: &std::path::Path, journal_limit: Option<u64>, fsync: bool) -> Arc<StateStore> {
    let opts = StoreOptions {
        crash_from_env: false,
        fsync,
        journal_limit,
        ..Default::default()
    };
    Arc::new(StateStore::open_with(path, &opts).unwrap())
}

/// 500 installed snaps (with config) and 1000 ready install changes, built
/// without fsync, then closed (one snapshot, no journal).
fn build_large(path: &std::path::Path) {
    let store = open(path, Some(snap_state::DEFAULT_JOURNAL_LIMIT), false);
    {
        let mut st = store.lock();
        for i in 0..500 {
            let name = format!("snap{i}");
            st.set_entry("snaps", &name, &snap_state(&name)).unwrap();
            st.set_entry("config", &name, &json!({"port": 8000 + i, "debug": false}))
                .unwrap();
        }
    }
    let r = runner(&store);
    for i in 0..1000 {
        install(&store, &r, &format!("old{i}"));
    }
    drop(r);
    store.close().unwrap();
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("large/state.json");
    build_large(&large);
    let seed = std::fs::read(&large).unwrap();
    println!(
        "{ROUNDS} installs of an 8-task change per run, median of {TRIALS} runs; \
         large state: 500 snaps + 1000 ready changes, {} bytes",
        seed.len()
    );

    for (mode, limit) in [
        ("journal (default)", Some(snap_state::DEFAULT_JOURNAL_LIMIT)),
        ("no journal: state.json rewritten per checkpoint", None),
    ] {
        println!("--- {mode} ---");
        let (mut empty, mut big) = (Vec::new(), Vec::new());
        let mut compaction = Duration::ZERO;
        for trial in 0..TRIALS {
            let path = dir.path().join(format!("{trial}-{mode}-empty/state.json"));
            empty.push(measure(&open(&path, limit, true), "empty"));

            // The same large snapshot each time, loaded as after a restart.
            let path = dir.path().join(format!("{trial}-{mode}-large/state.json"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &seed).unwrap();
            let store = open(&path, limit, true);
            big.push(measure(&store, "large"));
            // A compaction of the large state: what the journal amortizes.
            let t = Instant::now();
            store.close().unwrap();
            compaction += t.elapsed();
        }
        let (empty_install, empty_ckpt) = report("empty state", &mut empty);
        let (big_install, big_ckpt) = report("500 snaps + 1000 ready changes", &mut big);
        println!(
            "ratio large/empty: install {:.2}x, checkpoint {:.2}x",
            big_install / empty_install,
            big_ckpt / empty_ckpt,
        );
        if limit.is_some() {
            // One compaction per max(limit, snapshot size) bytes of journal.
            let compaction = compaction.as_secs_f64() * 1e3 / TRIALS as f64;
            let m = &big[big.len() / 2];
            let per_install = m.ckpt_bytes as f64 / f64::from(ROUNDS);
            let every = (seed.len() as u64).max(snap_state::DEFAULT_JOURNAL_LIMIT) as f64;
            let amortized = compaction * per_install / every;
            println!(
                "compaction (full snapshot of the large state) {compaction:.2} ms, every {:.0} installs \
                 ({per_install:.0} journal bytes/install): {amortized:.3} ms/install amortized, \
                 install ratio including it {:.2}x",
                every / per_install,
                (big_install + amortized) / empty_install,
            );
        }
    }
}
