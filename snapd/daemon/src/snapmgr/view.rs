//! How the API shows an installed snap: the snap object of `GET /v2/snaps`.

use snap_core::dirs::Dirs;
use snapd_api::{App, Snap};

use super::model::{RevisionInfo, SnapState};

/// The snap object for one retained revision of `name`.
pub fn snap_object(dirs: &Dirs, name: &str, st: &SnapState, info: &RevisionInfo) -> Snap {
    let is_current = info.revision == st.current;
    Snap {
        id: st.snap_id.clone().unwrap_or_default(),
        title: info.title.clone(),
        summary: info.summary.clone(),
        description: info.description.clone(),
        installed_size: Some(info.size),
        install_date: Some(info.install_date.clone()),
        name: name.to_owned(),
        developer: String::new(),
        status: if is_current && st.active {
            "active"
        } else {
            "installed"
        }
        .to_owned(),
        snap_type: st.snap_type.clone(),
        base: info.base.clone(),
        version: info.version.clone(),
        // A store snap: the channel it tracks (and, until refresh can switch it, came from).
        channel: st.tracking_channel.clone().unwrap_or_default(),
        tracking_channel: st.tracking_channel.clone(),
        ignore_validation: false,
        revision: info.revision.to_string(),
        confinement: info.confinement.clone(),
        grade: Some(info.grade.clone()),
        private: false,
        devmode: st.devmode,
        jailmode: false,
        apps: info
            .apps
            .iter()
            .map(|a| App {
                snap: Some(name.to_owned()),
                name: a.name.clone(),
                daemon: a.daemon.clone(),
                daemon_scope: a.daemon.as_ref().map(|_| "system".to_owned()),
                ..App::default()
            })
            .collect(),
        license: info.license.clone(),
        mounted_from: Some(dirs.blob(name, info.revision).display().to_string()),
        contact: String::new(),
        health: None,
    }
}

/// The API's health object.
pub fn health_object(h: &crate::healthmgr::Health) -> snapd_api::SnapHealth {
    snapd_api::SnapHealth {
        revision: h.revision.to_string(),
        timestamp: h.timestamp.clone(),
        status: h.status.clone(),
        message: h.message.clone(),
        code: h.code.clone(),
    }
}
