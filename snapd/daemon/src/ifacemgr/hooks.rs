//! The interface hooks of a connection, as snapd chains them: `prepare-plug-P`,
//! `prepare-slot-S`, then `connect`, then `connect-slot-S` and `connect-plug-P`; for a
//! disconnection `disconnect-slot-S` and `disconnect-plug-P` before `disconnect`. A task is
//! added only for a hook the snap has; a failing one fails the change, which undoes the
//! connection.

use snap_core::dirs::Dirs;
use snap_state::{ChangeId, State, StateError, TaskId};

use super::conns::ConnRef;
use crate::hookmgr::setup::{HOOK_SETUP_KEY, HookSetup};
use crate::snapmgr::model::get_snap;
use crate::snapmgr::plan::hook_summary;

/// Which end of the connection a hook belongs to.
#[derive(Clone, Copy)]
pub enum End {
    Plug,
    Slot,
}

/// The hook's name: `STAGE-plug-NAME` or `STAGE-slot-NAME`.
pub fn hook_name(stage: &str, end: End, cref: &ConnRef) -> (String, String) {
    match end {
        End::Plug => (
            cref.plug.snap.clone(),
            format!("{stage}-plug-{}", cref.plug.plug),
        ),
        End::Slot => (
            cref.slot.snap.clone(),
            format!("{stage}-slot-{}", cref.slot.slot),
        ),
    }
}

// The chain's place (state, change, lane, predecessor) and the hook's (stage, end, connection)
// are all needed; a struct for them would only be taken apart again.
#[allow(clippy::too_many_arguments)]
/// Adds a `run-hook` task for the hook of `end` at `stage`, if that snap has it, waiting for
/// `after`; returns the task (or `after` unchanged when there is none).
pub fn add_hook(
    st: &mut State,
    dirs: &Dirs,
    chg: ChangeId,
    lane: Option<u64>,
    stage: &str,
    end: End,
    cref: &ConnRef,
    after: Option<TaskId>,
) -> Result<Option<TaskId>, StateError> {
    let (snap, hook) = hook_name(stage, end, cref);
    let Some(installed) = get_snap(st, &snap)? else {
        // The system snap has no hooks.
        return Ok(after);
    };
    let rev = installed.current;
    if !dirs
        .mount_point(&snap, rev)
        .join("meta/hooks")
        .join(&hook)
        .exists()
    {
        return Ok(after);
    }
    let summary = hook_summary(&snap, &hook, false);
    let task = st.new_task_in(chg, "run-hook", &summary)?;
    let t = st.task_mut(task).expect("just created");
    t.set(
        HOOK_SETUP_KEY,
        &HookSetup {
            snap,
            revision: Some(rev),
            hook,
            optional: false,
            ignore_error: false,
            use_defaults: false,
            timeout: None,
        },
    )?;
    if let Some(l) = lane {
        t.join_lane(l);
    }
    if let Some(a) = after {
        st.wait_for(task, a)?;
    }
    Ok(Some(task))
}
