//! Installing from the store: resolve what this device gets of the snap on the channel, then a
//! change whose `download-snap` fetches and verifies it, followed by the sideload's tasks.
//! Blocks on the store (one conditional GET of the index): the API calls it off the async
//! workers.

use snap_core::Revision;
use snap_state::{ChangeConflict, ChangeId, State, TaskId};
use snap_store::Channel;

use super::model::Installed;
use super::ops::{OpError, add_chain, new_change};
use super::plan::store_install_tasks;
use super::setup::{SETUP_KEY, SnapSetup};
use crate::daemon::Daemon;
use crate::storemgr::handlers::{STORE_SETUP_KEY, StoreSetup};
use crate::storemgr::{StoreMgrError, store_revision};

#[derive(Debug, thiserror::Error)]
pub enum StoreOpError {
    #[error(transparent)]
    Store(#[from] StoreMgrError),
    #[error(transparent)]
    Op(#[from] OpError),
    /// snapd's wording.
    #[error("snap {0:?} is already installed")]
    AlreadyInstalled(String),
    #[error("invalid snap name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
}

/// What a caller asked for.
#[derive(Clone, Debug, Default)]
pub struct StoreInstall {
    pub channel: Option<String>,
    pub devmode: bool,
    pub classic: bool,
}

/// Creates the change installing `name` from the store; returns its id.
pub fn install_from_store(
    d: &Daemon,
    name: &str,
    req: &StoreInstall,
) -> Result<ChangeId, StoreOpError> {
    let asked = req.channel.as_deref().filter(|c| !c.is_empty());
    let summary = match asked {
        Some(c) => format!("Install {name:?} snap from {c:?} channel"),
        None => format!("Install {name:?} snap"),
    };
    install(d, &[name.to_owned()], req, &summary)
}

/// Installs several snaps from their stable channels in one change (snapd's
/// `POST /v2/snaps {"action":"install","snaps":[...]}`). The chains run one after the other in
/// one lane, in the order given (a base before the snaps on it): all are installed, or, if one
/// fails, none (snapd's `all-snaps` transaction).
pub fn install_many_from_store(d: &Daemon, names: &[String]) -> Result<ChangeId, StoreOpError> {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let summary = format!("Install snaps {}", quoted.join(", "));
    install(d, names, &StoreInstall::default(), &summary)
}

fn install(
    d: &Daemon,
    names: &[String],
    req: &StoreInstall,
    summary: &str,
) -> Result<ChangeId, StoreOpError> {
    for (i, name) in names.iter().enumerate() {
        snap_core::naming::validate_snap_name(name).map_err(|e| StoreOpError::InvalidName {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        if names[..i].contains(name) {
            return Err(StoreOpError::InvalidName {
                name: name.clone(),
                reason: "given twice".into(),
            });
        }
    }
    let asked = req.channel.as_deref().filter(|c| !c.is_empty());
    let channel = Channel::parse(asked.unwrap_or("stable"))
        .map_err(|e| StoreMgrError::BadChannel(e.to_string()))?;
    check_not_installed(&d.store.lock(), names)?;
    // Off the state lock: the network round trip (one conditional GET, however many snaps).
    let mut resolved = Vec::with_capacity(names.len());
    for name in names {
        let r = d.storemgr.resolve(name, &channel.to_string())?;
        resolved.push((
            name.as_str(),
            store_revision(r.revision)?,
            r.entry,
            r.snap_id,
        ));
    }

    let mut st = d.store.lock();
    check_not_installed(&st, names)?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    st.check_conflict_many(&refs, None)
        .map_err(|c: ChangeConflict| OpError::Conflict(c))?;
    let chg = new_change(&mut st, "install-snap", summary, &refs).map_err(OpError::from)?;
    let lane = st.new_lane();
    let mut prev_last: Option<TaskId> = None;
    for (name, rev, entry, snap_id) in resolved {
        let setup = SnapSetup {
            name: name.to_owned(),
            revision: rev,
            // Known once downloaded: `download-snap` fills in the type and the snap.yaml.
            snap_type: "app".to_owned(),
            snap_path: None,
            devmode: req.devmode,
            classic: req.classic,
            info: None,
            last: false,
        };
        let before = st.change_tasks(chg).len();
        let plan = store_install_tasks(name, &short(&channel), rev);
        add_chain(&mut st, chg, lane, name, &plan, |i, _| {
            (i == 0).then(|| setup.clone())
        })
        .map_err(OpError::from)?;
        let ids: Vec<TaskId> = st.change_tasks(chg)[before..]
            .iter()
            .map(|t| t.id())
            .collect();
        if let (Some(p), Some(first)) = (prev_last, ids.first()) {
            st.wait_for(*first, p).map_err(OpError::from)?;
        }
        prev_last = ids.last().copied();
        let store_setup = StoreSetup {
            channel: channel.to_string(),
            download: entry,
            snap_id,
        };
        attach_store_setup(&mut st, chg, name, rev, &store_setup)?;
    }
    let data = match names {
        [one] => serde_json::json!({"snap-name": one, "snap-names": [one]}),
        many => serde_json::json!({"snap-names": many}),
    };
    st.change_mut(chg)
        .expect("just created")
        .set("api-data", &data)
        .map_err(OpError::from)?;
    st.commit().map_err(OpError::from)?;
    Ok(chg)
}

fn check_not_installed(st: &State, names: &[String]) -> Result<(), StoreOpError> {
    match names.iter().find(|n| st.snap(n).is_some()) {
        Some(n) => Err(StoreOpError::AlreadyInstalled(n.clone())),
        None => Ok(()),
    }
}

/// Puts the store data (channel, index entry) beside the snap-setup of `name` at `revision`
/// (the chain's first task) in `chg`, where `download-snap` and `link-snap` find it. For any chain with a `download-snap`
/// (install now, refresh next).
pub fn attach_store_setup(
    st: &mut State,
    chg: ChangeId,
    name: &str,
    revision: Revision,
    store_setup: &StoreSetup,
) -> Result<(), OpError> {
    let holder = st
        .change_tasks(chg)
        .into_iter()
        .find(|t| {
            t.get::<SnapSetup>(SETUP_KEY)
                .ok()
                .flatten()
                .is_some_and(|s| s.name == name && s.revision == revision)
        })
        .map(|t| t.id())
        .ok_or_else(|| OpError::Internal(format!("the change has no snap-setup of {name:?}")))?;
    st.task_mut(holder)
        .expect("just found")
        .set(STORE_SETUP_KEY, store_setup)
        .map_err(OpError::from)
}

/// snapd's short spelling of a channel in summaries: `stable`, `beta`, `2.0/edge`.
fn short(c: &Channel) -> String {
    crate::storemgr::view::short_channel(c)
}

#[cfg(test)]
mod tests {
    use snap_core::Revision;

    use super::*;

    #[test]
    fn a_store_install_downloads_in_place_of_prepare_and_keeps_the_sideload_tail() {
        let rev = Revision::store(3);
        let plan = store_install_tasks("hello", "beta", rev);
        let kinds: Vec<&str> = plan.iter().map(|t| t.kind).collect();
        let sideload: Vec<&str> = super::super::plan::install_tasks("hello", "x", rev)
            .iter()
            .map(|t| t.kind)
            .skip(1)
            .collect();
        assert_eq!(&kinds[..2], &["prerequisites", "download-snap"]);
        assert_eq!(&kinds[2..], &sideload[..]);
        assert!(!kinds.contains(&"prepare-snap"));
        assert_eq!(
            plan[1].summary,
            "Download snap \"hello\" (3) from channel \"beta\""
        );
        assert!(plan.iter().all(|t| t.revision == rev));
    }
}
