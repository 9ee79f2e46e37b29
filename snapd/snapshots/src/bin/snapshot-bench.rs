//! Snapshot save and restore against `tar --zstd` of the same directory, on tmpfs.
//!
//! `snapshot-bench [--sizes 100,250] [--runs 5] [--dir /dev/shm]` builds, for each size in MB,
//! a snap data directory (`var/snap/bench/{1,common}`: a few large compressible files, some
//! incompressible bytes, many small files, symlinks, empty directories), then times, median of
//! the runs: our save, our restore into absent directories, our restore over the existing data,
//! `tar --zstd -cf` and `tar --zstd -xf` into an empty directory.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_snapshots::{Compression, RestoreRequest, SaveRequest, SnapInfo, Snapshots};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for test data.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn random_bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next().to_le_bytes());
        }
        v.truncate(len);
        v
    }

    /// Text-like bytes: words from a small vocabulary, numbers, newlines (compresses ~3-4x).
    fn text(&mut self, len: usize) -> Vec<u8> {
        const WORDS: &[&str] = &[
            "snap", "data", "config", "value", "the", "a", "log", "error", "info", "user",
            "revision", "common", "cache", "entry", "time", "request", "=", ":", "{", "}",
            "\"id\"", "path",
        ];
        let mut v = Vec::with_capacity(len + 32);
        while v.len() < len {
            match self.below(10) {
                0 => v.extend_from_slice(self.below(1_000_000).to_string().as_bytes()),
                1 => v.push(b'\n'),
                _ => v.extend_from_slice(WORDS[self.below(WORDS.len() as u64) as usize].as_bytes()),
            }
            v.push(b' ');
        }
        v.truncate(len);
        v
    }
}

/// Builds about `mb` MB of data under `base` (`1/` and `common/`); returns the file count.
fn build_tree(base: &Path, mb: u64) -> Result<usize> {
    let total = mb * 1_000_000;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ mb);
    let mut files = 0;
    let rev = base.join("1");
    let common = base.join("common");
    for d in [&rev, &common] {
        std::fs::create_dir_all(d)?;
    }
    // 40%: four large compressible files; 20%: two incompressible files.
    for i in 0..4 {
        std::fs::write(
            common.join(format!("db-{i}.log")),
            rng.text((total / 10) as usize),
        )?;
        files += 1;
    }
    for i in 0..2 {
        std::fs::write(
            rev.join(format!("blob-{i}.bin")),
            rng.random_bytes((total / 10) as usize),
        )?;
        files += 1;
    }
    // 40%: small files (1-16 KB, a quarter of them incompressible) in directories of 100.
    let mut left = total * 4 / 10;
    let mut n = 0u64;
    while left > 0 {
        let dir = if n.is_multiple_of(2) { &rev } else { &common }.join(format!(
            "d{:03}/s{}",
            n / 200,
            n / 100 % 2
        ));
        if n % 100 < 2 {
            std::fs::create_dir_all(&dir)?;
        }
        let len = (1024 + rng.below(15 * 1024)).min(left);
        let data = if rng.below(4) == 0 {
            rng.random_bytes(len as usize)
        } else {
            rng.text(len as usize)
        };
        std::fs::write(dir.join(format!("f{n}")), data)?;
        left -= len;
        n += 1;
        files += 1;
    }
    for i in 0..20 {
        std::fs::create_dir_all(rev.join(format!("empty-{i}")))?;
        std::os::unix::fs::symlink(
            format!("../common/db-{}.log", i % 4),
            rev.join(format!("link-{i}")),
        )?;
    }
    Ok(files)
}

/// CPU time (user + system) of this process's threads and of its waited-for children, from
/// `/proc/self/stat` (clock ticks of 10 ms).
fn cpu() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let tick = |n: u64| Duration::from_millis(n * 10);
    // rest[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
    match f.get(11..15) {
        Some(&[u, s, cu, cs]) => (tick(u + s), tick(cu + cs)),
        _ => (Duration::ZERO, Duration::ZERO),
    }
}

/// Wall and CPU time of `f` (own threads plus children).
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration, Duration)> {
    let (s0, c0) = cpu();
    let t = Instant::now();
    let v = f()?;
    let wall = t.elapsed();
    let (s1, c1) = cpu();
    Ok((v, wall, (s1 - s0) + (c1 - c0)))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    let d = t.elapsed();
    if !st.success() {
        bail!("{cmd:?} failed: {st}");
    }
    Ok(d)
}

