//! The plugs and slots of the system: those of every installed snap (kept in its state entry
//! since install, so that listing them never reads a mount) and the implicit slots of the
//! system snap.

use std::collections::BTreeMap;

use snap_core::SnapYaml;
use snap_interfaces::{Connection, PlugEnd, SYSTEM_SNAP, SlotEnd};
use snap_state::{State, StateError};

use super::conns::{ConnRef, all_conns};
use crate::snapmgr::model::{RevisionInfo, SNAPS_KEY};

/// Whether this system confines snaps the way a classic distribution does (the daemon reports
/// `on-classic: true`); auto-connection policy depends on it.
pub const ON_CLASSIC: bool = true;

/// The name a request uses for a snap, with the system snap's aliases (`core`, `system`, and
/// `snapd` itself) mapped to [`SYSTEM_SNAP`]. An empty name stays empty.
pub fn remap_snap(name: &str) -> String {
    match name {
        "core" | "system" | "snapd" => SYSTEM_SNAP.to_owned(),
        other => other.to_owned(),
    }
}

/// The plugs and slots of a snap.yaml that take part in connections, and the ones ignored with
/// the reason (malformed, unknown interface, or refused by the interface's own checks).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Endpoints {
    pub plugs: Vec<PlugEnd>,
    pub slots: Vec<SlotEnd>,
    /// Plug or slot name → why it is ignored.
    pub bad: BTreeMap<String, String>,
}

pub fn endpoints(snap: &SnapYaml) -> Endpoints {
    let mut out = Endpoints {
        bad: snap.bad_interfaces.clone(),
        ..Endpoints::default()
    };
    for plug in snap_interfaces::plugs_of(snap) {
        if snap_interfaces::lookup(&plug.interface).is_none() {
            out.bad.insert(
                plug.plug.clone(),
                format!("unknown interface {:?}", plug.interface),
            );
            continue;
        }
        match snap_interfaces::check_plug(&plug) {
            Ok(()) => out.plugs.push(plug),
            Err(reason) => {
                out.bad.insert(plug.plug.clone(), reason);
            }
        }
    }
    for slot in snap_interfaces::slots_of(snap) {
        if snap_interfaces::lookup(&slot.interface).is_none() {
            out.bad.insert(
                slot.slot.clone(),
                format!("unknown interface {:?}", slot.interface),
            );
            continue;
        }
        match snap_interfaces::check_slot(&slot) {
            Ok(()) => out.slots.push(slot),
            Err(reason) => {
                out.bad.insert(slot.slot.clone(), reason);
            }
        }
    }
    out
}

/// snapd's warning about ignored plugs and slots: `snap "x" has bad plugs or slots: a, b
/// (reason); c (other reason)`, names grouped by reason, both sorted.
pub fn bad_summary(snap: &str, bad: &BTreeMap<String, String>) -> Option<String> {
    if bad.is_empty() {
        return None;
    }
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, reason) in bad {
        by_reason.entry(reason).or_default().push(name);
    }
    let parts: Vec<String> = by_reason
        .into_iter()
        .map(|(reason, names)| format!("{} ({reason})", names.join(", ")))
        .collect();
    Some(format!(
        "snap {snap:?} has bad plugs or slots: {}",
        parts.join("; ")
    ))
}

/// Every plug and slot of the system, sorted by snap then name.
#[derive(Clone, Debug, Default)]
pub struct Repo {
    pub plugs: Vec<PlugEnd>,
    pub slots: Vec<SlotEnd>,
}

/// Just the ends of a snap's state entry: decoding only these keeps loading the repository
/// cheap with hundreds of snaps installed (the rest of each entry is skipped, not built).
#[derive(serde::Deserialize)]
struct EndsOnly {
    current: snap_core::Revision,
    sequence: Vec<RevisionEnds>,
}

#[derive(serde::Deserialize)]
struct RevisionEnds {
    revision: snap_core::Revision,
    #[serde(default)]
    plugs: Vec<PlugEnd>,
    #[serde(default)]
    slots: Vec<SlotEnd>,
}

impl Repo {
    /// The current revision's plugs and slots of every installed snap, and the system slots.
    pub fn load(st: &State) -> Result<Repo, StateError> {
        let names = st.entry_names(SNAPS_KEY)?;
        Repo::load_snaps(st, names.iter().map(String::as_str))
    }

