//! How `/v2/find` shows a snap of the store: snapd's snap object with its `channels` map and
//! `tracks`. Pure: the index and the device's seed in, JSON out.
//!
//! Every channel shows what *this device* gets there (a rollout in progress shows the revision
//! of its side of the wave). Fields the index does not carry (confinement, type, release dates)
//! are left out rather than guessed: snapd's clients validate `confinement` in the channel map
//! and would refuse a made-up or empty one.

use serde_json::{Value, json};
use snap_store::index::SnapEntry;
use snap_store::{Channel, DeviceSeed, Index, Resolved, RevisionEntry};

/// The snap object for `name`, or `None` when the store does not have it.
pub fn store_snap(index: &Index, name: &str, seed: &DeviceSeed) -> Option<Value> {
    let snap = index.snaps.get(name)?;
    let mut channels = serde_json::Map::new();
    for ch in snap.channels.keys() {
        let Ok(parsed) = Channel::parse_full(ch) else {
            continue;
        };
        // Only the channel itself: a rollout's first release is closed to devices outside it.
        if let Ok(r) = index.resolve(name, &parsed, seed)
            && r.served_from == parsed
        {
            channels.insert(ch.clone(), channel_object(ch, &r));
        }
    }
    // The snap as snapd's find shows it: its latest/stable revision, else the most stable one
    // open in any track.
    let shown = Channel::parse("stable")
        .ok()
        .and_then(|c| index.resolve(name, &c, seed).ok())
        .or_else(|| most_stable(index, name, snap, seed));
    let mut v = json!({
        "id": "",
        "name": name,
        "summary": snap.summary,
        "description": "",
        "publisher": {
            "id": snap.publisher,
            "username": snap.publisher,
            "display-name": snap.publisher,
            "validation": "unproven",
        },
        "developer": snap.publisher,
        "status": "available",
        "channels": channels,
        "tracks": tracks(snap),
        "private": false,
        "devmode": false,
        "jailmode": false,
        "ignore-validation": false,
        "contact": "",
    });
    if let Some(r) = shown {
        v["version"] = json!(r.entry.version);
        v["revision"] = json!(r.revision.to_string());
        v["channel"] = json!(short_channel(&r.served_from));
        v["download-size"] = json!(r.entry.size);
    }
    Some(v)
}

