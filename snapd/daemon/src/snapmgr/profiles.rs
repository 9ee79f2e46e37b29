//! The `setup-profiles` and `remove-profiles` tasks: the security profile of every app and hook
//! is computed when a snap is installed, and again whenever one of its connections changes,
//! and written where the launcher reads it. A launch never computes policy.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use snap_core::{Revision, SnapYaml};
use snap_interfaces::profile::{SandboxMode, profile_file_name, program_file_name};
use snap_interfaces::{Connection, Options};
use snap_state::HandlerError;
use snap_sys::remove_if_exists;

use super::handlers::Env;

type Result<T = ()> = std::result::Result<T, HandlerError>;

/// Reads the snap.yaml of a mounted revision, with the hooks its `meta/hooks` holds but its
/// snap.yaml does not name (snapd's implicit hooks).
pub fn mounted_snap_yaml(env: &Env, name: &str, rev: Revision) -> Result<SnapYaml> {
    let mount = env.dirs.mount_point(name, rev);
    let bytes = fs::read(mount.join("meta/snap.yaml")).map_err(|e| {
        HandlerError::error(format!("cannot read the snap.yaml of {name} ({rev}): {e}"))
    })?;
    let mut snap = snap_core::parse_snap_yaml(&bytes).map_err(HandlerError::error)?;
    let mut added = false;
    if let Ok(entries) = fs::read_dir(mount.join("meta/hooks")) {
        for e in entries.flatten() {
            if let Some(hook) = e.file_name().to_str() {
                added |= snap.add_implicit_hook(hook);
            }
        }
    }
    if added {
        snap_core::validate(&snap).map_err(HandlerError::error)?;
    }
    Ok(snap)
}

/// Writes the profile and seccomp program of every app and hook of the revision, with what
/// `connections` (those with an end on this snap) grant, and removes profiles of the snap that
/// no longer have an app or hook.
pub fn write_profiles(
    env: &Env,
    name: &str,
    rev: Revision,
    devmode: bool,
    connections: &[Connection],
) -> Result {
    let snap = mounted_snap_yaml(env, name, rev)?;
    write_profiles_for(env, &snap, rev, devmode, connections)
}

/// [`write_profiles`] for a snap.yaml already read.
///
/// The rewrite is transactional for the snap: every profile and program is computed first (a
/// failure changes nothing), then the new contents are written beside the old files, and only
/// once all are durable are they renamed into place, each program before its profile. A crash
/// leaves the old or the new files of each app, never a half-written one, and a re-run
/// converges. Files whose content does not change are not touched.
pub fn write_profiles_for(
    env: &Env,
    snap: &SnapYaml,
    rev: Revision,
    devmode: bool,
    connections: &[Connection],
) -> Result {
    let name = snap.name.as_str();
    let dir = env.dirs.profiles_dir();
    fs::create_dir_all(&dir)
        .map_err(|e| HandlerError::error(format!("cannot create {}: {e}", dir.display())))?;
    let revision = rev.to_string();
    let labels = snap
        .apps
        .keys()
        .cloned()
        .chain(snap.hooks.keys().map(|h| format!("hook.{h}")));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for label in labels {
        let options = Options {
            grants: snap_interfaces::grants_for(snap, &label, connections),
            ..Options::default()
        };
        let profile = match label.strip_prefix("hook.") {
            Some(hook) => snap_interfaces::hook_profile_with(snap, &revision, hook, &options),
            None => snap_interfaces::app_profile_with(snap, &revision, &label, &options),
        };
        let mut profile = profile.map_err(|e| {
            HandlerError::error(format!("cannot compute the profile of {name}.{label}: {e}"))
        })?;
        if devmode && profile.confinement == SandboxMode::Strict {
            // `snap install --devmode` runs a strict snap with violations logged, as snapd.
            profile.make_devmode();
        }
        let program = snap_interfaces::compile_seccomp(&profile.seccomp).map_err(|e| {
            HandlerError::error(format!(
                "cannot compile the seccomp filter of {name}.{label}: {e}"
            ))
        })?;
        // The launcher skips a mount whose target is missing; targets in the snap's writable
        // data are ours to make (those under $SNAP come with the snap).
        for target in profile.data_mount_targets() {
            let host = env.dirs.root().join(target.trim_start_matches('/'));
            fs::create_dir_all(&host).map_err(|e| {
                HandlerError::error(format!("cannot create {}: {e}", host.display()))
            })?;
        }
        let json = serde_json::to_vec_pretty(&profile).expect("a profile always serializes");
        // The program first: the launcher refuses to run while the profile is missing, so an
        // app never starts with a new profile and an old program.
        files.push((program_file_name(name, &label), program));
        files.push((profile_file_name(name, &label), json));
    }
    remove_pending(env, name)?;
    let changed: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(f, bytes)| fs::read(dir.join(f)).ok().as_deref() != Some(bytes.as_slice()))
        .collect();
    for (file, bytes) in &changed {
        write_pending(&dir.join(pending_name(file)), bytes)?;
    }
    sync_dir(&dir)?;
    for (file, _) in &changed {
        let (from, to) = (dir.join(pending_name(file)), dir.join(file));
        fs::rename(&from, &to).map_err(|e| {
            HandlerError::error(format!(
                "cannot move {} to {}: {e}",
                from.display(),
                to.display()
            ))
        })?;
    }
    sync_dir(&dir)?;
    let wanted: Vec<String> = files.into_iter().map(|(f, _)| f).collect();
    remove_profiles_except(env, name, &wanted)
}

/// Removes every profile of the snap except the named files, and any new file a rewrite left
/// unfinished.
pub fn remove_profiles_except(env: &Env, name: &str, keep: &[String]) -> Result {
    let prefix = format!("snap.{name}.");
    let Ok(entries) = fs::read_dir(env.dirs.profiles_dir()) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        // Snap names hold no dots, so the prefix matches this snap's files only.
        let ours = file.starts_with(&prefix) || is_pending_of(&file, name);
        if ours && !keep.contains(&file) {
            remove_if_exists(&e.path())
                .map_err(|e| HandlerError::error(format!("cannot remove a profile: {e}")))?;
        }
    }
    Ok(())
}

/// Where a rewrite stages the new content of `file` (hidden, so no reader takes it for a
/// profile).
fn pending_name(file: &str) -> String {
    format!(".{file}.new")
}

fn is_pending_of(file: &str, snap: &str) -> bool {
    file.starts_with(&format!(".snap.{snap}.")) && file.ends_with(".new")
}

/// Removes what an interrupted rewrite of the snap's profiles staged.
fn remove_pending(env: &Env, name: &str) -> Result {
    let Ok(entries) = fs::read_dir(env.dirs.profiles_dir()) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if is_pending_of(&e.file_name().to_string_lossy(), name) {
            remove_if_exists(&e.path())
                .map_err(|e| HandlerError::error(format!("cannot remove a staged profile: {e}")))?;
        }
    }
    Ok(())
}

fn write_pending(path: &Path, bytes: &[u8]) -> Result {
    let fail =
        |e: std::io::Error| HandlerError::error(format!("cannot write {}: {e}", path.display()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    // The mode exactly, whatever the umask.
    f.set_permissions(fs::Permissions::from_mode(0o644))
        .map_err(fail)?;
    f.sync_all().map_err(fail)
}

fn sync_dir(dir: &Path) -> Result {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| HandlerError::error(format!("cannot sync {}: {e}", dir.display())))
}