    /// The same, for the named snaps only (and the system slots).
    pub fn load_snaps<'a>(
        st: &State,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Repo, StateError> {
        let mut repo = Repo::default();
        for name in names {
            // The system snap's slots are the implicit ones, whatever snap of that name holds.
            if name == SYSTEM_SNAP {
                continue;
            }
            let Some(entry) = st.get_entry::<EndsOnly>(SNAPS_KEY, name)? else {
                continue;
            };
            if let Some(rev) = entry
                .sequence
                .into_iter()
                .find(|r| r.revision == entry.current)
            {
                repo.plugs.extend(rev.plugs);
                repo.slots.extend(rev.slots);
            }
        }
        repo.slots.extend(snap_interfaces::system_slots());
        repo.sort();
        Ok(repo)
    }

    /// Puts `name`'s plugs and slots from `info` in place of what the state has (a snap whose
    /// state entry is not written yet, during its install).
    pub fn set_snap(&mut self, name: &str, info: &RevisionInfo) {
        self.plugs.retain(|p| p.snap != name);
        self.slots.retain(|s| s.snap != name);
        self.plugs.extend(info.plugs.iter().cloned());
        self.slots.extend(info.slots.iter().cloned());
        self.sort();
    }

    fn sort(&mut self) {
        self.plugs
            .sort_by(|a, b| (&a.snap, &a.plug).cmp(&(&b.snap, &b.plug)));
        self.slots
            .sort_by(|a, b| (&a.snap, &a.slot).cmp(&(&b.snap, &b.slot)));
    }

    pub fn plug(&self, snap: &str, name: &str) -> Option<&PlugEnd> {
        self.plugs.iter().find(|p| p.snap == snap && p.plug == name)
    }

    pub fn slot(&self, snap: &str, name: &str) -> Option<&SlotEnd> {
        self.slots.iter().find(|s| s.snap == snap && s.slot == name)
    }

    /// Both ends of a connection, if both still exist.
    pub fn connection(&self, cref: &ConnRef) -> Option<Connection> {
        Some(Connection {
            plug: self.plug(&cref.plug.snap, &cref.plug.plug)?.clone(),
            slot: self.slot(&cref.slot.snap, &cref.slot.slot)?.clone(),
        })
    }
}

/// The established connections with an end on `snap`, reading only the snaps at their other
/// ends; `replace` puts a snap's ends not in the state yet (during its install) in place.
pub fn connections_of_snap(
    st: &State,
    snap: &str,
    replace: Option<(&str, &RevisionInfo)>,
) -> Result<Vec<Connection>, StateError> {
    let mut involved: Vec<String> = vec![snap.to_owned()];
    for (cref, c) in all_conns(st)? {
        if c.is_connected() && cref.involves(snap) {
            involved.push(cref.plug.snap.clone());
            involved.push(cref.slot.snap.clone());
        }
    }
    involved.sort();
    involved.dedup();
    let mut repo = Repo::load_snaps(st, involved.iter().map(String::as_str))?;
    if let Some((name, info)) = replace {
        repo.set_snap(name, info);
    }
    connections_of(st, &repo, snap)
}

/// The established connections with an end on `snap`, as the interfaces crate computes grants
/// from. Connections whose plug or slot no longer exists are left out.
pub fn connections_of(st: &State, repo: &Repo, snap: &str) -> Result<Vec<Connection>, StateError> {
    Ok(all_conns(st)?
        .into_iter()
        .filter(|(cref, c)| c.is_connected() && cref.involves(snap))
        .filter_map(|(cref, _)| repo.connection(&cref))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_plugs_are_summed_up_like_snapd() {
        let mut bad = BTreeMap::new();
        assert_eq!(bad_summary("x", &bad), None);
        bad.insert("foo".to_owned(), "unknown interface \"foo\"".to_owned());
        bad.insert("bar".to_owned(), "unknown interface \"foo\"".to_owned());
        bad.insert("baz".to_owned(), "another reason".to_owned());
        assert_eq!(
            bad_summary("x", &bad).unwrap(),
            "snap \"x\" has bad plugs or slots: baz (another reason); bar, foo (unknown interface \"foo\")"
        );
    }

    #[test]
    fn the_system_snap_has_aliases() {
        for alias in ["core", "system", "snapd"] {
            assert_eq!(remap_snap(alias), SYSTEM_SNAP);
        }
        assert_eq!(remap_snap(""), "");
        assert_eq!(remap_snap("hello"), "hello");
    }
}
