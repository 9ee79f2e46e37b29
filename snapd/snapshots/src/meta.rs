//! What a snapshot records (`meta.json`) and how its files are named. Pure.
//!
//! A snapshot of one snap is a directory `<set>_<snap>_<version>_<revision>` under
//! `var/lib/snapd/snapshots` holding `meta.json`, `meta.sha256`, `archive.tar.zst` (the system
//! data) and `user/<name>.tar.zst` (one per user). See `spec/snapshots.md`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use snap_core::naming::{validate_instance_name, validate_version};
use snap_core::{Epoch, Revision};

/// The version of this layout, recorded in every `meta.json`.
pub const FORMAT: u32 = 1;
pub const META_FILE: &str = "meta.json";
/// Hex SHA-256 of `meta.json` followed by a newline, as snapd's `meta.sha3_384`.
pub const META_SUM_FILE: &str = "meta.sha256";
/// The archive of `var/snap/NAME/{REV,common}`.
pub const SYSTEM_MEMBER: &str = "archive.tar.zst";
const USER_PREFIX: &str = "user/";
const ARCHIVE_SUFFIX: &str = ".tar.zst";

/// The member holding a user's `~/snap/NAME/{REV,common}`.
pub fn user_member(user: &str) -> String {
    format!("{USER_PREFIX}{user}{ARCHIVE_SUFFIX}")
}

/// Which data a member holds: the system's or a user's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberKind {
    System,
    User(String),
}

/// Parses a member name; anything but `archive.tar.zst` and `user/<valid user>.tar.zst` is
/// refused, so a member name can be joined to a directory safely.
pub fn parse_member(name: &str) -> Option<MemberKind> {
    if name == SYSTEM_MEMBER {
        return Some(MemberKind::System);
    }
    let user = name
        .strip_prefix(USER_PREFIX)?
        .strip_suffix(ARCHIVE_SUFFIX)?;
    valid_user_name(user).then(|| MemberKind::User(user.to_owned()))
}

/// A portable user name (what `useradd` accepts by default): no slash, no dot-only names.
pub fn valid_user_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && name.len() <= 32
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// The epoch as snapd writes it in snapshot metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochJson {
    pub read: Vec<u32>,
    pub write: Vec<u32>,
}

impl From<&Epoch> for EpochJson {
    fn from(e: &Epoch) -> Self {
        EpochJson {
            read: e.read.clone(),
            write: e.write.clone(),
        }
    }
}

/// `meta.json`: one snap's snapshot in a set. Field names follow snapd's Snapshot object, except
/// `sha256` (snapd: `sha3-384`) which names the algorithm actually used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Snapshot {
    pub format: u32,
    pub set: u64,
    pub snap: String,
    pub revision: Revision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snap_id: Option<String>,
    pub epoch: EpochJson,
    #[serde(default)]
    pub summary: String,
    pub version: String,
    /// RFC 3339, UTC, nanoseconds.
    pub time: String,
    /// The users whose data is in the snapshot, sorted.
    #[serde(default)]
    pub users: Vec<String>,
    /// The snap's configuration at save time, as the daemon passed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf: Option<serde_json::Value>,
    /// Member name → hex SHA-256 of its bytes.
    pub sha256: BTreeMap<String, String>,
    /// Member name → its length in bytes.
    pub sizes: BTreeMap<String, u64>,
    /// Member name → the sum of the file sizes its archive declares (bounds a restore).
    pub unpacked: BTreeMap<String, u64>,
    /// Total bytes of all members (snapd's `size`).
    pub size: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto: bool,
    /// When an automatic snapshot may be pruned (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
}

impl Snapshot {
    /// The directory name: `<set>_<snap>_<version>_<revision>` (snapd's zip name without `.zip`).
    pub fn dir_name(&self) -> String {
        dir_name(self.set, &self.snap, &self.version, self.revision)
    }

    /// Checks what a hostile `meta.json` could use to escape or confuse: names, member names,
    /// that every member has a digest, a size and an unpacked size, and that `users` matches.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("unsupported format {}", self.format));
        }
        validate_instance_name(&self.snap).map_err(|e| e.to_string())?;
        validate_version(&self.version).map_err(|e| e.to_string())?;
        if !self.sha256.contains_key(SYSTEM_MEMBER) {
            return Err("no system data member".into());
        }
        let mut users = Vec::new();
        for (name, digest) in &self.sha256 {
            match parse_member(name) {
                Some(MemberKind::User(u)) => users.push(u),
                Some(MemberKind::System) => {}
                None => return Err(format!("invalid member name {name:?}")),
            }
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("invalid digest for {name}"));
            }
            if !self.sizes.contains_key(name) || !self.unpacked.contains_key(name) {
                return Err(format!("no size recorded for {name}"));
            }
        }
        if self.sizes.len() != self.sha256.len() || self.unpacked.len() != self.sha256.len() {
            return Err("sizes name members without a digest".into());
        }
        if users != self.users {
            return Err("users do not match the user members".into());
        }
        if self.sizes.values().sum::<u64>() != self.size {
            return Err("size is not the sum of the member sizes".into());
        }
        if let Some(e) = &self.expiry_time {
            parse_time(e).ok_or_else(|| format!("invalid expiry-time {e:?}"))?;
        }
        parse_time(&self.time).ok_or_else(|| format!("invalid time {:?}", self.time))?;
        Ok(())
    }

    /// Whether this snapshot expired at `now` (only automatic ones expire).
    pub fn expired(&self, now: SystemTime) -> bool {
        self.expiry_time
            .as_deref()
            .and_then(parse_time)
            .is_some_and(|t| t <= now)
    }
}

