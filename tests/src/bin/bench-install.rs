//! Install and remove latency through the CLI, with 1 and with 500 other snaps installed, and
//! the daemon's idle memory. The 1-snap run is the baseline the 500-snap run is compared with.
//!
//! Run as root: `cargo run --release -p snap-tests --bin bench-install [-- ITERATIONS]`.
//! The root lives on a tmpfs, so the disk's noise does not drown the daemon's own cost.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use snap_tests::{Daemon, TestRoot, app_snap, base_snap, ok};

const OTHERS: usize = 500;

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let root = TestRoot::new();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(root.path())
        .status()
        .expect("mount tmpfs");
    assert!(status.success(), "mounting a tmpfs needs root");
    let fixtures = tempfile::tempdir().expect("tmp");
    let base = base_snap(fixtures.path(), "core22");
    let probe = app_snap(fixtures.path(), "probe", "1", "core22");

    let mut daemon = Daemon::start(&root, &[]);
    let rss_start = rss_kib(daemon.pid());
    ok(&root.snap(&["install", "--dangerous", base.to_str().unwrap()]));

    let (i1, r1) = cycle(&root, &probe, iterations);
    report("with 1 other snap", &i1, &r1);

    // Fill the device up to OTHERS snaps; RSS is read after 100 of them.
    let mut rss_100 = 0;
    for n in 0..OTHERS - 1 {
        let s = app_snap(fixtures.path(), &format!("filler{n}"), "1", "core22");
        ok(&root.snap(&["install", "--dangerous", s.to_str().unwrap()]));
        std::fs::remove_file(s).unwrap();
        if n + 1 == 100 {
            std::thread::sleep(Duration::from_millis(500));
            rss_100 = rss_kib(daemon.pid());
        }
    }
    let (i500, r500) = cycle(&root, &probe, iterations);
    report(&format!("with {OTHERS} other snaps"), &i500, &r500);

    println!(
        "\nratio {OTHERS} / 1 snap: install median {:.2}x, p95 {:.2}x; remove median {:.2}x, p95 {:.2}x",
        ratio(median(&i500), median(&i1)),
        ratio(p95(&i500), p95(&i1)),
        ratio(median(&r500), median(&r1)),
        ratio(p95(&r500), p95(&r1))
    );
    println!(
        "daemon idle RSS: {rss_start} KiB after start, {rss_100} KiB after 100 installs, {} KiB with {OTHERS} snaps",
        rss_kib(daemon.pid())
    );
    let state = std::fs::metadata(root.path().join("var/lib/snapd/state.json"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("state.json with {OTHERS} snaps: {} KiB", state / 1024);

    // Remove everything so the tmpfs can be unmounted (the loop devices go with the mounts).
    let list = ok(&root.snap(&["list"]));
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "core22")
        .collect();
    for chunk in names.chunks(50) {
        let mut args = vec!["remove"];
        args.extend(chunk);
        ok(&root.snap(&args));
    }
    ok(&root.snap(&["remove", "core22"]));
    daemon.stop();
    let _ = Command::new("umount").arg(root.path()).status();
}

/// Installs and removes `snap` `n` times, timing each CLI call.
fn cycle(root: &TestRoot, snap: &Path, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut ins, mut rem) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = Instant::now();
        ok(&root.snap(&["install", "--dangerous", snap.to_str().unwrap()]));
        ins.push(t.elapsed());
        let t = Instant::now();
        ok(&root.snap(&["remove", "probe"]));
        rem.push(t.elapsed());
    }
    (ins, rem)
}

fn report(what: &str, ins: &[Duration], rem: &[Duration]) {
    println!(
        "{what}: install median {:.1} ms p95 {:.1} ms; remove median {:.1} ms p95 {:.1} ms (n={})",
        ms(median(ins)),
        ms(p95(ins)),
        ms(median(rem)),
        ms(p95(rem)),
        ins.len()
    );
}

fn sorted(v: &[Duration]) -> Vec<Duration> {
    let mut s = v.to_vec();
    s.sort();
    s
}

fn median(v: &[Duration]) -> Duration {
    sorted(v)[v.len() / 2]
}

fn p95(v: &[Duration]) -> Duration {
    let s = sorted(v);
    s[((s.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(s.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
