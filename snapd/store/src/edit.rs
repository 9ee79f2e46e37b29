//! The publisher's changes to an index: adding a revision, releasing it to a channel (whole or as
//! a rollout), closing a channel. Pure: the repository (`repo.rs`) loads, calls these, signs.

use std::collections::BTreeMap;

use crate::index::{ChannelEntry, Index, RevisionEntry, Rollout, SnapEntry};
use crate::{Channel, StoreError};

impl Index {
    /// Adds a revision of `name` for a blob, or returns the revision that already has this exact
    /// blob (publishing the same file twice makes no second revision). Returns (revision, new).
    pub fn add_revision(
        &mut self,
        name: &str,
        publisher: &str,
        summary: &str,
        rev: impl FnOnce(u64) -> RevisionEntry,
        sha384: &str,
    ) -> (u64, bool) {
        let snap = self
            .snaps
            .entry(name.to_owned())
            .or_insert_with(|| SnapEntry {
                snap_id: crate::index::snap_id_for(name),
                publisher: publisher.to_owned(),
                summary: String::new(),
                revisions: BTreeMap::new(),
                channels: BTreeMap::new(),
            });
        if snap.snap_id.is_empty() {
            snap.snap_id = crate::index::snap_id_for(name);
        }
        if !summary.is_empty() {
            snap.summary = summary.to_owned();
        }
        if let Some((n, _)) = snap.revisions.iter().find(|(_, r)| r.sha384 == sha384) {
            return (*n, false);
        }
        let next = snap.revisions.keys().next_back().map_or(1, |n| n + 1);
        snap.revisions.insert(next, rev(next));
        (next, true)
    }

    /// The revision number the next new blob of `name` gets.
    pub fn next_revision(&self, name: &str) -> u64 {
        self.snaps
            .get(name)
            .and_then(|s| s.revisions.keys().next_back())
            .map_or(1, |n| n + 1)
    }

    /// Releases an existing revision to a channel. With a percentage below 100 it is a rollout:
    /// devices outside the wave keep the channel's fully released revision (the previous plain
    /// release, or the `previous` of a rollout in progress). Changing the percentage of the
    /// rollout in progress keeps its `previous`. 100 (or none) is a plain release.
    pub fn release(
        &mut self,
        name: &str,
        revision: u64,
        channel: &Channel,
        percentage: Option<u8>,
    ) -> Result<(), StoreError> {
        let snap = self
            .snaps
            .get_mut(name)
            .ok_or_else(|| StoreError::UnknownSnap {
                name: name.to_owned(),
            })?;
        if !snap.revisions.contains_key(&revision) {
            return Err(StoreError::UnknownRevision {
                name: name.to_owned(),
                revision,
            });
        }
        let key = channel.to_string();
        let rollout = match percentage {
            Some(p) if p > 100 => {
                return Err(StoreError::InvalidRollout {
                    value: u64::from(p),
                });
            }
            None | Some(100) => None,
            Some(p) => {
                let previous = snap.channels.get(&key).and_then(|cur| match &cur.rollout {
                    None => Some(cur.revision),
                    Some(ro) => ro.previous,
                });
                // Rolling out what every device already has is a plain release.
                if previous == Some(revision) {
                    None
                } else {
                    Some(Rollout {
                        percentage: p,
                        previous,
                    })
                }
            }
        };
        snap.channels
            .insert(key, ChannelEntry { revision, rollout });
        Ok(())
    }

