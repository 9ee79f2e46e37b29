//! At the daemon's start, before the task runner: every kernel or base refresh waiting for
//! its reboot is concluded from the boot environment and the running file of its boot slot
//! (`snap_kernel=`, `snap_core=` on the command line); a kernel's and a base's tries are
//! concluded independently. The environment writes come first and are durable before the
//! change is recorded, so a crash in between is concluded the same way at the next start
//! ([`super::decide`]).

use anyhow::Context;
use gadget_kernel::boot::BootSlot;
use snap_core::dirs::Dirs;
use snap_state::{StateStore, Status, TaskId};

use super::config::slot_of;
use super::decide::{Action, decide, fell_back_message};
use super::handlers::{REBOOT_ASKED_IN_BOOT_KEY, reboot_reason, remove_unnamed};
use super::{BootConfig, PREPARE_BOOT, envfile, kernel_file};
use crate::snapmgr::handlers::snap_setup_of;

pub fn at_start(store: &StateStore, dirs: &Dirs) -> anyhow::Result<()> {
    let boot = BootConfig::from_env(dirs);
    let waiting: Vec<(TaskId, BootSlot, String)> = {
        let st = store.lock();
        st.tasks()
            .filter(|t| t.kind() == PREPARE_BOOT && t.status() == Status::Wait)
            .filter_map(|t| {
                let s = snap_setup_of(&st, t.id()).ok()?;
                Some((
                    t.id(),
                    slot_of(&s.snap_type)?,
                    kernel_file(&s.name, s.revision),
                ))
            })
            .collect()
    };
    for (task, slot, ours) in waiting {
        let running = boot.running(slot)?;
        conclude_one(store, &boot, task, slot, &ours, running.as_deref())
            .with_context(|| format!("cannot conclude the try of {} {ours}", slot.what))?;
    }
    Ok(())
}

fn conclude_one(
    store: &StateStore,
    boot: &BootConfig,
    task: TaskId,
    slot: BootSlot,
    ours: &str,
    running: Option<&str>,
) -> anyhow::Result<()> {
    let what = slot.what;
    let path = boot.env_path();
    let mut env = envfile::read(&path)?;
    match decide(slot, &env, ours, running) {
        Action::Leave { why } => {
            tracing::info!("{what} {ours} still waits for its reboot: {why}");
            let asked_in: Option<String> = store
                .lock()
                .task(task)
                .and_then(|t| t.get(REBOOT_ASKED_IN_BOOT_KEY).ok().flatten());
            let this_boot = crate::servicemgr::state::current_boot_id();
            if asked_in.is_some_and(|b| !b.is_empty() && b == this_boot) {
                // The daemon restarted before the reboot it asked for: ask again.
                crate::restart::request_system_restart(&reboot_reason(slot));
            }
            Ok(())
        }
        Action::Confirm { writes } => {
            envfile::apply_durably(&path, &mut env, &writes, |_| {})?;
            let mut st = store.lock();
            if let Some(t) = st.task_mut(task) {
                t.log_info(format!("the new {what} {ours} booted: confirmed"));
            }
            st.resolve_wait(task)?;
            st.commit()?;
            tracing::info!("{what} {ours} confirmed");
            Ok(())
        }
        Action::FallBack { writes, running } => {
            envfile::apply_durably(&path, &mut env, &writes, |_| {})?;
            // A kernel candidate's files go once nothing names them (never the boot
            // kernel's).
            remove_unnamed(boot, slot, &env, ours)?;
            let msg = fell_back_message(slot, &running);
            let mut st = store.lock();
            let (change, lanes) = {
                let t = st.task(task).context("the task went away")?;
                (t.change().context("the task has no change")?, t.lanes())
            };
            st.set_task_status(task, Status::Error)?;
            if let Some(t) = st.task_mut(task) {
                t.log_error(&msg);
            }
            // As a failing handler: the lane is rolled back (link-snap's undo links the old
            // kernel again) and what follows never runs.
            st.abort_lanes(change, &lanes);
            st.commit()?;
            tracing::warn!("{msg}: undoing the refresh");
            Ok(())
        }
    }
}
