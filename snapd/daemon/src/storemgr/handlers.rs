//! The `download-snap` task: the store's blob of the revision, downloaded (resuming a partial
//! file after a daemon restart), verified against the signed index, then read for its snap.yaml,
//! which completes the change's snap-setup for the tasks after it (`prerequisites`, `mount-snap`,
//! `link-snap`...). Its undo removes the blob.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use snap_core::dirs::Dirs;
use snap_squashfs::{SnapFile, digest_file};
use snap_state::{HandlerError, State, StateError, TaskContext, TaskId, TaskRunner, Timestamp};
use snap_store::{RevisionEntry, StoreError, client::partial_path};
use snap_sys::remove_if_exists;

use super::{DOWNLOAD_TASK, StoreManager};
use crate::snapmgr::handlers::snap_setup_of;
use crate::snapmgr::model::{RevisionInfo, get_snap};
use crate::snapmgr::plan::{InstallFlags, check_install};
use crate::snapmgr::setup::{SETUP_KEY, SETUP_TASK_KEY, SnapSetup};

/// Task data of a store operation, beside the snap-setup on the task holding it.
pub const STORE_SETUP_KEY: &str = "store-setup";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct StoreSetup {
    /// The channel the snap is to track, in full form (`latest/stable`).
    pub channel: String,
    /// The signed index's entry for the revision: where the blob is, its size and SHA-384.
    pub download: RevisionEntry,
    /// The snap's id in the store, which gadget `defaults:` name it by.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub snap_id: String,
}

type Result<T = ()> = std::result::Result<T, HandlerError>;

/// How often a download reports progress and looks for an abort.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

pub fn register(runner: &mut TaskRunner, mgr: Arc<StoreManager>, dirs: Dirs) {
    let (m1, d1) = (mgr.clone(), dirs.clone());
    runner.add_handler_with_undo(
        DOWNLOAD_TASK,
        move |ctx: &TaskContext<'_>| download_snap(&m1, &d1, ctx),
        move |ctx: &TaskContext<'_>| undo_download_snap(&dirs, ctx),
    );
}

/// The task holding the snap-setup of `task`'s chain (the task itself or the one it points at).
fn holder_of(st: &State, task: TaskId) -> std::result::Result<Option<TaskId>, StateError> {
    let Some(t) = st.task(task) else {
        return Ok(None);
    };
    if t.get::<serde_json::Value>(SETUP_KEY)?.is_some() {
        return Ok(Some(task));
    }
    Ok(t.get::<String>(SETUP_TASK_KEY)?
        .and_then(|id| id.parse().ok()))
}

/// The store data of `task`'s chain, if it is a store operation.
pub fn store_setup_of(
    st: &State,
    task: TaskId,
) -> std::result::Result<Option<StoreSetup>, StateError> {
    match holder_of(st, task)?.and_then(|h| st.task(h)) {
        Some(t) => t.get(STORE_SETUP_KEY),
        None => Ok(None),
    }
}

