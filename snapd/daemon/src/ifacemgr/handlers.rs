//! The task handlers of connections: `connect` and `disconnect` (a user's request),
//! `auto-connect` (after `link-snap` in an install) and `auto-disconnect` (first in a removal).
//!
//! Each records what it changes in `conns` in its task data (`conn-changes`: every entry before
//! and after) in the same checkpoint as the change itself, then rewrites the profiles of the
//! snaps at both ends. After a crash a task found `Doing` applies its recorded changes again
//! (the same ones, whatever happened meanwhile) and rewrites the profiles again; undo puts the
//! recorded old entries back and rewrites the profiles. The state is the truth and profiles
//! follow it: whenever a handler ends, the profiles on disk are those of the state.

use std::collections::BTreeSet;

use snap_interfaces::SYSTEM_SNAP;
use snap_state::{HandlerError, State, StateError, TaskContext};

use super::conns::{
    ConnChange, ConnChanges, ConnRef, ConnState, PlugRef, SlotRef, all_conns, get_conn,
};
use super::repo::{ON_CLASSIC, Repo, connections_of_snap};
use crate::snapmgr::handlers::{Env, snap_setup_of};
use crate::snapmgr::model::get_snap;
use crate::snapmgr::profiles;

type Result<T = ()> = std::result::Result<T, HandlerError>;

/// Task data: what the task changed in `conns`.
const CHANGES_KEY: &str = "conn-changes";
/// Task data of `connect` and `disconnect`: the two ends, as snapd stores them.
pub const PLUG_KEY: &str = "plug";
pub const SLOT_KEY: &str = "slot";
pub const INTERFACE_KEY: &str = "interface";
/// Task data of `disconnect` (`snap disconnect --forget`): drop the entry whatever it says.
pub const FORGET_KEY: &str = "forget";

fn conn_ref_of(ctx: &TaskContext<'_>) -> Result<ConnRef> {
    let plug: PlugRef = ctx
        .get(PLUG_KEY)?
        .ok_or_else(|| HandlerError::error("internal error: task has no plug"))?;
    let slot: SlotRef = ctx
        .get(SLOT_KEY)?
        .ok_or_else(|| HandlerError::error("internal error: task has no slot"))?;
    Ok(ConnRef { plug, slot })
}

/// Under one lock: the changes recorded by an earlier run of this task, or those `plan`
/// computes now, recorded; then applied to the state. One checkpoint for all of it.
fn record_and_apply(
    ctx: &TaskContext<'_>,
    plan: impl FnOnce(&mut State) -> Result<ConnChanges>,
) -> Result<ConnChanges> {
    ctx.with_state(|st| {
        let task = st
            .task(ctx.task_id())
            .ok_or_else(|| HandlerError::error("internal error: task vanished"))?;
        let changes = match task.get::<ConnChanges>(CHANGES_KEY)? {
            Some(done) => done,
            None => {
                let planned = plan(st)?;
                st.task_mut(ctx.task_id())
                    .expect("checked above")
                    .set(CHANGES_KEY, &planned)?;
                planned
            }
        };
        changes.apply(st)?;
        Ok(changes)
    })
}

/// Applies the task's changes and rewrites the profiles of the snaps involved (but `skip`'s).
/// If the profiles cannot be written, the changes are taken back (and the profiles rewritten
/// for the old state, as well as they can be) so that a failed task leaves the connections as
/// it found them.
fn do_changes(
    env: &Env,
    ctx: &TaskContext<'_>,
    skip: Option<&str>,
    plan: impl FnOnce(&mut State) -> Result<ConnChanges>,
) -> Result {
    let changes = record_and_apply(ctx, plan)?;
    let mut snaps = changes.snaps();
    if let Some(skip) = skip {
        snaps.remove(skip);
    }
    if let Err(e) = rewrite_profiles(env, ctx, &snaps) {
        ctx.with_state(|st| -> std::result::Result<(), StateError> {
            changes.revert(st)?;
            if let Some(t) = st.task_mut(ctx.task_id()) {
                t.remove(CHANGES_KEY);
            }
            Ok(())
        })?;
        if let Err(again) = rewrite_profiles(env, ctx, &snaps) {
            tracing::error!(
                "cannot restore the profiles after a failed connection change: {again}"
            );
        }
        return Err(e);
    }
    for c in &changes.0 {
        ctx.log(describe(c));
    }
    Ok(())
}

