//! Refreshing from the store: what each snap would get on its channel (one conditional request
//! for the store's index, however many snaps), then one change in which every snap's refresh
//! chain runs in one lane, one after the other: if any fails, all of them are undone (a
//! refresh of several snaps is all or nothing). Also `snap switch`: a change of the tracked
//! channel alone.

use snap_core::Revision;
use snap_state::{ChangeId, State, TaskId};
use snap_store::Channel;

use super::holds::{active_hold, refresh_held};
use super::model::{Installed, SnapState};
use super::ops::{OpError, add_chain, new_change, refresh_plan};
use super::plan::RefreshSource;
use super::setup::SnapSetup;
use super::store_ops::attach_store_setup;
use crate::daemon::Daemon;
use crate::storemgr::handlers::StoreSetup;
use crate::storemgr::{StoreMgrError, view::short_channel};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Store(#[from] StoreMgrError),
    #[error(transparent)]
    Op(#[from] OpError),
    /// snapd's wording and kind (`snap-no-update-available`).
    #[error("snap {0:?} has no updates available")]
    NoUpdate(String),
    #[error("local snap {0:?} is unknown to the store, use --amend to proceed anyway")]
    NotFromStore(String),
    #[error("a channel can only be given for one snap")]
    ChannelForMany,
}

/// One snap to refresh.
struct Target {
    name: String,
    old: SnapState,
    channel: Channel,
    revision: Revision,
    entry: snap_store::RevisionEntry,
}

/// What the refresh did: a change, or nothing to do (every snap up to date).
pub enum Refreshed {
    Change(ChangeId),
    UpToDate,
}

/// Refreshes `names` (every snap installed from the store when empty), on `channel` if given
/// (one snap only). `kind` is the change's kind (`refresh-snap`, or `auto-refresh`).
pub fn refresh(
    d: &Daemon,
    names: &[String],
    channel: Option<&str>,
    kind: &str,
) -> Result<Refreshed, RefreshError> {
    if channel.is_some() && names.len() != 1 {
        return Err(RefreshError::ChannelForMany);
    }
    let wanted = candidates(&d.store.lock(), names, channel)?;
    // Off the state lock: one conditional GET of the index.
    let mut targets = Vec::new();
    for (name, old, ch) in wanted {
        let Some((revision, entry)) = d.storemgr.resolve_for_refresh(&name, &ch.to_string())?
        else {
            if !names.is_empty() {
                return Err(RefreshError::NoUpdate(name));
            }
            continue;
        };
        if !is_update(&old, revision) {
            if !names.is_empty() {
                return Err(RefreshError::NoUpdate(name));
            }
            continue;
        }
        targets.push(Target {
            name,
            old,
            channel: ch,
            revision,
            entry,
        });
    }
    if targets.is_empty() {
        return Ok(Refreshed::UpToDate);
    }

    let mut st = d.store.lock();
    let refs: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    st.check_conflict_many(&refs, None)
        .map_err(OpError::Conflict)?;
    // The store was asked without the lock: plan from the snaps as they are now (another
    // change may have ended meanwhile), and drop what is no longer an update.
    let mut fresh = Vec::with_capacity(targets.len());
    for mut t in targets {
        t.old = st
            .snap(&t.name)
            .ok_or_else(|| OpError::NotInstalled(t.name.clone()))?;
        if is_update(&t.old, t.revision) {
            fresh.push(t);
        } else if !names.is_empty() {
            return Err(RefreshError::NoUpdate(t.name));
        }
    }
    let targets = fresh;
    if targets.is_empty() {
        return Ok(Refreshed::UpToDate);
    }
    let refs: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let summary = match (targets.as_slice(), channel) {
        ([one], Some(c)) => format!("Refresh {:?} snap from {c:?} channel", one.name),
        ([one], None) => format!("Refresh {:?} snap", one.name),
        (many, _) => format!(
            "Refresh snaps {}",
            many.iter()
                .map(|t| format!("{:?}", t.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let chg = new_change(&mut st, kind, &summary, &refs).map_err(OpError::from)?;
    let lane = st.new_lane();
    let mut prev_last: Option<TaskId> = None;
    for t in &targets {
        let before = st.change_tasks(chg).len();
        let plan = refresh_plan(
            d,
            &st,
            &t.name,
            &RefreshSource::Store(short_channel(&t.channel)),
            &t.old,
            t.revision,
        );
        // The new revision's info is known once downloaded (`download-snap` fills it in).
        add_chain(&mut st, chg, lane, &t.name, &plan, |i, task| {
            (i == 0 || task.revision != t.revision)
                .then(|| SnapSetup::of_installed(&t.name, &t.old, task.revision))
        })
        .map_err(OpError::from)?;
        let ids: Vec<TaskId> = st.change_tasks(chg)[before..]
            .iter()
            .map(|task| task.id())
            .collect();
        if let (Some(p), Some(first)) = (prev_last, ids.first()) {
            st.wait_for(*first, p).map_err(OpError::from)?;
        }
        prev_last = ids.last().copied();
        attach_store_setup(
            &mut st,
            chg,
            &t.name,
            t.revision,
            &StoreSetup {
                channel: t.channel.to_string(),
                download: t.entry.clone(),
                snap_id: t.old.snap_id.clone().unwrap_or_default(),
            },
        )?;
    }
    let data = serde_json::json!({"snap-names": refs});
    st.change_mut(chg)
        .expect("just created")
        .set("api-data", &data)
        .map_err(OpError::from)?;
    st.commit().map_err(OpError::from)?;
    Ok(Refreshed::Change(chg))
}

/// The snaps to look at, each with its current state and the channel to look on: the named
/// ones (all must be installed, and from the store unless a channel is given), or every snap
/// that tracks a channel.
fn candidates(
    st: &State,
    names: &[String],
    channel: Option<&str>,
) -> Result<Vec<(String, SnapState, Channel)>, RefreshError> {
    let parse = |c: &str| {
        Channel::parse(c).map_err(|e| RefreshError::Store(StoreMgrError::BadChannel(e.to_string())))
    };
    let mut out = Vec::new();
    if names.is_empty() {
        // Every snap that tracks a channel, but not one held: a snap named is refreshed held
        // or not (the user asked for it), as snapd does.
        let now = snap_state::Timestamp::now();
        for (name, s) in st.all() {
            if refresh_held(active_hold(st, &name).as_ref(), false, now) {
                continue;
            }
            if let Some(track) = s.tracking_channel.clone() {
                out.push((name, s, parse(&track)?));
            }
        }
        return Ok(out);
    }
    for name in names {
        let s = st
            .snap(name)
            .ok_or_else(|| OpError::NotInstalled(name.clone()))?;
        let ch = match (channel, s.tracking_channel.as_deref()) {
            (Some(c), _) => parse(c)?,
            (None, Some(t)) => parse(t)?,
            (None, None) => return Err(RefreshError::NotFromStore(name.clone())),
        };
        out.push((name.clone(), s, ch));
    }
    Ok(out)
}

/// The task data of `switch-snap-channel`: the channel to track.
pub const SWITCH_CHANNEL_KEY: &str = "switch-channel";

/// `snap switch NAME --channel=C`: the snap tracks another channel from now on; its revision
/// changes at the next refresh.
pub fn switch(d: &Daemon, name: &str, channel: &str) -> Result<ChangeId, RefreshError> {
    let ch = Channel::parse(channel)
        .map_err(|e| RefreshError::Store(StoreMgrError::BadChannel(e.to_string())))?;
    let mut st = d.store.lock();
    let s = st
        .snap(name)
        .ok_or_else(|| OpError::NotInstalled(name.to_owned()))?;
    st.check_conflict(name).map_err(OpError::Conflict)?;
    let chg = new_change(
        &mut st,
        "switch-snap",
        &format!("Switch {name:?} snap to {}", short_channel(&ch)),
        &[name],
    )
    .map_err(OpError::from)?;
    let plan = [super::plan::TaskPlan::new(
        "switch-snap-channel",
        format!(
            "Switch snap {name:?} from channel {:?} to {:?}",
            s.tracking_channel.as_deref().unwrap_or(""),
            ch.to_string()
        ),
        s.current,
    )];
    let lane = st.new_lane();
    add_chain(&mut st, chg, lane, name, &plan, |_, t| {
        Some(SnapSetup {
            name: name.to_owned(),
            revision: t.revision,
            snap_type: s.snap_type.clone(),
            snap_path: None,
            devmode: s.devmode,
            classic: s.classic,
            info: s.current_info().cloned(),
            last: false,
        })
    })
    .map_err(OpError::from)?;
    let task = st.change_tasks(chg)[0].id();
    st.task_mut(task)
        .expect("just made")
        .set(SWITCH_CHANNEL_KEY, &ch.to_string())
        .map_err(OpError::from)?;
    st.change_mut(chg)
        .expect("just created")
        .set(
            "api-data",
            &serde_json::json!({"snap-name": name, "snap-names": [name]}),
        )
        .map_err(OpError::from)?;
    st.commit().map_err(OpError::from)?;
    Ok(chg)
}

/// The change answering a refresh with nothing to do: no tasks, done at once, no snap names
/// (clients print "All snaps up to date.").
pub fn nothing_to_refresh(d: &Daemon) -> Result<ChangeId, OpError> {
    let mut st = d.store.lock();
    let chg = new_change(
        &mut st,
        "refresh-snap",
        "Refresh all snaps: no updates",
        &[],
    )?;
    st.change_mut(chg)
        .expect("just created")
        .set("api-data", &serde_json::json!({"snap-names": []}))?;
    st.set_change_status(chg, Some(snap_state::Status::Done))?;
    st.commit()?;
    Ok(chg)
}

/// The snaps installed from the store that have a newer revision on the channel they track
/// (what an automatic refresh would take).
pub fn updates_available(d: &Daemon) -> Result<Vec<String>, RefreshError> {
    let wanted = candidates(&d.store.lock(), &[], None)?;
    let mut out = Vec::new();
    for (name, old, ch) in wanted {
        if let Some((rev, _)) = d.storemgr.resolve_for_refresh(&name, &ch.to_string())?
            && is_update(&old, rev)
        {
            out.push(name);
        }
    }
    Ok(out)
}

/// Whether the store's `rev` is an update for the installed snap: not its current revision,
/// nor one still on disk (`snap revert` goes back to those).
fn is_update(installed: &SnapState, rev: Revision) -> bool {
    rev != installed.current && !installed.sequence.iter().any(|r| r.revision == rev)
}
