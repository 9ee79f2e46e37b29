//! Which snaps have apps running (snapd's refresh-app-awareness): the launcher records each
//! app it starts as `<root>/run/snapd/running/snap.NAME/PID` holding the process's start time;
//! an entry whose process is gone (or whose pid now names another process) is stale and is
//! removed here. Services are not apps: the service manager knows those.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use snap_core::dirs::Dirs;

/// The start time of `pid` (field 22 of `/proc/PID/stat`), if it runs.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the entry `file` (named by a pid, holding a start time) names a live process.
fn live(file: &Path) -> bool {
    let Some(pid) = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return false;
    };
    let recorded = fs::read_to_string(file)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    recorded.is_some() && start_time(pid) == recorded
}

/// The snaps with a running app; stale entries (and directories left empty) go.
pub fn snaps_with_running_apps(dirs: &Dirs) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let base = dirs.running_apps_dir();
    let Ok(entries) = fs::read_dir(&base) else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(snap) = name.strip_prefix("snap.") else {
            continue;
        };
        let mut any = false;
        if let Ok(files) = fs::read_dir(e.path()) {
            for f in files.flatten() {
                if live(&f.path()) {
                    any = true;
                } else {
                    let _ = fs::remove_file(f.path());
                }
            }
        }
        if any {
            out.insert(snap.to_owned());
        } else {
            let _ = fs::remove_dir(e.path());
        }
    }
    let _ = fs::remove_dir(&base);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshmgr_running_entries_of_live_processes_count_and_stale_ones_go() {
        let root = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(root.path());
        let me = std::process::id();
        let mine = start_time(me).expect("this process has a start time");
        let d = dirs.running_apps_dir();
        fs::create_dir_all(d.join("snap.alive")).unwrap();
        fs::create_dir_all(d.join("snap.gone")).unwrap();
        fs::create_dir_all(d.join("snap.reused")).unwrap();
        fs::write(
            d.join("snap.alive").join(me.to_string()),
            format!("{mine}\n"),
        )
        .unwrap();
        // A pid that cannot exist, and this pid with another start time (pid reuse).
        fs::write(d.join("snap.gone/4194305"), "1\n").unwrap();
        fs::write(
            d.join("snap.reused").join(me.to_string()),
            format!("{}\n", mine + 1),
        )
        .unwrap();
        let running = snaps_with_running_apps(&dirs);
        assert_eq!(running.into_iter().collect::<Vec<_>>(), ["alive"]);
        assert!(!d.join("snap.gone").exists());
        assert!(!d.join("snap.reused").exists());
        assert!(d.join("snap.alive").exists());
    }
}
