//! Services: apps with `daemon:`. Where PID 1 is not systemd (as on this machine) the daemon
//! supervises them itself ([`supervisor`]), each in its own cgroup ([`cgroup`]), with its
//! output kept in rotated files ([`logs`]); [`unit`] generates the systemd units snapd writes
//! where PID 1 is systemd. [`spec`] holds the pure decisions (restart, start limit, order).
//!
//! The front ends (`/v2/apps`, `snapctl`) and the task handlers call [`ServiceManager`]'s plain
//! functions: [`ServiceManager::control`] to start, stop or restart services,
//! [`ServiceManager::statuses`] to list them.

pub mod cgroup;
pub mod handlers;
pub mod logs;
pub mod ops;
pub mod spec;
pub mod state;
pub mod supervisor;
pub mod unit;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use snap_core::dirs::Dirs;
use snap_core::{InstallMode, Revision};
use snap_state::StateStore;

use self::logs::LogLimits;
use self::spec::{ServiceSpec, services_of, start_order};
use self::state::{AppState, SnapServices};
use self::supervisor::{ActiveState, Ctx, Service};
use crate::snapmgr::model::get_snap;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("snap {0:?} not found")]
    SnapNotFound(String),
    #[error("snap {snap:?} has no service {app:?}")]
    AppNotFound { snap: String, app: String },
    #[error("cannot read the services of snap {snap:?}: {reason}")]
    Read { snap: String, reason: String },
    #[error("{0}")]
    Service(#[from] supervisor::ServiceError),
    #[error("{0}")]
    Order(#[from] spec::OrderError),
    #[error("cannot update the state: {0}")]
    State(#[from] snap_state::StateError),
    #[error("service {service} died within {} of starting", crate::hookmgr::setup::go_duration(*.grace))]
    Died {
        service: String,
        grace: std::time::Duration,
    },
}

/// What `start`, `stop` and `restart` do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Start,
    Stop,
    Restart,
    /// `restart --reload`: the reload command where there is one.
    ReloadOrRestart,
}

/// One service as `/v2/apps` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppStatus {
    pub snap: String,
    pub app: String,
    pub daemon: String,
    pub enabled: bool,
    pub active: ActiveState,
    pub main_pid: Option<u32>,
}

pub struct ServiceManager {
    ctx: Arc<Ctx>,
    store: Arc<StateStore>,
    services: Mutex<BTreeMap<String, Arc<Service>>>,
}

