//! Who may change what over D-Bus. The caller is known by the credentials the bus daemon
//! vouches for (`GetConnectionCredentials` of the message's sender), never by anything in the
//! call's arguments: reads are open to everyone; changes to root and to the members of the
//! admin group given by `--dbus-admin-group`.
//!
//! Group names are resolved in the host's `/etc/group` (not under the daemon's root): the
//! uids and gids the bus reports are the host's.

use std::path::Path;

use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;

use super::error::Error;

/// The caller of one method call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    /// The caller's groups as the bus saw them when it connected; `None` when the bus daemon
    /// does not report them (older than dbus 1.14), then looked up in the group database.
    pub gids: Option<Vec<u32>>,
}

/// The group database the admin group is looked up in.
#[derive(Clone, Debug)]
pub struct GroupDb {
    pub passwd: std::path::PathBuf,
    pub group: std::path::PathBuf,
}

impl Default for GroupDb {
    fn default() -> Self {
        GroupDb {
            passwd: "/etc/passwd".into(),
            group: "/etc/group".into(),
        }
    }
}

/// Whether `caller` may make changes, `admin_group` being the group name whose members may.
pub fn may_change(caller: &Caller, admin_group: Option<&str>, db: &GroupDb) -> bool {
    if caller.uid == 0 {
        return true;
    }
    let Some(group_name) = admin_group else {
        return false;
    };
    let group_text = read(&db.group);
    let Some((gid, members)) = find_group(&group_text, group_name) else {
        return false;
    };
    match &caller.gids {
        Some(gids) => gids.contains(&gid),
        None => {
            let passwd_text = read(&db.passwd);
            user_in_group(&passwd_text, caller.uid, gid, &members)
        }
    }
}

/// Refuses `caller` unless they may change things.
pub fn require_change(
    caller: &Caller,
    admin_group: Option<&str>,
    db: &GroupDb,
) -> Result<(), Error> {
    if may_change(caller, admin_group, db) {
        return Ok(());
    }
    let who = match admin_group {
        Some(g) => format!("root or members of group {g:?}"),
        None => "root".to_owned(),
    };
    Err(Error::AccessDenied(format!(
        "uid {} may not make changes: only {who} may",
        caller.uid
    )))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| {
        tracing::warn!("cannot read {}: {e}", path.display());
        String::new()
    })
}

/// The gid and member names of group `name` in `/etc/group` text (`name:x:gid:a,b`).
pub fn find_group(group_text: &str, name: &str) -> Option<(u32, Vec<String>)> {
    group_text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || f[0] != name {
            return None;
        }
        let gid = f[2].parse().ok()?;
        let members = f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        Some((gid, members))
    })
}

/// Whether the user `uid` of `/etc/passwd` text has `gid` as primary group or is among
/// `members`.
pub fn user_in_group(passwd_text: &str, uid: u32, gid: u32, members: &[String]) -> bool {
    passwd_text.lines().any(|line| {
        let f: Vec<&str> = line.split(':').collect();
        f.len() >= 4
            && f[2].parse() == Ok(uid)
            && (f[3].parse() == Ok(gid) || members.iter().any(|m| m == f[0]))
    })
}

/// The credentials of the sender of the call `hdr`, from the bus daemon.
pub async fn caller_of(conn: &zbus::Connection, hdr: &Header<'_>) -> Result<Caller, Error> {
    let sender = hdr
        .sender()
        .ok_or_else(|| Error::AccessDenied("the call has no sender".into()))?;
    let proxy = DBusProxy::new(conn).await?;
    let creds = proxy
        .get_connection_credentials(BusName::Unique(sender.to_owned()))
        .await?;
    let uid = creds
        .unix_user_id()
        .ok_or_else(|| Error::AccessDenied("the bus does not know the caller's uid".into()))?;
    Ok(Caller {
        uid,
        gids: creds.unix_group_ids().cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: &str = "root:x:0:\nsnapadm:x:1500:alice,bob\nbobs:x:1600:\n";
    const PASSWD: &str = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\ncarol:x:1002:1500::/home/carol:/bin/sh\nbob:x:1001:1600::/home/bob:/bin/sh\n";

    fn db(dir: &Path) -> GroupDb {
        std::fs::write(dir.join("group"), GROUP).unwrap();
        std::fs::write(dir.join("passwd"), PASSWD).unwrap();
        GroupDb {
            passwd: dir.join("passwd"),
            group: dir.join("group"),
        }
    }

    #[test]
    fn groups_are_found_by_name() {
        assert_eq!(
            find_group(GROUP, "snapadm"),
            Some((1500, vec!["alice".into(), "bob".into()]))
        );
        assert_eq!(find_group(GROUP, "snap"), None);
        assert_eq!(find_group("broken:x:notanumber:\n", "broken"), None);
    }

    #[test]
    fn membership_by_list_or_primary_group() {
        let members = vec!["alice".to_owned()];
        assert!(user_in_group(PASSWD, 1000, 1500, &members));
        assert!(user_in_group(PASSWD, 1002, 1500, &members));
        assert!(!user_in_group(PASSWD, 1001, 1500, &members));
        assert!(!user_in_group(PASSWD, 4242, 1500, &members));
    }

    #[test]
    fn root_and_admins_may_change_others_not() {
        let tmp = tempfile::tempdir().unwrap();
        let db = db(tmp.path());
        let root = Caller {
            uid: 0,
            gids: Some(vec![0]),
        };
        let admin = Caller {
            uid: 1001,
            gids: Some(vec![1600, 1500]),
        };
        let other = Caller {
            uid: 1001,
            gids: Some(vec![1600]),
        };
        assert!(may_change(&root, None, &db));
        assert!(!may_change(&admin, None, &db));
        assert!(may_change(&admin, Some("snapadm"), &db));
        assert!(!may_change(&other, Some("snapadm"), &db));
        assert!(!may_change(&admin, Some("nosuchgroup"), &db));
        // Without groups from the bus, the database decides.
        let listed = Caller {
            uid: 1000,
            gids: None,
        };
        assert!(may_change(&listed, Some("snapadm"), &db));
        let err = require_change(&other, Some("snapadm"), &db).unwrap_err();
        assert_eq!(err.bus_name(), "org.freedesktop.DBus.Error.AccessDenied");
        assert!(err.to_string().contains("uid 1001"), "{err}");
    }
}
