//! Snapshot plus journal: what a checkpoint writes, and what a restart
//! loads after a clean stop or a crash at any point (mid-append, between an
//! append and a compaction, mid-compaction).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::chain;
use serde_json::json;
use snap_state::{StateError, StateStore, Status, StoreOptions};

fn opts(journal_limit: Option<u64>) -> StoreOptions {
    StoreOptions {
        lock_timeout: Duration::ZERO,
        crash_from_env: false,
        journal_limit,
        ..Default::default()
    }
}

fn open(path: &Path) -> StateStore {
    StateStore::open_with(path, &opts(Some(snap_state::DEFAULT_JOURNAL_LIMIT))).unwrap()
}

fn journal_of(path: &Path) -> PathBuf {
    path.with_file_name("state.journal")
}

/// The files of a state directory as a crash would leave them now.
#[derive(Clone)]
struct Disk {
    snapshot: Vec<u8>,
    journal: Option<Vec<u8>>,
}

impl Disk {
    fn take(path: &Path) -> Disk {
        Disk {
            snapshot: std::fs::read(path).unwrap(),
            journal: std::fs::read(journal_of(path)).ok(),
        }
    }

    /// Writes these files into a new directory; returns the state path.
    fn restore(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("state.json");
        std::fs::write(&path, &self.snapshot).unwrap();
        if let Some(j) = &self.journal {
            std::fs::write(journal_of(&path), j).unwrap();
        }
        path
    }

    fn journal(&self) -> &[u8] {
        self.journal.as_deref().unwrap_or_default()
    }
}

/// What a restart from `disk` loads.
fn load(disk: &Disk) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = disk.restore(dir.path());
    open(&path).lock().to_json()
}

fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// 200 snaps with config: a state whose snapshot is far bigger than one
/// checkpoint's changes.
fn populate(store: &StateStore) {
    let mut st = store.lock();
    for i in 0..200 {
        let name = format!("snap{i}");
        st.set_entry(
            "snaps",
            &name,
            &json!({"active": true, "current": "1", "sequence": [{"name": name, "revision": "1"}]}),
        )
        .unwrap();
        st.set_entry("config", &name, &json!({"port": i})).unwrap();
    }
    st.set("seeded", &true).unwrap();
}

#[test]
fn a_checkpoint_appends_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = open(&path);
    populate(&store);
    // Fold the population into the snapshot; from here on, appends.
    store.close().unwrap();
    let snapshot = std::fs::read(&path).unwrap();
    assert!(snapshot.len() > 20_000, "{}", snapshot.len());
    assert!(!journal_of(&path).exists());

    store
        .lock()
        .set_entry("snaps", "snap7", &json!({"active": false}))
        .unwrap();
    let stats = store.checkpoint_stats();
    assert!(!stats.snapshot);
    assert!(stats.bytes < 300, "{stats:?}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        snapshot,
        "snapshot untouched"
    );
    let journal = std::fs::read(journal_of(&path)).unwrap();
    assert_eq!(journal.len(), stats.bytes);
    let text = String::from_utf8_lossy(&journal[8..]);
    assert!(
        text.contains(r#""entries":{"snaps":{"snap7":{"active":false}}}"#),
        "{text}"
    );
    assert!(!text.contains("snap8"), "{text}");

    // A task status change journals that task (and nothing of the rest).
    let (chg, ids) = chain(&mut store.lock(), &["a", "b"]);
    store.lock().set_task_status(ids[0], Status::Done).unwrap();
    let stats = store.checkpoint_stats();
    assert!(stats.bytes < 600, "{stats:?}");
    let disk = Disk::take(&path);
    let mut st = store.lock();
    assert_eq!(load(&disk), st.to_json());
    assert_eq!(st.change_status(chg), Some(Status::Do));
}

#[test]
fn clean_close_folds_the_journal_into_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let before = {
        let store = open(&path);
        populate(&store);
        let (_, ids) = chain(&mut store.lock(), &["a", "b", "c"]);
        store.lock().set_task_status(ids[0], Status::Done).unwrap();
        store.lock().remove_entry("snaps", "snap3").unwrap();
        assert!(journal_of(&path).exists());
        let mut st = store.lock();
        st.to_json()
    }; // dropped: closed
    assert!(!journal_of(&path).exists());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        v["journal-seq"].as_u64().unwrap() > 1,
        "{}",
        v["journal-seq"]
    );
    assert_eq!(open(&path).lock().to_json(), before);
}