impl ServiceManager {
    /// `confine`: the launcher binary. Log limits may be lowered for tests with
    /// `SNAPD_SERVICE_LOG_MAX_BYTES` (per file) and `SNAPD_SERVICE_LOG_KEEP`.
    pub fn new(dirs: Dirs, confine: PathBuf, store: Arc<StateStore>) -> anyhow::Result<Self> {
        let root = std::fs::canonicalize(dirs.root()).unwrap_or_else(|_| dirs.root().to_owned());
        let cgroups = cgroup::Cgroups::for_root(&root)?;
        let mut limits = LogLimits::default();
        if let Some(v) = env_num("SNAPD_SERVICE_LOG_MAX_BYTES") {
            limits.max_file_bytes = v.max(256);
        }
        if let Some(v) = env_num("SNAPD_SERVICE_LOG_KEEP") {
            limits.keep = v as usize;
        }
        let st = store.clone();
        let ended = Box::new(move |spec: &ServiceSpec| {
            let mut guard = st.lock();
            let Ok(mut s) = state::get(&guard, &spec.snap) else {
                return;
            };
            if let Some(a) = s.apps.get_mut(&spec.app) {
                a.active = false;
                if let Err(e) = state::set(&mut guard, &spec.snap, &s) {
                    tracing::error!("cannot record that {} ended: {e}", spec.unit_name());
                }
            }
        });
        Ok(ServiceManager {
            ctx: Arc::new(Ctx {
                dirs: Dirs::new(root),
                confine,
                cgroups,
                limits,
                ended,
            }),
            store,
            services: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn log_limits(&self) -> LogLimits {
        self.ctx.limits
    }

    pub fn log_dir(&self, snap: &str, app: &str) -> PathBuf {
        self.ctx.log_dir(&spec::unit_name(snap, app))
    }

    /// The services of the installed snap `snap` (its current revision's snap.yaml).
    pub fn specs_of(
        &self,
        snap: &str,
    ) -> Result<(Revision, BTreeMap<String, ServiceSpec>), ControlError> {
        let entry = get_snap(&self.store.lock(), snap)?
            .ok_or_else(|| ControlError::SnapNotFound(snap.to_owned()))?;
        let rev = entry.current;
        let yaml = self.ctx.dirs.mount_point(snap, rev).join("meta/snap.yaml");
        let read = |reason: String| ControlError::Read {
            snap: snap.to_owned(),
            reason,
        };
        let bytes = std::fs::read(&yaml).map_err(|e| read(format!("{}: {e}", yaml.display())))?;
        let parsed = snap_core::parse_snap_yaml(&bytes).map_err(|e| read(e.to_string()))?;
        Ok((rev, services_of(&parsed)))
    }

    fn service(&self, spec: &ServiceSpec) -> Arc<Service> {
        let mut all = self.services.lock().unwrap_or_else(|e| e.into_inner());
        let s = all
            .entry(spec.unit_name())
            .or_insert_with(|| Service::new(spec.clone(), self.ctx.clone()));
        *s.spec.lock().unwrap_or_else(|e| e.into_inner()) = spec.clone();
        s.clone()
    }

    fn existing(&self, unit: &str) -> Option<Arc<Service>> {
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(unit)
            .cloned()
    }

    fn update_state(
        &self,
        snap: &str,
        f: impl FnOnce(&mut SnapServices),
    ) -> Result<(), ControlError> {
        let mut st = self.store.lock();
        let mut s = state::get(&st, snap)?;
        f(&mut s);
        state::set(&mut st, snap, &s)?;
        Ok(())
    }

    /// Install (`start-snap-services`): each service enabled or not as its `install-mode`
    /// says (a state already recorded wins: a reverted removal keeps the user's choice), then
    /// the enabled ones started in order.
    pub fn start_snap(&self, snap: &str) -> Result<(), ControlError> {
        let (_, specs) = self.specs_of(snap)?;
        if specs.is_empty() {
            return Ok(());
        }
        let order = start_order(&specs)?;
        let recorded = state::get(&self.store.lock(), snap)?;
        let mut enabled = BTreeMap::new();
        for (app, s) in &specs {
            let on = recorded
                .apps
                .get(app)
                .map(|a| a.enabled)
                .unwrap_or(s.install_mode == InstallMode::Enable);
            enabled.insert(app.clone(), on);
        }
        self.update_state(snap, |st| {
            for (app, on) in &enabled {
                st.apps.entry(app.clone()).or_default().enabled = *on;
            }
        })?;
        let mut started: Vec<String> = Vec::new();
        for app in order {
            if !enabled[&app] {
                continue;
            }
            let svc = self.service(&specs[&app]);
            if let Err(e) = svc.start(false) {
                // The task fails and is not undone itself: stop what it started, so that the
                // rest of the change's undo finds nothing of the snap running.
                if let Err(stop) = self.stop_snap(snap, true) {
                    tracing::error!("cannot stop the services of {snap}: {stop}");
                }
                return Err(e.into());
            }
            started.push(app);
        }
        self.update_state(snap, |st| {
            for a in &started {
                st.apps.entry(a.clone()).or_default().active = true;
            }
        })
    }

    /// After a refresh or revert started the new revision's services: each must still be
    /// running, with the process it started with, after `grace`. A service that died in that
    /// time (even one its restart condition brought back) fails the check, and every service
    /// of the snap is stopped so that the change's undo brings the old revision back. Oneshot
    /// services, which end by design, are not watched.
    pub fn check_survived(
        &self,
        snap: &str,
        grace: std::time::Duration,
    ) -> Result<(), ControlError> {
        let (_, specs) = self.specs_of(snap)?;
        let watched: Vec<(String, Arc<Service>, Option<u32>)> = specs
            .values()
            .filter(|s| s.daemon != snap_core::DaemonType::Oneshot)
            .filter_map(|s| {
                self.existing(&s.unit_name())
                    .map(|svc| (s.app.clone(), svc))
            })
            .filter(|(_, svc)| svc.active() == ActiveState::Active)
            .map(|(app, svc)| {
                let pid = svc.main_pid();
                (app, svc, pid)
            })
            .collect();
        if watched.is_empty() {
            return Ok(());
        }
        std::thread::sleep(grace);
        for (app, svc, pid) in watched {
            if svc.active() != ActiveState::Active || svc.main_pid() != pid {
                if let Err(stop) = self.stop_snap(snap, false) {
                    tracing::error!("cannot stop the services of {snap}: {stop}");
                }
                return Err(ControlError::Died {
                    service: format!("{snap}.{app}"),
                    grace,
                });
            }
        }
        Ok(())
    }

    /// Removal (`stop-snap-services`): every service stopped, in reverse order; with
    /// `forget`, also their cgroups, output and logs, and their state entry.
    pub fn stop_snap(&self, snap: &str, forget: bool) -> Result<(), ControlError> {
        let specs = match self.specs_of(snap) {
            Ok((_, s)) => s,
            // Not mounted any more: nothing of it can run.
            Err(ControlError::Read { .. }) => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        let mut order = start_order(&specs).unwrap_or_else(|_| specs.keys().cloned().collect());
        order.reverse();
        for app in &order {
            let svc = self.service(&specs[app]);
            svc.stop()?;
            if forget {
                svc.remove_traces();
                self.services
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&svc.unit);
            }
        }
        if forget {
            self.remove_leftovers(snap);
            let mut st = self.store.lock();
            state::set(&mut st, snap, &SnapServices::default())?;
        } else {
            self.update_state(snap, |st| {
                for a in st.apps.values_mut() {
                    a.active = false;
                }
            })?;
        }
        Ok(())
    }

    /// Whatever of the snap's services is still there though its snap.yaml no longer names
    /// it (a revision without that service, a snap no longer mounted after a crash): killed and
    /// removed, so that a removal leaves nothing.
    fn remove_leftovers(&self, snap: &str) {
        let prefix = format!("snap.{snap}.");
        let mut units = self.ctx.cgroups.units_with_prefix(&prefix);
        for dir in [self.ctx.run_dir(""), self.ctx.log_dir("")] {
            if let Ok(d) = std::fs::read_dir(&dir) {
                units.extend(
                    d.flatten()
                        .filter_map(|e| e.file_name().into_string().ok())
                        .filter(|n| n.starts_with(&prefix)),
                );
            }
        }
        units.sort();
        units.dedup();
        for unit in units {
            if !unit.ends_with(".service") {
                continue;
            }
            tracing::info!("removing what is left of {unit}");
            self.ctx
                .cgroups
                .kill_and_wait(&unit, std::time::Duration::from_secs(10));
            self.ctx.remove_traces(&unit);
        }
    }

    /// Resolves `SNAP` (all its services) and `SNAP.APP` names to services, in the snap's
    /// start order; unknown snaps and apps that are not services are errors.
    pub fn resolve(&self, names: &[String]) -> Result<Vec<ServiceSpec>, ControlError> {
        let mut out: Vec<ServiceSpec> = Vec::new();
        for name in names {
            let (snap, app) = match name.split_once('.') {
                Some((s, a)) => (s, Some(a)),
                None => (name.as_str(), None),
            };
            let (_, specs) = self.specs_of(snap)?;
            let order = start_order(&specs)?;
            match app {
                Some(a) => {
                    let s = specs.get(a).ok_or_else(|| ControlError::AppNotFound {
                        snap: snap.to_owned(),
                        app: a.to_owned(),
                    })?;
                    out.push(s.clone());
                }
                None => out.extend(order.iter().map(|a| specs[a].clone())),
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|s| seen.insert(s.unit_name()));
        Ok(out)
    }

    /// `snap start|stop|restart [--enable|--disable]` and `snapctl start|stop|restart`: acts
    /// on the named services (see [`ServiceManager::resolve`]); `enable` (with start) and
    /// `disable` (with stop) also change whether they start at boot.
    pub fn control(
        &self,
        action: Action,
        names: &[String],
        enable: bool,
        disable: bool,
    ) -> Result<(), ControlError> {
        let mut targets = self.resolve(names)?;
        if action == Action::Stop {
            targets.reverse();
        }
        for spec in &targets {
            let svc = self.service(spec);
            match action {
                Action::Start => svc.start(false)?,
                Action::Stop => svc.stop()?,
                Action::Restart => {
                    svc.stop()?;
                    svc.start(false)?;
                }
                Action::ReloadOrRestart => svc.reload_or_restart()?,
            }
            self.update_state(&spec.snap, |st| {
                let a = st
                    .apps
                    .entry(spec.app.clone())
                    .or_insert_with(AppState::default);
                a.active = action != Action::Stop;
                if enable {
                    a.enabled = true;
                }
                if disable {
                    a.enabled = false;
                }
            })?;
        }
        Ok(())
    }

    /// The services named (every installed snap's when `names` is empty), as `/v2/apps` and
    /// `snapctl services` show them.
    pub fn statuses(&self, names: &[String]) -> Result<Vec<AppStatus>, ControlError> {
        let names: Vec<String> = if names.is_empty() {
            crate::snapmgr::model::all_snaps(&self.store.lock())?
                .into_iter()
                .filter(|(_, s)| {
                    s.current_info()
                        .is_some_and(|i| i.apps.iter().any(|a| a.daemon.is_some()))
                })
                .map(|(n, _)| n)
                .collect()
        } else {
            names.to_vec()
        };
        let mut out = Vec::new();
        for spec in self.resolve(&names)? {
            let recorded = state::get(&self.store.lock(), &spec.snap)?;
            let unit = spec.unit_name();
            let (active, main_pid) = match self.existing(&unit) {
                Some(s) => (s.active(), s.main_pid()),
                None if self.ctx.cgroups.populated(&unit) => (ActiveState::Active, None),
                None => (ActiveState::Inactive, None),
            };
            out.push(AppStatus {
                snap: spec.snap.clone(),
                app: spec.app.clone(),
                daemon: spec.daemon.as_str().to_owned(),
                enabled: recorded.apps.get(&spec.app).is_some_and(|a| a.enabled),
                active,
                main_pid,
            });
        }
        Ok(out)
    }

    /// At daemon start: services found running (their cgroup populated) are adopted, never
    /// started again; after a reboot (another boot id) the enabled ones start; otherwise those
    /// that were running when the last daemon stopped watching, and died since, start again.
    pub fn startup(&self) {
        let boot = state::current_boot_id();
        let (recorded, last_boot) = {
            let st = self.store.lock();
            (
                state::all(&st).unwrap_or_default(),
                st.get::<String>(state::BOOT_ID_KEY).ok().flatten(),
            )
        };
        let rebooted = last_boot.as_deref() != Some(boot.as_str());
        for (snap, rec) in recorded {
            let Ok((_, specs)) = self.specs_of(&snap) else {
                tracing::error!("cannot read the services of {snap}; not starting them");
                continue;
            };
            let order = start_order(&specs).unwrap_or_else(|_| specs.keys().cloned().collect());
            for app in order {
                let Some(r) = rec.apps.get(&app) else {
                    continue;
                };
                let spec = &specs[&app];
                let unit = spec.unit_name();
                let svc = self.service(spec);
                let result = if self.ctx.cgroups.populated(&unit) {
                    svc.start(true)
                } else if (rebooted && r.enabled)
                    || (!rebooted && r.active && spec.daemon != snap_core::DaemonType::Oneshot)
                {
                    svc.start(false)
                } else {
                    continue;
                };
                if let Err(e) = result {
                    tracing::error!("{e}");
                }
            }
        }
        let mut st = self.store.lock();
        if let Err(e) = st.set(state::BOOT_ID_KEY, &boot) {
            tracing::error!("cannot record the boot id: {e}");
        }
    }

    /// Daemon shutdown: the services keep running (the next daemon adopts them); only the
    /// log threads end.
    pub fn shutdown(&self) {
        let all: Vec<Arc<Service>> = self
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for s in all {
            s.close_output();
        }
    }
}

fn env_num(var: &str) -> Option<u64> {
    std::env::var(var).ok()?.parse().ok()
}
