//! The last two tasks of the `seed` change: `gadget-connect` (the gadget's connections become
//! `connect` tasks of the same change) and `mark-seeded` (the gadget's `system` defaults into
//! the system's configuration, then `seeded: true`).

use std::collections::BTreeMap;

use gadget_kernel::GadgetYaml;
use snap_state::{HandlerError, State, TaskContext, TaskRunner};

use super::gadget::{resolve_connections, skipped_default_stanzas, to_json};
use super::{GADGET_CONNECT, MARK_SEEDED, SEED_TIME_KEY, SEEDED_KEY};
use crate::configmgr::tx::Transaction;
use crate::hookmgr::handlers::SYSTEM_SNAP as SYSTEM_CONFIG_SNAP;
use crate::ifacemgr::conns::get_conn;
use crate::ifacemgr::handlers::{INTERFACE_KEY, PLUG_KEY, SLOT_KEY};
use crate::ifacemgr::ops::resolve_connect;
use crate::ifacemgr::repo::Repo;
use crate::snapmgr::handlers::Env;

type Result<T = ()> = std::result::Result<T, HandlerError>;

pub fn register(runner: &mut TaskRunner, env: std::sync::Arc<Env>) {
    let e = env.clone();
    runner.add_handler(
        GADGET_CONNECT,
        move |ctx: &TaskContext<'_>| gadget_connect(&e, ctx),
        None,
    );
    runner.add_handler(
        MARK_SEEDED,
        move |ctx: &TaskContext<'_>| mark_seeded(&env, ctx),
        None,
    );
}

/// snap-ids of the installed snaps (those installed from a store have one; files have none):
/// what gadget defaults and connections are matched against.
fn known_snap_ids(st: &State) -> BTreeMap<String, String> {
    crate::gadget::known_snap_ids(st).unwrap_or_default()
}

/// The seeded gadget's gadget.yaml; `None` without a gadget (a seed without one is allowed, as
/// on classic systems).
fn seeded_gadget(env: &Env, ctx: &TaskContext<'_>) -> Result<Option<GadgetYaml>> {
    ctx.with_state(|st| crate::gadget::installed_gadget(st, &env.dirs))
        .map_err(HandlerError::error)
}

fn gadget_connect(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let Some(gadget) = seeded_gadget(env, ctx)? else {
        ctx.log("no gadget snap was seeded: no connections to make");
        return Ok(());
    };
    ctx.finish(|st: &mut State| -> Result {
        let (resolved, skipped) = resolve_connections(
            gadget.connections(),
            &known_snap_ids(st),
            snap_interfaces::SYSTEM_SNAP,
        );
        let mut notes = skipped;
        let me = ctx.task_id();
        let lanes = st.task(me).map(|t| t.lanes()).unwrap_or_default();
        let mark = st
            .change_tasks(ctx.change_id())
            .iter()
            .find(|t| t.kind() == MARK_SEEDED)
            .map(|t| t.id());
        let repo = Repo::load(st)?;
        for r in resolved {
            let cref = match resolve_connect(&repo, &r.plug_snap, &r.plug, &r.slot_snap, &r.slot) {
                Ok(c) => c,
                Err(e) => {
                    notes.push(format!(
                        "gadget connection {}:{} {}:{} skipped: {e}",
                        r.plug_snap, r.plug, r.slot_snap, r.slot
                    ));
                    continue;
                }
            };
            if get_conn(st, &cref)?.is_some_and(|c| c.is_connected()) {
                continue;
            }
            let conn = repo.connection(&cref).expect("resolved against this repo");
            if let Err(e) = snap_interfaces::check_connection(&conn.plug, &conn.slot) {
                notes.push(format!("gadget connection {cref:?} skipped: {e}"));
                continue;
            }
            let summary = format!(
                "Connect {}:{} to {}:{}",
                cref.plug.snap, cref.plug.plug, cref.slot.snap, cref.slot.slot
            );
            // Added to this change (as snapd injects them), after this task and before
            // mark-seeded, in the same lane: a later failure undoes them with the rest.
            let t = st.new_task_in(ctx.change_id(), "connect", &summary)?;
            let task = st.task_mut(t).expect("just created");
            task.set(PLUG_KEY, &cref.plug)?;
            task.set(SLOT_KEY, &cref.slot)?;
            task.set(INTERFACE_KEY, &conn.plug.interface)?;
            for l in &lanes {
                task.join_lane(*l);
            }
            st.wait_for(t, me)?;
            if let Some(m) = mark {
                st.wait_for(m, t)?;
            }
        }
        if let Some(t) = st.task_mut(me) {
            for n in notes {
                t.log_info(n);
            }
        }
        Ok(())
    })
}

/// `SNAPD_TEST_FAIL_TASK=mark-seeded` (the variable the snap manager's handlers read) fails
/// this task, so that a test can see every seeded snap undone.
fn injected_failure(kind: &str) -> Result {
    let listed = std::env::var("SNAPD_TEST_FAIL_TASK")
        .unwrap_or_default()
        .split(',')
        .any(|k| k == kind);
    if listed {
        return Err(HandlerError::error(format!("injected failure of {kind}")));
    }
    Ok(())
}

fn mark_seeded(env: &Env, ctx: &TaskContext<'_>) -> Result {
    injected_failure(MARK_SEEDED)?;
    let gadget = seeded_gadget(env, ctx)?;
    ctx.finish(|st: &mut State| -> Result {
        let mut notes = Vec::new();
        if let Some(g) = &gadget {
            if let Some(defaults) = g.system_defaults() {
                let mut tx = Transaction::begin(st, SYSTEM_CONFIG_SNAP)?;
                for (key, value) in &defaults {
                    tx.set(key, to_json(value)).map_err(|e| {
                        HandlerError::error(format!("invalid gadget default {key:?}: {e}"))
                    })?;
                }
                tx.commit(st)?;
                notes.push(format!(
                    "applied {} system default(s) from the gadget",
                    defaults.len()
                ));
            }
            for id in skipped_default_stanzas(g.defaults(), &known_snap_ids(st)) {
                notes.push(format!(
                    "gadget defaults for snap-id {id:?} skipped: no seeded snap has that snap-id (the seed is unasserted)"
                ));
            }
        }
        // What `snap wait system seed.loaded` waits for, as snapd sets it.
        let mut tx = Transaction::begin(st, SYSTEM_CONFIG_SNAP)?;
        tx.set("seed.loaded", serde_json::Value::Bool(true))
            .map_err(HandlerError::error)?;
        tx.commit(st)?;
        st.set(SEEDED_KEY, &true)?;
        st.set(SEED_TIME_KEY, &snap_state::Timestamp::now().to_rfc3339())?;
        if let Some(t) = st.task_mut(ctx.task_id()) {
            for n in notes {
                t.log_info(n);
            }
        }
        Ok(())
    })
}
