//! Bad input gets a clear error, never a panic, and never a write outside the target.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::*;
use snap_squashfs::{Compression, PackOptions, SnapFile, pack_snap};

fn packed_image(dir: &Path) -> Vec<u8> {
    let src = dir.join("src");
    make_tree(&src);
    let packed = pack_snap(&src, dir, &PackOptions::default()).unwrap();
    fs::read(packed.path).unwrap()
}

fn open_bytes(dir: &Path, bytes: &[u8]) -> Result<(), String> {
    let p = dir.join("probe.snap");
    fs::write(&p, bytes).unwrap();
    let snap = SnapFile::open(&p).map_err(|e| e.to_string())?;
    // Reading must fail cleanly too, whatever the directory tables now say.
    for e in snap.entries() {
        let _ = snap.read(e.path.to_str().unwrap_or(""), 1 << 20);
    }
    snap.snap_yaml().map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn non_squashfs_files_are_refused_clearly() {
    let t = tempfile::tempdir().unwrap();
    for bytes in [&b""[..], b"hello world", &[0u8; 4096], b"hsqs"] {
        let err = open_bytes(t.path(), bytes).unwrap_err();
        assert!(err.contains("is not a valid snap"), "{err}");
    }
    let err = SnapFile::open(&t.path().join("missing.snap"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("cannot open") && err.contains("missing.snap"),
        "{err}"
    );
}

#[test]
fn truncated_images_never_panic() {
    let t = tempfile::tempdir().unwrap();
    let image = packed_image(t.path());
    let mut refused = 0;
    for cut in (0..image.len())
        .step_by(97)
        .chain([image.len() - 1, 96, 95])
    {
        if open_bytes(t.path(), &image[..cut]).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0);
    // The image is padded to 4 KiB; what matters is the filesystem's own length, which the
    // superblock records at offset 40. Cutting into it (into the tables at its end) must be
    // noticed.
    let used = u64::from_le_bytes(image[40..48].try_into().unwrap()) as usize;
    assert!(used <= image.len());
    for cut in [used / 2, used - 1, used - 8] {
        assert!(
            open_bytes(t.path(), &image[..cut]).is_err(),
            "cut at {cut} of {used} was accepted"
        );
    }
}

#[test]
fn corrupted_images_never_panic() {
    let t = tempfile::tempdir().unwrap();
    let image = packed_image(t.path());
    // A deterministic walk over byte positions and values (a small LCG, no extra crate).
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..400 {
        let mut bytes = image.clone();
        for _ in 0..4 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pos = (seed >> 33) as usize % bytes.len();
            bytes[pos] ^= (seed >> 8) as u8 | 1;
        }
        let _ = open_bytes(t.path(), &bytes);
    }
}

fn pack_err(src: &Path, out: &Path) -> String {
    fs::create_dir_all(out).unwrap();
    let err = pack_snap(src, out, &PackOptions::default())
        .unwrap_err()
        .to_string();
    assert_eq!(
        fs::read_dir(out).unwrap().count(),
        0,
        "a refused pack left files in {out:?}"
    );
    err
}

#[test]
fn trees_that_reach_outside_are_refused() {
    let cases: Vec<(&str, Box<dyn Fn(&Path)>, &str)> = vec![
        (
            "relative escape",
            Box::new(|r: &Path| symlink("../../../etc/shadow", r.join("share/esc")).unwrap()),
            "points outside the snap",
        ),
        (
            "escape via dir",
            Box::new(|r: &Path| symlink("../..", r.join("bin/up")).unwrap()),
            "points outside the snap",
        ),
        (
            "absolute in meta",
            Box::new(|r: &Path| symlink("/etc/passwd", r.join("meta/icon.png")).unwrap()),
            "points outside the snap",
        ),
        (
            "dangling in meta",
            Box::new(|r: &Path| symlink("nothing", r.join("meta/gui")).unwrap()),
            "dangling",
        ),
        (
            "meta to root",
            Box::new(|r: &Path| symlink("..", r.join("meta/root")).unwrap()),
            "in meta/",
        ),
        (
            "fifo",
            Box::new(|r: &Path| {
                rustix_mkfifo(&r.join("share/fifo"));
            }),
            "fifo",
        ),
        (
            "command missing",
            Box::new(|r: &Path| fs::remove_file(r.join("bin/run")).unwrap()),
            "command \"bin/run --flag\" does not exist",
        ),
        (
            "command not executable",
            Box::new(|r: &Path| write(r, "bin/svc", b"x", 0o644)),
            "is not executable",
        ),
        (
            "stop-command is a dir",
            Box::new(|r: &Path| {
                fs::remove_file(r.join("bin/stop")).unwrap();
                fs::create_dir(r.join("bin/stop")).unwrap();
            }),
            "is not a regular file",
        ),
        (
            "command via absolute symlink",
            Box::new(|r: &Path| {
                fs::remove_file(r.join("bin/run")).unwrap();
                symlink("/bin/true", r.join("bin/run")).unwrap();
            }),
            "does not exist",
        ),
        (
            "hook not executable",
            Box::new(|r: &Path| write(r, "meta/hooks/install", b"#!/bin/sh\n", 0o644)),
            "hook meta/hooks/install is not executable",
        ),
        (
            "meta is a symlink",
            Box::new(|r: &Path| {
                fs::rename(r.join("meta"), r.join("m")).unwrap();
                symlink("m", r.join("meta")).unwrap();
            }),
            "meta must be a directory",
        ),
        (
            "no snap.yaml",
            Box::new(|r: &Path| fs::remove_file(r.join("meta/snap.yaml")).unwrap()),
            "meta/snap.yaml is missing",
        ),
        (
            "invalid snap.yaml",
            Box::new(|r: &Path| write(r, "meta/snap.yaml", b"name: Bad_Name\nversion: 1\n", 0o644)),
            "invalid snap name",
        ),
        (
            "not yaml",
            Box::new(|r: &Path| write(r, "meta/snap.yaml", b"\x00\x01{[", 0o644)),
            "snap.yaml",
        ),
    ];
    for (what, breakit, expect) in cases {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        make_tree(&src);
        breakit(&src);
        let err = pack_err(&src, &t.path().join("out"));
        assert!(
            err.contains(expect),
            "{what}: expected {expect:?} in: {err}"
        );
    }
}

fn rustix_mkfifo(p: &Path) {
    run("mkfifo", &[p.to_str().unwrap()]);
}

#[test]
fn a_huge_snap_yaml_is_refused_without_reading_it_all() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    make_tree(&src);
    // 100 MB, sparse: the packer must stop at its cap rather than read it.
    let f = fs::File::create(src.join("meta/snap.yaml")).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    let started = std::time::Instant::now();
    let err = pack_err(&src, &t.path().join("out"));
    assert!(err.contains("larger than"), "{err}");
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn a_yaml_bomb_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    make_tree(&src);
    let mut bomb = String::from(
        "name: bomb\nversion: '1'\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for c in 'b'..='j' {
        bomb.push_str(&format!(
            "{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = c;
    }
    write(&src, "meta/snap.yaml", bomb.as_bytes(), 0o644);
    let err = pack_err(&src, &t.path().join("out"));
    assert!(err.contains("snap.yaml"), "{err}");
}

#[test]
fn output_names_that_climb_out_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    make_tree(&src);
    let out = t.path().join("out");
    fs::create_dir_all(&out).unwrap();
    for bad in ["../escape.snap", "/tmp/abs.snap", "a/../../b.snap", ""] {
        let opts = PackOptions {
            compression: Compression::Xz,
            filename: Some(bad.into()),
        };
        let err = pack_snap(&src, &out, &opts).unwrap_err().to_string();
        assert!(err.contains("cannot use"), "{bad}: {err}");
    }
    assert!(!t.path().join("escape.snap").exists());
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}