#[test]
fn crash_after_appends_replays_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = open(&path);
    populate(&store);
    let (chg, ids) = chain(&mut store.lock(), &["a", "b", "c"]);
    {
        let mut st = store.lock();
        st.set_task_status(ids[0], Status::Done).unwrap();
        st.set_task_status(ids[1], Status::Doing).unwrap();
        st.task_mut(ids[1]).unwrap().set("mounted", &true).unwrap();
        st.change_mut(chg)
            .unwrap()
            .set("api-data", &json!({"x": 1}))
            .unwrap();
        st.add_warning("careful", Duration::from_secs(3600));
        st.remove("seeded");
        st.remove_entry("config", "snap9").unwrap();
        st.set("conns", &json!({"a:b c:d": {"auto": true}}))
            .unwrap();
    }
    store
        .lock()
        .set_entry("conns", "e:f g:h", &json!({"auto": false}))
        .unwrap();
    // Removals: prune drops the (now ready) change and its tasks.
    let done = {
        let mut st = store.lock();
        let (c, t) = chain(&mut st, &["z"]);
        st.set_task_status(t[0], Status::Done).unwrap();
        c
    };
    {
        let mut st = store.lock();
        let opts = snap_state::PruneOptions {
            max_ready_changes: 0,
            ..Default::default()
        };
        let now = snap_state::Timestamp::now();
        let r = st.prune(now, now, &opts);
        assert_eq!(r.removed_changes, [done]);
    }
    let disk = Disk::take(&path); // the crash
    assert!(!disk.journal().is_empty());
    let mut st = store.lock();
    let reloaded = load(&disk);
    assert_eq!(json_value(&reloaded), json_value(&st.to_json()));
    assert!(reloaded.contains("\"careful\""));
    assert!(!reloaded.contains("\"seeded\""));
}

#[test]
fn torn_last_record_is_ignored_and_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = open(&path);
    populate(&store);
    let (_, ids) = chain(&mut store.lock(), &["a", "b"]);
    let before_disk = Disk::take(&path);
    let before = store.lock().to_json();
    {
        let mut st = store.lock();
        st.set_task_status(ids[0], Status::Done).unwrap();
        st.set_entry("snaps", "snap1", &json!({"active": false}))
            .unwrap();
    }
    assert!(!store.checkpoint_stats().snapshot);
    let after_disk = Disk::take(&path);
    let old_len = before_disk.journal().len();
    let new_len = after_disk.journal().len();
    assert!(new_len > old_len);

    // A crash at every byte of the append: the record never counted.
    for cut in old_len..new_len {
        let torn = Disk {
            snapshot: after_disk.snapshot.clone(),
            journal: Some(after_disk.journal()[..cut].to_vec()),
        };
        let tmp = tempfile::tempdir().unwrap();
        let p = torn.restore(tmp.path());
        let store2 = open(&p);
        assert_eq!(store2.lock().to_json(), before, "cut at {cut}");
        // The torn bytes are gone, so new records are readable.
        assert_eq!(
            std::fs::metadata(journal_of(&p)).unwrap().len(),
            old_len as u64
        );
        if cut == old_len + 3 {
            store2.lock().set("after-torn", &1).unwrap();
            let want = store2.lock().to_json();
            assert_eq!(load(&Disk::take(&p)), want);
        }
    }
    // And the whole record is replayed.
    assert_eq!(load(&after_disk), store.lock().to_json());
}

#[test]
fn corrupt_record_ends_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = open(&path);
    store.lock().set("a", &1).unwrap();
    let after_a = store.lock().to_json();
    let len_a = Disk::take(&path).journal().len();
    store.lock().set("b", &2).unwrap();
    store.lock().set("c", &3).unwrap();
    let mut disk = Disk::take(&path);
    // Flip a byte of the second record: it and the third are ignored.
    disk.journal.as_mut().unwrap()[len_a + 12] ^= 0x01;
    assert_eq!(load(&disk), after_a);
}

