//! The task handlers of install and remove. Each is idempotent: after a crash the runner runs
//! a task found `Doing` again from the start, so every step checks what is already done (mount
//! present, symlink pointing right, directory there) and treats it as success.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use snap_core::Revision;
use snap_core::dirs::Dirs;
use snap_state::{HandlerError, State, TaskContext, TaskId, TaskRunner};
use snap_sys::{Mounter, remove_dir_all_if_exists, remove_if_exists, replace_symlink_atomically};

use super::model::{RevisionInfo, SNAPS_KEY, SnapState, get_snap};
use super::plan::check_base;
use super::profiles;
use super::setup::{SETUP_KEY, SETUP_TASK_KEY, SnapSetup};
use crate::ifacemgr;
use crate::ifacemgr::repo::{bad_summary, connections_of_snap, endpoints};

/// What handlers need from the daemon.
pub struct Env {
    pub dirs: Dirs,
    pub mounter: Arc<dyn Mounter>,
    /// What `/snap/bin` wrappers point at: the `snap` binary, which runs the app named by the
    /// wrapper's file name.
    pub snap_binary: PathBuf,
    /// The running hooks' contexts (shared with the API, where `snapctl` calls arrive).
    pub hook_contexts: Arc<crate::hookmgr::contexts::Contexts>,
}

type Result<T = ()> = std::result::Result<T, HandlerError>;

pub fn register(runner: &mut TaskRunner, env: Arc<Env>) {
    let hooks = Arc::new(TestHooks::from_env());
    macro_rules! with_env {
        ($f:path) => {{
            let env = env.clone();
            let hooks = hooks.clone();
            move |ctx: &TaskContext<'_>| {
                hooks.before(ctx)?;
                $f(&env, ctx)
            }
        }};
    }
    runner.add_handler_with_undo(
        "prepare-snap",
        with_env!(prepare_snap),
        with_env!(undo_prepare_snap),
    );
    runner.add_handler("prerequisites", with_env!(prerequisites), None);
    runner.add_handler_with_undo(
        "mount-snap",
        with_env!(mount_snap),
        with_env!(undo_mount_snap),
    );
    runner.add_handler_with_undo(
        "copy-snap-data",
        with_env!(copy_snap_data),
        with_env!(undo_copy_snap_data),
    );
    runner.add_handler_with_undo(
        "setup-profiles",
        with_env!(setup_profiles),
        with_env!(undo_setup_profiles),
    );
    runner.add_handler_with_undo("link-snap", with_env!(link_snap), with_env!(undo_link_snap));
    runner.add_handler_with_undo(
        "remove-profiles",
        with_env!(remove_profiles),
        with_env!(restore_profiles),
    );
    runner.add_handler_with_undo(
        "unlink-snap",
        with_env!(unlink_snap),
        with_env!(relink_snap),
    );
    runner.add_handler("clear-snap", with_env!(clear_snap), None);
    runner.add_handler_with_undo(
        "switch-snap-channel",
        |ctx: &TaskContext<'_>| super::switch::switch_channel(ctx),
        |ctx: &TaskContext<'_>| super::switch::undo_switch_channel(ctx),
    );
    runner.add_handler(
        "run-hook",
        with_env!(crate::hookmgr::handlers::run_hook),
        None,
    );
    runner.add_handler("discard-snap", with_env!(discard_snap), None);
    runner.add_handler_with_undo(
        "auto-connect",
        with_env!(ifacemgr::handlers::auto_connect),
        with_env!(ifacemgr::handlers::undo_auto_connect),
    );
    runner.add_handler_with_undo(
        "auto-disconnect",
        with_env!(ifacemgr::handlers::auto_disconnect),
        with_env!(ifacemgr::handlers::undo_auto_disconnect),
    );
    runner.add_handler_with_undo(
        "connect",
        with_env!(ifacemgr::handlers::connect),
        with_env!(ifacemgr::handlers::undo_connect),
    );
    runner.add_handler_with_undo(
        "disconnect",
        with_env!(ifacemgr::handlers::disconnect),
        with_env!(ifacemgr::handlers::undo_disconnect),
    );
}

/// Fault injection for end-to-end tests, beside the state engine's crash points:
/// `SNAPD_TEST_FAIL_TASK=kind[,kind...]` makes those tasks fail (their do handler only, so the
/// change rolls back), and `SNAPD_TEST_TASK_DELAY=kind:ms[,...]` makes them take that long,
/// so a test can act while a change is in progress.
struct TestHooks {
    fail: Vec<String>,
    delay: Vec<(String, std::time::Duration)>,
}

