//! The `dev.snappy.Snapd1` interface: what a settings UI needs, as calls into the same
//! operations and views the REST API uses (`snapmgr`, `ifacemgr`, `snapmgr::holds`). Reads
//! are open to every caller; each changing method first checks the caller (see `auth`).

use std::sync::Arc;

use snap_state::ChangeId;
use snapd_api::{InterfaceAction, PlugRef, SlotRef};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{Connection, interface};

use super::auth::{self, GroupDb};
use super::error::Error;
use super::wire::{self, ChangeEntry, Endpoint, SnapEntry};
use crate::daemon::Daemon;
use crate::ifacemgr::{ops as iface_ops, view};
use crate::snapmgr::holds;
use crate::snapmgr::model::{Installed, all_snaps};
use crate::snapmgr::view::snap_object;

pub struct Snapd1 {
    pub daemon: Arc<Daemon>,
    /// The daemon's runtime: operations lock the state and write it to disk, which is kept
    /// off zbus's executor.
    pub runtime: tokio::runtime::Handle,
    pub admin_group: Option<String>,
    pub groups: GroupDb,
}

impl Snapd1 {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Daemon) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let d = self.daemon.clone();
        self.runtime
            .spawn_blocking(move || f(&d))
            .await
            .map_err(|e| Error::Failed(e.to_string()))?
    }

    async fn require_change(&self, conn: &Connection, hdr: &Header<'_>) -> Result<(), Error> {
        let caller = auth::caller_of(conn, hdr).await?;
        auth::require_change(&caller, self.admin_group.as_deref(), &self.groups)
    }
}

fn action(
    what: &str,
    plug_snap: String,
    plug: String,
    slot_snap: String,
    slot: String,
) -> InterfaceAction {
    InterfaceAction {
        action: what.to_owned(),
        forget: false,
        plugs: vec![PlugRef {
            snap: plug_snap,
            plug,
        }],
        slots: vec![SlotRef {
            snap: slot_snap,
            slot,
        }],
    }
}

#[interface(name = "dev.snappy.Snapd1")]
impl Snapd1 {
    /// Every installed snap, by name.
    #[zbus(out_args("snaps"))]
    async fn list_snaps(&self) -> Result<Vec<SnapEntry>, Error> {
        self.blocking(|d| {
            let st = d.store.lock();
            let snaps = all_snaps(&st).map_err(|e| Error::Failed(e.to_string()))?;
            let mut out = Vec::with_capacity(snaps.len());
            for (name, state) in &snaps {
                let Some(info) = state.current_info() else {
                    continue;
                };
                let snap = snap_object(&d.dirs, name, state, info);
                out.push(SnapEntry {
                    name: name.clone(),
                    title: snap.title.unwrap_or_default(),
                    version: snap.version,
                    revision: snap.revision,
                    snap_type: snap.snap_type,
                    confinement: snap.confinement,
                    publisher: snap.developer,
                    icon: wire::icon_path(&d.dirs.mount_point(name, info.revision)),
                    status: snap.status,
                    hold: holds::active_hold(&st, name)
                        .map(|h| h.until_text())
                        .unwrap_or_default(),
                });
            }
            Ok(out)
        })
        .await
    }

    /// The plugs and the slots of `snap`, each with the ends it is connected to.
    #[zbus(out_args("plugs", "slots"))]
    async fn get_plugs_and_slots(
        &self,
        snap: String,
    ) -> Result<(Vec<Endpoint>, Vec<Endpoint>), Error> {
        self.blocking(move |d| {
            let snap = crate::ifacemgr::repo::remap_snap(&snap).to_string();
            let st = d.store.lock();
            if snap != snap_interfaces::SYSTEM_SNAP && st.snap(&snap).is_none() {
                return Err(Error::NotFound(format!("snap {snap:?} is not installed")));
            }
            let filter = view::Filter {
                snap: Some(snap.clone()),
                interface: None,
                connected_only: false,
            };
            let all = view::connections(&st, &filter).map_err(|e| Error::Failed(e.to_string()))?;
            let plugs = all
                .plugs
                .iter()
                .filter(|p| p.snap == snap)
                .map(wire::plug_endpoint)
                .collect();
            let slots = all
                .slots
                .iter()
                .filter(|s| s.snap == snap)
                .map(wire::slot_endpoint)
                .collect();
            Ok((plugs, slots))
        })
        .await
    }

