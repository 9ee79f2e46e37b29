//! Restarting the system when a change needs it (a kernel or base try-boot).
//!
//! From the moment a change waits for a reboot every API answer carries snapd's
//! `maintenance: {"kind": "system-restart", ...}`, which clients (ours, Debian's `snap`,
//! snapd-glib) read as "the system is about to restart". Whether the daemon then reboots the
//! device itself is the device's choice: `SNAPD_REBOOT_COMMAND` (run with `sh -c` after the
//! filesystems are synced, `SNAPD_REBOOT_DELAY_MS` after the request, default 1 s so the
//! client that started the change sees it waiting) — `systemctl reboot` on a systemd device,
//! `reboot` on a busybox one. Without it the daemon only announces the restart: it runs on
//! machines whose PID 1 it does not know, and a test root must never reboot its host.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use snapd_api::Maintenance;

pub const REBOOT_COMMAND_ENV: &str = "SNAPD_REBOOT_COMMAND";
pub const REBOOT_DELAY_ENV: &str = "SNAPD_REBOOT_DELAY_MS";
const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// snapd's maintenance kind and message for a pending system restart.
pub const SYSTEM_RESTART: &str = "system-restart";
const SYSTEM_RESTART_MESSAGE: &str = "system is restarting";

static MAINTENANCE: Mutex<Option<Maintenance>> = Mutex::new(None);
static REBOOT_SCHEDULED: AtomicBool = AtomicBool::new(false);
/// Bumped when the restart is withdrawn: a reboot scheduled before does not run.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// What every API answer says about maintenance now.
pub fn maintenance() -> Option<Maintenance> {
    MAINTENANCE.lock().map(|m| m.clone()).unwrap_or(None)
}

/// A change needs the system restarted for `why`: announce it and, if the device configured
/// a reboot command, reboot once (later requests in the same run are the same reboot).
pub fn request_system_restart(why: &str) {
    if let Ok(mut m) = MAINTENANCE.lock() {
        *m = Some(Maintenance {
            kind: SYSTEM_RESTART.into(),
            message: SYSTEM_RESTART_MESSAGE.into(),
        });
    }
    let Some(command) = reboot_command() else {
        tracing::warn!("{why}: reboot the device to go on ({REBOOT_COMMAND_ENV} is not set)");
        return;
    };
    if REBOOT_SCHEDULED.swap(true, Ordering::SeqCst) {
        return;
    }
    let delay = reboot_delay();
    let generation = GENERATION.load(Ordering::SeqCst);
    tracing::warn!("{why}: rebooting in {} ms", delay.as_millis());
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        if GENERATION.load(Ordering::SeqCst) != generation {
            tracing::info!("the restart was withdrawn: not rebooting");
            return;
        }
        // What the state and the boot environment hold is fsynced already; sync the rest
        // (logs, data copies) before the device goes down.
        rustix::fs::sync();
        match std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
        {
            Ok(st) if st.success() => tracing::info!("reboot command {command:?} ran"),
            Ok(st) => {
                tracing::error!("reboot command {command:?} failed: {st}");
                REBOOT_SCHEDULED.store(false, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::error!("cannot run the reboot command {command:?}: {e}");
                REBOOT_SCHEDULED.store(false, Ordering::SeqCst);
            }
        }
    });
}

/// Nothing waits for a restart any more (the change that needed it was undone before the
/// reboot): answers stop announcing it and a reboot not yet run is dropped.
pub fn withdraw_system_restart() {
    let was = MAINTENANCE.lock().map(|mut m| m.take()).unwrap_or(None);
    GENERATION.fetch_add(1, Ordering::SeqCst);
    REBOOT_SCHEDULED.store(false, Ordering::SeqCst);
    if was.is_some() {
        tracing::info!("the system restart is no longer needed");
    }
}

fn reboot_command() -> Option<String> {
    std::env::var(REBOOT_COMMAND_ENV)
        .ok()
        .filter(|c| !c.trim().is_empty())
}

fn reboot_delay() -> Duration {
    std::env::var(REBOOT_DELAY_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(DEFAULT_DELAY, Duration::from_millis)
}
