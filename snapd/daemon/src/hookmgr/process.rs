//! Running one hook: `snap-confine --hook=HOOK SNAP` under the root, in a process group of its
//! own so that a timeout kills everything it started, with its output kept for the error.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};

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
    let (mut reader, writer) = std::io::pipe()?;
    let mut cmd = Command::new(h.launcher);
    cmd.arg(format!("--hook={}", h.hook))
        .arg(h.snap)
        .env_clear()
        .env("SNAPPY_GLOBAL_ROOT", h.root)
        // The launcher hands it to the hook as `SNAP_COOKIE` (and only to a hook).
        .env("SNAPD_HOOK_CONTEXT", h.context_id)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .process_group(0);
    let mut child = cmd.spawn()?;
    // The pipe's write ends live only in the hook now, so reading ends when it (and whatever
    // it started) is gone.
    drop(cmd);
    let group = Pid::from_raw(child.id() as i32);
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
    let kill_group = || {
        if let Some(g) = group {
            let _ = kill_process_group(g, Signal::KILL);
        }
    };
    let status = match done_rx.recv_timeout(h.timeout) {
        Ok(s) => Some(s?),
        Err(_) => {
            kill_group();
            done_rx.recv().ok().transpose()?;
            None
        }
    };
    // Whatever the hook left behind in its group goes with it.
    kill_group();
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