/// Snaps whose name or summary contains `query` (case-insensitive); all of them for an empty
/// query. In name order.
pub fn search<'a>(index: &'a Index, query: &str) -> Vec<&'a str> {
    let q = query.to_lowercase();
    index
        .snaps
        .iter()
        .filter(|(name, s)| {
            q.is_empty() || name.contains(&q) || s.summary.to_lowercase().contains(&q)
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

fn channel_object(full: &str, r: &Resolved) -> Value {
    json!({
        "revision": r.revision.to_string(),
        "version": r.entry.version,
        "channel": full,
        "size": r.entry.size,
        "epoch": epoch_object(&r.entry),
    })
}

/// snapd's epoch object from the written form: `N` reads and writes N; `N*` also reads N-1.
pub fn epoch_object(entry: &RevisionEntry) -> Value {
    let e = entry.epoch.trim();
    let (n, star) = match e.strip_suffix('*') {
        Some(n) => (n, true),
        None => (e, false),
    };
    let n: u32 = n.parse().unwrap_or(0);
    let read: Vec<u32> = if star && n > 0 {
        vec![n - 1, n]
    } else {
        vec![n]
    };
    json!({"read": read, "write": [n]})
}

/// The tracks with an open channel, `latest` first as snapd lists them.
fn tracks(snap: &SnapEntry) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ch in snap.channels.keys() {
        let track = ch.split('/').next().unwrap_or("").to_owned();
        if !out.contains(&track) {
            out.push(track);
        }
    }
    out.sort_by_key(|t| (t != "latest", t.clone()));
    out
}

fn most_stable(index: &Index, name: &str, snap: &SnapEntry, seed: &DeviceSeed) -> Option<Resolved> {
    snap.channels
        .keys()
        .filter_map(|c| Channel::parse_full(c).ok())
        .filter_map(|c| index.resolve(name, &c, seed).ok())
        .min_by_key(|r| (r.served_from.risk, r.served_from.branch.is_some()))
}

/// snapd's short spelling: `latest/` dropped.
pub fn short_channel(c: &Channel) -> String {
    let full = c.to_string();
    full.strip_prefix("latest/")
        .map(str::to_owned)
        .unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use snap_store::index::{ChannelEntry, Rollout};

    use super::*;

    fn rev(n: u64, epoch: &str) -> RevisionEntry {
        RevisionEntry {
            version: format!("{n}.0"),
            epoch: epoch.into(),
            sha384: "a".repeat(96),
            size: 1000 * n,
            blob: format!("blobs/hello_{n}.snap"),
        }
    }

    fn index(channels: &[(&str, u64, Option<Rollout>)]) -> Index {
        let mut i = Index::default();
        i.snaps.insert(
            "hello".into(),
            SnapEntry {
                snap_id: String::new(),
                publisher: "acme".into(),
                summary: "Says Hello".into(),
                revisions: (1..=3).map(|n| (n, rev(n, "0"))).collect(),
                channels: channels
                    .iter()
                    .map(|(c, r, ro)| {
                        (
                            (*c).to_owned(),
                            ChannelEntry {
                                revision: *r,
                                rollout: ro.clone(),
                            },
                        )
                    })
                    .collect::<BTreeMap<_, _>>(),
            },
        );
        i
    }

    fn seed() -> DeviceSeed {
        DeviceSeed::from_bytes([3; 32])
    }

    #[test]
    fn a_snap_shows_its_open_channels_and_its_stable_revision() {
        let i = index(&[
            ("latest/stable", 1, None),
            ("latest/beta", 2, None),
            ("2.0/edge", 3, None),
        ]);
        let v = store_snap(&i, "hello", &seed()).unwrap();
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["revision"], "1");
        assert_eq!(v["channel"], "stable");
        assert_eq!(v["publisher"]["username"], "acme");
        assert_eq!(v["tracks"], json!(["latest", "2.0"]));
        let chans = v["channels"].as_object().unwrap();
        assert_eq!(
            chans.keys().collect::<Vec<_>>(),
            vec!["2.0/edge", "latest/beta", "latest/stable"]
        );
        assert_eq!(chans["latest/beta"]["revision"], "2");
        assert_eq!(chans["latest/beta"]["size"], 2000);
        assert_eq!(
            chans["2.0/edge"]["epoch"],
            json!({"read": [0], "write": [0]})
        );
        assert!(store_snap(&i, "other", &seed()).is_none());
    }

    #[test]
    fn without_latest_stable_the_most_stable_open_channel_is_shown() {
        let i = index(&[("latest/edge", 3, None), ("latest/beta", 2, None)]);
        let v = store_snap(&i, "hello", &seed()).unwrap();
        assert_eq!(v["revision"], "2");
        assert_eq!(v["channel"], "beta");
    }

    #[test]
    fn a_first_rollout_outside_the_wave_is_not_shown_as_open() {
        let ro = Rollout {
            percentage: 0,
            previous: None,
        };
        let i = index(&[("latest/stable", 1, None), ("latest/edge", 3, Some(ro))]);
        let v = store_snap(&i, "hello", &seed()).unwrap();
        let chans = v["channels"].as_object().unwrap();
        assert!(!chans.contains_key("latest/edge"), "{v}");
    }

    #[test]
    fn search_matches_names_and_summaries_case_insensitively() {
        let i = index(&[("latest/stable", 1, None)]);
        assert_eq!(search(&i, "HELL"), vec!["hello"]);
        assert_eq!(search(&i, "says"), vec!["hello"]);
        assert_eq!(search(&i, ""), vec!["hello"]);
        assert!(search(&i, "zzz").is_empty());
    }

    #[test]
    fn epochs_are_shown_as_snapd_objects() {
        assert_eq!(
            epoch_object(&rev(1, "2*")),
            json!({"read": [1, 2], "write": [2]})
        );
        assert_eq!(
            epoch_object(&rev(1, "3")),
            json!({"read": [3], "write": [3]})
        );
    }
}
