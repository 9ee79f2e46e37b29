//! The task kinds of services: `start-snap-services` (install, after the install hook),
//! `stop-snap-services` (removal, first), and `service-control` (`POST /v2/apps`). Each can
//! run again after a crash: starting a running service and stopping a stopped one are no-ops.

use std::sync::Arc;

use snap_state::{HandlerError, TaskContext, TaskRunner};

use super::ServiceManager;
use super::ops::{ACTION_KEY, ServiceAction};
use crate::snapmgr::handlers::snap_setup_of;

type Result<T = ()> = std::result::Result<T, HandlerError>;

pub fn register(runner: &mut TaskRunner, mgr: Arc<ServiceManager>) {
    let m = mgr.clone();
    let m2 = mgr.clone();
    runner.add_handler_with_undo(
        "start-snap-services",
        move |ctx: &TaskContext<'_>| start(&m, ctx),
        move |ctx: &TaskContext<'_>| stop(&m2, ctx, false),
    );
    let m = mgr.clone();
    let m2 = mgr.clone();
    runner.add_handler_with_undo(
        "stop-snap-services",
        move |ctx: &TaskContext<'_>| stop(&m, ctx, true),
        move |ctx: &TaskContext<'_>| start(&m2, ctx),
    );
    let m = mgr;
    runner.add_handler(
        "service-control",
        move |ctx: &TaskContext<'_>| control(&m, ctx),
        None,
    );
}

fn snap_name(ctx: &TaskContext<'_>) -> Result<String> {
    ctx.with_state(|st| snap_setup_of(st, ctx.task_id()))
        .map(|s| s.name)
}

fn start(mgr: &ServiceManager, ctx: &TaskContext<'_>) -> Result {
    let snap = snap_name(ctx)?;
    mgr.start_snap(&snap)
        .map_err(|e| HandlerError::error(e.to_string()))?;
    // A change that stopped running services to replace them (a refresh, a revert) must not
    // leave the snap with services that die: the new ones are watched for a grace period,
    // and a death fails the change, which brings the old revision back.
    if !ctx.is_undo() && replaces_services(ctx) {
        mgr.check_survived(&snap, service_grace())
            .map_err(|e| HandlerError::error(e.to_string()))?;
    }
    Ok(())
}

fn replaces_services(ctx: &TaskContext<'_>) -> bool {
    ctx.with_state(|st| {
        st.change_tasks(ctx.change_id())
            .iter()
            .any(|t| t.kind() == "stop-snap-services")
    })
}

/// One second, or `SNAPD_SERVICE_GRACE_MS` (tests).
fn service_grace() -> std::time::Duration {
    std::env::var("SNAPD_SERVICE_GRACE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_millis,
        )
}

/// The services stop; on removal (the task's `stop-reason` is `remove`, or the change removes
/// the snap) they go with their traces (cgroup, output, logs, state entry); otherwise (a later
/// refresh: `stop-reason: refresh`) they stay known. Undoing an install stops and forgets.
fn stop(mgr: &ServiceManager, ctx: &TaskContext<'_>, do_: bool) -> Result {
    let snap = snap_name(ctx)?;
    let reason: Option<String> = ctx.get("stop-reason")?;
    let removing = ctx.with_state(|st| {
        st.change(ctx.change_id())
            .is_some_and(|c| c.kind() == "remove-snap")
    });
    let forget = if do_ {
        reason.as_deref() == Some("remove") || (reason.is_none() && removing)
    } else {
        true
    };
    mgr.stop_snap(&snap, forget)
        .map_err(|e| HandlerError::error(e.to_string()))
}

fn control(mgr: &ServiceManager, ctx: &TaskContext<'_>) -> Result {
    let a: ServiceAction = ctx.get(ACTION_KEY)?.ok_or_else(|| {
        HandlerError::error("internal error: service-control task without action")
    })?;
    mgr.control(a.action, &a.services, a.enable, a.disable)
        .map_err(|e| HandlerError::error(e.to_string()))
}
