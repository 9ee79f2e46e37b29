//! Running one hook: `snap-confine --hook=HOOK SNAP` under the root, in a cgroup of its own
//! (`snap.NAME.hook.HOOK.scope` beside the services'), so that a timeout, or the hook's end,
//! kills everything it started, whatever it forked or however it left its process group; its
//! output is kept for the error.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::servicemgr::cgroup::Cgroups;

/// How much of a hook's output is kept (the end of it, where the error usually is).
const KEEP_OUTPUT: usize = 64 * 1024;

pub enum Outcome {
    Exited { status: ExitStatus, output: String },
    TimedOut { output: String },
}

pub struct HookRun<'a> {
    pub launcher: &'a Path,
    pub root: &'a Path,
    pub snap: &'a str,
    pub hook: &'a str,
    pub context_id: &'a str,
    pub timeout: Duration,
}

pub fn run(h: &HookRun<'_>) -> std::io::Result<Outcome> {
    // The services' parent cgroup: named from the canonical root, as theirs.
    let root = std::fs::canonicalize(h.root).unwrap_or_else(|_| h.root.to_owned());
    let cgroups = Cgroups::for_root(&root).map_err(std::io::Error::other)?;
    let unit = format!("snap.{}.hook.{}.scope", h.snap, h.hook);
    // Left over from a run the daemon did not see end (a crash): nothing of it may go on.
    cgroups.kill_and_wait(&unit, Duration::from_secs(10));
    let dir = cgroups.create(&unit).map_err(std::io::Error::other)?;
    let outcome = run_in(h, &dir);
    // Whatever the hook left behind goes with it, then its cgroup.
    if !cgroups.kill_and_wait(&unit, Duration::from_secs(10)) {
        tracing::warn!("processes of {unit} survived SIGKILL for 10 s");
    }
    let _ = cgroups.remove(&unit);
    outcome
}

fn run_in(h: &HookRun<'_>, cgroup: &std::path::Path) -> std::io::Result<Outcome> {
    let (mut reader, writer) = std::io::pipe()?;
    let mut cmd = Command::new(h.launcher);
    cmd.arg(format!("--cgroup={}", cgroup.display()))
        .arg(format!("--hook={}", h.hook))
        .arg(h.snap)
        .env_clear()
        .env("SNAPPY_GLOBAL_ROOT", h.root)
        // The launcher hands it to the hook as `SNAP_COOKIE` (and only to a hook).
        .env("SNAPD_HOOK_CONTEXT", h.context_id)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let mut child = cmd.spawn()?;
    // The pipe's write ends live only in the hook now, so reading ends when it (and whatever
    // it started) is gone.
    drop(cmd);
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 2 * KEEP_OUTPUT {
                kept.drain(..kept.len() - KEEP_OUTPUT);
            }
        }
        let _ = out_tx.send(kept);
    });
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = match done_rx.recv_timeout(h.timeout) {
        Ok(s) => Some(s?),
        Err(_) => {
            // The whole cgroup at once, the hook itself included.
            let _ = std::fs::write(cgroup.join("cgroup.kill"), "1");
            done_rx.recv().ok().transpose()?;
            None
        }
    };
    // What the hook left behind keeps the pipe open: gone with the cgroup, so the reader ends.
    let _ = std::fs::write(cgroup.join("cgroup.kill"), "1");
    let output = out_rx
        .recv_timeout(Duration::from_secs(1))
        .map(|mut kept| {
            if kept.len() > KEEP_OUTPUT {
                kept.drain(..kept.len() - KEEP_OUTPUT);
            }
            String::from_utf8_lossy(&kept).trim().to_owned()
        })
        .unwrap_or_default();
    Ok(match status {
        Some(status) => Outcome::Exited { status, output },
        None => Outcome::TimedOut { output },
    })
}
