//! The index: every snap of the store, its revisions and its channel map. It travels inside the
//! signed envelope of `sign.rs` as `index.json` at the repository's root.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::MAX_SAFE_INTEGER;
use crate::rollout::{DeviceSeed, in_wave};
use crate::sign::{PublicKey, SecretKey, sign_envelope, verify_envelope};
use crate::{Channel, StoreError};

/// The value of `type`: a signature over some other signed document is never taken for an index.
pub const INDEX_TYPE: &str = "snap-store-index";
/// The format this code reads and writes.
pub const INDEX_FORMAT: u64 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    #[serde(rename = "type")]
    pub kind: String,
    pub format: u64,
    /// Grows by one at every publication. A device refuses an index with a lower serial than one
    /// it already accepted, so an old (validly signed) index cannot be replayed to it.
    pub serial: u64,
    pub snaps: BTreeMap<String, SnapEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapEntry {
    /// The snap's id in this store (32 letters and digits, as snapd's), given at its first
    /// publication: what gadget `defaults:` and `connections:` name snaps by.
    #[serde(default, rename = "snap-id", skip_serializing_if = "String::is_empty")]
    pub snap_id: String,
    pub publisher: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Every revision ever published, by number.
    pub revisions: BTreeMap<u64, RevisionEntry>,
    /// Open channels, by full name (`track/risk[/branch]`). A channel absent here is closed.
    pub channels: BTreeMap<String, ChannelEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionEntry {
    pub version: String,
    /// snapd's epoch as written (`0`, `1*`, ...).
    pub epoch: String,
    /// Lower-case hex SHA-384 of the blob.
    pub sha384: String,
    pub size: u64,
    /// The blob's path relative to the repository root, e.g. `blobs/hello_3.snap`.
    pub blob: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelEntry {
    pub revision: u64,
    /// Present while the revision is released to only part of the devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// 0 to 99 (100 is a plain release, written without `rollout`).
    pub percentage: u8,
    /// What the devices outside the wave get: the channel's revision before this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<u64>,
}

/// What a device on a channel should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    /// The snap's id in the store (empty in indexes written before ids existed).
    pub snap_id: String,
    pub revision: u64,
    pub entry: RevisionEntry,
    /// The channel the revision came from: the one asked for, or the one it follows.
    pub served_from: Channel,
}

impl Default for Index {
    fn default() -> Index {
        Index {
            kind: INDEX_TYPE.to_owned(),
            format: INDEX_FORMAT,
            serial: 0,
            snaps: BTreeMap::new(),
        }
    }
}

impl Index {
    /// Verifies an envelope's signatures against the trusted keys, then parses and validates the
    /// index inside. `source_name` (a URL or path) appears in errors.
    pub fn verify(
        bytes: &[u8],
        trusted: &[PublicKey],
        source_name: &str,
    ) -> Result<Index, StoreError> {
        let signed = verify_envelope(bytes, trusted, source_name)?;
        Index::from_signed_value(signed, source_name)
    }

    fn from_signed_value(v: Value, source_name: &str) -> Result<Index, StoreError> {
        let malformed = |reason: String| StoreError::MalformedIndex {
            source_name: source_name.to_owned(),
            reason,
        };
        let index: Index = serde_json::from_value(v).map_err(|e| malformed(e.to_string()))?;
        index.validate().map_err(malformed)?;
        Ok(index)
    }

    /// The signed file's bytes.
    pub fn sign(&self, key: &SecretKey) -> Result<Vec<u8>, StoreError> {
        self.validate()
            .map_err(|reason| StoreError::MalformedIndex {
                source_name: "the index being signed".into(),
                reason,
            })?;
        let v = serde_json::to_value(self).map_err(|e| StoreError::Canonical {
            what: "the index".into(),
            reason: e.to_string(),
        })?;
        sign_envelope(&v, key)
    }

    /// Everything a signature cannot vouch for by itself: that the index is usable.
    pub fn validate(&self) -> Result<(), String> {
        if self.kind != INDEX_TYPE {
            return Err(format!("type is {:?}, not {INDEX_TYPE:?}", self.kind));
        }
        if self.format != INDEX_FORMAT {
            return Err(format!(
                "format {} is not supported (this reads {INDEX_FORMAT})",
                self.format
            ));
        }
        for (name, snap) in &self.snaps {
            snap_core::naming::validate_snap_name(name)
                .map_err(|e| format!("snap {name:?}: {e}"))?;
            if !snap.snap_id.is_empty() {
                snap_core::naming::validate_snap_id(&snap.snap_id)
                    .map_err(|e| format!("snap {name:?}: {e}"))?;
            }
            for (rev, r) in &snap.revisions {
                let at = || format!("snap {name:?} revision {rev}");
                if *rev == 0 || *rev > MAX_SAFE_INTEGER {
                    return Err(format!("{}: revisions are 1 to 2^53-1", at()));
                }
                if crate::hex::decode::<48>(&r.sha384).is_none() {
                    return Err(format!("{}: sha384 is not 96 lower-case hex digits", at()));
                }
                check_blob_path(&r.blob)
                    .map_err(|e| format!("{}: blob {:?}: {e}", at(), r.blob))?;
            }
            for (ch, entry) in &snap.channels {
                let at = || format!("snap {name:?} channel {ch:?}");
                Channel::parse_full(ch).map_err(|e| format!("{}: {e}", at()))?;
                let known = |r: u64| snap.revisions.contains_key(&r);
                if !known(entry.revision) {
                    return Err(format!(
                        "{}: revision {} is not listed",
                        at(),
                        entry.revision
                    ));
                }
                if let Some(ro) = &entry.rollout {
                    if ro.percentage >= 100 {
                        return Err(format!(
                            "{}: rollout percentage {} is not below 100",
                            at(),
                            ro.percentage
                        ));
                    }
                    if let Some(p) = ro.previous.filter(|p| !known(*p)) {
                        return Err(format!("{}: previous revision {p} is not listed", at()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The revision a device with `seed` on `channel` should have: the first channel of the
    /// fallback chain that is open and, if it is a rollout, has something for this device (the
    /// new revision inside the wave, the previous one outside it; a first release with no
    /// previous revision is, for devices outside the wave, as if the channel were still closed).
    pub fn resolve(
        &self,
        name: &str,
        channel: &Channel,
        seed: &DeviceSeed,
    ) -> Result<Resolved, StoreError> {
        let snap = self
            .snaps
            .get(name)
            .ok_or_else(|| StoreError::UnknownSnap {
                name: name.to_owned(),
            })?;
        for ch in channel.fallback_chain() {
            let Some(entry) = snap.channels.get(&ch.to_string()) else {
                continue;
            };
            let revision = match &entry.rollout {
                None => Some(entry.revision),
                Some(ro) if in_wave(seed, name, entry.revision, ro.percentage) => {
                    Some(entry.revision)
                }
                Some(ro) => ro.previous,
            };
            if let Some(revision) = revision {
                let entry = snap.revisions.get(&revision).cloned().ok_or_else(|| {
                    StoreError::UnknownRevision {
                        name: name.to_owned(),
                        revision,
                    }
                })?;
                return Ok(Resolved {
                    name: name.to_owned(),
                    snap_id: snap.snap_id.clone(),
                    revision,
                    entry,
                    served_from: ch,
                });
            }
        }
        Err(StoreError::NoRevision {
            name: name.to_owned(),
            channel: channel.to_string(),
        })
    }
}

/// Blob paths are relative, plain (`[A-Za-z0-9._+-]` segments, no `.` or `..`) and under
/// `blobs/`: a device joins them to the store's URL and must never be sent elsewhere.
fn check_blob_path(p: &str) -> Result<(), String> {
    let rest = p.strip_prefix("blobs/").ok_or("not under blobs/")?;
    if rest.is_empty() || rest.contains('/') {
        return Err("not a file name directly under blobs/".into());
    }
    if rest.starts_with('.') {
        return Err("hidden or relative name".into());
    }
    if !rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
    {
        return Err("only letters, digits and . _ - + are allowed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> String {
        std::iter::repeat_n(c, 96).collect()
    }

    fn rev(n: u64) -> RevisionEntry {
        RevisionEntry {
            version: format!("1.{n}"),
            epoch: "0".into(),
            sha384: sha('a'),
            size: 100 + n,
            blob: format!("blobs/hello_{n}.snap"),
        }
    }

    /// (channel, revision, rollout as (percentage, previous)).
    type ChannelSpec<'a> = (&'a str, u64, Option<(u8, Option<u64>)>);

    fn index(channels: &[ChannelSpec]) -> Index {
        let mut snap = SnapEntry {
            snap_id: String::new(),
            publisher: "me".into(),
            summary: String::new(),
            revisions: (1..=5).map(|n| (n, rev(n))).collect(),
            channels: BTreeMap::new(),
        };
        for (c, r, ro) in channels {
            snap.channels.insert(
                (*c).into(),
                ChannelEntry {
                    revision: *r,
                    rollout: ro.map(|(percentage, previous)| Rollout {
                        percentage,
                        previous,
                    }),
                },
            );
        }
        let mut i = Index::default();
        i.snaps.insert("hello".into(), snap);
        i
    }

    fn seed(i: u32) -> DeviceSeed {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_be_bytes());
        DeviceSeed::from_bytes(b)
    }

    fn resolve(i: &Index, ch: &str) -> Result<(u64, String), StoreError> {
        i.resolve("hello", &Channel::parse(ch).unwrap(), &seed(0))
            .map(|r| (r.revision, r.served_from.to_string()))
    }

    #[test]
    fn closed_risks_follow_the_more_stable_ones() {
        let i = index(&[
            ("latest/stable", 1, None),
            ("latest/beta", 3, None),
            ("2/edge", 5, None),
        ]);
        assert_eq!(resolve(&i, "stable").unwrap(), (1, "latest/stable".into()));
        assert_eq!(
            resolve(&i, "candidate").unwrap(),
            (1, "latest/stable".into())
        );
        assert_eq!(resolve(&i, "edge").unwrap(), (3, "latest/beta".into()));
        assert_eq!(resolve(&i, "beta/fix").unwrap(), (3, "latest/beta".into()));
        assert_eq!(resolve(&i, "2/edge").unwrap(), (5, "2/edge".into()));
        // Tracks do not fall back to other tracks.
        assert!(matches!(
            resolve(&i, "2/stable"),
            Err(StoreError::NoRevision { .. })
        ));
        assert!(matches!(
            i.resolve("nope", &Channel::parse("stable").unwrap(), &seed(0)),
            Err(StoreError::UnknownSnap { .. })
        ));
    }

    #[test]
    fn rollouts_split_devices_by_their_seed() {
        let i = index(&[("latest/stable", 4, Some((30, Some(2))))]);
        let ch = Channel::parse("stable").unwrap();
        let n = 5000;
        let new = (0..n)
            .filter(|s| i.resolve("hello", &ch, &seed(*s)).unwrap().revision == 4)
            .count();
        let old = (0..n)
            .filter(|s| i.resolve("hello", &ch, &seed(*s)).unwrap().revision == 2)
            .count();
        assert_eq!(new + old, n as usize);
        assert!((1300..1700).contains(&new), "{new}");
    }

    #[test]
    fn a_first_rollout_without_previous_follows_for_devices_outside_the_wave() {
        let i = index(&[
            ("latest/stable", 1, None),
            ("latest/beta", 2, Some((0, None))),
        ]);
        assert_eq!(resolve(&i, "beta").unwrap(), (1, "latest/stable".into()));
    }

    #[test]
    fn signed_index_round_trips_and_validation_refuses_bad_entries() {
        let k = SecretKey::generate().unwrap();
        let i = index(&[("latest/stable", 1, Some((50, Some(2))))]);
        let bytes = i.sign(&k).unwrap();
        assert_eq!(Index::verify(&bytes, &[k.public()], "t").unwrap(), i);

        // What the bad edits below change: revision 1 of hello, and its stable channel.
        fn rev1(i: &mut Index) -> &mut RevisionEntry {
            i.snaps
                .get_mut("hello")
                .unwrap()
                .revisions
                .get_mut(&1)
                .unwrap()
        }
        fn stable(i: &mut Index) -> &mut ChannelEntry {
            i.snaps
                .get_mut("hello")
                .unwrap()
                .channels
                .get_mut("latest/stable")
                .unwrap()
        }
        type Edit = Box<dyn Fn(&mut Index)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|i| i.kind = "other".into()), "type"),
            (Box::new(|i| i.format = 2), "format"),
            (
                Box::new(|i| {
                    let s = i.snaps.remove("hello").unwrap();
                    i.snaps.insert("Bad_Name".into(), s);
                }),
                "Bad_Name",
            ),
            (Box::new(|i| rev1(i).sha384 = "ab".into()), "sha384"),
            (Box::new(|i| rev1(i).blob = "blobs/../x".into()), "blob"),
            (Box::new(|i| rev1(i).blob = "/etc/passwd".into()), "blob"),
            (Box::new(|i| rev1(i).blob = "http://evil/x".into()), "blob"),
            (
                Box::new(|i| {
                    i.snaps.get_mut("hello").unwrap().channels.insert(
                        "stable".into(),
                        ChannelEntry {
                            revision: 1,
                            rollout: None,
                        },
                    );
                }),
                "full form",
            ),
            (
                Box::new(|i| {
                    i.snaps.get_mut("hello").unwrap().channels.insert(
                        "latest/edge".into(),
                        ChannelEntry {
                            revision: 9,
                            rollout: None,
                        },
                    );
                }),
                "not listed",
            ),
            (
                Box::new(|i| {
                    stable(i).rollout = Some(Rollout {
                        percentage: 100,
                        previous: None,
                    })
                }),
                "below 100",
            ),
            (
                Box::new(|i| {
                    stable(i).rollout = Some(Rollout {
                        percentage: 5,
                        previous: Some(7),
                    })
                }),
                "previous",
            ),
        ];
        for (edit, why) in cases {
            let mut bad = i.clone();
            edit(&mut bad);
            // Signing refuses it...
            assert!(bad.sign(&k).unwrap_err().to_string().contains(why), "{why}");
            // ...and so does a device, even when a trusted key signed it anyway.
            let v = serde_json::to_value(&bad).unwrap();
            let bytes = sign_envelope(&v, &k).unwrap();
            let err = Index::verify(&bytes, &[k.public()], "t").unwrap_err();
            assert!(
                matches!(err, StoreError::MalformedIndex { .. }) && err.to_string().contains(why),
                "{err}"
            );
        }
    }
}

/// The id a snap gets in a repository: 32 letters and digits drawn from a SHA-256 of its name.
/// Names are a repository's keys, so the id is as unique as they are, and the same repository
/// rebuilt from the same publications gives the same ids.
pub fn snap_id_for(name: &str) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(32);
    let mut counter = 0u32;
    while out.len() < 32 {
        let d = Sha256::new()
            .chain_update(b"snap-id:")
            .chain_update(name.as_bytes())
            .chain_update(counter.to_be_bytes())
            .finalize();
        // Bytes below 248 (4 x 62) map evenly onto the alphabet; the rest are skipped.
        for b in d.iter().filter(|b| **b < 248) {
            if out.len() == 32 {
                break;
            }
            out.push(ALPHABET[usize::from(*b % 62)] as char);
        }
        counter += 1;
    }
    out
}

#[cfg(test)]
mod snap_id_tests {
    use super::*;

    #[test]
    fn snap_ids_are_valid_stable_and_distinct() {
        let a = snap_id_for("hello");
        assert_eq!(a, snap_id_for("hello"));
        assert_ne!(a, snap_id_for("hello2"));
        assert!(snap_core::naming::validate_snap_id(&a).is_ok(), "{a}");
    }
}
