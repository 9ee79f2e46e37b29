//! How the API shows interfaces, plugs, slots and connections (`/v2/interfaces`,
//! `/v2/connections`), computed as snapd's `collectConnections` and `Repository.Info` do.

use std::collections::{BTreeMap, BTreeSet};

use snap_interfaces::{PlugEnd, SlotEnd};
use snap_state::{State, StateError};
use snapd_api as api;

use super::conns::{ConnRef, all_conns};
use super::repo::Repo;

/// What `/v2/connections` filters on.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only connections, plugs and slots of this snap (or connected to it).
    pub snap: Option<String>,
    pub interface: Option<String>,
    /// Only established connections, and only the plugs and slots they involve.
    pub connected_only: bool,
}

impl Filter {
    fn snap_matches(&self, snap: &str) -> bool {
        self.snap.as_deref().is_none_or(|s| s == snap)
    }

    fn iface_matches(&self, iface: &str) -> bool {
        self.interface.as_deref().is_none_or(|i| i == iface)
    }
}

fn plug_ref(c: &ConnRef) -> api::PlugRef {
    api::PlugRef {
        snap: c.plug.snap.clone(),
        plug: c.plug.plug.clone(),
    }
}

fn slot_ref(c: &ConnRef) -> api::SlotRef {
    api::SlotRef {
        snap: c.slot.snap.clone(),
        slot: c.slot.slot.clone(),
    }
}

/// The apps an end is bound to, as the API lists them: hooks (`hook.NAME`) left out.
fn apps_of(bound: &[String]) -> Vec<String> {
    let mut apps: Vec<String> = bound
        .iter()
        .filter(|a| !a.starts_with("hook."))
        .cloned()
        .collect();
    apps.sort();
    apps
}

fn plug_json(p: &PlugEnd, connections: Vec<api::SlotRef>) -> api::Plug {
    let apps = apps_of(&p.apps);
    api::Plug {
        snap: p.snap.clone(),
        plug: p.plug.clone(),
        interface: p.interface.clone(),
        attrs: p.attrs.clone(),
        apps,
        label: None,
        connections,
    }
}

fn slot_json(s: &SlotEnd, connections: Vec<api::PlugRef>) -> api::Slot {
    let apps = apps_of(&s.apps);
    api::Slot {
        snap: s.snap.clone(),
        slot: s.slot.clone(),
        interface: s.interface.clone(),
        attrs: s.attrs.clone(),
        apps,
        label: None,
        connections,
    }
}