#[test]
fn crash_mid_compaction_loads_either_side() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = open(&path);
    populate(&store);
    store.close().unwrap();
    for i in 0..5 {
        store.lock().set_entry("snaps", "snap1", &i).unwrap();
    }
    let old_side = Disk::take(&path);
    let want = store.lock().to_json();

    // 1. Crashed while writing the new snapshot's temp file: the old
    //    snapshot and the whole journal are used; the temp is ignored.
    let tmp = tempfile::tempdir().unwrap();
    let p = old_side.restore(tmp.path());
    std::fs::write(
        tmp.path().join("state.json.tmp~"),
        &old_side.snapshot[..100],
    )
    .unwrap();
    let s = open(&p);
    assert_eq!(s.lock().to_json(), want);
    // The next snapshot replaces the leftover.
    s.close().unwrap();
    assert!(!tmp.path().join("state.json.tmp~").exists());
    drop(s);
    assert_eq!(open(&p).lock().to_json(), want);

    // 2. Crashed after the rename, before the journal was emptied: the
    //    new snapshot includes every record, which are all skipped.
    store.close().unwrap();
    let new_side = Disk {
        snapshot: std::fs::read(&path).unwrap(),
        journal: old_side.journal.clone(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = new_side.restore(tmp.path());
    let s = open(&p);
    assert_eq!(s.lock().to_json(), want);
    // The stale journal was emptied at open; appends continue after it.
    assert_eq!(std::fs::metadata(journal_of(&p)).unwrap().len(), 0);
    s.lock().set("later", &true).unwrap();
    let want2 = s.lock().to_json();
    assert_eq!(load(&Disk::take(&p)), want2);

    // 3. Stale records followed by newer ones (a journal that could not
    //    be emptied, appended to afterwards) also load.
    let mixed = {
        let mut d = Disk::take(&p);
        let mut j = new_side.journal().to_vec();
        j.extend_from_slice(d.journal());
        d.journal = Some(j);
        d
    };
    assert_eq!(load(&mixed), want2);
}

#[test]
fn compaction_past_the_limit_empties_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    // Limit 0: compact once the journal would outgrow the snapshot.
    let store = StateStore::open_with(&path, &opts(Some(0))).unwrap();
    store.lock().set("pad", &"x".repeat(2000)).unwrap();
    store.close().unwrap();
    let mut appends = 0;
    let mut snapshots = 0;
    for i in 0..100 {
        store.lock().set("counter", &i).unwrap();
        let stats = store.checkpoint_stats();
        if stats.snapshot {
            snapshots += 1;
            assert_eq!(stats.journal_bytes, 0);
            assert_eq!(std::fs::metadata(journal_of(&path)).unwrap().len(), 0);
        } else {
            appends += 1;
            assert!(stats.journal_bytes <= std::fs::metadata(&path).unwrap().len());
        }
        let mut st = store.lock();
        assert_eq!(load(&Disk::take(&path)), st.to_json(), "after {i}");
    }
    assert!(appends > 50 && snapshots >= 2, "{appends} {snapshots}");
}

#[test]
fn journal_gap_or_orphan_journal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let store = open(&path);
    let first = Disk::take(&path);
    for i in 0..3 {
        store.lock().set("x", &i).unwrap();
    }
    let disk = Disk::take(&path);
    // Drop the first record: the others do not follow the snapshot.
    let j = disk.journal();
    let len = u32::from_le_bytes(j[..4].try_into().unwrap()) as usize;
    let gap = Disk {
        snapshot: first.snapshot.clone(),
        journal: Some(j[8 + len..].to_vec()),
    };
    let tmp = tempfile::tempdir().unwrap();
    let err = StateStore::open_with(gap.restore(tmp.path()), &opts(Some(1 << 20))).unwrap_err();
    assert!(matches!(err, StateError::JournalMismatch { .. }), "{err}");
    assert!(err.to_string().contains("record 3 follows 1"), "{err}");

    // A journal without its snapshot.
    let tmp = tempfile::tempdir().unwrap();
    let p = disk.restore(tmp.path());
    std::fs::remove_file(&p).unwrap();
    let err = StateStore::open_with(&p, &opts(Some(1 << 20))).unwrap_err();
    assert!(matches!(err, StateError::JournalMismatch { .. }), "{err}");
}

#[test]
fn record_from_a_newer_daemon_is_not_dropped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    drop(open(&path));
    // A record with a section this version does not know.
    let payload = br#"{"seq":2,"notices":{},"last-change-id":0,"last-task-id":0,"last-lane-id":0,"last-notice-id":0}"#;
    let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(&crc32(&frame, payload).to_le_bytes());
    frame.extend_from_slice(payload);
    std::fs::write(journal_of(&path), &frame).unwrap();
    let err = StateStore::open_with(&path, &opts(Some(1 << 20))).unwrap_err();
    assert!(matches!(err, StateError::JournalCorrupt { .. }), "{err}");
}

/// CRC-32 (IEEE) of `a ++ b`, bit by bit: an independent check of the
/// format's checksum.
fn crc32(a: &[u8], b: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in a.iter().chain(b) {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn without_journal_every_checkpoint_is_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    // A journal left by a run with journaling on...
    let pending = {
        let store = open(&path);
        store.lock().set("x", &1).unwrap();
        Disk::take(&path)
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = pending.restore(tmp.path());
    // ...is folded in at open when journaling is off.
    let store = StateStore::open_with(&p, &opts(None)).unwrap();
    assert!(!journal_of(&p).exists());
    assert!(store.lock().to_json().contains("\"x\":1"));
    store.lock().set("y", &2).unwrap();
    assert!(store.checkpoint_stats().snapshot);
    assert!(!journal_of(&p).exists());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(v["data"]["y"], 2);
}

#[test]
fn snapshot_without_journal_seq_loads() {
    // A state.json written before the journal existed (or by snapd).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(
        &path,
        r#"{"data":{"seeded":true},"changes":{},"tasks":{},"last-change-id":4,"last-task-id":0,"last-lane-id":0,"last-notice-id":0}"#,
    )
    .unwrap();
    let store = open(&path);
    store.lock().set("x", &1).unwrap();
    let want = store.lock().to_json();
    assert_eq!(load(&Disk::take(&path)), want);
    assert_eq!(store.lock().new_change("k", "s").0, 5);
}