impl TestHooks {
    fn from_env() -> TestHooks {
        let list = |var: &str| -> Vec<String> {
            std::env::var(var)
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        TestHooks {
            fail: list("SNAPD_TEST_FAIL_TASK"),
            delay: list("SNAPD_TEST_TASK_DELAY")
                .iter()
                .filter_map(|s| {
                    let (kind, ms) = s.split_once(':')?;
                    Some((
                        kind.to_owned(),
                        std::time::Duration::from_millis(ms.parse().ok()?),
                    ))
                })
                .collect(),
        }
    }

    fn before(&self, ctx: &TaskContext<'_>) -> Result {
        if let Some((_, d)) = self.delay.iter().find(|(k, _)| k == ctx.kind()) {
            std::thread::sleep(*d);
        }
        if !ctx.is_undo() && self.fail.iter().any(|k| k == ctx.kind()) {
            return Err(HandlerError::error(format!(
                "injected failure of {}",
                ctx.kind()
            )));
        }
        Ok(())
    }
}

/// The task's snap-setup, its own or the one of the task it points at.
pub fn setup_of_task(ctx: &TaskContext<'_>) -> Result<SnapSetup> {
    setup(ctx)
}

fn setup(ctx: &TaskContext<'_>) -> Result<SnapSetup> {
    ctx.with_state(|st| snap_setup_of(st, ctx.task_id()))
}

pub fn snap_setup_of(st: &State, task: TaskId) -> Result<SnapSetup> {
    let missing = || HandlerError::error("internal error: task has no snap-setup");
    let t = st.task(task).ok_or_else(missing)?;
    if let Some(s) = t.get::<SnapSetup>(SETUP_KEY)? {
        return Ok(s);
    }
    let holder: TaskId = t
        .get::<String>(SETUP_TASK_KEY)?
        .and_then(|id| id.parse().ok())
        .ok_or_else(missing)?;
    st.task(holder)
        .ok_or_else(missing)?
        .get::<SnapSetup>(SETUP_KEY)?
        .ok_or_else(missing)
}

fn fail(what: impl std::fmt::Display) -> impl FnOnce(snap_sys::SysError) -> HandlerError {
    move |e| HandlerError::error(format!("{what}: {e}"))
}

fn io_fail(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> HandlerError {
    move |e| HandlerError::error(format!("{what}: {e}"))
}

// ----- prepare-snap: the upload becomes the revision's blob -----

fn prepare_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let blob = env.dirs.blob(&s.name, s.revision);
    let upload = s
        .snap_path
        .clone()
        .ok_or_else(|| HandlerError::error("internal error: no upload to prepare"))?;
    if upload.exists() {
        fs::create_dir_all(env.dirs.blob_dir())
            .map_err(io_fail("cannot create the blob directory"))?;
        // Same filesystem, so the rename is atomic: after a crash either the upload or the
        // blob exists, never half of one.
        fs::rename(&upload, &blob).map_err(io_fail(format!(
            "cannot move {} to {}",
            upload.display(),
            blob.display()
        )))?;
        sync_dir(&env.dirs.blob_dir());
    } else if !blob.exists() {
        return Err(HandlerError::error(format!(
            "cannot find the uploaded snap {}",
            upload.display()
        )));
    }
    Ok(())
}

fn undo_prepare_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    remove_if_exists(&env.dirs.blob(&s.name, s.revision))
        .map_err(fail("cannot remove the snap's blob"))?;
    if let Some(upload) = &s.snap_path {
        remove_if_exists(upload).map_err(fail("cannot remove the upload"))?;
    }
    Ok(())
}

// ----- prerequisites: the base is there and is a base -----

fn prerequisites(_env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    // A store install knows the snap.yaml only once `download-snap` has run: its first
    // `prerequisites` has nothing to check, the one after the download checks the base.
    let Some(info) = s.info.as_ref() else {
        return Ok(());
    };
    let snap_type = snap_core::SnapType::parse(&s.snap_type).ok_or_else(|| {
        HandlerError::error(format!(
            "internal error: unknown snap type {:?}",
            s.snap_type
        ))
    })?;
    ctx.with_state(|st| check_base(&s.name, snap_type, info.base.as_deref(), &*st))
        .map_err(HandlerError::error)
}

