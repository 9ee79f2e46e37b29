//! The snapshot engine on real trees in temporary roots: byte-identical round trips (contents,
//! modes, owners, symlinks, hard links, fifos, empty directories, nanosecond mtimes), checksum
//! checks, hostile archives refused with nothing changed, partial restores, export/import,
//! forget and expiry.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_snapshots::digest::sha256_hex;
use snap_snapshots::meta::{
    EpochJson, FORMAT, META_FILE, META_SUM_FILE, SYSTEM_MEMBER, format_time,
};
use snap_snapshots::{
    DEFAULT_AUTOMATIC_RETENTION, RestoreRequest, SaveRequest, SnapInfo, Snapshot, SnapshotError,
    Snapshots, User, discover_users,
};

const ALICE: u32 = 1000;

// ---------------------------------------------------------------------------------------------
// Trees and their comparison

#[derive(Debug, PartialEq, Eq)]
struct Node {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    /// Directory mtimes are left out where creating a sibling legitimately changes them.
    mtime: Option<(i64, i64)>,
    content: Option<Vec<u8>>,
    target: Option<PathBuf>,
    /// For hard links: the first path of the same inode.
    same_as: Option<PathBuf>,
    xattrs: Vec<(String, Vec<u8>)>,
}

fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names = vec![0u8; 4096];
    let n = rustix::fs::llistxattr(path, &mut names[..]).unwrap();
    let mut out: Vec<(String, Vec<u8>)> = names[..n]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|name| {
            let name = String::from_utf8(name.to_vec()).unwrap();
            let mut v = vec![0u8; 4096];
            let len = rustix::fs::lgetxattr(path, name.as_str(), &mut v[..]).unwrap();
            v.truncate(len);
            (name, v)
        })
        .collect();
    out.sort();
    out
}

fn tree(dir: &Path, dir_mtimes: bool) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(dir).unwrap().to_owned();
        let m = e.path().symlink_metadata().unwrap();
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_file() {
            "file"
        } else {
            "other"
        };
        let same_as = if ft.is_file() && m.nlink() > 1 {
            let first = inodes
                .entry((m.dev(), m.ino()))
                .or_insert_with(|| rel.clone())
                .clone();
            (first != rel).then_some(first)
        } else {
            None
        };
        out.insert(
            rel,
            Node {
                kind,
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
                mtime: (!ft.is_dir() || dir_mtimes).then(|| (m.mtime(), m.mtime_nsec())),
                content: ft.is_file().then(|| fs::read(e.path()).unwrap()),
                target: ft.is_symlink().then(|| fs::read_link(e.path()).unwrap()),
                same_as,
                xattrs: if ft.is_symlink() {
                    Vec::new()
                } else {
                    xattrs(e.path())
                },
            },
        );
    }
    out
}

fn assert_same_tree(a: &BTreeMap<PathBuf, Node>, b: &BTreeMap<PathBuf, Node>, what: &str) {
    let ka: Vec<_> = a.keys().collect();
    let kb: Vec<_> = b.keys().collect();
    assert_eq!(ka, kb, "{what}: different paths");
    for (k, v) in a {
        assert_eq!(v, &b[k], "{what}: {k:?} differs");
    }
}

