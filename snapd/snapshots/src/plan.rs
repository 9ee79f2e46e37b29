//! Pure planning: which archives a save writes and from where, which a restore reads and where
//! to, which sets are expired, which set id comes next. No I/O: existence of directories is
//! the executor's business.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::SystemTime;

use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_core::naming::{validate_instance_name, validate_version};

use crate::entry::Top;
use crate::error::{Result, SnapshotError};
use crate::meta::{self, Snapshot, user_member, valid_user_name};
use crate::users::User;

/// What the daemon knows about a snap it asks to save.
#[derive(Clone, Debug)]
pub struct SnapInfo {
    pub name: String,
    pub revision: Revision,
    pub version: String,
    pub epoch: snap_core::Epoch,
    pub summary: String,
    pub snap_id: Option<String>,
    /// The snap's configuration document, recorded as is and handed back on restore.
    pub conf: Option<serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct SaveRequest {
    /// From [`crate::Snapshots::next_set_id`].
    pub set_id: u64,
    pub snaps: Vec<SnapInfo>,
    /// Whose `~/snap/NAME` to save (all users, or the ones asked for).
    pub users: Vec<User>,
    /// The time recorded in the snapshots (the daemon's clock).
    pub time: SystemTime,
    /// Set for automatic snapshots: when they may be pruned.
    pub expiry: Option<SystemTime>,
}

#[derive(Clone, Debug, Default)]
pub struct RestoreRequest {
    pub set_id: u64,
    /// Snaps to restore; empty means every snap of the set.
    pub snaps: Vec<String>,
    /// Users whose data to restore (archived users not listed here are skipped, as snapd skips
    /// users without a home).
    pub users: Vec<User>,
    /// The revision each snap's data restores to (its current one); the saved one otherwise.
    pub revisions: BTreeMap<String, Revision>,
}

/// One archive: a member of a snapshot and the directory its tops live in.
#[derive(Clone, Debug)]
pub struct Unit {
    pub member: String,
    /// `var/snap/NAME` or `~/snap/NAME`, under the root.
    pub base: PathBuf,
    pub tops: Vec<Top>,
    /// Set for user data: the owner every restored entry gets.
    pub owner: Option<(u32, u32)>,
    /// The user's name for user data (the member is `user/<name>.tar.zst`).
    pub user: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SnapshotPlan {
    pub dir_name: String,
    pub snap: SnapInfo,
    pub units: Vec<Unit>,
}

pub(crate) fn tops(saved: Revision, restored: Revision) -> Vec<Top> {
    vec![
        Top {
            archived: saved.to_string(),
            restored: restored.to_string(),
        },
        Top {
            archived: "common".into(),
            restored: "common".into(),
        },
    ]
}

fn user_base(user: &User, snap: &str) -> PathBuf {
    user.home.join("snap").join(snap)
}

fn check_users(users: &[User]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for u in users {
        if !valid_user_name(&u.name) || !seen.insert(u.name.as_str()) {
            return Err(SnapshotError::BadName(format!("user {:?}", u.name)));
        }
    }
    Ok(())
}

/// Plans a save: one snapshot per snap, one system unit and one unit per user each.
pub fn plan_save(dirs: &Dirs, req: &SaveRequest) -> Result<Vec<SnapshotPlan>> {
    if req.snaps.is_empty() {
        return Err(SnapshotError::NothingToSave);
    }
    if req.set_id == 0 {
        return Err(SnapshotError::BadName("set id 0".into()));
    }
    check_users(&req.users)?;
    let mut seen = BTreeSet::new();
    let mut plans = Vec::new();
    for snap in &req.snaps {
        validate_instance_name(&snap.name)
            .map_err(|e| SnapshotError::BadName(format!("snap {:?}: {e}", snap.name)))?;
        validate_version(&snap.version)
            .map_err(|e| SnapshotError::BadName(format!("version {:?}: {e}", snap.version)))?;
        if !seen.insert(snap.name.as_str()) {
            return Err(SnapshotError::BadName(format!(
                "snap {:?} given twice",
                snap.name
            )));
        }
        let mut units = vec![Unit {
            member: meta::SYSTEM_MEMBER.into(),
            base: dirs.snap_data_base(&snap.name),
            tops: tops(snap.revision, snap.revision),
            owner: None,
            user: None,
        }];
        for u in &req.users {
            units.push(Unit {
                member: user_member(&u.name),
                base: user_base(u, &snap.name),
                tops: tops(snap.revision, snap.revision),
                owner: Some((u.uid, u.gid)),
                user: Some(u.name.clone()),
            });
        }
        plans.push(SnapshotPlan {
            dir_name: meta::dir_name(req.set_id, &snap.name, &snap.version, snap.revision),
            snap: snap.clone(),
            units,
        });
    }
    Ok(plans)
}

/// One snapshot to restore and its units.
#[derive(Clone, Debug)]
pub struct RestorePlan {
    pub snapshot: Snapshot,
    pub units: Vec<Unit>,
}

/// Plans a restore from the set's snapshots. Unknown snaps are an error; archived users the
/// request does not list are skipped.
pub fn plan_restore(
    dirs: &Dirs,
    set: &[Snapshot],
    req: &RestoreRequest,
) -> Result<Vec<RestorePlan>> {
    check_users(&req.users)?;
    for name in &req.snaps {
        if !set.iter().any(|s| &s.snap == name) {
            return Err(SnapshotError::SnapNotInSet {
                set: req.set_id,
                snap: name.clone(),
            });
        }
    }
    let mut plans = Vec::new();
    for s in set {
        if !req.snaps.is_empty() && !req.snaps.contains(&s.snap) {
            continue;
        }
        let target = req.revisions.get(&s.snap).copied().unwrap_or(s.revision);
        let mut units = Vec::new();
        if s.sha256.contains_key(meta::SYSTEM_MEMBER) {
            units.push(Unit {
                member: meta::SYSTEM_MEMBER.into(),
                base: dirs.snap_data_base(&s.snap),
                tops: tops(s.revision, target),
                owner: None,
                user: None,
            });
        }
        for u in &req.users {
            if s.users.contains(&u.name) {
                units.push(Unit {
                    member: user_member(&u.name),
                    base: user_base(u, &s.snap),
                    tops: tops(s.revision, target),
                    owner: Some((u.uid, u.gid)),
                    user: Some(u.name.clone()),
                });
            }
        }
        plans.push(RestorePlan {
            snapshot: s.clone(),
            units,
        });
    }
    Ok(plans)
}

/// snapd's default retention of automatic snapshots (`snapshots.automatic.retention`).
pub const DEFAULT_AUTOMATIC_RETENTION: std::time::Duration =
    std::time::Duration::from_secs(31 * 24 * 60 * 60);

/// Sets every snapshot of which has expired at `now`; manual snapshots never expire.
pub fn expired_sets(sets: &BTreeMap<u64, Vec<Snapshot>>, now: SystemTime) -> Vec<u64> {
    sets.iter()
        .filter(|(_, snaps)| !snaps.is_empty() && snaps.iter().all(|s| s.expired(now)))
        .map(|(id, _)| *id)
        .collect()
}

/// snapd's rule: one more than the highest id in the state or on disk.
pub fn next_set_id(on_disk: impl IntoIterator<Item = u64>, last_in_state: u64) -> u64 {
    on_disk.into_iter().fold(last_in_state, u64::max) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{EpochJson, FORMAT, format_time};
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    fn snap(name: &str, rev: u32) -> SnapInfo {
        SnapInfo {
            name: name.into(),
            revision: Revision::store(rev),
            version: "1.0".into(),
            epoch: Default::default(),
            summary: String::new(),
            snap_id: None,
            conf: None,
        }
    }

    fn alice() -> User {
        User {
            name: "alice".into(),
            uid: 1000,
            gid: 1000,
            home: "/r/home/alice".into(),
        }
    }

    fn meta(set: u64, name: &str, users: &[&str], expiry: Option<SystemTime>) -> Snapshot {
        let mut sha = BTreeMap::new();
        sha.insert(meta::SYSTEM_MEMBER.to_owned(), "0".repeat(96));
        for u in users {
            sha.insert(user_member(u), "0".repeat(96));
        }
        let sizes: BTreeMap<_, _> = sha.keys().map(|k| (k.clone(), 1)).collect();
        Snapshot {
            format: FORMAT,
            set,
            snap: name.into(),
            revision: Revision::store(5),
            snap_id: None,
            epoch: EpochJson {
                read: vec![0],
                write: vec![0],
            },
            summary: String::new(),
            version: "1.0".into(),
            time: format_time(UNIX_EPOCH),
            users: users.iter().map(|u| u.to_string()).collect(),
            conf: None,
            size: sizes.len() as u64,
            unpacked: sizes.clone(),
            sizes,
            sha256: sha,
            auto: expiry.is_some(),
            expiry_time: expiry.map(format_time),
        }
    }

    #[test]
    fn save_plans_system_and_user_data() {
        let dirs = Dirs::new("/r");
        let req = SaveRequest {
            set_id: 4,
            snaps: vec![snap("hello", 5), snap("db", 9)],
            users: vec![alice()],
            time: UNIX_EPOCH,
            expiry: None,
        };
        let plans = plan_save(&dirs, &req).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].dir_name, "4_hello_1.0_5");
        let u = &plans[0].units;
        assert_eq!(u[0].member, "archive.tar.zst");
        assert_eq!(u[0].base, Path::new("/r/var/snap/hello"));
        assert_eq!(u[0].tops[0].archived, "5");
        assert_eq!(u[0].owner, None);
        assert_eq!(u[1].member, "user/alice.tar.zst");
        assert_eq!(u[1].base, Path::new("/r/home/alice/snap/hello"));
        assert_eq!(u[1].owner, Some((1000, 1000)));
        assert_eq!(plans[1].units[0].tops[0].archived, "9");
    }