    /// Closes a channel: its devices follow the next channel of the fallback chain.
    pub fn close(&mut self, name: &str, channel: &Channel) -> Result<(), StoreError> {
        let snap = self
            .snaps
            .get_mut(name)
            .ok_or_else(|| StoreError::UnknownSnap {
                name: name.to_owned(),
            })?;
        snap.channels
            .remove(&channel.to_string())
            .map(|_| ())
            .ok_or_else(|| StoreError::ChannelNotOpen {
                name: name.to_owned(),
                channel: channel.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64, sha: char) -> RevisionEntry {
        RevisionEntry {
            version: format!("v{n}"),
            epoch: "0".into(),
            sha384: std::iter::repeat_n(sha, 96).collect(),
            size: 1,
            blob: format!("blobs/hello_{n}.snap"),
        }
    }

    fn add(i: &mut Index, sha: char) -> (u64, bool) {
        let s: String = std::iter::repeat_n(sha, 96).collect();
        i.add_revision("hello", "me", "Hi", |n| entry(n, sha), &s)
    }

    fn ch(s: &str) -> Channel {
        Channel::parse(s).unwrap()
    }

    #[test]
    fn revisions_count_up_and_the_same_blob_is_not_added_twice() {
        let mut i = Index::default();
        assert_eq!(add(&mut i, 'a'), (1, true));
        assert_eq!(add(&mut i, 'b'), (2, true));
        assert_eq!(add(&mut i, 'a'), (1, false));
        assert_eq!(i.next_revision("hello"), 3);
        assert_eq!(i.next_revision("other"), 1);
    }

    #[test]
    fn a_rollout_keeps_the_fully_released_revision_for_the_others() {
        let mut i = Index::default();
        for c in ['a', 'b', 'c'] {
            add(&mut i, c);
        }
        let stable = ch("stable");
        i.release("hello", 1, &stable, None).unwrap();
        i.release("hello", 2, &stable, Some(10)).unwrap();
        let e = &i.snaps["hello"].channels["latest/stable"];
        assert_eq!(
            (e.revision, e.rollout.clone()),
            (
                2,
                Some(Rollout {
                    percentage: 10,
                    previous: Some(1)
                })
            )
        );
        // Widening it, or replacing it by revision 3, still leaves revision 1 to the others.
        i.release("hello", 3, &stable, Some(50)).unwrap();
        let e = &i.snaps["hello"].channels["latest/stable"];
        assert_eq!(
            (e.revision, e.rollout.clone()),
            (
                3,
                Some(Rollout {
                    percentage: 50,
                    previous: Some(1)
                })
            )
        );
        i.release("hello", 3, &stable, Some(100)).unwrap();
        assert_eq!(i.snaps["hello"].channels["latest/stable"].rollout, None);
        i.release("hello", 3, &stable, Some(20)).unwrap();
        assert_eq!(i.snaps["hello"].channels["latest/stable"].rollout, None);
        i.validate().unwrap();
    }

    #[test]
    fn bad_releases_change_nothing() {
        let mut i = Index::default();
        add(&mut i, 'a');
        let before = i.clone();
        assert!(matches!(
            i.release("hello", 9, &ch("stable"), None),
            Err(StoreError::UnknownRevision { .. })
        ));
        assert!(matches!(
            i.release("nope", 1, &ch("stable"), None),
            Err(StoreError::UnknownSnap { .. })
        ));
        assert!(matches!(
            i.release("hello", 1, &ch("stable"), Some(101)),
            Err(StoreError::InvalidRollout { .. })
        ));
        assert!(matches!(
            i.close("hello", &ch("edge")),
            Err(StoreError::ChannelNotOpen { .. })
        ));
        assert_eq!(i, before);
    }

    #[test]
    fn closing_a_channel_sends_its_devices_down_the_chain() {
        let mut i = Index::default();
        add(&mut i, 'a');
        add(&mut i, 'b');
        i.release("hello", 1, &ch("stable"), None).unwrap();
        i.release("hello", 2, &ch("edge"), None).unwrap();
        let seed = crate::rollout::DeviceSeed::from_bytes([0; 32]);
        assert_eq!(i.resolve("hello", &ch("edge"), &seed).unwrap().revision, 2);
        i.close("hello", &ch("edge")).unwrap();
        assert_eq!(i.resolve("hello", &ch("edge"), &seed).unwrap().revision, 1);
    }
}