fn set_mtime(path: &Path, secs: i64, nanos: i64) {
    let ts = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        },
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &ts,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn write(path: &Path, data: &[u8], mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Gives every entry under `dir` a distinct mtime with nanoseconds, deepest first.
fn stamp(dir: &Path, base: i64) {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in paths.iter().enumerate() {
        set_mtime(p, base + i as i64, 100_000_007 * (i as i64 % 9) + 1);
    }
}

// ---------------------------------------------------------------------------------------------
// A root with two snaps and one user

struct Root {
    _tmp: tempfile::TempDir,
    dirs: Dirs,
}

impl Root {
    fn new() -> Root {
        let tmp = tempfile::tempdir().unwrap();
        // Users' data is saved and restored as the user, who must be able to reach the home.
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let dirs = Dirs::new(tmp.path());
        Root { _tmp: tmp, dirs }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dirs.root().join(rel)
    }

    fn snapshots(&self) -> Snapshots {
        Snapshots::new(&self.dirs)
    }

    fn alice(&self) -> User {
        User {
            name: "alice".into(),
            uid: ALICE,
            gid: ALICE,
            home: self.path("home/alice"),
        }
    }

    /// hello (revision 5, and an older 4 that snapshots never touch), db (revision 3), and
    /// alice's data for hello.
    fn populate(&self) {
        let h5 = self.path("var/snap/hello/5");
        write(&h5.join("data.txt"), b"hello data\n", 0o640);
        write(&h5.join("sub/deep/nested.bin"), &noise(100_000, 1), 0o600);
        write(&h5.join("setuid-tool"), b"#!/bin/sh\n", 0o4755);
        write(&h5.join("big.bin"), &noise(3 << 20, 2), 0o644);
        write(&h5.join("ro/file"), b"read-only dir", 0o444);
        fs::create_dir_all(h5.join("empty")).unwrap();
        fs::set_permissions(h5.join("empty"), fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink("data.txt", h5.join("link")).unwrap();
        std::os::unix::fs::symlink("../common/shared", h5.join("up")).unwrap();
        write(&h5.join("hard1"), b"twice", 0o644);
        fs::hard_link(h5.join("hard1"), h5.join("hard2")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            h5.join("pipe"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o620),
            0,
        )
        .unwrap();
        std::os::unix::fs::chown(h5.join("sub/deep/nested.bin"), Some(1234), Some(5678)).unwrap();
        std::os::unix::fs::lchown(h5.join("link"), Some(42), Some(43)).unwrap();
        write(&self.path("var/snap/hello/common/shared"), b"shared", 0o644);
        fs::create_dir_all(self.path("var/snap/hello/common/cache/empty")).unwrap();
        write(&self.path("var/snap/hello/4/old"), b"revision 4", 0o644);
        write(
            &self.path("var/snap/db/3/db.sqlite"),
            &noise(50_000, 3),
            0o600,
        );
        write(&self.path("var/snap/db/common/x"), b"x", 0o644);
        let home = self.path("home/alice");
        write(&home.join("snap/hello/5/prefs"), b"alice prefs", 0o600);
        write(&home.join("snap/hello/common/c"), b"alice common", 0o644);
        for e in walkdir::WalkDir::new(&home) {
            let e = e.unwrap();
            std::os::unix::fs::lchown(e.path(), Some(ALICE), Some(ALICE)).unwrap();
        }
        let set = |p: PathBuf, name: &str, value: &[u8]| {
            rustix::fs::lsetxattr(&p, name, value, rustix::fs::XattrFlags::empty()).unwrap()
        };
        set(h5.join("data.txt"), "user.origin", b"saved");
        set(h5.join("empty"), "user.dir", b"\x00binary\xff");
        set(home.join("snap/hello/5/prefs"), "user.alice", b"hers");
        fs::set_permissions(h5.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
        stamp(&self.path("var/snap"), 1_600_000_000);
        stamp(&home, 1_650_000_000);
    }

    /// Changes every kind of thing a restore must undo.
    fn scribble(&self) {
        let h5 = self.path("var/snap/hello/5");
        fs::write(h5.join("data.txt"), b"changed").unwrap();
        rustix::fs::lremovexattr(h5.join("data.txt"), "user.origin").unwrap();
        rustix::fs::lsetxattr(
            h5.join("empty"),
            "user.dir",
            b"other",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        fs::remove_dir_all(h5.join("sub")).unwrap();
        fs::write(h5.join("new-file"), b"new").unwrap();
        fs::set_permissions(h5.join("setuid-tool"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::remove_file(h5.join("link")).unwrap();
        std::os::unix::fs::symlink("elsewhere", h5.join("link")).unwrap();
        fs::remove_dir_all(self.path("var/snap/hello/common/cache")).unwrap();
        fs::write(
            self.path("var/snap/db/3/db.sqlite"),
            b"corrupted by the app",
        )
        .unwrap();
        fs::write(self.path("home/alice/snap/hello/5/prefs"), b"other prefs").unwrap();
    }

    /// The data a snapshot of hello, db and alice covers, and the revision it does not.
    fn data_trees(&self) -> Vec<(String, BTreeMap<PathBuf, Node>)> {
        [
            "var/snap/hello/5",
            "var/snap/hello/common",
            "var/snap/hello/4",
            "var/snap/db/3",
            "var/snap/db/common",
            "home/alice/snap/hello/5",
            "home/alice/snap/hello/common",
        ]
        .iter()
        .map(|p| (p.to_string(), tree(&self.path(p), true)))
        .collect()
    }
}

fn info(name: &str, rev: u32) -> SnapInfo {
    SnapInfo {
        name: name.into(),
        revision: Revision::store(rev),
        version: "1.0".into(),
        epoch: Default::default(),
        summary: format!("{name} summary"),
        snap_id: None,
        conf: Some(serde_json::json!({"greeting": name})),
    }
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn save(root: &Root, snaps: Vec<SnapInfo>, users: Vec<User>, expiry: Option<SystemTime>) -> u64 {
    let store = root.snapshots();
    let set_id = store.next_set_id(0).unwrap();
    store
        .save(&SaveRequest {
            set_id,
            snaps,
            users,
            time: t0(),
            expiry,
        })
        .unwrap();
    set_id
}

fn restore_all(root: &Root, set_id: u64) -> Result<Vec<snap_snapshots::Restored>, SnapshotError> {
    root.snapshots().restore(&RestoreRequest {
        set_id,
        users: vec![root.alice()],
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn round_trip_is_byte_identical() {
    let root = Root::new();
    root.populate();
    let users = discover_users(&root.dirs).unwrap();
    assert_eq!(
        users,
        vec![root.alice()],
        "alice has ~/snap, nobody else does"
    );
    let before = root.data_trees();
    let id = save(&root, vec![info("hello", 5), info("db", 3)], users, None);

    let listing = root.snapshots().list().unwrap();
    let set = &listing.sets[&id];
    assert_eq!(set.len(), 2);
    let hello = set.iter().find(|s| s.snap == "hello").unwrap();
    assert_eq!(hello.users, vec!["alice".to_string()]);
    assert_eq!(hello.time, format_time(t0()));
    assert_eq!(hello.conf, Some(serde_json::json!({"greeting": "hello"})));
    assert!(hello.sha256.contains_key("user/alice.tar.zst"));
    assert!(hello.size > 0 && hello.unpacked[SYSTEM_MEMBER] > 3 << 20);
    assert!(
        root.path(&format!(
            "var/lib/snapd/snapshots/{id}_hello_1.0_5/archive.tar.zst"
        ))
        .is_file()
    );
    root.snapshots().check(id, &[], None).unwrap();
    // Snapshots hold users' data: root's alone.
    let sdir = root.path(&format!("var/lib/snapd/snapshots/{id}_hello_1.0_5"));
    for (p, mode) in [
        (sdir.clone(), 0o700),
        (sdir.join("meta.json"), 0o600),
        (sdir.join("meta.sha256"), 0o600),
        (sdir.join("archive.tar.zst"), 0o600),
        (sdir.join("user/alice.tar.zst"), 0o600),
    ] {
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, mode, "{p:?}");
    }

    root.scribble();
    assert_ne!(root.data_trees(), before, "scribble changed the data");
    let restored = restore_all(&root, id).unwrap();
    assert_eq!(restored.len(), 2);
    assert_eq!(
        restored[1].conf,
        Some(serde_json::json!({"greeting": "hello"}))
    );
    for ((name, a), (_, b)) in before.iter().zip(root.data_trees().iter()) {
        assert_same_tree(a, b, name);
    }
    // No staging directory is left beside the data.
    let leftovers: Vec<_> = fs::read_dir(root.path("var/snap/hello"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn restore_into_removed_data_and_a_newer_revision() {
    let root = Root::new();
    root.populate();
    let before = tree(&root.path("var/snap/hello/5"), true);
    let id = save(&root, vec![info("hello", 5)], vec![], None);
    // The snap was removed: its data is gone.
    fs::remove_dir_all(root.path("var/snap/hello")).unwrap();
    let restored = root
        .snapshots()
        .restore(&RestoreRequest {
            set_id: id,
            revisions: [("hello".to_owned(), Revision::store(6))].into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(restored[0].revision, Revision::store(6));
    assert!(!root.path("var/snap/hello/5").exists());
    assert_same_tree(
        &before,
        &tree(&root.path("var/snap/hello/6"), true),
        "restored as revision 6",
    );
}

#[test]
fn restore_of_one_snap_from_a_multi_snap_set() {
    let root = Root::new();
    root.populate();
    let db_before = tree(&root.path("var/snap/db/3"), true);
    let id = save(
        &root,
        vec![info("hello", 5), info("db", 3)],
        vec![root.alice()],
        None,
    );
    root.scribble();
    let hello_changed = tree(&root.path("var/snap/hello/5"), true);
    let alice_changed = tree(&root.path("home/alice/snap/hello/5"), true);
    let restored = root
        .snapshots()
        .restore(&RestoreRequest {
            set_id: id,
            snaps: vec!["db".into()],
            users: vec![root.alice()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].snap, "db");
    assert_same_tree(
        &db_before,
        &tree(&root.path("var/snap/db/3"), true),
        "db restored",
    );
    assert_same_tree(
        &hello_changed,
        &tree(&root.path("var/snap/hello/5"), true),
        "hello untouched",
    );
    assert_same_tree(
        &alice_changed,
        &tree(&root.path("home/alice/snap/hello/5"), true),
        "alice untouched",
    );

    let unknown = root.snapshots().restore(&RestoreRequest {
        set_id: id,
        snaps: vec!["nope".into()],
        ..Default::default()
    });
    assert!(
        matches!(unknown, Err(SnapshotError::SnapNotInSet { .. })),
        "{unknown:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Checksums

#[test]
fn check_detects_a_flipped_byte_and_restore_refuses_it() {
    let root = Root::new();
    root.populate();
    let id = save(&root, vec![info("hello", 5)], vec![root.alice()], None);
    root.snapshots().check(id, &[], None).unwrap();
    let member = root.path(&format!(
        "var/lib/snapd/snapshots/{id}_hello_1.0_5/user/alice.tar.zst"
    ));
    let mut bytes = fs::read(&member).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&member, &bytes).unwrap();
    let err = root.snapshots().check(id, &[], None).unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Checksum { member, .. } if member == "user/alice.tar.zst"),
        "{err}"
    );
    // Checking only the system data passes; that user's member is the broken one.
    root.snapshots().check(id, &[], Some(&[])).unwrap();

    root.scribble();
    let before = tree(root.dirs.root(), false);
    let err = restore_all(&root, id).unwrap_err();
    assert!(
        matches!(
            err,
            SnapshotError::Checksum { .. } | SnapshotError::Archive { .. }
        ),
        "{err}"
    );
    assert_same_tree(&before, &tree(root.dirs.root(), false), "nothing changed");
}

#[test]
fn tampered_metadata_is_refused() {
    let root = Root::new();
    root.populate();
    let id = save(&root, vec![info("hello", 5)], vec![], None);
    let meta = root.path(&format!(
        "var/lib/snapd/snapshots/{id}_hello_1.0_5/meta.json"
    ));
    let text = fs::read_to_string(&meta)
        .unwrap()
        .replace("hello summary", "evil summary!");
    fs::write(&meta, text).unwrap();
    assert!(matches!(
        root.snapshots().check(id, &[], None),
        Err(SnapshotError::Checksum { .. })
    ));
    assert_eq!(root.snapshots().list().unwrap().broken.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Hostile archives

struct Raw {
    path: &'static str,
    kind: tar::EntryType,
    link: Option<String>,
    data: Vec<u8>,
    /// A size to declare other than the data's length.
    declared: Option<u64>,
}

fn raw(path: &'static str, kind: tar::EntryType) -> Raw {
    Raw {
        path,
        kind,
        link: None,
        data: Vec::new(),
        declared: None,
    }
}

fn file(path: &'static str, data: &[u8]) -> Raw {
    Raw {
        data: data.to_vec(),
        ..raw(path, tar::EntryType::Regular)
    }
}

fn link(path: &'static str, kind: tar::EntryType, target: &str) -> Raw {
    Raw {
        link: Some(target.to_owned()),
        ..raw(path, kind)
    }
}

/// A tar written header by header, names copied in raw so the tar crate's own path checks do
/// not stop the test from writing what an attacker would.
fn hostile_tar(entries: &[Raw]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..e.path.len()].copy_from_slice(e.path.as_bytes());
        if let Some(l) = &e.link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(e.kind);
        h.set_mode(if e.kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(e.declared.unwrap_or(e.data.len() as u64));
        if e.kind == tar::EntryType::Char {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append(&h, e.data.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// Writes a snapshot of hello revision 5 whose archive is `tar`, with consistent checksums.
fn plant_snapshot(root: &Root, set: u64, tar: &[u8], unpacked: u64) {
    let dir = root.path(&format!("var/lib/snapd/snapshots/{set}_hello_1.0_5"));
    fs::create_dir_all(&dir).unwrap();
    let archive = zstd::encode_all(tar, 3).unwrap();
    fs::write(dir.join(SYSTEM_MEMBER), &archive).unwrap();
    let meta = Snapshot {
        format: FORMAT,
        set,
        snap: "hello".into(),
        revision: Revision::store(5),
        snap_id: None,
        epoch: EpochJson {
            read: vec![0],
            write: vec![0],
        },
        summary: String::new(),
        version: "1.0".into(),
        time: format_time(t0()),
        users: vec![],
        conf: None,
        sha256: [(SYSTEM_MEMBER.to_owned(), sha256_hex(&archive))].into(),
        sizes: [(SYSTEM_MEMBER.to_owned(), archive.len() as u64)].into(),
        unpacked: [(SYSTEM_MEMBER.to_owned(), unpacked)].into(),
        size: archive.len() as u64,
        auto: false,
        expiry_time: None,
    };
    let json = serde_json::to_vec(&meta).unwrap();
    fs::write(dir.join(META_FILE), &json).unwrap();
    fs::write(dir.join(META_SUM_FILE), format!("{}\n", sha256_hex(&json))).unwrap();
}

fn hostile_cases() -> Vec<(&'static str, Vec<Raw>, u64)> {
    use tar::EntryType::*;
    let escape = format!("/etc/snapshot-escape-{}", std::process::id());
    let huge = Raw {
        declared: Some(1 << 40),
        ..file("5/big", b"only a few bytes")
    };
    vec![
        (
            "dot-dot",
            vec![
                raw("5/", Directory),
                file("5/ok", b"ok"),
                file("../x", b"out"),
            ],
            1 << 20,
        ),
        (
            "dot-dot inside",
            vec![raw("5/", Directory), file("5/a/../../x", b"out")],
            1 << 20,
        ),
        (
            "absolute",
            vec![
                raw("5/", Directory),
                file(Box::leak(escape.into_boxed_str()), b"out"),
            ],
            1 << 20,
        ),
        (
            "symlink to /etc",
            vec![raw("5/", Directory), link("5/etc", Symlink, "/etc")],
            1 << 20,
        ),
        (
            "file through a symlink",
            vec![
                raw("5/", Directory),
                link("5/in", Symlink, "../common"),
                file("5/in/x", b"through"),
            ],
            1 << 20,
        ),
        (
            "relative symlink out",
            vec![
                raw("5/", Directory),
                link("5/out", Symlink, "../../../../etc"),
            ],
            1 << 20,
        ),
        (
            "hard link to /etc/passwd",
            vec![raw("5/", Directory), link("5/h", Link, "/etc/passwd")],
            1 << 20,
        ),
        (
            "hard link out by ..",
            vec![
                raw("5/", Directory),
                link("5/h", Link, "5/../../../../etc/passwd"),
            ],
            1 << 20,
        ),
        (
            "device node",
            vec![raw("5/", Directory), raw("5/null", Char)],
            1 << 20,
        ),
        (
            "huge declared size",
            vec![raw("5/", Directory), huge],
            1 << 20,
        ),
        (
            "other top directory",
            vec![raw("6/", Directory), file("6/x", b"x")],
            1 << 20,
        ),
        (
            "top is a symlink",
            vec![link("common", Symlink, "/etc")],
            1 << 20,
        ),
    ]
}

#[test]
fn hostile_archives_are_refused_and_nothing_changes() {
    for (name, entries, unpacked) in hostile_cases() {
        let root = Root::new();
        root.populate();
        plant_snapshot(&root, 9, &hostile_tar(&entries), unpacked);
        let before = tree(root.dirs.root(), false);
        let before_dirs = tree(&root.path("var/snap/hello/5"), true);
        let err = root
            .snapshots()
            .restore(&RestoreRequest {
                set_id: 9,
                ..Default::default()
            })
            .expect_err(name);
        assert!(
            matches!(err, SnapshotError::HostileEntry { .. }),
            "{name}: {err}"
        );
        assert_same_tree(&before, &tree(root.dirs.root(), false), name);
        assert_same_tree(
            &before_dirs,
            &tree(&root.path("var/snap/hello/5"), true),
            name,
        );
        assert!(!Path::new(&format!("/etc/snapshot-escape-{}", std::process::id())).exists());
    }
}

#[test]
fn a_huge_recorded_size_is_refused_for_lack_of_space() {
    let root = Root::new();
    root.populate();
    let huge = Raw {
        declared: Some(1 << 50),
        ..file("5/big", b"x")
    };
    plant_snapshot(
        &root,
        9,
        &hostile_tar(&[raw("5/", tar::EntryType::Directory), huge]),
        1 << 50,
    );
    let before = tree(root.dirs.root(), false);
    let err = root
        .snapshots()
        .restore(&RestoreRequest {
            set_id: 9,
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, SnapshotError::NoSpace { .. }), "{err}");
    assert_same_tree(&before, &tree(root.dirs.root(), false), "nothing changed");
}

#[test]
fn a_truncated_archive_changes_nothing() {
    let root = Root::new();
    root.populate();
    let mut tar = hostile_tar(&[
        raw("5/", tar::EntryType::Directory),
        file("5/data.txt", &noise(50_000, 9)),
    ]);
    tar.truncate(20_000);
    plant_snapshot(&root, 9, &tar, 1 << 20);
    let before = tree(root.dirs.root(), false);
    let err = root
        .snapshots()
        .restore(&RestoreRequest {
            set_id: 9,
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, SnapshotError::Archive { .. }), "{err}");
    assert_same_tree(&before, &tree(root.dirs.root(), false), "nothing changed");
}

#[test]
fn save_refuses_a_symlink_restore_would_refuse() {
    let root = Root::new();
    root.populate();
    std::os::unix::fs::symlink("/etc/passwd", root.path("var/snap/hello/5/passwd")).unwrap();
    let store = root.snapshots();
    let err = store
        .save(&SaveRequest {
            set_id: 1,
            snaps: vec![info("hello", 5)],
            users: vec![],
            time: t0(),
            expiry: None,
        })
        .unwrap_err();
    assert!(matches!(err, SnapshotError::Unsavable { .. }), "{err}");
    assert!(store.list().unwrap().sets.is_empty());
    let stray: Vec<_> = fs::read_dir(store.dir()).unwrap().collect();
    assert!(stray.is_empty(), "staging left behind: {stray:?}");
}

#[test]
fn a_user_cannot_redirect_root_through_a_symlink_in_the_home() {
    let root = Root::new();
    root.populate();
    let id = save(&root, vec![info("hello", 5)], vec![root.alice()], None);
    // Alice swaps her ~/snap for a symlink to a directory only root may read or write.
    let private = root.path("var/lib/private");
    write(&private.join("hello/5/secret"), b"root only", 0o600);
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    let home_snap = root.path("home/alice/snap");
    fs::rename(&home_snap, root.path("home/alice/snap.orig")).unwrap();
    std::os::unix::fs::symlink(&private, &home_snap).unwrap();
    std::os::unix::fs::lchown(&home_snap, Some(ALICE), Some(ALICE)).unwrap();
    let before = tree(root.dirs.root(), false);

    assert!(
        restore_all(&root, id).is_err(),
        "restore must not write through alice's symlink"
    );
    assert_same_tree(&before, &tree(root.dirs.root(), false), "nothing changed");

    let store = root.snapshots();
    let err = store
        .save(&SaveRequest {
            set_id: store.next_set_id(0).unwrap(),
            snaps: vec![info("hello", 5)],
            users: vec![root.alice()],
            time: t0(),
            expiry: None,
        })
        .expect_err("root's data must not be saved as alice's");
    assert!(matches!(err, SnapshotError::Io { .. }), "{err}");
    assert_eq!(store.list().unwrap().sets.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Export, import, forget, expiry

#[test]
fn export_import_restore() {
    let root = Root::new();
    root.populate();
    let before = root.data_trees();
    let id = save(
        &root,
        vec![info("hello", 5), info("db", 3)],
        vec![root.alice()],
        None,
    );
    let store = root.snapshots();
    let mut stream = Vec::new();
    let len = store.export(id, &mut stream).unwrap();
    assert_eq!(len, stream.len() as u64);
    assert_eq!(store.export_len(id).unwrap(), len);

    // Importing what is already there adds nothing.
    let again = store.import(stream.as_slice(), 0).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.set_id, id);

    store.forget(id, &[]).unwrap();
    let imported = store.import(stream.as_slice(), 7).unwrap();
    assert!(!imported.duplicate);
    assert_eq!(imported.set_id, 8, "past the id the state remembers");
    assert_eq!(imported.snaps, vec!["db".to_string(), "hello".to_string()]);
    store.check(8, &[], None).unwrap();
    assert!(
        root.path("var/lib/snapd/snapshots/8_hello_1.0_5/meta.json")
            .is_file()
    );

    root.scribble();
    restore_all(&root, 8).unwrap();
    for ((name, a), (_, b)) in before.iter().zip(root.data_trees().iter()) {
        assert_same_tree(a, b, name);
    }
}

#[test]
fn import_rejects_tampered_truncated_and_hostile_streams() {
    let root = Root::new();
    root.populate();
    let id = save(&root, vec![info("hello", 5)], vec![], None);
    let store = root.snapshots();
    let mut stream = Vec::new();
    store.export(id, &mut stream).unwrap();
    store.forget(id, &[]).unwrap();
    let empty = tree(store.dir(), false);

    // A flipped byte in the archive (its data starts after the header blocks).
    let mut tampered = stream.clone();
    let pos = tampered.len() / 2;
    tampered[pos] ^= 0x40;
    assert!(store.import(tampered.as_slice(), 0).is_err());
    // Cut short: export.json is missing.
    let cut = &stream[..stream.len() / 2];
    assert!(matches!(
        store.import(cut, 0),
        Err(SnapshotError::Import(_))
    ));
    // A file that is not part of the format.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_cksum();
    b.append_data(&mut h, "1_hello_1.0_5/../../evil", &b"x"[..])
        .ok();
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..14].copy_from_slice(b"1_hello/evil.x");
    h.set_size(1);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    assert!(matches!(
        store.import(b.into_inner().unwrap().as_slice(), 0),
        Err(SnapshotError::Import(_))
    ));
    assert_same_tree(&empty, &tree(store.dir(), false), "nothing imported");

    // A well-formed export of a hostile set, made on another machine.
    let other = Root::new();
    plant_snapshot(
        &other,
        4,
        &hostile_tar(&[
            raw("5/", tar::EntryType::Directory),
            link("5/etc", tar::EntryType::Symlink, "/etc"),
        ]),
        1 << 20,
    );
    let mut hostile = Vec::new();
    other.snapshots().export(4, &mut hostile).unwrap();
    let err = store.import(hostile.as_slice(), 0).unwrap_err();
    assert!(matches!(err, SnapshotError::HostileEntry { .. }), "{err}");
    assert_same_tree(&empty, &tree(store.dir(), false), "nothing imported");
}

#[test]
fn forget_deletes_one_set() {
    let root = Root::new();
    root.populate();
    let a = save(&root, vec![info("hello", 5)], vec![], None);
    let b = save(&root, vec![info("hello", 5), info("db", 3)], vec![], None);
    assert_eq!((a, b), (1, 2));
    let store = root.snapshots();
    store.forget(b, &["db".into()]).unwrap();
    assert_eq!(store.set(b).unwrap().len(), 1);
    store.forget(a, &[]).unwrap();
    let sets = store.list().unwrap().sets;
    assert_eq!(sets.keys().copied().collect::<Vec<_>>(), vec![b]);
    assert!(matches!(
        store.forget(a, &[]),
        Err(SnapshotError::SetNotFound(1))
    ));
    assert!(!root.path("var/lib/snapd/snapshots/1_hello_1.0_5").exists());
    assert_eq!(store.next_set_id(0).unwrap(), 3);

    // What a crash in the middle of a save or a forget leaves is cleaned at start-up.
    for stale in [".save-x1", ".forget-2_hello_1.0_5"] {
        fs::create_dir_all(store.dir().join(stale).join("sub")).unwrap();
    }
    store.clean_staging().unwrap();
    let names: Vec<String> = fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["2_hello_1.0_5".to_string()]);
}

#[test]
fn automatic_snapshots_expire_and_are_pruned() {
    let root = Root::new();
    root.populate();
    let auto = save(
        &root,
        vec![info("hello", 5)],
        vec![],
        Some(t0() + DEFAULT_AUTOMATIC_RETENTION),
    );
    let manual = save(&root, vec![info("db", 3)], vec![], None);
    let store = root.snapshots();
    let listed = store.list().unwrap();
    assert!(listed.sets[&auto][0].auto);
    assert!(!listed.sets[&manual][0].auto);
    let day = Duration::from_secs(24 * 3600);
    assert!(store.prune_expired(t0() + 30 * day).unwrap().is_empty());
    assert_eq!(store.prune_expired(t0() + 32 * day).unwrap(), vec![auto]);
    let left: Vec<u64> = store.list().unwrap().sets.keys().copied().collect();
    assert_eq!(left, vec![manual]);
    assert!(
        store.prune_expired(t0() + 3650 * day).unwrap().is_empty(),
        "manual snapshots never expire"
    );
}
