//! Refresh, revert and automatic revert latency end to end through the CLI, from a local file
//! and from a store on loopback, next to the snapshot engine against `tar --zstd`, in one run
//! (issue 7, Performance).
//!
//! Run as root: `cargo run --release -p snap-tests --bin bench-refresh [-- ITERATIONS]
//! [--snapshot-runs N] [--no-snapshots]`. The device's root is a tmpfs, so the disk's noise does
//! not drown the daemon's own cost; the base is a real one (`scripts/make-base.sh`: busybox for
//! `/bin/sh`) because the app's `post-refresh` hook runs on it. `SNAPD_LOG=debug` in the
//! environment reaches the daemon; its log is kept next to the root and named at the end.
#![forbid(unsafe_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use snap_tests::nginx::Nginx;
use snap_tests::store_fixture::store_cli;
use snap_tests::{
    Daemon, TestRoot, all_changes, api_get, bin, fails, make_base_tree, ok, pack_tree,
};

const BASE: &str = "benchbase";
const LOCAL: &str = "bench-local";
const STORE: &str = "bench-store";

/// A hook that succeeds, and one that fails (the refresh must be undone).
/// The succeeding hook leaves a mark in the new revision's data, checked after each refresh.
const HOOK_OK: &str = "#!/bin/sh\necho \"$SNAP_REVISION\" > \"$SNAP_DATA/post-refresh\"\n";
const HOOK_FAIL: &str = "#!/bin/sh\necho 'post-refresh: migration failed' >&2\nexit 1\n";

/// Targets of issue 7, in ms.
const TARGET_LOCAL: f64 = 60.0;
const TARGET_REVERT: f64 = 40.0;
const TARGET_AUTO_REVERT: f64 = 100.0;
const TARGET_STORE: f64 = 100.0;

struct Args {
    iterations: usize,
    snapshot_runs: usize,
    snapshots: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        iterations: 20,
        snapshot_runs: 5,
        snapshots: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--snapshot-runs" => {
                a.snapshot_runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--snapshot-runs N")
            }
            "--no-snapshots" => a.snapshots = false,
            n => {
                a.iterations = n.parse().unwrap_or_else(|_| {
                    panic!("usage: bench-refresh [ITERATIONS] [--snapshot-runs N] [--no-snapshots]")
                })
            }
        }
    }
    assert!(a.iterations > 0, "ITERATIONS must be at least 1");
    a
}

