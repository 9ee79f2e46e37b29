//! The task handlers of snapshot changes. Each is safe to run again after a crash: the runner
//! re-runs a task found `Doing` from the start.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};
use snap_core::dirs::Dirs;
use snap_snapshots::{RestoreRequest, SaveRequest, SnapInfo, Snapshots, User};
use snap_state::{HandlerError, State, TaskContext, TaskRunner};

use super::aside::{self, Moved};
use super::ops::{SNAPSHOT_SETUP_KEY, SnapshotSetup};
use super::policy::{Retention, retention};
use super::{SNAPSHOTS_KEY, allocate_set_id, select_users};
use crate::configmgr::CONFIG_KEY;
use crate::snapmgr::model::get_snap;

type Result<T = ()> = std::result::Result<T, HandlerError>;

/// Task data of `restore-snapshot`: the directories moved aside (kept for undo).
const MOVED_KEY: &str = "moved-aside";
/// Task data of `restore-snapshot`: the configuration document before the restore
/// (`null`: none).
const OLD_CONFIG_KEY: &str = "old-config";

pub fn register(runner: &mut TaskRunner, dirs: Dirs) {
    let env = Arc::new(Env {
        engine: Snapshots::new(&dirs),
        dirs,
        test_delay: test_delay(),
    });
    macro_rules! with_env {
        ($f:path) => {{
            let env = env.clone();
            move |ctx: &TaskContext<'_>| $f(&env, ctx)
        }};
    }
    runner.add_handler_with_undo("save-snapshot", with_env!(save), with_env!(undo_save));
    runner.add_handler_with_undo(
        "restore-snapshot",
        with_env!(restore),
        with_env!(undo_restore),
    );
    runner.add_handler(
        "cleanup-after-restore",
        with_env!(cleanup_after_restore),
        None,
    );
    runner.add_cleanup("restore-snapshot", with_env!(cleanup_restore));
    runner.add_handler("check-snapshot", with_env!(check), None);
    runner.add_handler("forget-snapshot", with_env!(forget), None);
}

struct Env {
    dirs: Dirs,
    engine: Snapshots,
    /// `SNAPD_TEST_TASK_DELAY=restore-snapshot:MS`: a pause after the old data is moved aside,
    /// for the tests that kill the daemon in the middle of a restore.
    test_delay: Option<std::time::Duration>,
}

fn test_delay() -> Option<std::time::Duration> {
    std::env::var("SNAPD_TEST_TASK_DELAY")
        .ok()?
        .split(',')
        .find_map(|s| s.strip_prefix("restore-snapshot:")?.parse().ok())
        .map(std::time::Duration::from_millis)
}

fn fail(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::error(e)
}

/// The task's setup: its own, or for the automatic snapshot of a removal, one made from the
/// removal's snap-setup.
fn setup_of(ctx: &TaskContext<'_>) -> Result<SnapshotSetup> {
    if let Some(s) = ctx.get::<SnapshotSetup>(SNAPSHOT_SETUP_KEY)? {
        return Ok(s);
    }
    let snap = crate::snapmgr::handlers::setup_of_task(ctx)?;
    Ok(SnapshotSetup {
        set_id: 0,
        snaps: vec![snap.name],
        users: Vec::new(),
        auto: true,
    })
}

/// What the engine records of each snap: its current revision's metadata and configuration.
fn snap_infos(st: &State, names: &[String]) -> Result<Vec<SnapInfo>> {
    let mut out = Vec::new();
    for name in names {
        let snap =
            get_snap(st, name)?.ok_or_else(|| fail(format!("snap {name:?} is not installed")))?;
        let info = snap
            .current_info()
            .ok_or_else(|| fail(format!("snap {name:?} has no current revision")))?;
        let conf = st
            .get_entry::<Value>(CONFIG_KEY, name)?
            .filter(|c| c.as_object().is_none_or(|m| !m.is_empty()));
        out.push(SnapInfo {
            name: name.clone(),
            revision: snap.current,
            version: info.version.clone(),
            epoch: snap_core::Epoch::default(),
            summary: info.summary.clone(),
            snap_id: None,
            conf,
        });
    }
    Ok(out)
}

