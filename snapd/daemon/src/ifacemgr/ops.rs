//! Connecting and disconnecting on a user's request (`POST /v2/interfaces`): the plug and slot
//! are resolved and checked, then a change does the work, as in snapd.

use snap_core::dirs::Dirs;
use snap_interfaces::SYSTEM_SNAP;
use snap_state::{ChangeConflict, ChangeId, State, StateError, Status};

use super::conns::{ConnRef, all_conns, get_conn};
use super::handlers::{FORGET_KEY, INTERFACE_KEY, PLUG_KEY, SLOT_KEY};
use super::hooks::{self, End};
use super::repo::{Repo, remap_snap};
use crate::daemon::Daemon;
use crate::snapmgr::model::Installed;

/// Why a request is refused, classified as the API answers it.
#[derive(Debug, thiserror::Error)]
pub enum IfaceOpError {
    /// 400 with no kind.
    #[error("{0}")]
    BadRequest(String),
    /// 400 `interfaces-unchanged`: there was nothing to do.
    #[error("{0}")]
    Unchanged(String),
    /// 501.
    #[error("{0}")]
    NotImplemented(String),
    #[error("{}", .0.message())]
    Conflict(ChangeConflict),
    #[error("{0}")]
    Internal(String),
}

impl From<StateError> for IfaceOpError {
    fn from(e: StateError) -> Self {
        IfaceOpError::Internal(e.to_string())
    }
}

type Result<T> = std::result::Result<T, IfaceOpError>;

fn bad(msg: impl Into<String>) -> IfaceOpError {
    IfaceOpError::BadRequest(msg.into())
}

/// `POST /v2/interfaces`: `{"action": "connect"|"disconnect", "plugs": [..], "slots": [..]}`.
/// Returns the change doing it.
pub fn change_interfaces(d: &Daemon, a: &snapd_api::InterfaceAction) -> Result<ChangeId> {
    if a.action.is_empty() {
        return Err(bad("interface action not specified"));
    }
    if a.plugs.len() > 1 || a.slots.len() > 1 {
        return Err(IfaceOpError::NotImplemented(
            "many-to-many operations are not implemented".into(),
        ));
    }
    if a.action != "connect" && a.action != "disconnect" {
        return Err(bad(format!("unsupported interface action: {:?}", a.action)));
    }
    let (Some(plug), Some(slot)) = (a.plugs.first(), a.slots.first()) else {
        return Err(bad("at least one plug and slot is required"));
    };
    let (plug_snap, slot_snap) = (remap_snap(&plug.snap), remap_snap(&slot.snap));
    let mut st = d.store.lock();
    for snap in [&plug_snap, &slot_snap] {
        if !snap.is_empty() && snap != SYSTEM_SNAP && st.snap(snap).is_none() {
            return Err(bad(format!("snap {snap:?} is not installed")));
        }
    }
    let repo = Repo::load(&st)?;
    let chg = match a.action.as_str() {
        "connect" => {
            let cref = resolve_connect(&repo, &plug_snap, &plug.plug, &slot_snap, &slot.slot)?;
            connect(&mut st, &d.dirs, &repo, &cref)?
        }
        _ => {
            let conns = resolve_disconnect(
                &st, &repo, &plug_snap, &plug.plug, &slot_snap, &slot.slot, a.forget,
            )?;
            let summary = match conns.as_slice() {
                [one] => disconnect_summary(one, a.forget),
                _ => format!(
                    "Disconnect {}:{} from {}:{}",
                    plug_snap, plug.plug, slot_snap, slot.slot
                ),
            };
            disconnect(&mut st, &d.dirs, &conns, &summary, a.forget)?
        }
    };
    st.commit()?;
    Ok(chg)
}