fn download_snap(mgr: &StoreManager, dirs: &Dirs, ctx: &TaskContext<'_>) -> Result {
    let (s, store) = ctx.with_state(|st| -> Result<_> {
        let s = snap_setup_of(st, ctx.task_id())?;
        let store = store_setup_of(st, ctx.task_id())?
            .ok_or_else(|| HandlerError::error("internal error: no store setup"))?;
        Ok((s, store))
    })?;
    let blob = dirs.blob(&s.name, s.revision);
    // After a crash the blob may already be in place: it was renamed there only once verified,
    // and a store revision's bytes never change, so matching size and digest is enough.
    if !blob_matches(&blob, &store.download) {
        std::fs::create_dir_all(dirs.blob_dir())
            .map_err(|e| HandlerError::error(format!("cannot create the blob directory: {e}")))?;
        let mut last = Instant::now();
        let mut stopped = false;
        let result = mgr.download(&store.download, &blob, &mut |p| {
            if p.done < p.total && last.elapsed() < PROGRESS_EVERY {
                return std::ops::ControlFlow::Continue(());
            }
            last = Instant::now();
            ctx.set_progress("Download", p.done, p.total);
            if ctx.is_cancelled() {
                stopped = true;
                return std::ops::ControlFlow::Break(());
            }
            std::ops::ControlFlow::Continue(())
        });
        match result {
            Ok(()) => {}
            // The daemon is stopping: the partial file stays, the next run resumes from it.
            Err(StoreError::Cancelled { .. }) if !ctx_aborted(ctx, stopped) => {
                return Err(HandlerError::retry(Duration::ZERO));
            }
            Err(e) => {
                // The change fails (or was aborted) and nothing of the download is left.
                let _ = remove_if_exists(&partial_path(&blob));
                let _ = remove_if_exists(&blob);
                let why = match e {
                    StoreError::Cancelled { done, .. } => {
                        format!("aborted after {done} bytes")
                    }
                    e => super::StoreMgrError::from(e).to_string(),
                };
                return Err(HandlerError::error(format!(
                    "cannot download snap {:?} ({}): {why}",
                    s.name, s.revision,
                )));
            }
        }
    }
    let checked = read_and_check(&blob, &s, ctx);
    match checked {
        Ok(info) => ctx.with_state(|st| -> Result {
            let holder = holder_of(st, ctx.task_id())?
                .ok_or_else(|| HandlerError::error("internal error: no snap-setup"))?;
            let task = st
                .task_mut(holder)
                .ok_or_else(|| HandlerError::error("internal error: no snap-setup"))?;
            let mut setup: SnapSetup = task
                .get(SETUP_KEY)?
                .ok_or_else(|| HandlerError::error("internal error: no snap-setup"))?;
            setup.snap_type = info.1.clone();
            setup.info = Some(info.0);
            task.set(SETUP_KEY, &setup)?;
            Ok(())
        }),
        Err(e) => {
            let _ = remove_if_exists(&blob);
            Err(e)
        }
    }
}

/// Whether a download that was `stopped` was stopped by an abort of its change (rather than by
/// the daemon stopping, which leaves the partial file to resume).
fn ctx_aborted(ctx: &TaskContext<'_>, stopped: bool) -> bool {
    stopped
        && ctx.with_state(|st| {
            st.task(ctx.task_id())
                .is_none_or(|t| t.status() == snap_state::Status::Abort)
        })
}

/// The downloaded snap's snap.yaml, checked as an install from a file is: the name the index
/// gave it, its confinement against the flags, its type against what is installed. Returns
/// what the API will show of it and its type.
fn read_and_check(
    blob: &std::path::Path,
    s: &SnapSetup,
    ctx: &TaskContext<'_>,
) -> Result<(RevisionInfo, String)> {
    let bad = |e: String| HandlerError::error(format!("cannot install snap {:?}: {e}", s.name));
    let file = SnapFile::open(blob).map_err(|e| bad(e.to_string()))?;
    let yaml = file.snap_yaml().map_err(|e| bad(e.to_string()))?;
    if yaml.name != s.name {
        return Err(bad(format!(
            "the store's file for it is snap {:?}",
            yaml.name
        )));
    }
    // The blob is vouched for by the signed index: it needs no --dangerous.
    let flags = InstallFlags {
        dangerous: true,
        devmode: s.devmode,
        classic: s.classic,
    };
    ctx.with_state(|st| check_install(&yaml, &flags, &*st))
        .map_err(|e| HandlerError::error(e.to_string()))?;
    let digest = digest_file(blob).map_err(|e| bad(e.to_string()))?;
    let info = RevisionInfo::from_yaml(
        &yaml,
        s.revision,
        digest.size,
        digest.sha384,
        Timestamp::now().to_rfc3339(),
    );
    Ok((info, yaml.snap_type.as_str().to_owned()))
}

fn blob_matches(blob: &std::path::Path, entry: &RevisionEntry) -> bool {
    digest_file(blob).is_ok_and(|d| d.size == entry.size && d.sha384 == entry.sha384)
}

fn undo_download_snap(dirs: &Dirs, ctx: &TaskContext<'_>) -> Result {
    let s = ctx.with_state(|st| snap_setup_of(st, ctx.task_id()))?;
    // A revision the snap still has (a refresh back to a retained one) keeps its blob.
    let in_use = ctx
        .with_state(|st| get_snap(st, &s.name))?
        .is_some_and(|e| e.sequence.iter().any(|r| r.revision == s.revision));
    let blob = dirs.blob(&s.name, s.revision);
    remove_if_exists(&partial_path(&blob))
        .map_err(|e| HandlerError::error(format!("cannot remove the partial download: {e}")))?;
    if !in_use {
        remove_if_exists(&blob)
            .map_err(|e| HandlerError::error(format!("cannot remove the snap's blob: {e}")))?;
    }
    Ok(())
}