/// Undo: the recorded old entries back, and the profiles rewritten.
fn undo_changes(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let changes = ctx.with_state(|st| -> Result<Option<ConnChanges>> {
        let Some(task) = st.task(ctx.task_id()) else {
            return Ok(None);
        };
        let Some(changes) = task.get::<ConnChanges>(CHANGES_KEY)? else {
            return Ok(None);
        };
        changes.revert(st)?;
        Ok(Some(changes))
    })?;
    match changes {
        Some(c) => rewrite_profiles(env, ctx, &c.snaps()),
        None => Ok(()),
    }
}

fn describe(c: &ConnChange) -> String {
    let connected = |s: &Option<ConnState>| s.as_ref().is_some_and(ConnState::is_connected);
    let (plug, slot) = (&c.conn.plug, &c.conn.slot);
    match (connected(&c.old), connected(&c.new)) {
        (false, true) => format!(
            "Connected {}:{} to {}:{}",
            plug.snap, plug.plug, slot.snap, slot.slot
        ),
        (true, false) => format!(
            "Disconnected {}:{} from {}:{}",
            plug.snap, plug.plug, slot.snap, slot.slot
        ),
        _ => format!(
            "Updated the connection of {}:{} and {}:{}",
            plug.snap, plug.plug, slot.snap, slot.slot
        ),
    }
}

/// Rewrites the profiles of the current revision of each of `snaps` that is installed and
/// active, from the connections in the state now. The system snap has no profiles.
pub fn rewrite_profiles(env: &Env, ctx: &TaskContext<'_>, snaps: &BTreeSet<String>) -> Result {
    for name in snaps {
        if name == SYSTEM_SNAP {
            continue;
        }
        let found = ctx.with_state(|st| -> std::result::Result<_, StateError> {
            let Some(entry) = get_snap(st, name)?.filter(|e| e.active) else {
                return Ok(None);
            };
            Ok(Some((entry, connections_of_snap(st, name, None)?)))
        })?;
        if let Some((entry, conns)) = found {
            profiles::write_profiles(env, name, entry.current, entry.devmode, &conns)?;
        }
    }
    Ok(())
}

// ----- connect / disconnect -----

pub fn connect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let cref = conn_ref_of(ctx)?;
    do_changes(env, ctx, None, |st| {
        let repo = Repo::load(st)?;
        let Some(conn) = repo.connection(&cref) else {
            return Err(HandlerError::error(format!(
                "cannot connect {}:{} to {}:{}: the plug or the slot no longer exists",
                cref.plug.snap, cref.plug.plug, cref.slot.snap, cref.slot.slot
            )));
        };
        let old = get_conn(st, &cref)?;
        if old.as_ref().is_some_and(ConnState::is_connected) {
            return Ok(ConnChanges::default());
        }
        let new = ConnState {
            interface: conn.plug.interface.clone(),
            plug_static: conn.plug.attrs.clone(),
            slot_static: conn.slot.attrs.clone(),
            ..ConnState::default()
        };
        Ok(ConnChanges(vec![ConnChange {
            conn: cref.clone(),
            old,
            new: Some(new),
        }]))
    })
}

pub fn undo_connect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    undo_changes(env, ctx)
}

/// A user's disconnect. An automatic connection is remembered as undesired, so that it is not
/// made again; a manual one is forgotten. With `forget`, the entry goes whatever it was
/// (undesired included), so the connection may be made automatically again.
pub fn disconnect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let cref = conn_ref_of(ctx)?;
    let forget = ctx.get::<bool>(FORGET_KEY)?.unwrap_or(false);
    do_changes(env, ctx, None, |st| {
        let old = get_conn(st, &cref)?;
        if forget {
            return Ok(ConnChanges(
                old.map(|o| ConnChange {
                    conn: cref.clone(),
                    old: Some(o),
                    new: None,
                })
                .into_iter()
                .collect(),
            ));
        }
        let Some(current) = old.clone().filter(ConnState::is_connected) else {
            return Ok(ConnChanges::default());
        };
        let new = current.auto.then(|| ConnState {
            interface: current.interface.clone(),
            auto: true,
            by_gadget: current.by_gadget,
            undesired: true,
            ..ConnState::default()
        });
        Ok(ConnChanges(vec![ConnChange {
            conn: cref.clone(),
            old,
            new,
        }]))
    })
}

