//! `snap pack` end to end: the real binary, the kernel mounting what it wrote.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use snap_tests::*;

fn demo_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/snaps/hello")
}

fn snap_pack(args: &[&str]) -> std::process::Output {
    Command::new(bin("snap"))
        .arg("pack")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn pack_prints_what_it_built_and_is_reproducible() {
    let out = tempfile::tempdir().unwrap();
    let o = ok(&snap_pack(&[
        demo_dir().to_str().unwrap(),
        out.path().to_str().unwrap(),
    ]));
    let built = out.path().join("hello-demo_1.0_all.snap");
    assert_eq!(o, format!("built: {}\n", built.display()));
    let first = fs::read(&built).unwrap();
    fs::remove_file(&built).unwrap();
    ok(&snap_pack(&[
        demo_dir().to_str().unwrap(),
        out.path().to_str().unwrap(),
    ]));
    assert!(first == fs::read(&built).unwrap(), "two packs differ");

    // Without a target directory it writes into the current one and names just the file.
    let cwd = tempfile::tempdir().unwrap();
    let o = Command::new(bin("snap"))
        .args(["pack", demo_dir().to_str().unwrap()])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert_eq!(ok(&o), "built: hello-demo_1.0_all.snap\n");
    assert!(cwd.path().join("hello-demo_1.0_all.snap").exists());
}

#[test]
fn the_kernel_mounts_a_packed_snap_and_sees_the_tree() {
    for compression in ["xz", "lz4", "zstd"] {
        let out = tempfile::tempdir().unwrap();
        ok(&snap_pack(&[
            &format!("--compression={compression}"),
            demo_dir().to_str().unwrap(),
            out.path().to_str().unwrap(),
        ]));
        let img = out.path().join("hello-demo_1.0_all.snap");
        let mnt = out.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        let m = Command::new("mount")
            .args(["-t", "squashfs", "-o", "loop,ro"])
            .arg(&img)
            .arg(&mnt)
            .output()
            .unwrap();
        ok(&m);
        let seen = tree(&mnt, &[]);
        let expected = tree(&demo_dir(), &[]);
        let umount = Command::new("umount").arg(&mnt).output().unwrap();
        ok(&umount);
        // Content, modes and link targets match; owners are root in the image by design.
        let strip_owner = |m: std::collections::BTreeMap<std::path::PathBuf, String>| {
            m.into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.split_whitespace()
                            .enumerate()
                            .filter(|(i, _)| *i != 2)
                            .map(|(_, w)| w)
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                })
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        assert_eq!(strip_owner(seen), strip_owner(expected), "{compression}");
    }
}

#[test]
fn pack_refuses_bad_trees_with_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    fs::create_dir_all(src.join("meta")).unwrap();
    fs::write(
        src.join("meta/snap.yaml"),
        "name: xx\nversion: 1\napps:\n  xx:\n    command: bin/missing\n",
    )
    .unwrap();
    let out = t.path().join("out");
    fs::create_dir(&out).unwrap();
    let err = fails(&snap_pack(&[src.to_str().unwrap(), out.to_str().unwrap()]));
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("bin/missing"), "{err}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);

    fs::create_dir_all(src.join("bin")).unwrap();
    fs::write(src.join("bin/missing"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(src.join("bin/missing"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("../../../../etc/shadow", src.join("bin/shadow")).unwrap();
    let err = fails(&snap_pack(&[src.to_str().unwrap(), out.to_str().unwrap()]));
    assert!(err.contains("points outside the snap"), "{err}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}

#[test]
fn version_without_a_daemon_says_so() {
    let root = TestRoot::new();
    let o = ok(&root.snap(&["version"]));
    assert!(o.starts_with("snap "), "{o}");
    assert!(
        o.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["snapd", "unavailable"]),
        "{o}"
    );
}
