//! `POST /v2/apps`: the names are checked now (unknown snaps and apps are refused before any
//! change exists), then a `service-control` change, as snapd's, does the work.

use serde::{Deserialize, Serialize};
use snap_state::ChangeId;

use super::{Action, ControlError, ServiceManager};
use crate::daemon::Daemon;

/// The data of a `service-control` task.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct ServiceAction {
    pub action: Action,
    /// `SNAP.APP` of every service, resolved when the change was made.
    pub services: Vec<String>,
    #[serde(default)]
    pub enable: bool,
    #[serde(default)]
    pub disable: bool,
}

pub const ACTION_KEY: &str = "service-action";

#[derive(Debug, thiserror::Error)]
pub enum ControlOpError {
    #[error("{0}")]
    Control(#[from] ControlError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(snap_state::ChangeConflict),
    #[error("{0}")]
    State(#[from] snap_state::StateError),
}

pub fn service_control(
    d: &Daemon,
    mgr: &ServiceManager,
    action: Action,
    names: &[String],
    enable: bool,
    disable: bool,
) -> Result<ChangeId, ControlOpError> {
    if names.is_empty() {
        return Err(ControlOpError::Invalid("no services named".into()));
    }
    if enable && action != Action::Start {
        return Err(ControlOpError::Invalid(
            "--enable goes only with start".into(),
        ));
    }
    if disable && action != Action::Stop {
        return Err(ControlOpError::Invalid(
            "--disable goes only with stop".into(),
        ));
    }
    let specs = mgr.resolve(names)?;
    let services: Vec<String> = specs
        .iter()
        .map(|s| format!("{}.{}", s.snap, s.app))
        .collect();
    let mut snaps: Vec<&str> = specs.iter().map(|s| s.snap.as_str()).collect();
    snaps.dedup();
    let mut st = d.store.lock();
    st.check_conflict_many(&snaps, None)
        .map_err(ControlOpError::Conflict)?;
    let verb = match action {
        Action::Start => "Start",
        Action::Stop => "Stop",
        Action::Restart | Action::ReloadOrRestart => "Restart",
    };
    let summary = "Running service command".to_owned();
    let chg = st.new_change("service-control", &summary);
    st.change_mut(chg)
        .expect("just created")
        .set("snap-names", &snaps)?;
    let t = st.new_task_in(
        chg,
        "service-control",
        &format!("{verb} services {}", services.join(", ")),
    )?;
    st.task_mut(t).expect("just created").set(
        ACTION_KEY,
        &ServiceAction {
            action,
            services,
            enable,
            disable,
        },
    )?;
    st.commit()?;
    Ok(chg)
}