/// `GET /v2/connections` (and, unfiltered, the legacy `GET /v2/interfaces`).
pub fn connections(st: &State, filter: &Filter) -> Result<api::Connections, StateError> {
    let repo = Repo::load(st)?;
    let mut out = api::Connections::default();
    let mut plug_conns: BTreeMap<(String, String), Vec<api::SlotRef>> = BTreeMap::new();
    let mut slot_conns: BTreeMap<(String, String), Vec<api::PlugRef>> = BTreeMap::new();
    for (cref, c) in all_conns(st)? {
        if c.undesired && filter.connected_only {
            continue;
        }
        // A connection whose plug or slot is gone is not shown.
        if repo.connection(&cref).is_none() {
            continue;
        }
        if !(filter.snap_matches(&cref.plug.snap) || filter.snap_matches(&cref.slot.snap))
            || !filter.iface_matches(&c.interface)
        {
            continue;
        }
        let merged = |a: &BTreeMap<String, serde_json::Value>,
                      b: &BTreeMap<String, serde_json::Value>| {
            let mut m = a.clone();
            m.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
            m
        };
        let cj = api::Connection {
            slot: slot_ref(&cref),
            plug: plug_ref(&cref),
            interface: c.interface.clone(),
            // A disconnected automatic connection was a user's doing.
            manual: !c.auto || c.undesired,
            gadget: c.by_gadget,
            slot_attrs: merged(&c.slot_static, &c.slot_dynamic),
            plug_attrs: merged(&c.plug_static, &c.plug_dynamic),
        };
        if c.undesired {
            out.undesired.push(cj);
        } else {
            plug_conns
                .entry((cref.plug.snap.clone(), cref.plug.plug.clone()))
                .or_default()
                .push(slot_ref(&cref));
            slot_conns
                .entry((cref.slot.snap.clone(), cref.slot.slot.clone()))
                .or_default()
                .push(plug_ref(&cref));
            out.established.push(cj);
        }
    }
    for p in &repo.plugs {
        let connected = plug_conns.remove(&(p.snap.clone(), p.plug.clone()));
        if connected.is_none() && filter.connected_only {
            continue;
        }
        let slots = connected.unwrap_or_default();
        let matches =
            filter.snap_matches(&p.snap) || slots.iter().any(|s| filter.snap_matches(&s.snap));
        if !filter.iface_matches(&p.interface) || !matches {
            continue;
        }
        out.plugs.push(plug_json(p, slots));
    }
    for s in &repo.slots {
        let connected = slot_conns.remove(&(s.snap.clone(), s.slot.clone()));
        if connected.is_none() && filter.connected_only {
            continue;
        }
        let plugs = connected.unwrap_or_default();
        let matches =
            filter.snap_matches(&s.snap) || plugs.iter().any(|p| filter.snap_matches(&p.snap));
        if !filter.iface_matches(&s.interface) || !matches {
            continue;
        }
        out.slots.push(slot_json(s, plugs));
    }
    Ok(out)
}

/// The legacy `GET /v2/interfaces` (no `select`): every plug and slot with its connections.
pub fn legacy(st: &State) -> Result<api::LegacyInterfaces, StateError> {
    let all = connections(st, &Filter::default())?;
    Ok(api::LegacyInterfaces {
        plugs: all.plugs,
        slots: all.slots,
    })
}

/// What `GET /v2/interfaces?select=...` asks for.
#[derive(Clone, Debug, Default)]
pub struct InfoOptions {
    /// Only these interfaces (empty: all).
    pub names: Vec<String>,
    pub plugs: bool,
    pub slots: bool,
    /// Only interfaces with at least one connection.
    pub connected: bool,
}

/// `GET /v2/interfaces?select=all|connected`: the interfaces of the catalogue, sorted by name,
/// with their plugs and slots when asked.
pub fn interfaces(st: &State, opts: &InfoOptions) -> Result<Vec<api::Interface>, StateError> {
    let repo = Repo::load(st)?;
    let connected: BTreeSet<String> = if opts.connected {
        all_conns(st)?
            .into_iter()
            .filter(|(cref, c)| c.is_connected() && repo.connection(cref).is_some())
            .map(|(_, c)| c.interface)
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut defs: Vec<_> = snap_interfaces::catalogue()
        .iter()
        .filter(|d| opts.names.is_empty() || opts.names.iter().any(|n| n == d.name))
        .filter(|d| !opts.connected || connected.contains(d.name))
        .collect();
    defs.sort_by_key(|d| d.name);
    Ok(defs
        .into_iter()
        .map(|d| api::Interface {
            name: d.name.to_owned(),
            summary: d.summary.to_owned(),
            doc_url: None,
            plugs: opts.plugs.then(|| {
                repo.plugs
                    .iter()
                    .filter(|p| p.interface == d.name)
                    .map(|p| api::Plug {
                        apps: Vec::new(),
                        ..plug_json(p, Vec::new())
                    })
                    .collect()
            }),
            slots: opts.slots.then(|| {
                repo.slots
                    .iter()
                    .filter(|s| s.interface == d.name)
                    .map(|s| api::Slot {
                        apps: Vec::new(),
                        ..slot_json(s, Vec::new())
                    })
                    .collect()
            }),
        })
        .collect())
}