pub fn undo_disconnect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    undo_changes(env, ctx)
}

// ----- auto-connect / auto-disconnect -----

/// After `link-snap`: connects each plug of the new snap to the one slot the auto-connection
/// policy picks among the slots of installed snaps and the system slots, and, when the new snap
/// has slots, the plugs of other snaps for which one of them is now the only candidate.
/// Connections that exist, or that a user took down (undesired), are left as they are. Snaps
/// that another unfinished change works on take no part (the system snap always does).
pub fn auto_connect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let name = ctx.with_state(|st| snap_setup_of(st, ctx.task_id()))?.name;
    do_changes(env, ctx, None, |st| {
        let repo = Repo::load(st)?;
        let conns = all_conns(st)?;
        let busy: BTreeSet<String> = st
            .snaps_with_unready_changes()
            .into_iter()
            .filter(|(_, (chg, _))| *chg != ctx.change_id())
            .map(|(snap, _)| snap)
            .filter(|s| s != SYSTEM_SNAP && *s != name)
            .collect();
        let candidates: Vec<_> = repo
            .slots
            .iter()
            .filter(|s| !busy.contains(&s.snap))
            .cloned()
            .collect();
        let mut planned: Vec<ConnChange> = Vec::new();
        let mut plan = |plug: &snap_interfaces::PlugEnd, slot: &snap_interfaces::SlotEnd| {
            let cref = ConnRef::new(&plug.snap, &plug.plug, &slot.snap, &slot.slot);
            if conns.contains_key(&cref) || planned.iter().any(|c| c.conn == cref) {
                return;
            }
            planned.push(ConnChange {
                conn: cref,
                old: None,
                new: Some(ConnState {
                    interface: plug.interface.clone(),
                    auto: true,
                    plug_static: plug.attrs.clone(),
                    slot_static: slot.attrs.clone(),
                    ..ConnState::default()
                }),
            });
        };
        for plug in repo.plugs.iter().filter(|p| p.snap == name) {
            if let Some(slot) = snap_interfaces::auto_connect_slot(plug, &candidates, ON_CLASSIC) {
                plan(plug, &slot);
            }
        }
        if repo.slots.iter().any(|s| s.snap == name) {
            for plug in repo
                .plugs
                .iter()
                .filter(|p| p.snap != name && !busy.contains(&p.snap))
            {
                if let Some(slot) =
                    snap_interfaces::auto_connect_slot(plug, &candidates, ON_CLASSIC)
                    && slot.snap == name
                {
                    plan(plug, &slot);
                }
            }
        }
        Ok(ConnChanges(planned))
    })
}

pub fn undo_auto_connect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    undo_changes(env, ctx)
}

/// First in a removal: every connection of the snap goes, and so does what is remembered of
/// the ones a user took down. The other ends' profiles are rewritten; the snap's own are left
/// to `remove-profiles` (so that a snap whose mount is broken can still be removed), and undo
/// rewrites them with the connections restored.
pub fn auto_disconnect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let name = ctx.with_state(|st| snap_setup_of(st, ctx.task_id()))?.name;
    do_changes(env, ctx, Some(&name), |st| {
        Ok(ConnChanges(
            all_conns(st)?
                .into_iter()
                .filter(|(cref, _)| cref.involves(&name))
                .map(|(cref, c)| ConnChange {
                    conn: cref,
                    old: Some(c),
                    new: None,
                })
                .collect(),
        ))
    })
}

pub fn undo_auto_disconnect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    undo_changes(env, ctx)
}

/// When the last revision of a snap is discarded: forgets any entry of `conns` still naming it
/// (one made while the removal ran), so that a later install of the same name starts afresh.
pub fn forget_snap(st: &mut State, name: &str) -> std::result::Result<(), StateError> {
    for cref in all_conns(st)?.into_keys().filter(|c| c.involves(name)) {
        super::conns::remove_conn(st, &cref)?;
    }
    Ok(())
}