pub fn dir_name(set: u64, snap: &str, version: &str, revision: Revision) -> String {
    format!("{set}_{snap}_{version}_{revision}")
}

/// The set id of a snapshot directory name, if it looks like one (`<digits>_...`).
pub fn set_of_dir_name(name: &str) -> Option<u64> {
    let (id, rest) = name.split_once('_')?;
    if rest.is_empty()
        || id.is_empty()
        || !id.bytes().all(|b| b.is_ascii_digit())
        || id.starts_with('0')
    {
        return None;
    }
    id.parse().ok()
}

pub fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

pub fn parse_time(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample() -> Snapshot {
        let d = "a".repeat(64);
        Snapshot {
            format: FORMAT,
            set: 3,
            snap: "hello".into(),
            revision: Revision::local(2),
            snap_id: None,
            epoch: EpochJson::from(&Epoch::default()),
            summary: String::new(),
            version: "1.0".into(),
            time: format_time(UNIX_EPOCH + Duration::new(1_700_000_000, 5)),
            users: vec!["alice".into()],
            conf: Some(serde_json::json!({"k": 1})),
            sha256: [
                (SYSTEM_MEMBER.to_owned(), d.clone()),
                (user_member("alice"), d),
            ]
            .into(),
            sizes: [(SYSTEM_MEMBER.to_owned(), 10), (user_member("alice"), 5)].into(),
            unpacked: [(SYSTEM_MEMBER.to_owned(), 100), (user_member("alice"), 50)].into(),
            size: 15,
            auto: false,
            expiry_time: None,
        }
    }

    #[test]
    fn names_follow_snapd() {
        assert_eq!(sample().dir_name(), "3_hello_1.0_x2");
        assert_eq!(set_of_dir_name("3_hello_1.0_x2"), Some(3));
        assert_eq!(set_of_dir_name("03_hello"), None);
        assert_eq!(set_of_dir_name(".tmp-3_hello"), None);
        assert_eq!(set_of_dir_name("3_"), None);
    }

    #[test]
    fn members_parse_only_known_shapes() {
        assert_eq!(parse_member("archive.tar.zst"), Some(MemberKind::System));
        assert_eq!(
            parse_member("user/alice.tar.zst"),
            Some(MemberKind::User("alice".into()))
        );
        for bad in [
            "user/../x.tar.zst",
            "user/a/b.tar.zst",
            "user/.tar.zst",
            "/etc/passwd",
            "user/Al.tar.zst",
            "archive.tgz",
        ] {
            assert_eq!(parse_member(bad), None, "{bad}");
        }
    }

    #[test]
    fn meta_round_trips_and_validates() {
        let s = sample();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"revision\":\"x2\""));
        assert!(json.contains("\"epoch\":{\"read\":[0],\"write\":[0]}"));
        assert!(!json.contains("auto"));
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        s.validate().unwrap();
    }

    #[test]
    fn validate_refuses_hostile_meta() {
        let mut s = sample();
        s.snap = "../etc".into();
        assert!(s.validate().is_err());
        let mut s = sample();
        s.sha256
            .insert("user/../../x.tar.zst".into(), "a".repeat(64));
        assert!(s.validate().is_err());
        let mut s = sample();
        s.users.push("bob".into());
        assert!(s.validate().is_err());
        let mut s = sample();
        s.size = 1;
        assert!(s.validate().is_err());
        let mut s = sample();
        s.sizes.remove(SYSTEM_MEMBER);
        assert!(s.validate().is_err());
    }

    #[test]
    fn only_automatic_snapshots_expire() {
        let now = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
        let mut s = sample();
        assert!(!s.expired(now));
        s.expiry_time = Some(format_time(now - Duration::from_secs(1)));
        assert!(s.expired(now));
        s.expiry_time = Some(format_time(now + Duration::from_secs(1)));
        assert!(!s.expired(now));
    }
}
