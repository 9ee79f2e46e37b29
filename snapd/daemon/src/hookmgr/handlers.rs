//! The `run-hook` task. A hook the snap does not have is skipped when optional; otherwise it
//! runs confined under its own profile, with the context `snapctl` reaches it through, and
//! what it set (configuration, health) is committed only when it succeeds. A failure fails
//! the task, so the change rolls back, unless the hook's failure is to be ignored (remove).

use serde_json::{Map, Value};
use snap_state::{HandlerError, TaskContext};

use super::contexts::HookContext;
use super::process::{self, HookRun, Outcome};
use super::setup::{HOOK_SETUP_KEY, HookSetup, go_duration};
use crate::configmgr::tx::Transaction;
use crate::healthmgr;
use crate::snapmgr::handlers::Env;
use crate::snapmgr::model::get_snap;
use crate::snapmgr::profiles::mounted_snap_yaml;

/// The task data holding the configuration a `configure-snap` change applies.
pub const PATCH_KEY: &str = "patch";

/// The snap whose configuration is the system's own (`snap set system ...`): no hook runs.
pub const SYSTEM_SNAP: &str = "core";

type Result<T = ()> = std::result::Result<T, HandlerError>;

pub fn run_hook(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let setup: HookSetup = ctx
        .get(HOOK_SETUP_KEY)?
        .ok_or_else(|| HandlerError::error("internal error: task has no hook-setup"))?;
    let patch: Map<String, Value> = ctx.get(PATCH_KEY)?.unwrap_or_default();
    let mut tx = ctx.with_state(|st| Transaction::begin(st, &setup.snap))?;
    if setup.use_defaults {
        for (k, v) in gadget_defaults(env, ctx, &setup.snap)? {
            tx.set(&k, v).map_err(HandlerError::error)?;
        }
    }
    for (k, v) in patch {
        tx.set(&k, v).map_err(HandlerError::error)?;
    }

    let revision = match setup.revision {
        Some(r) if setup.snap != SYSTEM_SNAP && snap_has_hook(env, ctx, &setup, r)? => r,
        _ => {
            if !setup.optional && setup.snap != SYSTEM_SNAP {
                return Err(HandlerError::error(format!(
                    "snap {:?} has no {:?} hook",
                    setup.snap, setup.hook
                )));
            }
            return ctx.finish(|st| tx.commit(st).map_err(HandlerError::from));
        }
    };

    let registration = env
        .hook_contexts
        .register(HookContext {
            snap: setup.snap.clone(),
            revision,
            tx,
            health: None,
        })
        .map_err(|e| HandlerError::error(format!("cannot make a hook context: {e}")))?;
    let launcher = env.snap_binary.with_file_name("snap-confine");
    let outcome = process::run(&HookRun {
        launcher: &launcher,
        root: env.dirs.root(),
        snap: &setup.snap,
        hook: &setup.hook,
        context_id: &registration.id,
        timeout: test_timeout().unwrap_or_else(|| setup.timeout()),
    })
    .map_err(|e| {
        HandlerError::error(format!(
            "cannot run hook {:?} with {}: {e}",
            setup.hook,
            launcher.display()
        ))
    })?;
    let context = registration.context.clone();
    drop(registration);
    let failure = match outcome {
        Outcome::Exited { status, output } if status.success() => {
            if !output.is_empty() {
                ctx.log(format!("hook {:?} said: {output}", setup.hook));
            }
            None
        }
        Outcome::Exited { status, output } => Some(if output.is_empty() {
            match status.code() {
                Some(c) => format!("exit status {c}"),
                None => format!("{status}"),
            }
        } else {
            output
        }),
        Outcome::TimedOut { output } => {
            if !output.is_empty() {
                ctx.log(format!(
                    "hook {:?} said before it was killed: {output}",
                    setup.hook
                ));
            }
            Some(format!(
                "exceeded maximum runtime of {}",
                go_duration(test_timeout().unwrap_or_else(|| setup.timeout()))
            ))
        }
    };
    if let Some(why) = failure {
        let msg = format!("run hook {:?}: {why}", setup.hook);
        if setup.ignore_error {
            ctx.log(format!("ignoring failure in hook {:?}: {msg}", setup.hook));
            return ctx.finish(|_| Ok(()));
        }
        return Err(HandlerError::error(msg));
    }
    let done = context.lock().unwrap_or_else(|e| e.into_inner());
    ctx.finish(|st| {
        done.tx.commit(st)?;
        if let Some(h) = &done.health {
            healthmgr::set(st, &setup.snap, h)?;
        }
        Ok(())
    })
}

fn snap_has_hook(
    env: &Env,
    ctx: &TaskContext<'_>,
    setup: &HookSetup,
    revision: snap_core::Revision,
) -> Result<bool> {
    let installed = ctx.with_state(|st| get_snap(st, &setup.snap))?;
    if installed.is_none() {
        return Err(HandlerError::error(format!(
            "snap {:?} is not installed",
            setup.snap
        )));
    }
    let snap = mounted_snap_yaml(env, &setup.snap, revision)?;
    Ok(snap.hooks.contains_key(&setup.hook))
}

/// The installed gadget's defaults for `snap`, by the snap's store id (a snap installed from a
/// file has none, and gets none).
fn gadget_defaults(
    env: &Env,
    ctx: &TaskContext<'_>,
    snap: &str,
) -> Result<std::collections::BTreeMap<String, Value>> {
    ctx.with_state(|st| {
        let Some(id) = get_snap(st, snap)?.and_then(|s| s.snap_id) else {
            return Ok(Default::default());
        };
        let gadget = crate::gadget::installed_gadget(st, &env.dirs).map_err(HandlerError::error)?;
        Ok(gadget
            .map(|g| crate::gadget::defaults_for(&g, &id))
            .unwrap_or_default())
    })
}

/// `SNAPD_TEST_HOOK_TIMEOUT_MS`: a short limit for every hook, so that tests of a hanging hook
/// do not wait ten minutes.
fn test_timeout() -> Option<std::time::Duration> {
    std::env::var("SNAPD_TEST_HOOK_TIMEOUT_MS")
        .ok()?
        .parse()
        .ok()
        .map(std::time::Duration::from_millis)
}
