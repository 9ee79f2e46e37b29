//! `prepare-boot`: the reboot point of a kernel refresh. It runs after `link-snap` of the new
//! revision: extracts its boot files, writes `prepare_try`'s variables one durable write at a
//! time and leaves the task in Wait until the next start concludes the try
//! ([`super::startup`]). Its undo withdraws the try (or, for a refresh already confirmed,
//! switches the boot kernel back) and removes the extracted files.
//!
//! Re-run after a crash, it finds what is done: a try of this kernel already prepared only
//! waits; an extraction cut short is made again (grub ignores the directory until
//! `kernel_status=try` is durable).

use std::path::Path;
use std::sync::Arc;

use gadget_kernel::boot::{
    BootEnv, KERNEL_STATUS, SNAP_KERNEL, SNAP_TRY_KERNEL, cancel_try, prepare_try,
    set_kernel_without_try,
};
use gadget_kernel::image::env::grubenv::GrubEnv;
use snap_core::dirs::Dirs;
use snap_state::{HandlerError, TaskContext, TaskRunner};

use super::decide::{Action, decide, fell_back_message};
use super::{BootConfig, PREPARE_BOOT, envfile, extract, kernel_file};
use crate::snapmgr::handlers::setup_of_task;

/// The reason the task waits with.
pub const REBOOT_REASON: &str = "reboot required to try the new kernel";
/// Task data: the boot kernel before the try, to switch back to when undoing a confirmed
/// refresh.
const BOOT_KERNEL_KEY: &str = "boot-kernel";
/// Crash injection for tests: `extracted` (after the files are synced) or `env-write-N`
/// (after the N-th environment write is durable) aborts the daemon there.
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

fn prepare_boot(c: &Ctx, ctx: &TaskContext<'_>) -> Result {
    let s = setup_of_task(ctx)?;
    let ours = kernel_file(&s.name, s.revision);
    let path = c.boot.grubenv();
    let mut env = envfile::read(&path).map_err(fail)?;
    if env.var(SNAP_KERNEL) != ours {
        // Recorded on every run: a run cut short by a crash may not have kept it.
        ctx.set(BOOT_KERNEL_KEY, env.var(SNAP_KERNEL))?;
    }
    if env.var(SNAP_TRY_KERNEL) == ours {
        match env.var(KERNEL_STATUS) {
            // Prepared before a crash that came before the Wait was recorded.
            "try" => return Err(HandlerError::wait(REBOOT_REASON)),
            // Prepared, then a power cut rebooted the device before the Wait was recorded:
            // grub has tried the candidate. Conclude here, as the start does for a waiting task.
            "trying" => return conclude_now(c, ctx, &path, &mut env, &ours),
            _ => {}
        }
    }
    let prepared = prepare_try(&env, &ours).map_err(HandlerError::error)?;
    if !prepared.reboot {
        // Already the boot kernel (a refresh to the kernel that runs): nothing to try.
        envfile::apply_durably(&path, &mut env, &prepared.writes, |_| {}).map_err(fail)?;
        return Ok(());
    }
    let mount = c.dirs.mount_point(&s.name, s.revision);
    extract::extract(&mount, &c.boot.kernel_dir(&ours)).map_err(fail)?;
    c.crash_point("extracted");
    envfile::apply_durably(&path, &mut env, &prepared.writes, |i| {
        c.crash_point(&format!("env-write-{i}"))
    })
    .map_err(fail)?;
    Err(HandlerError::wait(REBOOT_REASON))
}

fn conclude_now(
    c: &Ctx,
    ctx: &TaskContext<'_>,
    path: &Path,
    env: &mut GrubEnv,
    ours: &str,
) -> Result {
    let running = c.boot.running_kernel().map_err(fail)?;
    match decide(env, ours, running.as_deref()) {
        Action::Confirm { writes } => {
            envfile::apply_durably(path, env, &writes, |_| {}).map_err(fail)?;
            ctx.log(format!("the new kernel {ours} booted: confirmed"));
            Ok(())
        }
        Action::FallBack { writes, running } => {
            envfile::apply_durably(path, env, &writes, |_| {}).map_err(fail)?;
            if env.var(SNAP_KERNEL) != ours && env.var(SNAP_TRY_KERNEL) != ours {
                extract::remove(&c.boot.kernel_dir(ours)).map_err(fail)?;
            }
            // The task fails: its lane, the link of the new kernel included, is undone.
            Err(HandlerError::error(fell_back_message(&running)))
        }
        Action::Leave { why } => {
            ctx.log(format!("cannot conclude the try yet: {why}"));
            Err(HandlerError::wait(REBOOT_REASON))
        }
    }
}

fn undo_prepare_boot(c: &Ctx, ctx: &TaskContext<'_>) -> Result {
    let s = setup_of_task(ctx)?;
    let ours = kernel_file(&s.name, s.revision);
    let path = c.boot.grubenv();
    let mut env = envfile::read(&path).map_err(fail)?;
    let writes = if env.var(SNAP_KERNEL) == ours {
        // The refresh was confirmed and is undone later in its change: both kernels are
        // known to boot, switch back directly.
        let Some(prev) = ctx
            .get::<String>(BOOT_KERNEL_KEY)?
            .filter(|p| !p.is_empty() && *p != ours)
        else {
            // Nothing to switch back to: keep the kernel that boots and its files.
            return Ok(());
        };
        set_kernel_without_try(&env, &prev).map_err(HandlerError::error)?
    } else if env.var(SNAP_TRY_KERNEL) == ours {
        cancel_try(&env)
    } else {
        vec![]
    };
    envfile::apply_durably(&path, &mut env, &writes, |_| {}).map_err(fail)?;
    // The environment no longer names our kernel: its files can go.
    if env.var(SNAP_KERNEL) != ours && env.var(SNAP_TRY_KERNEL) != ours {
        extract::remove(&c.boot.kernel_dir(&ours)).map_err(fail)?;
    }
    Ok(())
}