// ----- mount-snap: the blob, read-only, at /snap/NAME/REV -----

fn mount_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let target = env.dirs.mount_point(&s.name, s.revision);
    fs::create_dir_all(&target).map_err(io_fail(format!("cannot create {}", target.display())))?;
    let blob = env.dirs.blob(&s.name, s.revision);
    env.mounter
        .mount_squashfs(&blob, &target)
        .map_err(fail("cannot mount the snap"))
}

fn undo_mount_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    unmount_revision(env, &s.name, s.revision)
}

fn unmount_revision(env: &Env, name: &str, rev: Revision) -> Result {
    let target = env.dirs.mount_point(name, rev);
    env.mounter
        .unmount(&target)
        .map_err(fail("cannot unmount the snap"))?;
    remove_empty_dir(&target)?;
    // /snap/NAME goes with its last revision.
    remove_empty_dir(&env.dirs.snap_dir(name))
}

// ----- copy-snap-data: $SNAP_DATA and $SNAP_COMMON -----

fn copy_snap_data(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    // A refresh: the current revision's data is copied for the new one first.
    let old = ctx
        .with_state(|st| get_snap(st, &s.name))?
        .map(|e| e.current)
        .filter(|c| *c != s.revision);
    if let Some(old) = old {
        for (from, to) in super::datacopy::pairs(&env.dirs, &s.name, old, s.revision) {
            super::datacopy::copy_dir(&from, &to).map_err(HandlerError::error)?;
        }
    }
    for dir in [
        env.dirs.snap_data(&s.name, s.revision),
        env.dirs.snap_common(&s.name),
    ] {
        fs::create_dir_all(&dir).map_err(io_fail(format!("cannot create {}", dir.display())))?;
    }
    Ok(())
}

fn undo_copy_snap_data(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    remove_dir_all_if_exists(&env.dirs.snap_data(&s.name, s.revision))
        .map_err(fail("cannot remove the snap's data"))?;
    let others = ctx
        .with_state(|st| get_snap(st, &s.name))?
        .is_some_and(|st| st.sequence.iter().any(|r| r.revision != s.revision));
    super::userdata::remove(&env.dirs, &s.name, Some(s.revision))
        .map_err(|e| HandlerError::error(format!("cannot remove the users' data: {e}")))?;
    if !others {
        // A first install leaves nothing behind when it is undone.
        remove_dir_all_if_exists(&env.dirs.snap_data_base(&s.name))
            .map_err(fail("cannot remove the snap's data"))?;
        super::userdata::remove(&env.dirs, &s.name, None)
            .map_err(|e| HandlerError::error(format!("cannot remove the users' data: {e}")))?;
    }
    Ok(())
}

// ----- setup-profiles / remove-profiles: what the launcher applies -----

/// The new revision's profiles, with the grants of the snap's connections (normally none yet:
/// `auto-connect` comes after `link-snap`). Plugs and slots that take no part in connections
/// are reported as a warning, as snapd does; the snap installs all the same.
fn setup_profiles(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let info = s
        .info
        .as_ref()
        .ok_or_else(|| HandlerError::error("internal error: no snap info"))?;
    let snap = profiles::mounted_snap_yaml(env, &s.name, s.revision)?;
    let conns = ctx.with_state(|st| connections_of_snap(st, &s.name, Some((&s.name, info))))?;
    profiles::write_profiles_for(env, &snap, s.revision, s.devmode, &conns)?;
    if let Some(warning) = bad_summary(&s.name, &endpoints(&snap).bad) {
        let mut st = ctx.lock();
        st.add_warning(&warning, snap_state::DEFAULT_REPEAT_AFTER);
        if let Some(t) = st.task_mut(ctx.task_id()) {
            t.log_info(&warning);
        }
    }
    Ok(())
}

/// Undoing `setup-profiles`: a first install's profiles go; a refresh's or revert's give way
/// to the current revision's again (by now `link-snap` has been undone).
fn undo_setup_profiles(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let installed = ctx.with_state(|st| get_snap(st, &s.name))?;
    match installed {
        Some(e) if e.current != s.revision => restore_profiles(env, ctx),
        _ => remove_profiles(env, ctx),
    }
}

fn remove_profiles(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    profiles::remove_profiles_except(env, &s.name, &[])
}

