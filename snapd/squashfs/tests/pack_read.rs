//! Packing and reading round trips, reproducibility, and agreement with squashfs-tools.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use snap_squashfs::{Compression, EntryKind, PackOptions, SnapFile, pack_snap};

fn pack(src: &Path, out: &Path, compression: Compression) -> snap_squashfs::PackedSnap {
    fs::create_dir_all(out).unwrap();
    let opts = PackOptions {
        compression,
        filename: None,
    };
    pack_snap(src, out, &opts).unwrap()
}

#[test]
fn packing_is_named_like_snap_pack_and_records_its_digest() {
    let t = tempfile::tempdir().unwrap();
    make_tree(&t.path().join("src"));
    let packed = pack(
        &t.path().join("src"),
        &t.path().join("out"),
        Compression::Xz,
    );
    assert_eq!(packed.path, t.path().join("out/fixture_1.2_all.snap"));
    assert_eq!(
        packed.digest.size,
        fs::metadata(&packed.path).unwrap().len()
    );
    let hex = run("sha384sum", &[packed.path.to_str().unwrap()]);
    assert_eq!(hex.split_whitespace().next().unwrap(), packed.digest.sha384);
    // Nothing but the .snap is left in the target directory.
    let names: Vec<_> = fs::read_dir(t.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["fixture_1.2_all.snap"]);
}

#[test]
fn same_tree_packs_to_identical_bytes() {
    for compression in [Compression::Xz, Compression::Lz4, Compression::Zstd] {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        make_tree(&src);
        let first = fs::read(pack(&src, &t.path().join("a"), compression).path).unwrap();
        // Same content, different timestamps and a different creation order on disk.
        let src2 = t.path().join("src2");
        fs::create_dir_all(src2.join("share")).unwrap();
        write(&src2, "share/zzz-created-first", b"x", 0o644);
        fs::remove_file(src2.join("share/zzz-created-first")).unwrap();
        make_tree(&src2);
        let ts = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        fs::File::options()
            .write(true)
            .open(src2.join("bin/run"))
            .unwrap()
            .set_modified(ts)
            .unwrap();
        let second = fs::read(pack(&src2, &t.path().join("b"), compression).path).unwrap();
        assert!(
            first == second,
            "{compression:?}: packs of the same tree differ"
        );
    }
}

#[test]
fn reading_back_gives_the_tree() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    make_tree(&src);
    let packed = pack(&src, &t.path().join("out"), Compression::Xz);
    let snap = SnapFile::open(&packed.path).unwrap();
    assert_eq!(snap.compression(), "xz");
    assert_eq!(snap.snap_yaml().unwrap().name, "fixture");
    let expected = describe_tree(&src);
    let mut seen = 0;
    for entry in snap.entries() {
        if entry.path.as_os_str().is_empty() {
            continue;
        }
        seen += 1;
        assert_eq!(
            (entry.uid, entry.gid),
            (0, 0),
            "{entry:?} not owned by root"
        );
        let (kind, perm, content) = &expected[&entry.path];
        match &entry.kind {
            EntryKind::File { size } => {
                assert_eq!(*kind, 'f');
                assert_eq!(*size as usize, content.len());
                let read = snap.read(entry.path.to_str().unwrap(), 1 << 20).unwrap();
                assert_eq!(&read, content, "{:?}", entry.path);
                assert_eq!(u32::from(entry.mode), *perm, "{:?}", entry.path);
            }
            EntryKind::Dir => {
                assert_eq!(*kind, 'd');
                assert_eq!(u32::from(entry.mode), *perm, "{:?}", entry.path);
            }
            EntryKind::Symlink { target } => {
                assert_eq!(*kind, 'l');
                assert_eq!(target.as_os_str().as_encoded_bytes(), content.as_slice());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, expected.len());
    // Internal symlinks are followed when reading; absolute ones are not ours to follow.
    assert_eq!(snap.read("bin/readme", 100).unwrap(), b"hello\n");
    assert!(snap.read("bin/python3", 100).is_err());
    assert!(
        snap.read("share/data/big.bin", 1000)
            .unwrap_err()
            .to_string()
            .contains("larger than")
    );
    assert!(
        snap.read("share", 1000)
            .unwrap_err()
            .to_string()
            .contains("not a regular file")
    );
    assert!(
        snap.read("../etc/passwd", 1000)
            .unwrap_err()
            .to_string()
            .contains("no file")
    );
}

#[test]
fn unsquashfs_extracts_what_we_packed() {
    for compression in [Compression::Xz, Compression::Lz4, Compression::Zstd] {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        make_tree(&src);
        let packed = pack(&src, &t.path().join("out"), compression);
        let dest = t.path().join("x");
        run(
            "unsquashfs",
            &[
                "-no-progress",
                "-d",
                dest.to_str().unwrap(),
                packed.path.to_str().unwrap(),
            ],
        );
        assert_eq!(describe_tree(&dest), describe_tree(&src), "{compression:?}");
        let stat = run("unsquashfs", &["-s", packed.path.to_str().unwrap()]);
        let name = format!("{compression:?}").to_lowercase();
        assert!(stat.contains(&format!("Compression {name}")), "{stat}");
    }
}

#[test]
fn reads_a_snap_made_by_mksquashfs_with_snapds_flags() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    make_tree(&src);
    let img = t.path().join("m.snap");
    run(
        "mksquashfs",
        &[
            src.to_str().unwrap(),
            img.to_str().unwrap(),
            "-noappend",
            "-comp",
            "xz",
            "-no-xattrs",
            "-no-fragments",
            "-all-root",
            "-quiet",
        ],
    );
    let snap = SnapFile::open(&img).unwrap();
    assert_eq!(snap.snap_yaml().unwrap().version.as_deref(), Some("1.2"));
    let expected = describe_tree(&src);
    for entry in snap.entries() {
        if let EntryKind::File { .. } = entry.kind {
            let read = snap.read(entry.path.to_str().unwrap(), 1 << 20).unwrap();
            assert_eq!(read, expected[&entry.path].2, "{:?}", entry.path);
        }
    }
    assert_eq!(snap.entries().len(), expected.len() + 1);
}
