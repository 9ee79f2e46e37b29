//! `prepare-boot`: the reboot point of a kernel or base refresh. It runs after `link-snap`
//! of the new revision. For a kernel it extracts the boot files; a base needs nothing on the
//! boot partition (the bootloader passes its file name to the initramfs, which mounts it
//! from `/var/lib/snapd/snaps`, where the refresh already put it). Then it writes the try
//! variables of the snap's boot slot (`prepare_try`) one durable write at a time and leaves
//! the task in Wait until the next start concludes the try ([`super::startup`]). Its undo
//! withdraws the try (or, for a refresh already confirmed, switches the boot file back) and
//! removes a kernel's extracted files.
//!
//! Re-run after a crash, it finds what is done: a try of this file already prepared only
//! waits; an extraction cut short is made again (grub ignores the directory until
//! `kernel_status=try` is durable).

use std::path::Path;
use std::sync::Arc;

use gadget_kernel::boot::{BootEnv, BootSlot, KERNEL_SLOT};
use snap_core::dirs::Dirs;
use snap_state::{HandlerError, Status, TaskContext, TaskRunner};

use super::config::slot_of;
use super::decide::{Action, decide, fell_back_message};
use super::{BootConfig, PREPARE_BOOT, envfile, extract, kernel_file};
use crate::snapmgr::handlers::setup_of_task;
use crate::snapmgr::setup::SnapSetup;

/// The reason the task of `slot` waits with ("reboot required to try the new kernel").
pub fn reboot_reason(slot: BootSlot) -> String {
    format!("reboot required to try the new {}", slot.what)
}

/// The task waits for the reboot that boots the candidate; the system is asked to restart
/// (`crate::restart`: announced to clients, and done if the device configured how).
fn wait_for_reboot(ctx: &TaskContext<'_>, slot: BootSlot) -> HandlerError {
    let why = super::revisions::reboot_reason(ctx, slot);
    // Which boot asked: a start in the same boot (the daemon restarted before the reboot)
    // asks again; a start in another boot that still finds `try` does not (the bootloader
    // ignored the try, and asking again would reboot for ever).
    if let Err(e) = ctx.set(
        REBOOT_ASKED_IN_BOOT_KEY,
        &crate::servicemgr::state::current_boot_id(),
    ) {
        return e.into();
    }
    crate::restart::request_system_restart(&why);
    HandlerError::wait(why)
}

/// Task data: the boot id of the boot in which the reboot was asked for.
pub(super) const REBOOT_ASKED_IN_BOOT_KEY: &str = "reboot-asked-in-boot";

/// Task data: the slot's boot file before the try (`boot-kernel`, `boot-base`), to switch
/// back to when undoing a confirmed refresh.
fn boot_file_key(slot: BootSlot) -> String {
    format!("boot-{}", slot.what)
}

/// Whether the slot's files are extracted to the boot directory (a kernel's are; a base is
/// mounted from its snap file).
fn extracts(slot: BootSlot) -> bool {
    slot == KERNEL_SLOT
}

/// Crash injection for tests: `extracted` (after a kernel's files are synced) or
/// `env-write-N` (after the N-th environment write is durable) aborts the daemon there.
pub const CRASH_ENV: &str = "SNAPD_TEST_BOOT_CRASH";

type Result<T = ()> = std::result::Result<T, HandlerError>;

struct Ctx {
    dirs: Dirs,
    boot: BootConfig,
    crash: Option<String>,
}

impl Ctx {
    fn crash_point(&self, at: &str) {
        if self.crash.as_deref() == Some(at) {
            tracing::error!("{CRASH_ENV}={at}: aborting");
            std::process::abort();
        }
    }
}

pub fn register(runner: &mut TaskRunner, dirs: Dirs) {
    let c = Arc::new(Ctx {
        boot: BootConfig::from_env(&dirs),
        dirs,
        crash: std::env::var(CRASH_ENV).ok().filter(|s| !s.is_empty()),
    });
    let undo = c.clone();
    runner.add_handler_with_undo(
        PREPARE_BOOT,
        move |ctx: &TaskContext<'_>| prepare_boot(&c, ctx),
        move |ctx: &TaskContext<'_>| undo_prepare_boot(&undo, ctx),
    );
}

fn fail(e: anyhow::Error) -> HandlerError {
    HandlerError::error(format!("{e:#}"))
}

/// The snap's setup and its boot slot.
fn setup_and_slot(ctx: &TaskContext<'_>) -> Result<(SnapSetup, BootSlot)> {
    let s = setup_of_task(ctx)?;
    let slot = slot_of(&s.snap_type).ok_or_else(|| {
        HandlerError::error(format!(
            "internal error: a snap of type {:?} has no boot slot",
            s.snap_type
        ))
    })?;
    Ok((s, slot))
}

