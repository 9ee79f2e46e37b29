//! Plugs and slots: their written forms and snapd's rule for which apps and hooks get them.
//!
//! Written forms: `name:` (interface = name), `name: iface`, or
//! `name: {interface: iface, label: ..., attr: value...}`; an app or hook may also list a name
//! that is declared nowhere else, which declares it with interface = name.
//!
//! Binding: a plug/slot that some app or hook lists is bound to exactly those; one declared at
//! top level and listed by none is bound to every app and every hook.

use crate::attr::{Yaml, normalize};
use crate::error::{SnapYamlError, join};
use crate::model::{Endpoint, SnapYaml};
use crate::naming;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Side {
    Plug,
    Slot,
}

impl Side {
    fn word(self) -> &'static str {
        match self {
            Side::Plug => "plug",
            Side::Slot => "slot",
        }
    }
    fn section(self) -> &'static str {
        match self {
            Side::Plug => "plugs",
            Side::Slot => "slots",
        }
    }
}

/// Reads one top-level `plugs:`/`slots:` entry.
pub(crate) fn parse_definition(
    side: Side,
    name: &str,
    value: &Yaml,
) -> Result<Endpoint, SnapYamlError> {
    let word = side.word();
    let path = join(side.section(), name);
    let fail = |reason: String| Err(SnapYamlError::invalid(path.clone(), reason));
    let mut ep = Endpoint::new(name, name);
    match value {
        Yaml::Null => {}
        Yaml::Str(iface) => ep.interface = iface.clone(),
        Yaml::Map(entries) => {
            for (k, v) in entries {
                let Yaml::Str(key) = k else {
                    return fail(format!(
                        "{word} {name:?} has attribute key that is not a string (found {})",
                        k.type_name()
                    ));
                };
                if key.starts_with('$') {
                    return fail(format!("{word} {name:?} uses reserved attribute {key:?}"));
                }
                match (key.as_str(), v) {
                    ("", _) => return fail(format!("{word} {name:?} has an empty attribute key")),
                    ("interface", Yaml::Str(s)) => ep.interface = s.clone(),
                    ("interface", other) => {
                        return fail(format!(
                            "interface name on {word} {name:?} is not a string (found {})",
                            other.type_name()
                        ));
                    }
                    ("label", Yaml::Str(s)) => ep.label = Some(s.clone()),
                    ("label", other) => {
                        return fail(format!(
                            "label of {word} {name:?} is not a string (found {})",
                            other.type_name()
                        ));
                    }
                    (key, v) => {
                        let value = normalize(v).map_err(|e| {
                            SnapYamlError::invalid(
                                path.clone(),
                                format!("attribute {key:?} of {word} {name:?}: {e}"),
                            )
                        })?;
                        ep.attrs.insert(key.to_owned(), value);
                    }
                }
            }
        }
        other => {
            return fail(format!(
                "{word} {name:?} has malformed definition (found {})",
                other.type_name()
            ));
        }
    }
    Ok(ep)
}

/// Tracks which plugs/slots some app or hook listed explicitly.
#[derive(Default)]
pub(crate) struct Scoped {
    plugs: BTreeSet<String>,
    slots: BTreeSet<String>,
}

fn table(snap: &mut SnapYaml, side: Side) -> &mut BTreeMap<String, Endpoint> {
    match side {
        Side::Plug => &mut snap.plugs,
        Side::Slot => &mut snap.slots,
    }
}

impl Scoped {
    fn set(&mut self, side: Side) -> &mut BTreeSet<String> {
        match side {
            Side::Plug => &mut self.plugs,
            Side::Slot => &mut self.slots,
        }
    }

