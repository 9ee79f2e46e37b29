//! At the daemon's start, before the task runner: every kernel refresh waiting for its reboot
//! is concluded from the boot environment and the running kernel. The environment writes
//! come first and are durable before the change is recorded, so a crash in between is
//! concluded the same way at the next start ([`super::decide`]).

use anyhow::Context;
use gadget_kernel::boot::{BootEnv, SNAP_KERNEL, SNAP_TRY_KERNEL};
use snap_core::dirs::Dirs;
use snap_state::{StateStore, Status, TaskId};

use super::decide::{Action, decide, fell_back_message};
use super::{BootConfig, PREPARE_BOOT, envfile, extract, kernel_file};
use crate::snapmgr::handlers::snap_setup_of;

pub fn at_start(store: &StateStore, dirs: &Dirs) -> anyhow::Result<()> {
    let boot = BootConfig::from_env(dirs);
    let waiting: Vec<(TaskId, String)> = {
        let st = store.lock();
        st.tasks()
            .filter(|t| t.kind() == PREPARE_BOOT && t.status() == Status::Wait)
            .filter_map(|t| {
                let s = snap_setup_of(&st, t.id()).ok()?;
                Some((t.id(), kernel_file(&s.name, s.revision)))
            })
            .collect()
    };
    if waiting.is_empty() {
        return Ok(());
    }
    let running = boot.running_kernel()?;
    for (task, ours) in waiting {
        conclude_one(store, &boot, task, &ours, running.as_deref())
            .with_context(|| format!("cannot conclude the try of kernel {ours}"))?;
    }
    Ok(())
}

fn conclude_one(
    store: &StateStore,
    boot: &BootConfig,
    task: TaskId,
    ours: &str,
    running: Option<&str>,
) -> anyhow::Result<()> {
    let path = boot.grubenv();
    let mut env = envfile::read(&path)?;
    match decide(&env, ours, running) {
        Action::Leave { why } => {
            tracing::info!("kernel {ours} still waits for its reboot: {why}");
            Ok(())
        }
        Action::Confirm { writes } => {
            envfile::apply_durably(&path, &mut env, &writes, |_| {})?;
            let mut st = store.lock();
            if let Some(t) = st.task_mut(task) {
                t.log_info(format!("the new kernel {ours} booted: confirmed"));
            }
            st.resolve_wait(task)?;
            st.commit()?;
            tracing::info!("kernel {ours} confirmed");
            Ok(())
        }
        Action::FallBack { writes, running } => {
            envfile::apply_durably(&path, &mut env, &writes, |_| {})?;
            // The candidate's files go once nothing names them (never the boot kernel's).
            if env.var(SNAP_KERNEL) != ours && env.var(SNAP_TRY_KERNEL) != ours {
                extract::remove(&boot.kernel_dir(ours))?;
            }
            let msg = fell_back_message(&running);
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
