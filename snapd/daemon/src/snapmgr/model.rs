//! What the daemon remembers of each installed snap, kept in the state as one entry per snap
//! of the `snaps` key (as snapd's state.json).
//!
//! The state engine serializes entries separately, so a change to one snap rewrites only its own
//! entry in a checkpoint, whatever the number of snaps installed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use snap_core::{Revision, SnapYaml};
use snap_interfaces::{PlugEnd, SlotEnd};
use snap_state::{State, StateError};

/// The state key holding every snap's entry.
pub const SNAPS_KEY: &str = "snaps";

/// Every installed snap's entry, by name.
pub fn all_snaps(st: &State) -> Result<BTreeMap<String, SnapState>, StateError> {
    let mut out = BTreeMap::new();
    for name in st.entry_names(SNAPS_KEY)? {
        if let Some(s) = st.get_entry(SNAPS_KEY, &name)? {
            out.insert(name, s);
        }
    }
    Ok(out)
}

pub fn get_snap(st: &State, name: &str) -> Result<Option<SnapState>, StateError> {
    st.get_entry(SNAPS_KEY, name)
}

/// Read access to the installed snaps for the install and remove checks, which decode only the
/// entries they need: with hundreds of snaps installed, decoding all of them on every request
/// would make each install slower than the last.
pub trait Installed {
    fn snap(&self, name: &str) -> Option<SnapState>;
    /// Every snap; only for the rare checks that must look at all of them.
    fn all(&self) -> BTreeMap<String, SnapState>;
}

impl Installed for State {
    fn snap(&self, name: &str) -> Option<SnapState> {
        get_snap(self, name).unwrap_or_else(|e| {
            // Entries are written by this daemon only; one that does not decode was damaged on
            // disk, and treating it as absent is the least harmful reading.
            tracing::error!("cannot decode the state of snap {name}: {e}");
            None
        })
    }

    fn all(&self) -> BTreeMap<String, SnapState> {
        all_snaps(self).unwrap_or_else(|e| {
            tracing::error!("cannot decode the installed snaps: {e}");
            BTreeMap::new()
        })
    }
}

impl Installed for BTreeMap<String, SnapState> {
    fn snap(&self, name: &str) -> Option<SnapState> {
        self.get(name).cloned()
    }

    fn all(&self) -> BTreeMap<String, SnapState> {
        self.clone()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct SnapState {
    #[serde(rename = "type")]
    pub snap_type: String,
    /// Retained revisions, oldest first.
    pub sequence: Vec<RevisionInfo>,
    /// The revision `current` points at.
    pub current: Revision,
    pub active: bool,
    #[serde(default)]
    pub devmode: bool,
    #[serde(default)]
    pub classic: bool,
    /// The snap's id in the store it was installed from (none for a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snap_id: Option<String>,
    /// The store channel the snap tracks (full form, `latest/stable`); none for a snap
    /// installed from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_channel: Option<String>,
}

/// What the API shows of one revision, taken from its snap.yaml at install, so that listing
/// snaps never reads from mounts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct RevisionInfo {
    pub revision: Revision,
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    pub confinement: String,
    pub grade: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppInfo>,
    /// The plugs and slots that take part in connections (see `ifacemgr::repo::endpoints`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plugs: Vec<PlugEnd>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<SlotEnd>,
    pub size: u64,
    pub sha384: String,
    pub install_date: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AppInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<String>,
}

impl SnapState {
    pub fn current_info(&self) -> Option<&RevisionInfo> {
        self.sequence.iter().find(|r| r.revision == self.current)
    }

    /// The next local revision: one past the highest `xN` still retained, `x1` if none.
    pub fn next_local_revision(state: Option<&SnapState>) -> Revision {
        let highest = state
            .into_iter()
            .flat_map(|s| s.sequence.iter())
            .filter(|r| r.revision.is_local())
            .map(|r| r.revision.number())
            .max()
            .unwrap_or(0);
        Revision::local(highest + 1)
    }
}

impl RevisionInfo {
    pub fn from_yaml(
        snap: &SnapYaml,
        revision: Revision,
        size: u64,
        sha384: String,
        install_date: String,
    ) -> RevisionInfo {
        let ends = crate::ifacemgr::repo::endpoints(snap);
        RevisionInfo {
            revision,
            version: snap.version.clone().unwrap_or_default(),
            summary: snap.summary.clone().unwrap_or_default(),
            description: snap.description.clone().unwrap_or_default(),
            title: snap.title.clone(),
            license: snap.license.clone(),
            base: snap.base.clone(),
            confinement: snap.confinement.as_str().to_owned(),
            grade: snap.grade.as_str().to_owned(),
            apps: snap
                .apps
                .values()
                .map(|a| AppInfo {
                    name: a.name.clone(),
                    daemon: a.daemon.map(|d| d.as_str().to_owned()),
                })
                .collect(),
            plugs: ends.plugs,
            slots: ends.slots,
            size,
            sha384,
            install_date,
        }
    }
}

/// A revision's entry with nothing but its number and version, for tests.
#[cfg(test)]
pub(crate) fn sample_info(rev: Revision, version: &str) -> RevisionInfo {
    RevisionInfo {
        revision: rev,
        version: version.into(),
        summary: String::new(),
        description: String::new(),
        title: None,
        license: None,
        base: None,
        confinement: "strict".into(),
        grade: "stable".into(),
        apps: vec![],
        plugs: vec![],
        slots: vec![],
        size: 0,
        sha384: String::new(),
        install_date: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(rev: Revision) -> RevisionInfo {
        sample_info(rev, "1")
    }

    #[test]
    fn local_revisions_count_up_from_the_highest_retained() {
        assert_eq!(SnapState::next_local_revision(None), Revision::local(1));
        let st = SnapState {
            snap_type: "app".into(),
            sequence: vec![
                info(Revision::local(1)),
                info(Revision::store(7)),
                info(Revision::local(3)),
            ],
            current: Revision::local(3),
            active: true,
            devmode: false,
            classic: false,
            tracking_channel: None,
            snap_id: None,
        };
        assert_eq!(
            SnapState::next_local_revision(Some(&st)),
            Revision::local(4)
        );
    }

    #[test]
    fn entry_round_trips_through_json() {
        let st = SnapState {
            snap_type: "app".into(),
            sequence: vec![info(Revision::local(2))],
            current: Revision::local(2),
            active: true,
            devmode: false,
            classic: false,
            tracking_channel: None,
            snap_id: None,
        };
        let v = serde_json::to_value(&st).unwrap();
        assert_eq!(v["current"], "x2");
        assert_eq!(serde_json::from_value::<SnapState>(v).unwrap(), st);
    }
}
