//! The `switch-snap-channel` task: the snap's tracked channel, changed (and changed back on
//! undo).

use snap_state::{HandlerError, State, TaskContext};

use super::model::{SNAPS_KEY, get_snap};
use super::refresh_ops::SWITCH_CHANNEL_KEY;

type Result<T = ()> = std::result::Result<T, HandlerError>;

pub fn switch_channel(ctx: &TaskContext<'_>) -> Result {
    let to: String = ctx
        .get(SWITCH_CHANNEL_KEY)?
        .ok_or_else(|| HandlerError::error("internal error: no channel to switch to"))?;
    let setup = super::handlers::setup_of_task(ctx)?;
    // The old channel, once: a re-run after a crash must not record the new one as old.
    if ctx.get::<String>("old-channel")?.is_none() {
        let old = ctx
            .with_state(|st| get_snap(st, &setup.name))?
            .and_then(|s| s.tracking_channel)
            .unwrap_or_default();
        ctx.set("old-channel", &old)?;
    }
    set_tracking(ctx, &setup.name, Some(to))
}

pub fn undo_switch_channel(ctx: &TaskContext<'_>) -> Result {
    let setup = super::handlers::setup_of_task(ctx)?;
    let old: Option<String> = ctx.get::<String>("old-channel")?.filter(|c| !c.is_empty());
    set_tracking(ctx, &setup.name, old)
}

fn set_tracking(ctx: &TaskContext<'_>, name: &str, channel: Option<String>) -> Result {
    ctx.finish(|st: &mut State| -> Result {
        if let Some(mut s) = get_snap(st, name)? {
            s.tracking_channel = channel;
            st.set_entry(SNAPS_KEY, name, &s)?;
        }
        Ok(())
    })
}
