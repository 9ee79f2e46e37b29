//! The data every task of a snap operation carries: which snap, which revision, and for an
//! install what was read from its snap.yaml. The key `snap-setup` is snapd's, and the state
//! engine reads its `name` to know which snap a change touches (for conflicts).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use snap_core::Revision;

use super::model::RevisionInfo;

pub const SETUP_KEY: &str = "snap-setup";
/// In the other tasks of a chain: the id of the task holding the snap-setup.
pub const SETUP_TASK_KEY: &str = "snap-setup-task";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct SnapSetup {
    pub name: String,
    pub revision: Revision,
    #[serde(rename = "type")]
    pub snap_type: String,
    /// The spooled upload an install takes its blob from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snap_path: Option<PathBuf>,
    #[serde(default)]
    pub devmode: bool,
    #[serde(default)]
    pub classic: bool,
    /// What the API shows of the revision being installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<RevisionInfo>,
    /// For removal: this revision is the snap's last one.
    #[serde(default)]
    pub last: bool,
}

impl SnapSetup {
    /// The setup of a task about revision `rev` of the installed snap `name` (its hooks and
    /// services, a revision discarded or linked again): what the snap's entry knows of it.
    pub fn of_installed(name: &str, st: &super::model::SnapState, rev: Revision) -> SnapSetup {
        SnapSetup {
            name: name.to_owned(),
            revision: rev,
            snap_type: st.snap_type.clone(),
            snap_path: None,
            devmode: st.devmode,
            classic: st.classic,
            info: st.sequence.iter().find(|r| r.revision == rev).cloned(),
            last: false,
        }
    }
}