/// Undoing a removal's `remove-profiles`: the current revision's profiles come back.
fn restore_profiles(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let Some((entry, conns)) =
        ctx.with_state(|st| -> std::result::Result<_, snap_state::StateError> {
            let Some(entry) = get_snap(st, &s.name)? else {
                return Ok(None);
            };
            let conns = connections_of_snap(st, &s.name, None)?;
            Ok(Some((entry, conns)))
        })?
    else {
        return Ok(());
    };
    profiles::write_profiles(env, &s.name, entry.current, entry.devmode, &conns)
}

// ----- link-snap: make the revision current and visible -----

fn link_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let info = s
        .info
        .clone()
        .ok_or_else(|| HandlerError::error("internal error: no snap info"))?;
    let old: Option<SnapState> = ctx.with_state(|st| get_snap(st, &s.name))?;
    // Remember what was current before touching anything, once: a re-run after a crash must
    // not record the new revision as the old one.
    if ctx.get::<Option<String>>("old-current")?.is_none() {
        let old_current = old
            .as_ref()
            .filter(|o| o.current != s.revision)
            .map(|o| o.current.to_string());
        ctx.set("old-current", &Some(old_current.unwrap_or_default()))?;
        // A revert links a revision already in the sequence; its undo must keep it there.
        let new_revision = !old
            .as_ref()
            .is_some_and(|o| o.sequence.iter().any(|r| r.revision == s.revision));
        ctx.set("new-revision", &new_revision)?;
        // A refresh may switch channels: its undo tracks the old one again.
        let old_tracking = old.as_ref().and_then(|o| o.tracking_channel.clone());
        ctx.set("old-tracking", &old_tracking.unwrap_or_default())?;
    }
    // The old revision's commands that the new one does not have go.
    if let Some(prev) = old
        .as_ref()
        .filter(|o| o.current != s.revision)
        .and_then(|o| o.current_info())
    {
        let keep = command_names(&s.name, &info);
        for cmd in command_names(&s.name, prev) {
            if !keep.contains(&cmd) {
                remove_if_exists(&env.dirs.snap_bin_dir().join(cmd))
                    .map_err(fail("cannot remove the command wrapper"))?;
            }
        }
    }
    make_current(env, &s.name, s.revision, &info)?;
    ctx.finish(|st: &mut State| -> Result {
        crate::hookmgr::cookies::ensure(st, &env.dirs, &s.name).map_err(HandlerError::error)?;
        let mut entry = get_snap(st, &s.name)?.unwrap_or_else(|| SnapState {
            snap_type: s.snap_type.clone(),
            sequence: Vec::new(),
            current: s.revision,
            active: true,
            devmode: s.devmode,
            classic: s.classic,
            tracking_channel: None,
            snap_id: None,
        });
        // From the store: the snap tracks the channel it was installed from.
        if let Some(store) = crate::storemgr::handlers::store_setup_of(st, ctx.task_id())? {
            entry.tracking_channel = Some(store.channel);
            if !store.snap_id.is_empty() {
                entry.snap_id = Some(store.snap_id);
            }
        }
        if !entry.sequence.iter().any(|r| r.revision == s.revision) {
            entry.sequence.push(info.clone());
        }
        entry.current = s.revision;
        entry.active = true;
        Ok(st.set_entry(SNAPS_KEY, &s.name, &entry)?)
    })?;
    Ok(())
}

fn undo_link_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let old_current: Option<String> = ctx.get::<Option<String>>("old-current")?.flatten();
    // Older changes did not record it: then the revision was new.
    let new_revision = ctx.get::<bool>("new-revision")?.unwrap_or(true);
    let old_tracking = ctx.get::<String>("old-tracking")?.filter(|t| !t.is_empty());
    let entry = ctx.with_state(|st| get_snap(st, &s.name))?;
    let info = s
        .info
        .clone()
        .ok_or_else(|| HandlerError::error("internal error: no snap info"))?;
    remove_current(env, &s.name, &info)?;
    let previous = old_current
        .filter(|o| !o.is_empty())
        .and_then(|o| o.parse::<Revision>().ok());
    if let (Some(prev), Some(e)) = (previous, &entry)
        && let Some(prev_info) = e.sequence.iter().find(|r| r.revision == prev)
    {
        make_current(env, &s.name, prev, prev_info)?;
    }
    ctx.finish(|st: &mut State| -> Result {
        let Some(mut e) = get_snap(st, &s.name)? else {
            return Ok(());
        };
        if new_revision {
            e.sequence.retain(|r| r.revision != s.revision);
        }
        match previous {
            Some(prev) if !e.sequence.is_empty() => {
                e.current = prev;
                e.tracking_channel = old_tracking;
                Ok(st.set_entry(SNAPS_KEY, &s.name, &e)?)
            }
            _ => {
                forget_snap_extras(st, env, &s.name)?;
                Ok(st.remove_entry(SNAPS_KEY, &s.name).map(|_| ())?)
            }
        }
    })?;
    Ok(())
}