fn main() {
    let args = parse_args();
    let n = args.iterations;
    // Other work on the machine moves every figure here; the load says how much there was.
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?").to_owned();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    assert!(
        rustix::process::geteuid().is_root(),
        "bench-refresh needs root (mounts)"
    );
    let root = TestRoot::new();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(root.path())
        .status()
        .expect("mount tmpfs");
    assert!(status.success(), "mounting a tmpfs failed");
    let work = tempfile::Builder::new()
        .prefix("bench-refresh-")
        .tempdir_in("/dev/shm")
        .expect("scratch directory on /dev/shm");
    let w = work.path();

    // The store: a repository with a publishing key, served by nginx on loopback.
    let key = w.join("key");
    let repo = w.join("repo");
    ok(&store_cli(&["keygen", s(&key)]));
    ok(&store_cli(&["init", s(&repo), "--key", s(&key)]));
    let nginx = Nginx::serve(&repo);
    let keys = fs::read_to_string(w.join("key.pub")).expect("public key");
    let url = nginx.url();
    let mut daemon = Daemon::start(
        &root,
        &[("SNAPD_STORE_URL", &url), ("SNAPD_STORE_KEYS", keys.trim())],
    );

    let base_tree = w.join("base");
    make_base_tree(&base_tree, BASE, &[]);
    let base = pack_tree(&base_tree, &w.join("out-base"));
    ok(&root.snap(&["install", "--dangerous", s(&base)]));

    let v1 = pack_app(w, LOCAL, "1", HOOK_OK);
    let v2 = pack_app(w, LOCAL, "2", HOOK_OK);
    let bad = pack_app(w, LOCAL, "3-bad", HOOK_FAIL);
    ok(&root.snap(&["install", "--dangerous", s(&v1)]));

    // (1) and (2): each iteration refreshes to the other file (a new revision every time; the
    // revision beyond refresh.retain is discarded, as in any refresh) and reverts it.
    let mut local = Op::new("local refresh (install --dangerous)", TARGET_LOCAL);
    let mut revert = Op::new("revert (snap revert)", TARGET_REVERT);
    for i in 0..n {
        let before = revision(&root, LOCAL);
        let file = if i % 2 == 0 { &v2 } else { &v1 };
        local.run(&root, &["install", "--dangerous", s(file)], true);
        assert_ne!(
            revision(&root, LOCAL),
            before,
            "the refresh changed nothing"
        );
        hook_ran(&root, LOCAL);
        revert.run(&root, &["revert", LOCAL], true);
        assert_eq!(revision(&root, LOCAL), before, "the revert did not go back");
    }

    // (3): the post-refresh hook exits 1; the CLI returns the error once the old revision is
    // current again.
    let mut auto = Op::new("automatic revert (post-refresh exit 1)", TARGET_AUTO_REVERT);
    for _ in 0..n {
        let before = revision(&root, LOCAL);
        let err = auto.run(&root, &["install", "--dangerous", s(&bad)], false);
        assert!(
            err.contains("migration failed"),
            "not the hook's failure: {err}"
        );
        assert_eq!(
            revision(&root, LOCAL),
            before,
            "the failed refresh was not undone"
        );
    }

    // (4): a new revision is published each iteration (not timed), then `snap refresh`.
    let publish = |version: &str| {
        let file = pack_app(w, STORE, version, HOOK_OK);
        ok(&store_cli(&[
            "publish",
            s(&repo),
            s(&file),
            "--key",
            s(&key),
            "--publisher",
            "bench",
            "--channel",
            "latest/stable",
        ]));
    };
    publish("1");
    ok(&root.snap(&["install", STORE]));
    let mut store = Op::new("store refresh over loopback", TARGET_STORE);
    for i in 0..n {
        publish(&(i + 2).to_string());
        let before = revision(&root, STORE);
        store.run(&root, &["refresh", STORE], true);
        assert_ne!(
            revision(&root, STORE),
            before,
            "the store refresh changed nothing"
        );
        hook_ran(&root, STORE);
    }

    let ops = [local, revert, auto, store];
    let mut rows: Vec<Row> = ops
        .iter()
        .map(|o| Row::timed(o.name, &o.wall, o.target_ms))
        .collect();

    ok(&root.snap(&["remove", STORE]));
    ok(&root.snap(&["remove", LOCAL]));
    ok(&root.snap(&["remove", BASE]));
    let st = daemon.stop();
    assert!(st.success(), "snapd exited with {st}");
    drop(nginx);
    let _ = Command::new("umount").arg(root.path()).status();

    let mut snapshot_text = String::new();
    if args.snapshots {
        let out = Command::new(bin("snapshot-bench"))
            .args(["--sizes", "100,250", "--runs"])
            .arg(args.snapshot_runs.to_string())
            .args(["--dir", "/dev/shm"])
            .output()
            .expect("running snapshot-bench");
        snapshot_text = ok(&out);
        rows.extend(snapshot_rows(&snapshot_text));
    }

    println!(
        "\nbench-refresh: {n} iterations per operation, end to end through the CLI, root on \
         tmpfs; {cores} cores, load {load} at the start"
    );
    print!("{}", table(&rows));
    println!(
        "quoted, not measured (issue 7, snapd 2.57 on this machine): local refresh ~250 ms, \
         revert ~127 ms, snap save of 100 MB 1.1 s (tar --zstd 0.16 s)"
    );
    println!(
        "\nwhere the time goes (medians): daemon = the change's spawn to ready, client = the \
         CLI's wall time less that (process start, request, polling); the slowest task steps, \
         each from the previous task's end to its own (in a failed change the failing task's \
         step holds the forward work: undone tasks end when their undo does)"
    );
    for op in &ops {
        println!("{}", op.breakdown_line());
    }
    if args.snapshots {
        println!("\nsnapshot-bench output:\n{snapshot_text}");
    }
    println!("daemon log: {}", daemon.log.display());
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The app `name` at `version` on the real base, with a `post-refresh` hook `hook`.
fn pack_app(work: &Path, name: &str, version: &str, hook: &str) -> PathBuf {
    let tree = work.join(format!("tree-{name}-{version}"));
    let _ = fs::remove_dir_all(&tree);
    fs::create_dir_all(tree.join("meta/hooks")).expect("mkdir");
    fs::create_dir_all(tree.join("bin")).expect("mkdir");
    fs::write(
        tree.join("meta/snap.yaml"),
        format!(
            "name: {name}\nversion: '{version}'\nbase: {BASE}\nsummary: refresh benchmark\n\
             apps:\n  {name}:\n    command: bin/app\n"
        ),
    )
    .expect("snap.yaml");
    for (rel, body) in [
        ("bin/app", "#!/bin/sh\necho hi\n"),
        ("meta/hooks/post-refresh", hook),
    ] {
        let p = tree.join(rel);
        fs::write(&p, body).expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = pack_tree(&tree, &work.join(format!("out-{name}-{version}")));
    fs::remove_dir_all(&tree).expect("rm tree");
    out
}

fn revision(root: &TestRoot, name: &str) -> String {
    api_get(root, &format!("/v2/snaps/{name}"))["result"]["revision"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// The current revision's `post-refresh` hook ran: it wrote its revision into its data.
fn hook_ran(root: &TestRoot, name: &str) {
    let rev = revision(root, name);
    let mark = root
        .path()
        .join("var/snap")
        .join(name)
        .join(&rev)
        .join("post-refresh");
    let got = fs::read_to_string(&mark).unwrap_or_default();
    assert_eq!(
        got.trim(),
        rev,
        "the post-refresh hook of {name} {rev} did not run"
    );
}

/// One timed operation: the CLI's wall times and, for each, the change it made.
struct Op {
    name: &'static str,
    target_ms: f64,
    wall: Vec<Duration>,
    changes: Vec<Breakdown>,
}

impl Op {
    fn new(name: &'static str, target_ms: f64) -> Op {
        Op {
            name,
            target_ms,
            wall: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// One CLI call, timed from spawn to exit; it must succeed (or fail, if `success` is
    /// false). Returns its stdout (on success) or stderr (on failure). The change it made is
    /// read afterwards, untimed.
    fn run(&mut self, root: &TestRoot, args: &[&str], success: bool) -> String {
        let t = Instant::now();
        let out: Output = root.snap(args);
        self.wall.push(t.elapsed());
        let text = if success { ok(&out) } else { fails(&out) };
        let last = all_changes(root).pop().expect("the command made a change");
        self.changes
            .push(breakdown(&last).unwrap_or_else(|| panic!("change without times: {last:#}")));
        text
    }

    fn breakdown_line(&self) -> String {
        let daemon: Vec<f64> = self.changes.iter().map(|c| c.daemon_ms).collect();
        let client: Vec<f64> = self
            .wall
            .iter()
            .zip(&self.changes)
            .map(|(w, c)| ms(*w) - c.daemon_ms)
            .collect();
        let steps = slowest_steps(&self.changes, 5)
            .iter()
            .map(|(l, m)| format!("{l} {m:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{}: daemon {:.1} ms, client {:.1} ms; {steps}",
            self.name,
            median_f(&daemon),
            median_f(&client)
        )
    }
}

// ---- pure: statistics, change breakdowns and the table ----

/// Where one change's time went: spawn to ready, and each task's step (from the previous
/// task's end, or the change's spawn, to its own end), labelled by kind (hooks by name; undone
/// tasks marked), in the order they ended. Held tasks never ran and are left out. An undone
/// task's end is that of its undo, so in a failed change the failing task's step carries all
/// the forward work before it.
#[derive(Debug, Clone, PartialEq)]
struct Breakdown {
    daemon_ms: f64,
    steps: Vec<(String, f64)>,
}

fn breakdown(change: &serde_json::Value) -> Option<Breakdown> {
    let spawn = epoch_secs(change["spawn-time"].as_str()?)?;
    let ready = epoch_secs(change["ready-time"].as_str()?)?;
    let mut ends: Vec<(String, f64)> = change["tasks"]
        .as_array()?
        .iter()
        .filter(|t| t["status"] != "Hold")
        .filter_map(|t| Some((task_label(t), epoch_secs(t["ready-time"].as_str()?)?)))
        .collect();
    ends.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut prev = spawn;
    let steps = ends
        .into_iter()
        .map(|(label, end)| {
            let step = (end - prev).max(0.0) * 1000.0;
            prev = prev.max(end);
            (label, step)
        })
        .collect();
    Some(Breakdown {
        daemon_ms: (ready - spawn) * 1000.0,
        steps,
    })
}

/// `run-hook` tasks by their hook ("Run post-refresh hook of ..."), others by kind; a task that
/// did not end Done (undone, in error) says so.
fn task_label(task: &serde_json::Value) -> String {
    let kind = task["kind"].as_str().unwrap_or("?");
    let summary = task["summary"].as_str().unwrap_or("");
    let mut label = match summary.strip_prefix("Run ").and_then(|s| s.split_once(' ')) {
        Some((hook, _)) if kind == "run-hook" => format!("hook {hook}"),
        _ => kind.to_owned(),
    };
    match task["status"].as_str() {
        Some("Done") | None => {}
        Some(other) => label += &format!(" ({})", other.to_lowercase()),
    }
    label
}

/// The `n` task steps with the largest median over the changes (a step missing from a change
/// counts as 0 there), largest first. Repeated labels within a change are summed.
fn slowest_steps(changes: &[Breakdown], n: usize) -> Vec<(String, f64)> {
    let mut labels: Vec<&str> = changes
        .iter()
        .flat_map(|c| c.steps.iter().map(|(l, _)| l.as_str()))
        .collect();
    labels.sort();
    labels.dedup();
    let mut out: Vec<(String, f64)> = labels
        .into_iter()
        .map(|l| {
            let per: Vec<f64> = changes
                .iter()
                .map(|c| c.steps.iter().filter(|(x, _)| x == l).map(|(_, m)| m).sum())
                .collect();
            (l.to_owned(), median_f(&per))
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out.truncate(n);
    out
}

/// Seconds since the epoch of a UTC RFC 3339 time as the daemon writes it
/// (`2026-11-25T17:21:45.614483Z`); None for anything else.
fn epoch_secs(s: &str) -> Option<f64> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next()?.parse().ok()?;
    Some((days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60) as f64 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era-based count: 400-year eras
/// of 146097 days, years starting in March so the leap day ends them).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn median_f(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// One line of the table: a median, maybe a p95, and the target it is compared with.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    operation: String,
    median_ms: f64,
    p95_ms: Option<f64>,
    target_ms: f64,
    /// How the target reads: "< 60 ms", "tar -c 160 ms".
    target_label: String,
}

impl Row {
    fn timed(operation: &str, samples: &[Duration], target_ms: f64) -> Row {
        Row {
            operation: operation.to_owned(),
            median_ms: ms(median(samples)),
            p95_ms: Some(ms(p95(samples))),
            target_ms,
            target_label: format!("< {target_ms:.0} ms"),
        }
    }

    fn ratio(&self) -> f64 {
        self.median_ms / self.target_ms
    }
}

fn sorted(v: &[Duration]) -> Vec<Duration> {
    let mut s = v.to_vec();
    s.sort();
    s
}

fn median(v: &[Duration]) -> Duration {
    sorted(v)[v.len() / 2]
}

/// The nearest-rank 95th percentile.
fn p95(v: &[Duration]) -> Duration {
    let s = sorted(v);
    let rank = (s.len() as f64 * 0.95).ceil() as usize;
    s[rank.saturating_sub(1).min(s.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<40} {:>10} {:>10} {:>16} {:>7}  {}\n",
        "operation", "median", "p95", "target", "ratio", "verdict"
    );
    for r in rows {
        let p95 = r.p95_ms.map_or("-".to_owned(), |p| format!("{p:.1} ms"));
        let verdict = if r.ratio() <= 1.0 { "ok" } else { "MISSED" };
        out += &format!(
            "{:<40} {:>10} {:>10} {:>16} {:>7.2}  {}\n",
            r.operation,
            format!("{:.1} ms", r.median_ms),
            p95,
            r.target_label,
            r.ratio(),
            verdict
        );
    }
    out
}

/// The rows of `snapshot-bench`'s table: per size, save against `tar -c` and restore into
/// absent directories against `tar -x` (medians; the target is tar's own time). Lines that do
/// not parse are left to the verbatim output printed after the table.
fn snapshot_rows(text: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('|').collect();
        let Some([head, save, restore]) = parts.get(..3) else {
            continue;
        };
        let head: Vec<&str> = head.split_whitespace().collect();
        let (Some(size), Some(&"MB")) = (head.first(), head.get(1)) else {
            continue;
        };
        for (what, tar, seg) in [("save", "tar -c", save), ("restore", "tar -x", restore)] {
            // "ours (cpu) tar (cpu) ratio"
            let f: Vec<&str> = seg.split_whitespace().collect();
            let (Some(ours), Some(theirs)) = (
                f.first().and_then(|x| x.parse::<f64>().ok()),
                f.get(2).and_then(|x| x.parse::<f64>().ok()),
            ) else {
                continue;
            };
            rows.push(Row {
                operation: format!("snapshot {what} {size} MB"),
                median_ms: ours,
                p95_ms: None,
                target_ms: theirs,
                target_label: format!("{tar} {theirs:.0} ms"),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(ms: &[u64]) -> Vec<Duration> {
        ms.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn median_and_p95_are_order_independent_ranks() {
        let v = d(&[50, 10, 40, 20, 30]);
        assert_eq!(median(&v), Duration::from_millis(30));
        assert_eq!(p95(&v), Duration::from_millis(50));
        let twenty: Vec<u64> = (1..=20).rev().collect();
        // Nearest rank: the 19th of 20.
        assert_eq!(p95(&d(&twenty)), Duration::from_millis(19));
        assert_eq!(median(&d(&[7])), Duration::from_millis(7));
    }

    #[test]
    fn rows_over_their_target_are_marked_missed() {
        let fast = Row::timed("fast", &d(&[30, 31, 29]), 60.0);
        let slow = Row::timed("slow", &d(&[90, 95, 91]), 60.0);
        assert!((fast.ratio() - 0.5).abs() < 1e-9);
        let t = table(&[fast, slow]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with("fast") && lines[1].ends_with("ok"),
            "{t}"
        );
        assert!(
            lines[2].contains("1.52") && lines[2].ends_with("MISSED"),
            "{t}"
        );
        assert!(
            lines[2].contains("95.0 ms") && lines[2].contains("< 60 ms"),
            "{t}"
        );
    }

    #[test]
    fn rfc3339_times_become_epoch_seconds() {
        assert_eq!(epoch_secs("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(epoch_secs("2000-03-01T00:00:00Z"), Some(951_868_800.0));
        let t = epoch_secs("2026-11-25T17:21:45.614483Z").unwrap();
        assert!((t - 1_795_627_305.614_483).abs() < 1e-5, "{t}");
        assert_eq!(
            epoch_secs("2024-02-29T23:59:59+00:00"),
            Some(1_709_251_199.0)
        );
        assert_eq!(epoch_secs("2026-11-25 17:21:45Z"), None);
        assert_eq!(epoch_secs("2026-11-25T17:21:45+02:00"), None);
    }

    #[test]
    fn a_change_breaks_down_into_task_steps() {
        let chg = serde_json::json!({
            "spawn-time": "2026-11-25T10:00:00.000Z",
            "ready-time": "2026-11-25T10:00:00.030Z",
            "tasks": [
                {"kind": "link-snap", "summary": "Make snap available", "status": "Undone",
                 "ready-time": "2026-11-25T10:00:00.030Z"},
                {"kind": "mount-snap", "summary": "Mount snap", "status": "Done",
                 "ready-time": "2026-11-25T10:00:00.005Z"},
                {"kind": "run-hook", "summary": "Run post-refresh hook of \"a\" snap if present",
                 "status": "Error", "ready-time": "2026-11-25T10:00:00.025Z"},
                {"kind": "never-ran", "summary": "", "status": "Do"},
                {"kind": "held", "summary": "", "status": "Hold",
                 "ready-time": "2026-11-25T10:00:00.001Z"}
            ]
        });
        let b = breakdown(&chg).unwrap();
        assert!((b.daemon_ms - 30.0).abs() < 1e-3);
        let labels: Vec<&str> = b.steps.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "mount-snap",
                "hook post-refresh (error)",
                "link-snap (undone)"
            ]
        );
        let steps: Vec<f64> = b
            .steps
            .iter()
            .map(|(_, m)| (m * 1e3).round() / 1e3)
            .collect();
        assert_eq!(steps, [5.0, 20.0, 5.0]);
        assert_eq!(breakdown(&serde_json::json!({"tasks": []})), None);
    }

    #[test]
    fn slowest_steps_rank_by_median_over_changes() {
        let c = |steps: &[(&str, f64)]| Breakdown {
            daemon_ms: 0.0,
            steps: steps.iter().map(|(l, m)| (l.to_string(), *m)).collect(),
        };
        let changes = [
            c(&[("a", 1.0), ("b", 10.0), ("a", 1.0)]),
            c(&[("a", 2.0), ("b", 1.0)]),
            c(&[("a", 3.0)]),
        ];
        // a: 2, 2, 3 -> 2; b: 10, 1, 0 -> 1.
        assert_eq!(
            slowest_steps(&changes, 5),
            [("a".to_owned(), 2.0), ("b".to_owned(), 1.0)]
        );
        assert_eq!(slowest_steps(&changes, 1).len(), 1);
    }

    #[test]
    fn snapshot_bench_lines_become_rows_against_tar() {
        let text = "snapshot-bench: median of 5 runs\n\
            wall ms (cpu ms = user+sys); ratio = ours/tar wall\n  \
            size  files |        save      tar -c ratio |     restore      tar -x ratio | restore-over | ours MB  tar MB\n\
            100 MB  12000 |   120 (200)   160 (170)  0.75 |    90 (150)    80 (100)  1.12 |     95 (160) |    40.1    41.0\n";
        let rows = snapshot_rows(text);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].operation, "snapshot save 100 MB");
        assert_eq!((rows[0].median_ms, rows[0].target_ms), (120.0, 160.0));
        assert_eq!(rows[0].target_label, "tar -c 160 ms");
        assert_eq!(rows[1].operation, "snapshot restore 100 MB");
        assert_eq!((rows[1].median_ms, rows[1].target_ms), (90.0, 80.0));
        assert!(rows[1].ratio() > 1.0);
        assert!(snapshot_rows("nothing | to | see\n").is_empty());
    }
}