/// snapd's `ResolveConnect`: the plug must exist; an empty slot snap is the system snap, and an
/// empty slot name the only slot of the plug's interface on that snap.
pub fn resolve_connect(
    repo: &Repo,
    plug_snap: &str,
    plug_name: &str,
    slot_snap: &str,
    slot_name: &str,
) -> Result<ConnRef> {
    if plug_snap.is_empty() {
        return Err(bad("cannot resolve connection, plug snap name is empty"));
    }
    if plug_name.is_empty() {
        return Err(bad("cannot resolve connection, plug name is empty"));
    }
    let plug = repo.plug(plug_snap, plug_name).ok_or_else(|| {
        bad(format!(
            "snap {plug_snap:?} has no plug named {plug_name:?}"
        ))
    })?;
    let slot_snap = if slot_snap.is_empty() {
        SYSTEM_SNAP
    } else {
        slot_snap
    };
    let slot_name = if slot_name.is_empty() {
        let candidates: Vec<&str> = repo
            .slots
            .iter()
            .filter(|s| s.snap == slot_snap && s.interface == plug.interface)
            .map(|s| s.slot.as_str())
            .collect();
        match candidates.as_slice() {
            [] => {
                return Err(bad(format!(
                    "snap {slot_snap:?} has no {:?} interface slots",
                    plug.interface
                )));
            }
            [one] => one.to_string(),
            many => {
                return Err(bad(format!(
                    "snap {slot_snap:?} has multiple {:?} interface slots: {}",
                    plug.interface,
                    many.join(", ")
                )));
            }
        }
    } else {
        slot_name.to_owned()
    };
    let slot = repo.slot(slot_snap, &slot_name).ok_or_else(|| {
        bad(format!(
            "snap {slot_snap:?} has no slot named {slot_name:?}"
        ))
    })?;
    if slot.interface != plug.interface {
        return Err(bad(format!(
            "cannot connect {plug_snap}:{plug_name} ({:?} interface) to {slot_snap}:{slot_name} ({:?} interface)",
            plug.interface, slot.interface
        )));
    }
    Ok(ConnRef::new(plug_snap, plug_name, slot_snap, &slot_name))
}

/// snapd's `ResolveDisconnect`: `<snap>:<plug> <snap>:<slot>` names one connection, which must
/// exist; `<snap>:<plug or slot>` (in either pair) means every connection of that plug or slot.
/// An empty snap name stands for the system snap. With `forget`, what is remembered of a
/// connection counts too: an undesired one, or one whose plug or slot is gone.
pub fn resolve_disconnect(
    st: &State,
    repo: &Repo,
    plug_snap: &str,
    plug_name: &str,
    slot_snap: &str,
    slot_name: &str,
    forget: bool,
) -> Result<Vec<ConnRef>> {
    let system_if_empty = |s: &str| {
        if s.is_empty() {
            SYSTEM_SNAP.to_owned()
        } else {
            s.to_owned()
        }
    };
    let established: Vec<ConnRef> = all_conns(st)?
        .into_iter()
        .filter(|(cref, c)| forget || (c.is_connected() && repo.connection(cref).is_some()))
        .map(|(cref, _)| cref)
        .collect();
    let of = |snap: &str, name: &str| -> Vec<ConnRef> {
        established
            .iter()
            .filter(|c| {
                (c.plug.snap == snap && c.plug.plug == name)
                    || (c.slot.snap == snap && c.slot.slot == name)
            })
            .cloned()
            .collect()
    };
    let found = if !plug_name.is_empty() && !slot_name.is_empty() {
        let (plug_snap, slot_snap) = (system_if_empty(plug_snap), system_if_empty(slot_snap));
        let cref = ConnRef::new(&plug_snap, plug_name, &slot_snap, slot_name);
        if forget && established.contains(&cref) {
            return Ok(vec![cref]);
        }
        if repo.plug(&plug_snap, plug_name).is_none() {
            return Err(bad(format!(
                "snap {plug_snap:?} has no plug named {plug_name:?}"
            )));
        }
        if repo.slot(&slot_snap, slot_name).is_none() {
            return Err(bad(format!(
                "snap {slot_snap:?} has no slot named {slot_name:?}"
            )));
        }
        if !established.contains(&cref) {
            return Err(IfaceOpError::Unchanged(format!(
                "cannot disconnect {plug_snap}:{plug_name} from {slot_snap}:{slot_name}, it is not connected"
            )));
        }
        vec![cref]
    } else if !plug_name.is_empty() && slot_snap.is_empty() && slot_name.is_empty() {
        of(&system_if_empty(plug_snap), plug_name)
    } else if plug_snap.is_empty() && plug_name.is_empty() && !slot_name.is_empty() {
        of(&system_if_empty(slot_snap), slot_name)
    } else {
        return Err(bad(
            "allowed forms are <snap>:<plug> <snap>:<slot> or <snap>:<plug or slot>",
        ));
    };
    if found.is_empty() {
        return Err(IfaceOpError::Unchanged("nothing to do".into()));
    }
    Ok(found)
}

fn disconnect_summary(c: &ConnRef, forget: bool) -> String {
    let what = if forget {
        "Forget connection"
    } else {
        "Disconnect"
    };
    format!(
        "{what} {}:{} from {}:{}",
        c.plug.snap, c.plug.plug, c.slot.snap, c.slot.slot
    )
}