/// `current` symlinks and `/snap/bin` wrappers for `rev`. The data directories the links
/// point into are made first: a removal rolled back after its data was cleared relinks too.
fn make_current(env: &Env, name: &str, rev: Revision, info: &RevisionInfo) -> Result {
    for dir in [env.dirs.snap_data(name, rev), env.dirs.snap_common(name)] {
        fs::create_dir_all(&dir).map_err(io_fail(format!("cannot create {}", dir.display())))?;
    }
    let target = PathBuf::from(rev.to_string());
    replace_symlink_atomically(&env.dirs.current_link(name), &target)
        .map_err(fail("cannot make the snap current"))?;
    replace_symlink_atomically(&env.dirs.snap_data_current(name), &target)
        .map_err(fail("cannot make the snap's data current"))?;
    let bin = env.dirs.snap_bin_dir();
    fs::create_dir_all(&bin).map_err(io_fail(format!("cannot create {}", bin.display())))?;
    for cmd in command_names(name, info) {
        replace_symlink_atomically(&bin.join(cmd), &env.snap_binary)
            .map_err(fail("cannot create the command wrapper"))?;
    }
    Ok(())
}

fn remove_current(env: &Env, name: &str, info: &RevisionInfo) -> Result {
    for cmd in command_names(name, info) {
        remove_if_exists(&env.dirs.snap_bin_dir().join(cmd))
            .map_err(fail("cannot remove the command wrapper"))?;
    }
    remove_if_exists(&env.dirs.current_link(name))
        .map_err(fail("cannot remove the current link"))?;
    remove_if_exists(&env.dirs.snap_data_current(name))
        .map_err(fail("cannot remove the current data link"))
}

/// The names users type: `NAME` for the app named like its snap, `NAME.APP` for others.
/// Services get no command.
pub fn command_names(snap: &str, info: &RevisionInfo) -> Vec<String> {
    info.apps
        .iter()
        .filter(|a| a.daemon.is_none())
        .map(|a| {
            if a.name == snap {
                snap.to_owned()
            } else {
                format!("{snap}.{}", a.name)
            }
        })
        .collect()
}

// ----- remove: unlink, then clear and discard each revision -----

fn unlink_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let Some(entry) = ctx.with_state(|st| get_snap(st, &s.name))? else {
        return Ok(());
    };
    if let Some(info) = entry.sequence.iter().find(|r| r.revision == entry.current) {
        remove_current(env, &s.name, info)?;
    }
    ctx.finish(|st: &mut State| {
        if let Some(mut e) = get_snap(st, &s.name)? {
            e.active = false;
            st.set_entry(SNAPS_KEY, &s.name, &e)?;
        }
        Ok::<(), snap_state::StateError>(())
    })?;
    Ok(())
}

fn relink_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    let Some(entry) = ctx.with_state(|st| get_snap(st, &s.name))? else {
        return Ok(());
    };
    if let Some(info) = entry.sequence.iter().find(|r| r.revision == entry.current) {
        make_current(env, &s.name, entry.current, info)?;
    }
    ctx.finish(|st: &mut State| {
        if let Some(mut e) = get_snap(st, &s.name)? {
            e.active = true;
            st.set_entry(SNAPS_KEY, &s.name, &e)?;
        }
        Ok::<(), snap_state::StateError>(())
    })?;
    Ok(())
}