fn du(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Median wall and CPU time of one operation over the runs.
#[derive(Default)]
struct Times {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Times {
    fn add(&mut self, wall: Duration, cpu: Duration) {
        self.wall.push(wall);
        self.cpu.push(cpu);
    }

    fn wall(&self) -> Duration {
        median(self.wall.clone())
    }

    fn cpu(&self) -> Duration {
        median(self.cpu.clone())
    }
}

struct Row {
    mb: u64,
    files: usize,
    save: Times,
    restore: Times,
    restore_over: Times,
    tar_c: Times,
    tar_x: Times,
    ours_bytes: u64,
    tar_bytes: u64,
}

fn bench(scratch: &Path, mb: u64, runs: usize, comp: Compression) -> Result<Row> {
    let root = scratch.join(format!("root-{mb}"));
    let dirs = Dirs::new(&root);
    let base = dirs.snap_data_base("bench");
    let files = build_tree(&base, mb)?;
    let snaps = Snapshots::new(&dirs).with_compression(comp);
    let info = SnapInfo {
        name: "bench".into(),
        revision: Revision::store(1),
        version: "1.0".into(),
        epoch: Default::default(),
        summary: String::new(),
        snap_id: None,
        conf: None,
    };
    let aside = scratch.join(format!("aside-{mb}"));
    std::fs::create_dir_all(&aside)?;
    let tar_out = scratch.join(format!("tar-{mb}.tar.zst"));
    let tar_dest = scratch.join(format!("tar-x-{mb}"));
    let mut row = Row {
        mb,
        files,
        save: Times::default(),
        restore: Times::default(),
        restore_over: Times::default(),
        tar_c: Times::default(),
        tar_x: Times::default(),
        ours_bytes: 0,
        tar_bytes: 0,
    };
    for _ in 0..runs {
        let id = snaps.next_set_id(0)?;
        let req = SaveRequest {
            set_id: id,
            snaps: vec![info.clone()],
            users: vec![],
            time: SystemTime::now(),
            expiry: None,
        };
        let (metas, wall, cpu) = timed(|| Ok(snaps.save(&req)?))?;
        row.save.add(wall, cpu);
        row.ours_bytes = metas[0].size;

        let rreq = RestoreRequest {
            set_id: id,
            ..Default::default()
        };
        let (_, wall, cpu) = timed(|| Ok(snaps.restore(&rreq)?))?;
        row.restore_over.add(wall, cpu);

        for top in ["1", "common"] {
            std::fs::rename(base.join(top), aside.join(top))?;
        }
        let (_, wall, cpu) = timed(|| Ok(snaps.restore(&rreq)?))?;
        row.restore.add(wall, cpu);
        for top in ["1", "common"] {
            std::fs::remove_dir_all(base.join(top))?;
            std::fs::rename(aside.join(top), base.join(top))?;
        }
        snaps.forget(id, &[])?;

        let _ = std::fs::remove_file(&tar_out);
        let mut c = Command::new("tar");
        c.arg("--zstd")
            .arg("-cf")
            .arg(&tar_out)
            .arg("-C")
            .arg(&base)
            .args(["1", "common"]);
        let (_, wall, cpu) = timed(|| run(&mut c))?;
        row.tar_c.add(wall, cpu);
        std::fs::create_dir_all(&tar_dest)?;
        let mut x = Command::new("tar");
        x.arg("--zstd")
            .arg("-xf")
            .arg(&tar_out)
            .arg("-C")
            .arg(&tar_dest);
        let (_, wall, cpu) = timed(|| run(&mut x))?;
        row.tar_x.add(wall, cpu);
        std::fs::remove_dir_all(&tar_dest)?;
    }
    row.tar_bytes = du(&tar_out);
    std::fs::remove_dir_all(&root)?;
    Ok(row)
}

fn main() -> Result<()> {
    let mut sizes = vec![100u64, 250];
    let mut runs = 5usize;
    let mut dir = PathBuf::from("/dev/shm");
    let mut comp = Compression::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().context("missing value");
        match a.as_str() {
            "--sizes" => {
                sizes = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--runs" => runs = val()?.parse()?,
            "--dir" => dir = val()?.into(),
            "--level" => comp.level = val()?.parse()?,
            "--workers" => comp.workers = val()?.parse()?,
            _ => bail!(
                "usage: snapshot-bench [--sizes 100,250] [--runs N] [--dir TMPFS] [--level N] [--workers N]"
            ),
        }
    }
    let scratch = tempfile::Builder::new()
        .prefix("snapshot-bench-")
        .tempdir_in(&dir)
        .with_context(|| format!("scratch directory in {dir:?}"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "snapshot-bench: median of {runs} runs; scratch on {dir:?}; {cores} cores (load {}); ours: zstd level {}, {} workers; tar --zstd: zstd CLI level 3",
        load.split_whitespace().next().unwrap_or("?"),
        comp.level,
        comp.workers
    );
    println!(
        "wall ms (cpu ms = user+sys of all threads/processes); ratio = ours/tar wall, below 1.00 ours is faster"
    );
    println!(
        "{:>6} {:>6} | {:>11} {:>11} {:>5} | {:>11} {:>11} {:>5} | {:>12} | {:>7} {:>7}",
        "size",
        "files",
        "save",
        "tar -c",
        "ratio",
        "restore",
        "tar -x",
        "ratio",
        "restore-over",
        "ours MB",
        "tar MB"
    );
    for mb in sizes {
        let r = bench(scratch.path(), mb, runs, comp)?;
        let ms = |t: &Times| {
            format!(
                "{:.0} ({:.0})",
                t.wall().as_secs_f64() * 1e3,
                t.cpu().as_secs_f64() * 1e3
            )
        };
        let ratio = |a: &Times, b: &Times| a.wall().as_secs_f64() / b.wall().as_secs_f64();
        println!(
            "{:>3} MB {:>6} | {:>11} {:>11} {:>5.2} | {:>11} {:>11} {:>5.2} | {:>12} | {:>7.1} {:>7.1}",
            r.mb,
            r.files,
            ms(&r.save),
            ms(&r.tar_c),
            ratio(&r.save, &r.tar_c),
            ms(&r.restore),
            ms(&r.tar_x),
            ratio(&r.restore, &r.tar_x),
            ms(&r.restore_over),
            r.ours_bytes as f64 / 1e6,
            r.tar_bytes as f64 / 1e6,
        );
    }
    Ok(())
}
