//! What `GET /v2/snapshots` shows: snapd's SnapshotSet and Snapshot objects, built from the
//! engine's listing. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use snap_snapshots::{Listing, Snapshot};

/// One snapshot as snapd's API shows it. The checksums are under `sha256`, the algorithm they
/// are (snapd's key `sha3-384` would claim SHA3: `spec/decisions.md`).
pub fn snapshot_object(m: &Snapshot) -> Value {
    let mut o = json!({
        "set": m.set,
        "time": m.time,
        "snap": m.snap,
        "revision": m.revision.to_string(),
        "epoch": m.epoch,
        "summary": m.summary,
        "version": m.version,
        "sha256": m.sha256,
        "size": m.size,
    });
    let obj = o.as_object_mut().expect("an object");
    if let Some(id) = &m.snap_id {
        obj.insert("snap-id".into(), json!(id));
    }
    if let Some(conf) = &m.conf {
        obj.insert("conf".into(), conf.clone());
    }
    if !m.users.is_empty() {
        obj.insert("users".into(), json!(m.users));
    }
    if m.auto {
        obj.insert("auto".into(), json!(true));
    }
    if let Some(e) = &m.expiry_time {
        obj.insert("expiry-time".into(), json!(e));
    }
    o
}

/// The listing as snapd's array of `{"id": N, "snapshots": [...]}`, restricted to one set and
/// to some snaps when asked; a set with none of the snaps asked for is left out. Broken
/// snapshots appear in their set with `broken` (the reason), as snapd lists them.
pub fn sets(listing: &Listing, set: Option<u64>, snaps: &[String]) -> Value {
    let mut out: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    let wanted = |id: u64, snap: &str| {
        set.is_none_or(|s| s == id) && (snaps.is_empty() || snaps.iter().any(|n| n == snap))
    };
    for (id, members) in &listing.sets {
        for m in members.iter().filter(|m| wanted(*id, &m.snap)) {
            out.entry(*id).or_default().push(snapshot_object(m));
        }
    }
    for (dir, reason) in &listing.broken {
        let Some(id) = snap_snapshots::meta::set_of_dir_name(dir) else {
            continue;
        };
        let snap = dir.split('_').nth(1).unwrap_or("");
        if wanted(id, snap) {
            out.entry(id).or_default().push(json!({
                "set": id, "snap": snap, "broken": reason,
            }));
        }
    }
    Value::Array(
        out.into_iter()
            .map(|(id, snapshots)| json!({"id": id, "snapshots": snapshots}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use snap_snapshots::meta::EpochJson;

    fn snap(set: u64, name: &str, auto: bool) -> Snapshot {
        Snapshot {
            format: 1,
            set,
            snap: name.into(),
            revision: "x2".parse().unwrap(),
            snap_id: None,
            epoch: EpochJson {
                read: vec![0],
                write: vec![0],
            },
            summary: "s".into(),
            version: "1.0".into(),
            time: "2026-11-25T16:00:00Z".into(),
            users: vec!["root".into()],
            conf: Some(json!({"a": 1})),
            sha256: [("archive.tar.zst".to_owned(), "ab".to_owned())].into(),
            sizes: [("archive.tar.zst".to_owned(), 7)].into(),
            unpacked: [("archive.tar.zst".to_owned(), 9)].into(),
            size: 7,
            auto,
            expiry_time: auto.then(|| "2026-12-26T16:00:00Z".to_owned()),
        }
    }

    #[test]
    fn objects_have_snapds_fields() {
        let o = snapshot_object(&snap(3, "hello", true));
        assert_eq!(o["set"], 3);
        assert_eq!(o["revision"], "x2");
        assert_eq!(o["epoch"], json!({"read": [0], "write": [0]}));
        assert_eq!(o["sha256"]["archive.tar.zst"], "ab");
        assert_eq!(o["conf"], json!({"a": 1}));
        assert_eq!(o["auto"], true);
        assert_eq!(o["expiry-time"], "2026-12-26T16:00:00Z");
        assert!(o.get("snap-id").is_none());
        let manual = snapshot_object(&snap(3, "hello", false));
        assert!(manual.get("auto").is_none() && manual.get("expiry-time").is_none());
    }

    #[test]
    fn filters_by_set_and_snap_and_shows_broken_ones() {
        let mut l = Listing::default();
        l.sets
            .insert(1, vec![snap(1, "a", false), snap(1, "b", false)]);
        l.sets.insert(2, vec![snap(2, "b", true)]);
        l.broken.push(("4_c_1.0_x1".into(), "bad checksum".into()));
        let all = sets(&l, None, &[]);
        assert_eq!(all.as_array().unwrap().len(), 3);
        let only_a = sets(&l, None, &["a".into()]);
        assert_eq!(
            only_a,
            json!([{"id": 1, "snapshots": [snapshot_object(&snap(1, "a", false))]}])
        );
        let set2 = sets(&l, Some(2), &[]);
        assert_eq!(set2[0]["id"], 2);
        assert_eq!(set2.as_array().unwrap().len(), 1);
        let broken = sets(&l, Some(4), &[]);
        assert_eq!(broken[0]["snapshots"][0]["broken"], "bad checksum");
        assert_eq!(broken[0]["snapshots"][0]["snap"], "c");
    }
}