    /// The endpoint `name`, declaring it implicitly if nothing did, marked as scoped.
    fn scoped<'a>(&mut self, snap: &'a mut SnapYaml, side: Side, name: &str) -> &'a mut Endpoint {
        self.set(side).insert(name.to_owned());
        table(snap, side)
            .entry(name.to_owned())
            .or_insert_with(|| Endpoint::new(name, name))
    }

    pub(crate) fn bind_app(&mut self, snap: &mut SnapYaml, side: Side, app: &str, name: &str) {
        self.scoped(snap, side, name).apps.insert(app.to_owned());
        if let Some(a) = snap.apps.get_mut(app) {
            match side {
                Side::Plug => a.plugs.insert(name.to_owned()),
                Side::Slot => a.slots.insert(name.to_owned()),
            };
        }
    }

    pub(crate) fn bind_hook(&mut self, snap: &mut SnapYaml, side: Side, hook: &str, name: &str) {
        self.scoped(snap, side, name).hooks.insert(hook.to_owned());
        if let Some(h) = snap.hooks.get_mut(hook) {
            match side {
                Side::Plug => h.plugs.insert(name.to_owned()),
                Side::Slot => h.slots.insert(name.to_owned()),
            };
        }
    }

    /// Component hooks take plugs only; they are recorded as `component+hook`.
    pub(crate) fn bind_component_hook(
        &mut self,
        snap: &mut SnapYaml,
        component: &str,
        hook: &str,
        name: &str,
    ) {
        let tag = format!("{component}+{hook}");
        self.scoped(snap, Side::Plug, name).hooks.insert(tag);
        if let Some(h) = snap
            .components
            .get_mut(component)
            .and_then(|c| c.hooks.get_mut(hook))
        {
            h.plugs.insert(name.to_owned());
        }
    }

    /// Binds every plug/slot nobody listed to every app and hook.
    pub(crate) fn bind_unscoped(&self, snap: &mut SnapYaml) {
        let apps: Vec<String> = snap.apps.keys().cloned().collect();
        let hooks: Vec<String> = snap.hooks.keys().cloned().collect();
        let comp_hooks: Vec<(String, String)> = snap
            .components
            .iter()
            .flat_map(|(c, comp)| comp.hooks.keys().map(move |h| (c.clone(), h.clone())))
            .collect();
        for side in [Side::Plug, Side::Slot] {
            let scoped = match side {
                Side::Plug => &self.plugs,
                Side::Slot => &self.slots,
            };
            let names: Vec<String> = table(snap, side)
                .keys()
                .filter(|n| !scoped.contains(*n))
                .cloned()
                .collect();
            for name in names {
                if let Some(ep) = table(snap, side).get_mut(&name) {
                    ep.unscoped = true;
                    ep.apps.extend(apps.iter().cloned());
                    ep.hooks.extend(hooks.iter().cloned());
                    if side == Side::Plug {
                        ep.hooks
                            .extend(comp_hooks.iter().map(|(c, h)| format!("{c}+{h}")));
                    }
                }
                for app in snap.apps.values_mut() {
                    let set = match side {
                        Side::Plug => &mut app.plugs,
                        Side::Slot => &mut app.slots,
                    };
                    set.insert(name.clone());
                }
                for hook in snap.hooks.values_mut() {
                    let set = match side {
                        Side::Plug => &mut hook.plugs,
                        Side::Slot => &mut hook.slots,
                    };
                    set.insert(name.clone());
                }
                if side == Side::Plug {
                    for comp in snap.components.values_mut() {
                        for hook in comp.hooks.values_mut() {
                            hook.plugs.insert(name.clone());
                        }
                    }
                }
            }
        }
    }
}

/// Renames a plug everywhere it is referenced.
fn rename_plug(snap: &mut SnapYaml, old: &str, new: &str) {
    let Some(mut plug) = snap.plugs.remove(old) else {
        return;
    };
    plug.name = new.to_owned();
    snap.plugs.insert(new.to_owned(), plug);
    for set in snap
        .apps
        .values_mut()
        .map(|a| &mut a.plugs)
        .chain(snap.hooks.values_mut().map(|h| &mut h.plugs))
    {
        if set.remove(old) {
            set.insert(new.to_owned());
        }
    }
}

/// Old `core` snaps declared plugs that clash with the implicit slots of the same name; snapd
/// renames them instead of refusing those snaps.
pub(crate) fn rename_clashing_core_plugs(snap: &mut SnapYaml) {
    if snap.name == "core" && snap.snap_type == crate::model::SnapType::Os {
        for name in ["network-bind", "core-support"] {
            rename_plug(snap, name, &format!("{name}-plug"));
        }
    }
}

