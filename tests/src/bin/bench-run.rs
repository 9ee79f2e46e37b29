//! Launch latency of a confined app: `snap run APP.true` against the same program run directly
//! and under bubblewrap with a comparable sandbox, wall time of N launches each (interleaved, so
//! that drift affects every variant alike), as median and p95.
//!
//! Run as root: `cargo build --release --bins && target/release/bench-run [N]` (N = 200).
//! Needs `busybox-static` (the base and the app's `true`) and `bubblewrap`.
//!
//! Variants, all running busybox's `true`:
//! * `direct`: `BASE/bin/busybox true` run from the host;
//! * `snap run`: `snap run bench.true`, whose command is the snap's own `bin/busybox true`: the
//!   CLI execs `snap-confine`, which loads the profile, builds the mount namespace on the base,
//!   applies no_new_privs, landlock, the capability drop and the seccomp program, and execs;
//! * `snap-confine`: the launcher alone (`snap-confine bench.true`), without the CLI's exec;
//! * `bwrap`: a new mount namespace with the base read-only as `/`, `--dev /dev`,
//!   `--proc /proc`, `--tmpfs /tmp`, and the app's own compiled seccomp program (`--seccomp`);
//! * `unshare -m true`: a bare mount namespace, for reference.
//!
//! The root and the base's tree live on a tmpfs, so the disk does not add noise.
#![forbid(unsafe_code)]

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snap_tests::{Daemon, TestRoot, bin, install_file, make_base_tree, ok, pack_tree};

const WARMUP: usize = 10;

struct Variant {
    name: &'static str,
    times: Vec<Duration>,
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    assert!(
        rustix::process::geteuid().is_root(),
        "bench-run needs root (mounts)"
    );
    let bwrap = which("bwrap").expect("bwrap is missing: apt-get install bubblewrap");
    let unshare = which("unshare").expect("unshare is missing (util-linux)");

    let root = TestRoot::new();
    mount_tmpfs(root.path());
    let work = tempfile::Builder::new()
        .prefix("bench-run-")
        .tempdir()
        .unwrap();
    mount_tmpfs(work.path());

    // The base and the app.
    let base_tree = work.path().join("base");
    make_base_tree(&base_tree, "benchbase", &[]);
    let out = work.path().join("out");
    let base = pack_tree(&base_tree, &out);
    let app_tree = work.path().join("app");
    fs::create_dir_all(app_tree.join("meta")).unwrap();
    fs::write(
        app_tree.join("meta/snap.yaml"),
        "name: bench\nversion: '1'\nbase: benchbase\nsummary: launch benchmark\n\
         description: runs true\napps:\n  true:\n    command: bin/busybox true\n",
    )
    .unwrap();
    install_file(
        &base_tree.join("bin/busybox"),
        &app_tree.join("bin/busybox"),
        0o755,
    );
    let app = pack_tree(&app_tree, &out);

    let mut daemon = Daemon::start(&root, &[]);
    ok(&root.snap(&["install", "--dangerous", base.to_str().unwrap()]));
    ok(&root.snap(&["install", "--dangerous", app.to_str().unwrap()]));
    let program = root
        .path()
        .join("var/lib/snapd/profiles/snap.bench.true.bpf");
    assert!(program.exists(), "{} missing", program.display());

    let snap = bin("snap");
    let confine = bin("snap-confine");
    let busybox = base_tree.join("bin/busybox");
    let base_str = base_tree.to_str().unwrap().to_owned();

    // Each launch must work before it is timed.
    let direct = || {
        let mut c = Command::new(&busybox);
        c.arg("true");
        c
    };
    let snap_run = || {
        let mut c = Command::new(&snap);
        c.args(["run", "bench.true"])
            .env("SNAPPY_GLOBAL_ROOT", root.path());
        c
    };
    let confine_only = || {
        let mut c = Command::new(&confine);
        c.arg("bench.true").env("SNAPPY_GLOBAL_ROOT", root.path());
        c
    };
    let bwrap_cmd = |fd: i32| {
        let mut c = Command::new(&bwrap);
        c.args(["--ro-bind", &base_str, "/"])
            .args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"])
            .args(["--seccomp", &fd.to_string()])
            .args(["/bin/busybox", "true"]);
        c
    };
    let unshare_cmd = || {
        let mut c = Command::new(&unshare);
        c.args(["-m", "/bin/true"]);
        c
    };