/// Whether the revision must stay because the boot environment names it (a kernel or the
/// boot base, `spec/boot.md`): removing it would leave the bootloader pointing at a missing
/// file. Checked when the task runs, not when it was planned: a refresh's discards run after
/// its reboot point, when the environment names the new revision. A removal fails (its
/// change rolls back; the operation refuses it up front too); the discard of old revisions
/// at the end of a refresh keeps the revision, logged, and a later refresh discards it once
/// nothing names it.
fn kept_for_boot(env: &Env, ctx: &TaskContext<'_>, s: &SnapSetup) -> Result<bool> {
    let boot = crate::bootmgr::BootConfig::from_env(&env.dirs);
    let named = crate::bootmgr::revisions::naming_var(&boot, &s.snap_type, &s.name, s.revision)
        .map_err(|e| format!("{e:#}"));
    let removing = ctx.with_state(|st| {
        st.change(ctx.change_id())
            .is_some_and(|c| c.kind() == "remove-snap")
    });
    let why = match named {
        Ok(None) => return Ok(false),
        Ok(Some(var)) => format!(
            "the boot environment names it ({var}={})",
            crate::bootmgr::kernel_file(&s.name, s.revision)
        ),
        Err(e) => format!("cannot tell whether the bootloader uses it: {e}"),
    };
    if removing {
        return Err(HandlerError::error(format!(
            "cannot remove snap {:?} revision {}: {why}",
            s.name, s.revision
        )));
    }
    ctx.log(format!("revision {} kept: {why}", s.revision));
    Ok(true)
}

fn clear_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    if kept_for_boot(env, ctx, &s)? {
        return Ok(());
    }
    remove_dir_all_if_exists(&env.dirs.snap_data(&s.name, s.revision))
        .map_err(fail("cannot remove the snap's data"))?;
    super::userdata::remove(&env.dirs, &s.name, Some(s.revision))
        .map_err(|e| HandlerError::error(format!("cannot remove the users' data: {e}")))?;
    if s.last {
        remove_dir_all_if_exists(&env.dirs.snap_data_base(&s.name))
            .map_err(fail("cannot remove the snap's data"))?;
        super::userdata::remove(&env.dirs, &s.name, None)
            .map_err(|e| HandlerError::error(format!("cannot remove the users' data: {e}")))?;
    }
    Ok(())
}

fn discard_snap(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let s = setup(ctx)?;
    if kept_for_boot(env, ctx, &s)? {
        return Ok(());
    }
    // A kernel's files extracted to the boot partition go with it.
    let boot = crate::bootmgr::BootConfig::from_env(&env.dirs);
    crate::bootmgr::revisions::remove_boot_files(&boot, &s.snap_type, &s.name, s.revision)
        .map_err(|e| {
            HandlerError::error(format!("cannot remove the kernel's boot files: {e:#}"))
        })?;
    if s.last {
        // Normally unlink-snap removed it; not when the snap was already inactive (a removal
        // that failed and was rolled back half way).
        remove_if_exists(&env.dirs.current_link(&s.name))
            .map_err(fail("cannot remove the current link"))?;
    }
    unmount_revision(env, &s.name, s.revision)?;
    remove_if_exists(&env.dirs.blob(&s.name, s.revision))
        .map_err(fail("cannot remove the snap's blob"))?;
    ctx.finish(|st: &mut State| -> Result {
        let Some(mut e) = get_snap(st, &s.name)? else {
            return Ok(());
        };
        e.sequence.retain(|r| r.revision != s.revision);
        if e.sequence.is_empty() {
            ifacemgr::handlers::forget_snap(st, &s.name)?;
            forget_snap_extras(st, env, &s.name)?;
            Ok(st.remove_entry(SNAPS_KEY, &s.name).map(|_| ())?)
        } else {
            Ok(st.set_entry(SNAPS_KEY, &s.name, &e)?)
        }
    })?;
    Ok(())
}

// ----- helpers -----

/// What a snap leaves in the state besides its own entry, forgotten with its last revision:
/// its cookie, its configuration and its health.
fn forget_snap_extras(st: &mut State, env: &Env, name: &str) -> Result {
    crate::hookmgr::cookies::forget(st, &env.dirs, name).map_err(HandlerError::error)?;
    st.remove_entry(crate::configmgr::CONFIG_KEY, name)?;
    crate::healthmgr::forget(st, name)?;
    Ok(())
}

fn remove_empty_dir(dir: &Path) -> Result {
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.kind() == std::io::ErrorKind::DirectoryNotEmpty =>
        {
            Ok(())
        }
        Err(e) => Err(HandlerError::error(format!(
            "cannot remove {}: {e}",
            dir.display()
        ))),
    }
}

/// Makes a rename in `dir` durable; a failure here only weakens power-loss safety.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