/// The snaps of the connections, sorted, once each.
fn affected(conns: &[ConnRef]) -> Vec<String> {
    let mut out: Vec<String> = conns
        .iter()
        .flat_map(|c| c.snaps())
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn new_change(st: &mut State, kind: &str, summary: &str, snaps: &[String]) -> Result<ChangeId> {
    let chg = st.new_change(kind, summary);
    let c = st.change_mut(chg).expect("just created");
    c.set("snap-names", snaps)?;
    c.set("api-data", &serde_json::json!({ "snap-names": snaps }))?;
    Ok(chg)
}

/// A `connect-snap` change with one `connect` task; for a pair already connected, a change
/// with no task that is Done at once (as snapd answers).
fn connect(st: &mut State, dirs: &Dirs, repo: &Repo, cref: &ConnRef) -> Result<ChangeId> {
    let snaps = affected(std::slice::from_ref(cref));
    let refs: Vec<&str> = snaps.iter().map(String::as_str).collect();
    st.check_conflict_many(&refs, None)
        .map_err(IfaceOpError::Conflict)?;
    let conn = repo.connection(cref).expect("resolved against this repo");
    snap_interfaces::check_connection(&conn.plug, &conn.slot).map_err(bad)?;
    let summary = format!(
        "Connect {}:{} to {}:{}",
        cref.plug.snap, cref.plug.plug, cref.slot.snap, cref.slot.slot
    );
    let chg = new_change(st, "connect-snap", &summary, &snaps)?;
    if get_conn(st, cref)?.is_some_and(|c| c.is_connected()) {
        st.set_change_status(chg, Some(Status::Done))?;
        return Ok(chg);
    }
    let before = hooks::add_hook(st, dirs, chg, None, "prepare", End::Plug, cref, None)?;
    let before = hooks::add_hook(st, dirs, chg, None, "prepare", End::Slot, cref, before)?;
    let task = st.new_task_in(chg, "connect", &summary)?;
    set_ends(st, task, cref, &conn.plug.interface)?;
    if let Some(b) = before {
        st.wait_for(task, b)?;
    }
    let after = hooks::add_hook(st, dirs, chg, None, "connect", End::Slot, cref, Some(task))?;
    hooks::add_hook(st, dirs, chg, None, "connect", End::Plug, cref, after)?;
    Ok(chg)
}

/// A `disconnect-snap` change with one `disconnect` task per connection, each in its own lane.
/// With `forget` the tasks also drop what is remembered of the connections.
fn disconnect(
    st: &mut State,
    dirs: &Dirs,
    conns: &[ConnRef],
    summary: &str,
    forget: bool,
) -> Result<ChangeId> {
    let snaps = affected(conns);
    let refs: Vec<&str> = snaps.iter().map(String::as_str).collect();
    st.check_conflict_many(&refs, None)
        .map_err(IfaceOpError::Conflict)?;
    let chg = new_change(st, "disconnect-snap", summary, &snaps)?;
    for cref in conns {
        let interface = get_conn(st, cref)?.map(|c| c.interface).unwrap_or_default();
        let lane = st.new_lane();
        // A connection remembered as undesired is not live: no hook has anything to undo.
        let live = get_conn(st, cref)?.is_some_and(|c| c.is_connected());
        let before = if live {
            let b = hooks::add_hook(
                st,
                dirs,
                chg,
                Some(lane),
                "disconnect",
                End::Slot,
                cref,
                None,
            )?;
            hooks::add_hook(st, dirs, chg, Some(lane), "disconnect", End::Plug, cref, b)?
        } else {
            None
        };
        let task = st.new_task_in(chg, "disconnect", &disconnect_summary(cref, forget))?;
        set_ends(st, task, cref, &interface)?;
        if forget {
            st.task_mut(task)
                .expect("just created")
                .set(FORGET_KEY, &true)?;
        }
        st.task_mut(task).expect("just created").join_lane(lane);
        if let Some(b) = before {
            st.wait_for(task, b)?;
        }
    }
    Ok(chg)
}

fn set_ends(
    st: &mut State,
    task: snap_state::TaskId,
    cref: &ConnRef,
    interface: &str,
) -> Result<()> {
    let t = st.task_mut(task).expect("just created");
    t.set(PLUG_KEY, &cref.plug)?;
    t.set(SLOT_KEY, &cref.slot)?;
    t.set(INTERFACE_KEY, interface)?;
    Ok(())
}