    let mut variants: Vec<Variant> = [
        "direct (busybox true)",
        "snap run bench.true",
        "snap-confine bench.true",
        "bwrap (mount ns, ro base, dev, proc, tmpfs, seccomp)",
        "unshare -m true",
    ]
    .iter()
    .map(|name| Variant {
        name,
        times: Vec::with_capacity(n),
    })
    .collect();

    for i in 0..WARMUP + n {
        for (k, v) in variants.iter_mut().enumerate() {
            // bwrap reads the program from the descriptor: a fresh one each time, opened
            // before the clock starts and inherited by the child.
            let seccomp = (k == 3).then(|| inheritable(&program));
            let mut cmd = match k {
                0 => direct(),
                1 => snap_run(),
                2 => confine_only(),
                3 => bwrap_cmd(seccomp.as_ref().map(fd_number).unwrap()),
                _ => unshare_cmd(),
            };
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            let t = Instant::now();
            let out = cmd.output().expect("launch");
            let dt = t.elapsed();
            assert!(
                out.status.success(),
                "{} failed ({}): {}",
                v.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            drop(seccomp);
            if i >= WARMUP {
                v.times.push(dt);
            }
        }
    }

    println!(
        "launch wall time, n={n} each (after {WARMUP} warm-up runs), root on tmpfs, {}",
        kernel()
    );
    println!("{:<56} {:>9} {:>9} {:>9}", "", "median", "p95", "min");
    for v in &variants {
        println!(
            "{:<56} {:>6.3} ms {:>6.3} ms {:>6.3} ms",
            v.name,
            ms(median(&v.times)),
            ms(p95(&v.times)),
            ms(min(&v.times))
        );
    }
    let (d, s, c, b) = (
        &variants[0].times,
        &variants[1].times,
        &variants[2].times,
        &variants[3].times,
    );
    println!();
    println!(
        "snap run - direct:      median {:+.3} ms, p95 {:+.3} ms (target: < 3 ms)",
        ms(median(s)) - ms(median(d)),
        ms(p95(s)) - ms(p95(d))
    );
    println!(
        "snap-confine - direct:  median {:+.3} ms, p95 {:+.3} ms",
        ms(median(c)) - ms(median(d)),
        ms(p95(c)) - ms(p95(d))
    );
    println!(
        "snap run - snap-confine (the CLI's share): median {:+.3} ms",
        ms(median(s)) - ms(median(c))
    );
    println!(
        "snap run / bwrap:       median {:.2}x, p95 {:.2}x (target: < 1)",
        ms(median(s)) / ms(median(b)),
        ms(p95(s)) / ms(p95(b))
    );
    println!(
        "snap-confine / bwrap:   median {:.2}x, p95 {:.2}x",
        ms(median(c)) / ms(median(b)),
        ms(p95(c)) / ms(p95(b))
    );

    ok(&root.snap(&["remove", "bench"]));
    ok(&root.snap(&["remove", "benchbase"]));
    daemon.stop();
    let _ = Command::new("umount").arg(work.path()).status();
    let _ = Command::new("umount").arg(root.path()).status();
}

fn mount_tmpfs(dir: &Path) {
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "mode=0755", "tmpfs"])
        .arg(dir)
        .status()
        .expect("mount tmpfs");
    assert!(st.success(), "cannot mount a tmpfs on {}", dir.display());
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// `path` opened for reading without close-on-exec, so that a child inherits it.
fn inheritable(path: &Path) -> fs::File {
    let f = fs::File::open(path).expect("open the seccomp program");
    rustix::io::fcntl_setfd(f.as_fd(), rustix::io::FdFlags::empty()).expect("clear FD_CLOEXEC");
    f
}

fn fd_number(f: &fs::File) -> i32 {
    use std::os::fd::AsRawFd;
    f.as_raw_fd()
}

fn kernel() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("kernel {}", s.trim()))
        .unwrap_or_default()
}

fn sorted(v: &[Duration]) -> Vec<Duration> {
    let mut s = v.to_vec();
    s.sort();
    s
}

fn median(v: &[Duration]) -> Duration {
    let s = sorted(v);
    s[s.len() / 2]
}

fn p95(v: &[Duration]) -> Duration {
    let s = sorted(v);
    s[((s.len() as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(s.len() - 1)]
}

fn min(v: &[Duration]) -> Duration {
    sorted(v)[0]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
