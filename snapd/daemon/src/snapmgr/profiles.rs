//! The `setup-profiles` and `remove-profiles` tasks: the security profile of every app and hook
//! is computed when a snap is installed, and written where the launcher reads it. A launch
//! never computes policy.

use std::fs;
use std::path::Path;

use snap_core::{Revision, SnapYaml};
use snap_interfaces::profile::{SandboxMode, profile_file_name, program_file_name};
use snap_state::HandlerError;
use snap_sys::{atomic_write, remove_if_exists};

use super::handlers::Env;

type Result<T = ()> = std::result::Result<T, HandlerError>;

/// Reads the snap.yaml of a mounted revision, with the hooks its `meta/hooks` holds but its
/// snap.yaml does not name (snapd's implicit hooks).
pub fn mounted_snap_yaml(env: &Env, name: &str, rev: Revision) -> Result<SnapYaml> {
    let mount = env.dirs.mount_point(name, rev);
    let bytes = fs::read(mount.join("meta/snap.yaml"))
        .map_err(|e| HandlerError::error(format!("cannot read the snap.yaml of {name} ({rev}): {e}")))?;
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

/// Writes the profile and seccomp program of every app and hook of the revision, and removes
/// profiles of the snap that no longer have an app or hook.
pub fn write_profiles(env: &Env, name: &str, rev: Revision, devmode: bool) -> Result {
    let snap = mounted_snap_yaml(env, name, rev)?;
    let dir = env.dirs.profiles_dir();
    fs::create_dir_all(&dir).map_err(|e| HandlerError::error(format!("cannot create {}: {e}", dir.display())))?;
    let revision = rev.to_string();
    let mut wanted = Vec::new();
    let apps = snap.apps.keys().map(|a| (a.clone(), snap_interfaces::app_profile(&snap, &revision, a)));
    let hooks = snap.hooks.keys().map(|h| (format!("hook.{h}"), snap_interfaces::hook_profile(&snap, &revision, h)));
    for (label, profile) in apps.chain(hooks) {
        let mut profile = profile.map_err(|e| HandlerError::error(format!("cannot compute the profile of {name}.{label}: {e}")))?;
        if devmode && profile.confinement == SandboxMode::Strict {
            // `snap install --devmode` runs a strict snap with violations logged, as snapd.
            profile.make_devmode();
        }
        let program = snap_interfaces::compile_seccomp(&profile.seccomp)
            .map_err(|e| HandlerError::error(format!("cannot compile the seccomp filter of {name}.{label}: {e}")))?;
        let json = serde_json::to_vec_pretty(&profile).expect("a profile always serializes");
        write(&dir.join(program_file_name(name, &label)), &program)?;
        // The profile last: the launcher refuses to run while it is missing, so an app never
        // starts with a new profile and an old program.
        write(&dir.join(profile_file_name(name, &label)), &json)?;
        wanted.push(profile_file_name(name, &label));
        wanted.push(program_file_name(name, &label));
    }
    remove_profiles_except(env, name, &wanted)
}

/// Removes every profile of the snap except the named files.
pub fn remove_profiles_except(env: &Env, name: &str, keep: &[String]) -> Result {
    let prefix = format!("snap.{name}.");
    let Ok(entries) = fs::read_dir(env.dirs.profiles_dir()) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        // Snap names hold no dots, so the prefix matches this snap's files only.
        if file.starts_with(&prefix) && !keep.contains(&file) {
            remove_if_exists(&e.path()).map_err(|e| HandlerError::error(format!("cannot remove a profile: {e}")))?;
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result {
    atomic_write(path, bytes, 0o644).map_err(|e| HandlerError::error(format!("cannot write {}: {e}", path.display())))
}
