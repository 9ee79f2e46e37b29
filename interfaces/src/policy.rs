//! Auto-connection: which slot, if any, a plug is connected to without the user asking, as
//! snapd's base declaration and its auto-connect task decide it.

use serde_json::Value;

use crate::catalogue::{AutoConnect, is_system_snap, lookup};
use crate::checks::{check_connection, check_plug, check_slot};
use crate::ends::{PlugEnd, SlotEnd};

/// The slot `plug` auto-connects to among `candidates`, or `None`.
///
/// Every snap here is local (unsigned), so for the content interface every slot snap counts
/// as published by the plug snap's publisher; [`auto_connect_slot_with`] takes a publisher
/// rule. Connections the user removed (`undesired`) are the caller's to leave out.
pub fn auto_connect_slot(
    plug: &PlugEnd,
    candidates: &[SlotEnd],
    on_classic: bool,
) -> Option<SlotEnd> {
    auto_connect_slot_with(plug, candidates, on_classic, &|_| true)
}

/// [`auto_connect_slot`], with `same_publisher(slot)` saying whether the slot's snap has the
/// plug snap's publisher (only the content interface asks).
///
/// A candidate passes when it is of the plug's interface, both ends are valid and compatible
/// ([`check_connection`]) and the interface's policy allows auto-connecting them:
/// * always with [`AutoConnect::Always`], except that `desktop` only connects to the system
///   snap's slot (`deny-auto-connection: slot-snap-type: app`) and `optical-drive` plugs
///   asking for `write: true` do not auto-connect;
/// * on classic systems with [`AutoConnect::ClassicOnly`], except `home` plugs with
///   `read: all`;
/// * with the same publisher (and matching labels) with
///   [`AutoConnect::SamePublisherContent`];
/// * never with [`AutoConnect::Never`].
///
/// Then, as snapd's auto-connect task: slots of `ubuntu-core` are dropped when `core` has
/// one too (and those of `core` when `snapd` has one, the system snap having moved), slots
/// of parallel instances (`name_key`) are dropped, and the plug connects only when exactly
/// one candidate remains.
pub fn auto_connect_slot_with(
    plug: &PlugEnd,
    candidates: &[SlotEnd],
    on_classic: bool,
    same_publisher: &dyn Fn(&SlotEnd) -> bool,
) -> Option<SlotEnd> {
    let def = lookup(&plug.interface)?;
    check_plug(plug).ok()?;
    let allowed = |slot: &SlotEnd| -> bool {
        if slot.interface != plug.interface
            || check_slot(slot).is_err()
            || check_connection(plug, slot).is_err()
        {
            return false;
        }
        match def.auto_connect {
            AutoConnect::Never => false,
            AutoConnect::Always => match def.name {
                "desktop" => is_system_snap(&slot.snap),
                "optical-drive" => plug.attrs.get("write") != Some(&Value::Bool(true)),
                _ => true,
            },
            AutoConnect::ClassicOnly => {
                on_classic && !(def.name == "home" && plug.attr_str("read") == Some("all"))
            }
            AutoConnect::SamePublisherContent => same_publisher(slot),
        }
    };
    let mut passing: Vec<&SlotEnd> = candidates.iter().filter(|s| allowed(s)).collect();
    // A system snap that moved: prefer the newest holder of the implicit slots.
    for (newer, older) in [("core", "ubuntu-core"), ("snapd", "core")] {
        if passing.iter().any(|s| s.snap == newer) {
            passing.retain(|s| s.snap != older);
        }
    }
    passing.retain(|s| !s.snap.contains('_'));
    match passing.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ends::system_slots;
    use crate::test_util::{plug, slot};
    use serde_json::json;

    fn system(iface: &str) -> SlotEnd {
        system_slots()
            .into_iter()
            .find(|s| s.interface == iface)
            .unwrap()
    }

    fn auto(p: &PlugEnd, c: &[SlotEnd]) -> Option<String> {
        auto_connect_slot(p, c, true).map(|s| s.reference())
    }

    #[test]
    fn always_never_classic_only() {
        let all = system_slots();
        for iface in [
            "network",
            "network-bind",
            "opengl",
            "audio-playback",
            "desktop",
        ] {
            assert_eq!(
                auto(&plug(iface, json!({})), &all),
                Some(format!("snapd:{iface}")),
                "{iface}"
            );
        }
        for iface in [
            "camera",
            "network-control",
            "removable-media",
            "snapd-control",
            "kvm",
            "block-devices",
            "log-observe",
        ] {
            assert_eq!(auto(&plug(iface, json!({})), &all), None, "{iface}");
        }
        for iface in ["home", "x11", "wayland"] {
            let p = plug(iface, json!({}));
            assert_eq!(auto(&p, &all), Some(format!("snapd:{iface}")), "{iface}");
            assert_eq!(auto_connect_slot(&p, &all, false), None, "{iface}");
        }
        assert_eq!(auto(&plug("home", json!({"read": "all"})), &all), None);
        assert_eq!(
            auto(&plug("optical-drive", json!({})), &all),
            Some("snapd:optical-drive".into())
        );
        assert_eq!(
            auto(&plug("optical-drive", json!({"write": true})), &all),
            None
        );
        // Unknown or invalid plugs never connect.
        assert_eq!(auto(&plug("nope", json!({})), &all), None);
        assert_eq!(auto(&plug("home", json!({"read": "x"})), &all), None);
        // Candidates of other interfaces are ignored.
        assert_eq!(auto(&plug("network", json!({})), &[system("camera")]), None);
    }

    #[test]
    fn exactly_one_candidate() {
        let p = plug("network", json!({}));
        let rogue = slot("rogue", "network", json!({}));
        assert_eq!(auto(&p, &[system("network"), rogue.clone()]), None);
        assert_eq!(
            auto(&p, std::slice::from_ref(&rogue)),
            Some("rogue:s".into())
        );
        // Parallel instances do not count.
        let inst = slot("rogue_x", "network", json!({}));
        assert_eq!(
            auto(&p, &[system("network"), inst]),
            Some("snapd:network".into())
        );
        // The newest system snap wins over an older one.
        let mut core = system("network");
        core.snap = "core".into();
        assert_eq!(
            auto(&p, &[core.clone(), system("network")]),
            Some("snapd:network".into())
        );
        let mut old = core.clone();
        old.snap = "ubuntu-core".into();
        assert_eq!(auto(&p, &[old, core]), Some("core:network".into()));
        // x11 from a server snap as well as the system: ambiguous, as in snapd.
        let x = slot("xserver", "x11", json!({}));
        assert_eq!(
            auto(&plug("x11", json!({})), &[system("x11"), x.clone()]),
            None
        );
        assert_eq!(
            auto(&plug("x11", json!({})), &[x]),
            Some("xserver:s".into())
        );
        // desktop never auto-connects to an app's slot.
        let d = slot("shell", "desktop", json!({}));
        assert_eq!(
            auto(&plug("desktop", json!({})), &[system("desktop"), d.clone()]),
            Some("snapd:desktop".into())
        );
        assert_eq!(auto(&plug("desktop", json!({})), &[d]), None);
    }

    #[test]
    fn device_slots_never_auto_connect() {
        let s = slot("gadget", "serial-port", json!({"path": "/dev/ttyUSB0"}));
        assert_eq!(auto(&plug("serial-port", json!({})), &[s]), None);
        let g = slot("gadget", "gpio", json!({"number": 4}));
        assert_eq!(auto(&plug("gpio", json!({})), &[g]), None);
    }

    #[test]
    fn content_same_publisher_and_label() {
        let p = plug(
            "content",
            json!({"target": "$SNAP/fonts", "content": "fonts"}),
        );
        let good = slot(
            "provider",
            "content",
            json!({"content": "fonts", "read": ["$SNAP/f"]}),
        );
        let other = slot(
            "other",
            "content",
            json!({"content": "icons", "read": ["$SNAP/i"]}),
        );
        assert_eq!(
            auto(&p, &[good.clone(), other.clone()]),
            Some("provider:s".into())
        );
        assert_eq!(auto(&p, std::slice::from_ref(&other)), None);
        // Two providers of the same content: none chosen.
        let mut twin = good.clone();
        twin.snap = "provider2".into();
        assert_eq!(auto(&p, &[good.clone(), twin.clone()]), None);
        // A publisher rule narrows the candidates.
        let only_provider = |s: &SlotEnd| s.snap == "provider";
        assert_eq!(
            auto_connect_slot_with(&p, &[good.clone(), twin], true, &only_provider).map(|s| s.snap),
            Some("provider".into())
        );
        assert_eq!(auto_connect_slot_with(&p, &[good], true, &|_| false), None);
    }
}