/// Why snapd would drop this plug/slot with a warning, if it would.
fn bad_reason(side: Side, ep: &Endpoint, is_known: &dyn Fn(&str) -> bool) -> Option<String> {
    if !is_known(&ep.interface) {
        return Some(format!("unknown interface {:?}", ep.interface));
    }
    let name_check = match side {
        Side::Plug => naming::validate_plug_name(&ep.name),
        Side::Slot => naming::validate_slot_name(&ep.name),
    };
    name_check.err().map(|e| e.to_string())
}

/// Drops plugs and slots snapd would refuse to use (unknown interface, bad name), recording
/// the reasons in `bad_interfaces`; snapd warns about these instead of refusing the snap.
pub(crate) fn sanitize(snap: &mut SnapYaml, is_known: &dyn Fn(&str) -> bool) {
    for side in [Side::Plug, Side::Slot] {
        let bad: Vec<(String, String)> = table(snap, side)
            .values()
            .filter_map(|ep| bad_reason(side, ep, is_known).map(|r| (ep.name.clone(), r)))
            .collect();
        for (name, reason) in bad {
            table(snap, side).remove(&name);
            snap.bad_interfaces.insert(name.clone(), reason);
            for app in snap.apps.values_mut() {
                match side {
                    Side::Plug => app.plugs.remove(&name),
                    Side::Slot => app.slots.remove(&name),
                };
            }
            for hook in snap.hooks.values_mut() {
                match side {
                    Side::Plug => hook.plugs.remove(&name),
                    Side::Slot => hook.slots.remove(&name),
                };
            }
            if side == Side::Plug {
                for comp in snap.components.values_mut() {
                    for hook in comp.hooks.values_mut() {
                        hook.plugs.remove(&name);
                    }
                }
            }
        }
    }
}

/// The interface check used when the caller knows no interface list: any well-formed
/// interface name counts as known.
pub fn any_well_formed_interface(name: &str) -> bool {
    naming::validate_interface_name(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::AttrValue;

    fn s(v: &str) -> Yaml {
        Yaml::Str(v.into())
    }

    #[test]
    fn written_forms() {
        let p = parse_definition(Side::Plug, "home", &Yaml::Null).unwrap();
        assert_eq!(p.interface, "home");
        let p = parse_definition(Side::Plug, "x", &s("network")).unwrap();
        assert_eq!(p.interface, "network");
        let m = Yaml::Map(vec![
            (s("interface"), s("content")),
            (s("label"), s("Lbl")),
            (s("target"), s("$SNAP/x")),
            (s("n"), Yaml::Int(3)),
        ]);
        let p = parse_definition(Side::Slot, "c", &m).unwrap();
        assert_eq!(p.interface, "content");
        assert_eq!(p.label.as_deref(), Some("Lbl"));
        assert_eq!(p.attr("target"), Some(&AttrValue::String("$SNAP/x".into())));
        assert_eq!(p.attr("n"), Some(&AttrValue::Int(3)));
        // A map without `interface` keeps the name as interface.
        let p = parse_definition(Side::Plug, "p", &Yaml::Map(vec![])).unwrap();
        assert_eq!(p.interface, "p");
    }

    #[test]
    fn malformed_definitions() {
        let e = |v: Yaml| {
            parse_definition(Side::Plug, "p", &v)
                .unwrap_err()
                .to_string()
        };
        assert!(e(Yaml::Int(1)).contains("malformed definition (found int)"));
        assert!(e(Yaml::Seq(vec![])).contains("malformed definition (found list)"));
        assert!(
            e(Yaml::Map(vec![(Yaml::Bool(true), s("x"))])).contains("not a string (found bool)")
        );
        assert!(e(Yaml::Map(vec![(s("$x"), s("x"))])).contains("reserved attribute \"$x\""));
        assert!(e(Yaml::Map(vec![(s(""), s("x"))])).contains("empty attribute key"));
        assert!(
            e(Yaml::Map(vec![(s("interface"), Yaml::Int(1))])).contains("interface name on plug")
        );
        assert!(e(Yaml::Map(vec![(s("label"), Yaml::Null)])).contains("label of plug"));
        let attr = e(Yaml::Map(vec![(s("a"), Yaml::Null)]));
        assert!(
            attr.contains("attribute \"a\" of plug \"p\": invalid scalar"),
            "{attr}"
        );
        assert!(attr.starts_with("invalid snap.yaml: plugs.p: "));
    }
}