    /// Connects a plug to a slot; an empty slot snap and name mean the plug's default slot.
    /// Returns the id of the change doing it.
    #[zbus(out_args("change"))]
    async fn connect(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        plug_snap: String,
        plug: String,
        slot_snap: String,
        slot: String,
    ) -> Result<String, Error> {
        self.require_change(conn, &hdr).await?;
        let a = action("connect", plug_snap, plug, slot_snap, slot);
        self.blocking(move |d| Ok(iface_ops::change_interfaces(d, &a)?.to_string()))
            .await
    }

    /// Disconnects a plug from a slot; an empty slot snap and name mean every connection of
    /// the plug. Returns the id of the change doing it.
    #[zbus(out_args("change"))]
    async fn disconnect(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        plug_snap: String,
        plug: String,
        slot_snap: String,
        slot: String,
    ) -> Result<String, Error> {
        self.require_change(conn, &hdr).await?;
        let a = action("disconnect", plug_snap, plug, slot_snap, slot);
        self.blocking(move |d| Ok(iface_ops::change_interfaces(d, &a)?.to_string()))
            .await
    }

    /// A change's progress and result.
    #[zbus(out_args("change"))]
    async fn get_change(&self, id: String) -> Result<ChangeEntry, Error> {
        self.blocking(move |d| {
            let not_found = || Error::NotFound(format!("cannot find change with id {id:?}"));
            let cid: ChangeId = id.parse().map_err(|_| not_found())?;
            let info = d.store.lock().change_info(cid).ok_or_else(not_found)?;
            Ok(ChangeEntry::from_info(&info))
        })
        .await
    }

    /// Holds refreshes of `snap` until `time` (`forever` or RFC3339) at `level` (`general`,
    /// the default when empty, or `auto-refresh`). Returns when the hold ends.
    #[zbus(out_args("until"))]
    async fn hold(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        snap: String,
        time: String,
        level: String,
    ) -> Result<String, Error> {
        self.require_change(conn, &hdr).await?;
        self.blocking(move |d| Ok(holds::hold(d, &snap, &time, &level)?.until_text()))
            .await
    }

    /// Removes the refresh hold of `snap`.
    async fn unhold(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        snap: String,
    ) -> Result<(), Error> {
        self.require_change(conn, &hdr).await?;
        self.blocking(move |d| Ok(holds::unhold(d, &snap)?)).await
    }

    /// The daemon's version.
    #[zbus(property)]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// A change moved: a task started or finished, or reported progress.
    #[zbus(signal)]
    pub async fn change_changed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        kind: &str,
        status: &str,
        done: u32,
        total: u32,
    ) -> zbus::Result<()>;

    /// A change finished: `status` is `Done`, `Error`, `Undone` or `Hold`.
    #[zbus(signal)]
    pub async fn change_ready(
        emitter: &SignalEmitter<'_>,
        id: &str,
        status: &str,
        error: &str,
    ) -> zbus::Result<()>;

    /// Snaps were installed, removed, held or otherwise changed: list them again.
    #[zbus(signal)]
    pub async fn snaps_changed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    /// Connections were made or taken down: read plugs and slots again.
    #[zbus(signal)]
    pub async fn connections_changed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use zbus::object_server::Interface;

    use super::*;

    #[test]
    fn the_interface_has_the_documented_name() {
        assert_eq!(Snapd1::name().as_str(), super::super::names::INTERFACE);
    }
}