    #[test]
    fn save_refuses_bad_requests() {
        let dirs = Dirs::new("/r");
        let mut req = SaveRequest {
            set_id: 1,
            snaps: vec![],
            users: vec![],
            time: UNIX_EPOCH,
            expiry: None,
        };
        assert!(matches!(
            plan_save(&dirs, &req),
            Err(SnapshotError::NothingToSave)
        ));
        req.snaps = vec![snap("../etc", 1)];
        assert!(plan_save(&dirs, &req).is_err());
        req.snaps = vec![snap("a", 1), snap("a", 2)];
        assert!(plan_save(&dirs, &req).is_err());
        req.snaps = vec![snap("a", 1)];
        req.users = vec![User {
            name: "../x".into(),
            ..alice()
        }];
        assert!(plan_save(&dirs, &req).is_err());
        req.users = vec![alice(), alice()];
        assert!(plan_save(&dirs, &req).is_err());
    }

    #[test]
    fn restore_selects_snaps_users_and_target_revision() {
        let dirs = Dirs::new("/r");
        let set = vec![
            meta(2, "a", &["alice", "bob"], None),
            meta(2, "b", &[], None),
        ];
        let req = RestoreRequest {
            set_id: 2,
            snaps: vec!["a".into()],
            users: vec![alice()],
            revisions: [("a".to_owned(), Revision::store(8))].into(),
        };
        let plans = plan_restore(&dirs, &set, &req).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].snapshot.snap, "a");
        let units = &plans[0].units;
        assert_eq!(units.len(), 2, "bob is not asked for");
        assert_eq!(units[0].tops[0].archived, "5");
        assert_eq!(units[0].tops[0].restored, "8");
        assert_eq!(units[1].member, "user/alice.tar.zst");

        let all = RestoreRequest {
            set_id: 2,
            ..Default::default()
        };
        let plans = plan_restore(&dirs, &set, &all).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].units[0].tops[0].restored, "5");

        let unknown = RestoreRequest {
            set_id: 2,
            snaps: vec!["zz".into()],
            ..Default::default()
        };
        assert!(matches!(
            plan_restore(&dirs, &set, &unknown),
            Err(SnapshotError::SnapNotInSet { .. })
        ));
    }

    #[test]
    fn only_fully_expired_sets_are_pruned() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let past = Some(now - Duration::from_secs(1));
        let future = Some(now + Duration::from_secs(1));
        let sets: BTreeMap<u64, Vec<Snapshot>> = [
            (1, vec![meta(1, "a", &[], past)]),
            (2, vec![meta(2, "a", &[], future)]),
            (3, vec![meta(3, "a", &[], None)]),
            (4, vec![meta(4, "a", &[], past), meta(4, "b", &[], None)]),
            (5, vec![meta(5, "a", &[], past), meta(5, "b", &[], past)]),
        ]
        .into();
        assert_eq!(expired_sets(&sets, now), vec![1, 5]);
    }

    #[test]
    fn next_set_id_is_past_state_and_disk() {
        assert_eq!(next_set_id([], 0), 1);
        assert_eq!(next_set_id([3, 7, 2], 4), 8);
        assert_eq!(next_set_id([3], 9), 10);
    }
}