fn save(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let mut setup = setup_of(ctx)?;
    let now = SystemTime::now();
    let (infos, expiry) = {
        let mut st = ctx.lock();
        let expiry = if setup.auto {
            match retention(&crate::configmgr::tx::document(
                &st,
                crate::hookmgr::handlers::SYSTEM_SNAP,
            )?) {
                Retention::Keep(d) => Some(now + d),
                // Switched off after the removal was planned: nothing to save.
                Retention::Disabled => return Ok(()),
            }
        } else {
            None
        };
        if setup.set_id == 0 {
            // Recorded with the id in one checkpoint, so a re-run saves into the same set.
            setup.set_id = allocate_set_id(&mut st, &env.engine).map_err(fail)?;
            let t = st.task_mut(ctx.task_id()).expect("the running task");
            t.set(SNAPSHOT_SETUP_KEY, &setup)?;
        }
        (snap_infos(&st, &setup.snaps)?, expiry)
    };
    // A re-run after a crash: a complete set is kept, a partial one saved again.
    if let Ok(existing) = env.engine.set(setup.set_id) {
        if setup
            .snaps
            .iter()
            .all(|s| existing.iter().any(|m| &m.snap == s))
        {
            return record_expiry(ctx, setup.set_id, expiry);
        }
        env.engine.forget(setup.set_id, &[]).map_err(fail)?;
    }
    let users = select_users(&env.dirs, &setup.users).map_err(fail)?;
    env.engine
        .save(&SaveRequest {
            set_id: setup.set_id,
            snaps: infos,
            users,
            time: now,
            expiry,
        })
        .map_err(fail)?;
    ctx.log(format!("saved snapshot set #{}", setup.set_id));
    record_expiry(ctx, setup.set_id, expiry)
}

/// snapd's `snapshots` state entry of an automatic set.
fn record_expiry(ctx: &TaskContext<'_>, id: u64, expiry: Option<SystemTime>) -> Result {
    if let Some(e) = expiry {
        ctx.state_set_entry(
            SNAPSHOTS_KEY,
            &id.to_string(),
            &json!({"expiry-time": snap_snapshots::meta::format_time(e)}),
        )?;
    }
    Ok(())
}

fn undo_save(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let setup = setup_of(ctx)?;
    if setup.set_id == 0 {
        return Ok(());
    }
    match env.engine.forget(setup.set_id, &[]) {
        Ok(()) | Err(snap_snapshots::SnapshotError::SetNotFound(_)) => {}
        Err(e) => return Err(fail(e)),
    }
    let mut st = ctx.lock();
    st.remove_entry(SNAPSHOTS_KEY, &setup.set_id.to_string())?;
    Ok(())
}

/// The users whose data a restore touches: those saved in the snapshot (and asked for) whose
/// home exists, with the home owner's ids.
fn restore_users(dirs: &Dirs, saved: &[String], asked: &[String]) -> Vec<User> {
    use std::os::unix::fs::MetadataExt;
    saved
        .iter()
        .filter(|n| asked.is_empty() || asked.contains(n))
        .filter_map(|name| {
            let home = if name == "root" {
                dirs.user_home("/root".as_ref())
            } else {
                dirs.user_home(&PathBuf::from("/home").join(name))
            };
            let m = std::fs::metadata(&home).ok()?;
            Some(User {
                name: name.clone(),
                uid: m.uid(),
                gid: m.gid(),
                home,
            })
        })
        .collect()
}