fn prepare_boot(c: &Ctx, ctx: &TaskContext<'_>) -> Result {
    let (s, slot) = setup_and_slot(ctx)?;
    let ours = kernel_file(&s.name, s.revision);
    let path = c.boot.env_path();
    let mut env = envfile::read(&path).map_err(fail)?;
    if env.var(slot.current) != ours {
        // Recorded on every run: a run cut short by a crash may not have kept it.
        ctx.set(&boot_file_key(slot), env.var(slot.current))?;
    }
    if env.var(slot.candidate) == ours {
        match env.var(slot.status) {
            // Prepared before a crash that came before the Wait was recorded.
            "try" => return Err(wait_for_reboot(ctx, slot)),
            // Prepared, then a power cut rebooted the device before the Wait was recorded:
            // grub has tried the candidate. Conclude here, as the start does for a waiting task.
            "trying" => return conclude_now(c, ctx, slot, &path, &mut env, &ours),
            _ => {}
        }
    }
    let prepared = slot.prepare_try(&env, &ours).map_err(HandlerError::error)?;
    if !prepared.reboot {
        // Already the boot file (a refresh to the kernel or base that runs): nothing to try.
        envfile::apply_durably(&path, &mut env, &prepared.writes, |_| {}).map_err(fail)?;
        return Ok(());
    }
    if extracts(slot) {
        let mount = c.dirs.mount_point(&s.name, s.revision);
        extract::extract(&mount, &c.boot.kernel_dir(&ours), c.boot.extracts_dtbs())
            .map_err(fail)?;
        c.crash_point("extracted");
    }
    envfile::apply_durably(&path, &mut env, &prepared.writes, |i| {
        c.crash_point(&format!("env-write-{i}"))
    })
    .map_err(fail)?;
    Err(wait_for_reboot(ctx, slot))
}

/// Removes a kernel's extracted files once the environment names them no more.
pub(super) fn remove_unnamed(
    boot: &BootConfig,
    slot: BootSlot,
    env: &impl BootEnv,
    ours: &str,
) -> anyhow::Result<()> {
    if extracts(slot) && env.var(slot.current) != ours && env.var(slot.candidate) != ours {
        extract::remove(&boot.kernel_dir(ours))?;
    }
    Ok(())
}

fn conclude_now(
    c: &Ctx,
    ctx: &TaskContext<'_>,
    slot: BootSlot,
    path: &Path,
    env: &mut envfile::Env,
    ours: &str,
) -> Result {
    let running = c.boot.running(slot).map_err(fail)?;
    match decide(slot, env, ours, running.as_deref()) {
        Action::Confirm { writes } => {
            envfile::apply_durably(path, env, &writes, |_| {}).map_err(fail)?;
            ctx.log(format!("the new {} {ours} booted: confirmed", slot.what));
            Ok(())
        }
        Action::FallBack { writes, running } => {
            envfile::apply_durably(path, env, &writes, |_| {}).map_err(fail)?;
            remove_unnamed(&c.boot, slot, env, ours).map_err(fail)?;
            // The task fails: its lane, the link of the new revision included, is undone.
            Err(HandlerError::error(fell_back_message(slot, &running)))
        }
        Action::Leave { why } => {
            ctx.log(format!("cannot conclude the try yet: {why}"));
            Err(wait_for_reboot(ctx, slot))
        }
    }
}

fn undo_prepare_boot(c: &Ctx, ctx: &TaskContext<'_>) -> Result {
    let (s, slot) = setup_and_slot(ctx)?;
    let ours = kernel_file(&s.name, s.revision);
    let path = c.boot.env_path();
    let mut env = envfile::read(&path).map_err(fail)?;
    let writes = if env.var(slot.current) == ours {
        // The refresh was confirmed and is undone later in its change: both revisions are
        // known to boot, switch back directly.
        let Some(prev) = ctx
            .get::<String>(&boot_file_key(slot))?
            .filter(|p| !p.is_empty() && *p != ours)
        else {
            // Nothing to switch back to: keep what boots (and a kernel's files).
            return Ok(());
        };
        slot.set_without_try(&env, &prev)
            .map_err(HandlerError::error)?
    } else if env.var(slot.candidate) == ours {
        slot.cancel_try(&env)
    } else {
        vec![]
    };
    envfile::apply_durably(&path, &mut env, &writes, |_| {}).map_err(fail)?;
    // The environment no longer names our revision: a kernel's files can go.
    remove_unnamed(&c.boot, slot, &env, &ours).map_err(fail)?;
    // With no other try waiting, no restart is needed any more.
    let others_wait = ctx.with_state(|st| {
        st.tasks().any(|t| {
            t.kind() == PREPARE_BOOT && t.status() == Status::Wait && t.id() != ctx.task_id()
        })
    });
    if !others_wait {
        crate::restart::withdraw_system_restart();
    }
    Ok(())
}
