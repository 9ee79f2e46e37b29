//! Which snaps have apps running (snapd's refresh-app-awareness): the launcher records each
//! app it starts as `<root>/run/snapd/running/snap.NAME.PID` holding the process's start time;
//! an entry whose process is gone (or whose pid now names another process) is stale and is
//! removed here. Services are not apps: the service manager knows those.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use snap_core::dirs::Dirs;

/// Whether the record `file` (named `snap.NAME.PID`, holding a start time) names a live
/// process.
fn live(file: &Path, pid: u32) -> bool {
    let recorded = fs::read_to_string(file)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    recorded.is_some() && snap_sys::proc::start_time(Some(pid)) == recorded
}

/// The snap and pid a record's name holds (snap names have no dots).
fn parse_record(name: &str) -> Option<(&str, u32)> {
    let (snap, pid) = name.strip_prefix("snap.")?.rsplit_once('.')?;
    Some((snap, pid.parse().ok()?))
}

/// The snaps with a running app; stale records go.
pub fn snaps_with_running_apps(dirs: &Dirs) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(entries) = fs::read_dir(dirs.running_apps_dir()) else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((snap, pid)) = parse_record(&name) else {
            continue;
        };
        let regular = e.file_type().is_ok_and(|t| t.is_file());
        if regular && live(&e.path(), pid) {
            out.insert(snap.to_owned());
        } else {
            let _ = fs::remove_file(e.path());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshmgr_running_records_of_live_processes_count_and_stale_ones_go() {
        let root = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(root.path());
        let me = std::process::id();
        let mine = snap_sys::proc::start_time(None).expect("a start time");
        let d = dirs.running_apps_dir();
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join(format!("snap.alive.{me}")), format!("{mine}\n")).unwrap();
        // A pid that cannot exist, and this pid with another start time (pid reuse).
        fs::write(d.join("snap.gone.4194305"), "1\n").unwrap();
        fs::write(
            d.join(format!("snap.reused.{me}")),
            format!("{}\n", mine + 1),
        )
        .unwrap();
        // Not a record: left alone.
        fs::write(d.join("other"), "x").unwrap();
        let running = snaps_with_running_apps(&dirs);
        assert_eq!(running.into_iter().collect::<Vec<_>>(), ["alive"]);
        assert!(!d.join("snap.gone.4194305").exists());
        assert!(!d.join(format!("snap.reused.{me}")).exists());
        assert!(d.join(format!("snap.alive.{me}")).exists());
        assert!(d.join("other").exists());
        assert_eq!(parse_record("snap.a-b.12"), Some(("a-b", 12)));
        assert_eq!(parse_record("snap.x"), None);
    }
}