fn restore(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let setup = setup_of(ctx)?;
    let [snap] = setup.snaps.as_slice() else {
        return Err(fail("internal error: a restore task is about one snap"));
    };
    let saved = env
        .engine
        .set(setup.set_id)
        .map_err(fail)?
        .into_iter()
        .find(|m| &m.snap == snap)
        .ok_or_else(|| fail(format!("snapshot set #{} has no {snap:?}", setup.set_id)))?;
    let current = ctx.with_state(|st| get_snap(st, snap))?.map(|s| s.current);
    // As snapd: the data goes to the current revision; to the saved one if not installed.
    let rev = current.unwrap_or(saved.revision);
    let users = restore_users(&env.dirs, &saved.users, &setup.users);

    // A re-run after a crash: what an earlier attempt moved aside goes back first.
    put_back_recorded(ctx)?;
    let tag = ctx.task_id().to_string();
    let mut moves = Vec::new();
    let mut plan = |base: PathBuf, owner: Option<(u32, u32)>| {
        for top in [rev.to_string(), "common".to_owned()] {
            let dir = base.join(top);
            moves.push(Moved {
                aside: aside::aside_path(&dir, &tag),
                dir,
                owner,
            });
        }
    };
    plan(env.dirs.snap_data_base(snap), None);
    for u in &users {
        plan(u.home.join("snap").join(snap), Some((u.uid, u.gid)));
    }
    // Recorded before anything moves, so that a crash never loses track of old data.
    ctx.set(MOVED_KEY, &moves)?;
    for (i, m) in moves.iter().enumerate() {
        if let Err(e) = aside::move_aside(m) {
            put_back_all(&moves[..i]);
            ctx.set(MOVED_KEY, &Vec::<Moved>::new())?;
            return Err(fail(format!("cannot move {} aside: {e}", m.dir.display())));
        }
    }
    if let Some(d) = env.test_delay {
        std::thread::sleep(d);
    }
    let req = RestoreRequest {
        set_id: setup.set_id,
        snaps: vec![snap.clone()],
        users,
        revisions: BTreeMap::from([(snap.clone(), rev)]),
    };
    let restored = match env.engine.restore(&req) {
        Ok(r) => r,
        Err(e) => {
            put_back_all(&moves);
            ctx.set(MOVED_KEY, &Vec::<Moved>::new())?;
            return Err(fail(e));
        }
    };
    let mut kept = Vec::new();
    for m in moves {
        if aside::keep_if_replaced(&m).map_err(fail)? {
            kept.push(m);
        }
    }
    let conf = restored.into_iter().next().and_then(|r| r.conf);
    ctx.finish(|st| -> Result {
        let old = st.get_entry::<Value>(CONFIG_KEY, snap)?;
        let t = st.task_mut(ctx.task_id()).expect("the running task");
        t.set(MOVED_KEY, &kept)?;
        if current.is_some() {
            t.set(OLD_CONFIG_KEY, &old)?;
            apply_config(st, snap, conf)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The restored configuration becomes the snap's document (none: no configuration), written
/// as `configmgr::tx` writes it.
fn apply_config(st: &mut State, snap: &str, conf: Option<Value>) -> Result {
    match conf.filter(|c| c.as_object().is_none_or(|m| !m.is_empty())) {
        Some(doc) => st.set_entry(CONFIG_KEY, snap, &doc)?,
        None => {
            st.remove_entry(CONFIG_KEY, snap)?;
        }
    }
    Ok(())
}

fn put_back_all(moves: &[Moved]) {
    for m in moves.iter().rev() {
        if let Err(e) = aside::put_back(m) {
            tracing::error!("cannot put {} back: {e}", m.dir.display());
        }
    }
}

fn put_back_recorded(ctx: &TaskContext<'_>) -> Result {
    let moved: Vec<Moved> = ctx.get(MOVED_KEY)?.unwrap_or_default();
    for m in moved.iter().rev() {
        aside::put_back(m)
            .map_err(|e| fail(format!("cannot put {} back: {e}", m.dir.display())))?;
    }
    if !moved.is_empty() {
        ctx.set(MOVED_KEY, &Vec::<Moved>::new())?;
    }
    Ok(())
}

fn undo_restore(_env: &Env, ctx: &TaskContext<'_>) -> Result {
    let setup = setup_of(ctx)?;
    put_back_recorded(ctx)?;
    let [snap] = setup.snaps.as_slice() else {
        return Ok(());
    };
    let mut st = ctx.lock();
    let t = st.task(ctx.task_id()).expect("the running task");
    if t.has(OLD_CONFIG_KEY) {
        let old: Option<Value> = t.get(OLD_CONFIG_KEY)?.flatten();
        apply_config(&mut st, snap, old)?;
    }
    Ok(())
}

/// The last task of a restore: every snap is restored, so the old data kept for undo goes.
/// It never fails (a failure here would undo restores whose old data is partly deleted); what
/// it cannot delete is logged and left to the runner's cleanup.
fn cleanup_after_restore(_env: &Env, ctx: &TaskContext<'_>) -> Result {
    let restores: Vec<(snap_state::TaskId, Vec<Moved>)> = ctx.with_state(|st| {
        st.change_tasks(ctx.change_id())
            .into_iter()
            .filter(|t| t.kind() == "restore-snapshot")
            .map(|t| (t.id(), t.get(MOVED_KEY).ok().flatten().unwrap_or_default()))
            .collect()
    });
    for (id, moved) in restores {
        let mut all = true;
        for m in &moved {
            if let Err(e) = aside::discard(m) {
                tracing::error!("cannot remove {}: {e}", m.aside.display());
                all = false;
            }
        }
        if all && !moved.is_empty() {
            let mut st = ctx.lock();
            if let Some(t) = st.task_mut(id) {
                t.set(MOVED_KEY, &Vec::<Moved>::new())?;
            }
        }
    }
    Ok(())
}

/// When the change is over: what the last task could not delete.
fn cleanup_restore(_env: &Env, ctx: &TaskContext<'_>) -> Result {
    let moved: Vec<Moved> = ctx.get(MOVED_KEY)?.unwrap_or_default();
    for m in &moved {
        aside::discard(m).map_err(fail)?;
    }
    Ok(())
}

fn check(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let setup = setup_of(ctx)?;
    let users = (!setup.users.is_empty()).then_some(setup.users.as_slice());
    env.engine
        .check(setup.set_id, &setup.snaps, users)
        .map_err(fail)
}

fn forget(env: &Env, ctx: &TaskContext<'_>) -> Result {
    let setup = setup_of(ctx)?;
    match env.engine.forget(setup.set_id, &setup.snaps) {
        Ok(()) => {}
        // A re-run after a crash that came after the forget.
        Err(snap_snapshots::SnapshotError::SetNotFound(_))
        | Err(snap_snapshots::SnapshotError::SnapNotInSet { .. }) => {}
        Err(e) => return Err(fail(e)),
    }
    if env.engine.set(setup.set_id).is_err() {
        let mut st = ctx.lock();
        st.remove_entry(SNAPSHOTS_KEY, &setup.set_id.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_users_are_the_saved_ones_with_a_home() {
        let t = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(t.path());
        std::fs::create_dir_all(t.path().join("root")).unwrap();
        std::fs::create_dir_all(t.path().join("home/alice")).unwrap();
        let saved = ["alice".to_owned(), "bob".to_owned(), "root".to_owned()];
        let names = |v: Vec<User>| v.into_iter().map(|u| u.name).collect::<Vec<_>>();
        // bob has no home: skipped, as snapd does.
        assert_eq!(names(restore_users(&dirs, &saved, &[])), ["alice", "root"]);
        assert_eq!(
            names(restore_users(&dirs, &saved, &["root".into()])),
            ["root"]
        );
        let u = &restore_users(&dirs, &saved, &["alice".into()])[0];
        assert_eq!(u.home, t.path().join("home/alice"));
    }
}
