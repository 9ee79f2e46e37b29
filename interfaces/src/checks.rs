//! Validation of plugs, slots and connections: snapd's `BeforePreparePlug/Slot` checks of
//! each interface (with its error messages), and what must agree between a plug and a slot.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalogue::lookup;
use crate::ends::{PlugEnd, SlotEnd};

type Attrs = BTreeMap<String, Value>;

/// Why a plug is ignored (unknown interface, bad attribute), or `Ok`. snapd warns about such
/// plugs and installs the snap without them.
pub fn check_plug(plug: &PlugEnd) -> Result<(), String> {
    if lookup(&plug.interface).is_none() {
        return Err(format!("unknown interface {:?}", plug.interface));
    }
    let a = &plug.attrs;
    match plug.interface.as_str() {
        "content" => {
            check_content_label(a)?;
            let target = match a.get("target").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => t,
                _ => return Err("content plug must contain target path".into()),
            };
            check_content_path(target)
        }
        "home" => match a.get("read") {
            Some(v) if v.as_str() != Some("all") => {
                Err(r#"home plug requires "read" be 'all'"#.into())
            }
            _ => Ok(()),
        },
        "personal-files" => check_files_plug("personal-files", a, |p| {
            if !p.starts_with("$HOME/") {
                return Err(format!(r#"{p:?} must start with "$HOME/""#));
            }
            if p.matches("$HOME").count() > 1 {
                return Err(format!(
                    "$HOME must only be used at the start of the path of {p:?}"
                ));
            }
            Ok(())
        }),
        "system-files" => check_files_plug("system-files", a, |p| {
            if !p.starts_with('/') {
                return Err(format!(r#"{p:?} must start with "/""#));
            }
            if p.contains("$HOME") {
                return Err(format!("$HOME cannot be used in {p:?}"));
            }
            Ok(())
        }),
        "dbus" => dbus_attrs(a).map(|_| ()),
        "optical-drive" => match a.get("write") {
            Some(v) if !v.is_boolean() => {
                Err(r#"optical-drive "write" attribute must be a boolean"#.into())
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Why a slot is ignored (unknown interface, bad attribute), or `Ok`.
pub fn check_slot(slot: &SlotEnd) -> Result<(), String> {
    if lookup(&slot.interface).is_none() {
        return Err(format!("unknown interface {:?}", slot.interface));
    }
    let a = &slot.attrs;
    match slot.interface.as_str() {
        "content" => {
            check_content_label(a)?;
            if a.contains_key("source") {
                if a.contains_key("read") {
                    return Err(r#"move the "read" attribute into the "source" section"#.into());
                }
                if a.contains_key("write") {
                    return Err(r#"move the "write" attribute into the "source" section"#.into());
                }
            }
            let (read, write) = (content_paths(a, "read"), content_paths(a, "write"));
            if read.is_empty() && write.is_empty() {
                return Err("read or write path must be set".into());
            }
            read.iter()
                .chain(&write)
                .try_for_each(|p| check_content_path(p))
        }
        "serial-port" => {
            let path = slot_path(a).ok_or("serial-port slot must have a path attribute")?;
            if has_usb_attrs(a) {
                check_usb_attrs("serial-port", a)?;
                if !symlink_name_ok(&path, "/dev/serial-port-") {
                    return Err(
                        "serial-port path attribute specifies invalid symlink location".into(),
                    );
                }
                check_usb_interface_number(a)
            } else if is_serial_device(&path) {
                Ok(())
            } else {
                Err("serial-port path attribute must be a valid device node".into())
            }
        }
        "hidraw" => {
            let path = slot_path(a).ok_or("hidraw slots must have a path attribute")?;
            if has_usb_attrs(a) {
                if !symlink_name_ok(&path, "/dev/hidraw-") {
                    return Err("hidraw path attribute specifies invalid symlink location".into());
                }
                check_usb_attrs("hidraw", a)
            } else if numbered(&path, "/dev/hidraw").is_some_and(|n| n.len() <= 3) {
                Ok(())
            } else {
                Err("hidraw path attribute must be a valid device node".into())
            }
        }
        "i2c" => {
            let path = a.get("path").and_then(Value::as_str).unwrap_or_default();
            let sysfs = a
                .get("sysfs-name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !sysfs.is_empty() {
                let ok = sysfs
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !ok {
                    return Err("i2c sysfs-name attribute must be a valid sysfs-name".into());
                }
                if !path.is_empty() {
                    return Err("i2c slot can only use path or sysfs-name".into());
                }
                return Ok(());
            }
            if path.is_empty() {
                return Err("i2c slot must have a path or sysfs-name attribute".into());
            }
            if numbered(&clean(path), "/dev/i2c-").is_some() {
                Ok(())
            } else {
                Err("i2c path attribute must be a valid device node".into())
            }
        }
        "spi" => {
            let path = slot_path(a)
                .ok_or_else(|| format!("slot {:?} must have a path attribute", slot.reference()))?;
            if is_spi_device(&path) {
                Ok(())
            } else {
                Err(format!("{path:?} is not a valid SPI device"))
            }
        }
        "gpio" => match a.get("number") {
            None => Err("gpio slot must have a number attribute".into()),
            Some(v) if v.as_i64().is_none() => {
                Err("gpio slot number attribute must be an int".into())
            }
            Some(_) => Ok(()),
        },
        "dbus" => dbus_attrs(a).map(|_| ()),
        _ => Ok(()),
    }
}

/// Whether `plug` and `slot` may be connected by the user: the same interface, each valid,
/// and attributes that agree (content labels, D-Bus bus and name). Store policy
/// (`allow-connection`) is not checked, as snapd skips it for snaps without a snap
/// declaration, i.e. every local snap.
pub fn check_connection(plug: &PlugEnd, slot: &SlotEnd) -> Result<(), String> {
    if plug.interface != slot.interface {
        return Err(format!(
            r#"cannot connect plug "{}" (interface {:?}) to "{}" (interface {:?})"#,
            plug.reference(),
            plug.interface,
            slot.reference(),
            slot.interface
        ));
    }
    check_plug(plug).map_err(|e| format!("cannot connect plug {:?}: {e}", plug.reference()))?;
    check_slot(slot).map_err(|e| format!("cannot connect slot {:?}: {e}", slot.reference()))?;
    match plug.interface.as_str() {
        "content" => {
            let label = |a: &Attrs| -> (Option<String>, Option<String>) {
                let get = |k: &str| {
                    a.get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                };
                (get("content"), get("compatibility"))
            };
            let (plug_content, plug_compat) = label(&plug.attrs);
            let (slot_content, slot_compat) = label(&slot.attrs);
            let agree = match (plug_compat, slot_compat) {
                (Some(p), Some(s)) => p == s,
                (None, None) => plug_content == slot_content,
                _ => false,
            };
            if agree {
                Ok(())
            } else {
                Err(format!(
                    "content of plug {:?} ({}) does not match content of slot {:?} ({})",
                    plug.reference(),
                    describe_label(&plug.attrs),
                    slot.reference(),
                    describe_label(&slot.attrs)
                ))
            }
        }
        "dbus" => {
            let (pb, pn) = dbus_attrs(&plug.attrs)?;
            let (sb, sn) = dbus_attrs(&slot.attrs)?;
            if pb == sb && pn == sn {
                Ok(())
            } else {
                Err(format!(
                    "plug {:?} wants {pn:?} on the {pb} bus but slot {:?} owns {sn:?} on the {sb} bus",
                    plug.reference(),
                    slot.reference()
                ))
            }
        }
        _ => Ok(()),
    }
}

fn describe_label(a: &Attrs) -> String {
    match (a.get("content"), a.get("compatibility")) {
        (_, Some(Value::String(c))) if !c.is_empty() => format!("compatibility {c:?}"),
        (Some(Value::String(c)), _) => format!("{c:?}"),
        _ => "none".into(),
    }
}

fn check_content_label(a: &Attrs) -> Result<(), String> {
    let compat = match a.get("compatibility") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err("compatibility label must be a string".into()),
    };
    let has_content = a
        .get("content")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if has_content && compat.is_some_and(|c| !c.is_empty()) {
        return Err("cannot have both content and compatibility labels".into());
    }
    Ok(())
}

/// snapd's check of content paths (slot `read`/`write` entries, plug `target`).
fn check_content_path(path: &str) -> Result<(), String> {
    const AARE: &str = "?*[]{}^\"\0";
    if path.contains(|c| AARE.contains(c)) {
        return Err(format!(
            "content interface path is invalid: {path:?} contains a reserved apparmor char from {AARE}"
        ));
    }
    if clean(path) != path || path == ".." || path.starts_with("../") {
        return Err(format!("content interface path is not clean: {path:?}"));
    }
    // Stricter than snapd, which reads such a path as relative to $SNAP: the sandbox's
    // placeholders ($HOME, $UID) must not appear in a mount.
    let rest = ["$SNAP_DATA", "$SNAP_COMMON", "$SNAP"]
        .iter()
        .find_map(|var| {
            path.strip_prefix(var)
                .filter(|r| r.is_empty() || r.starts_with('/'))
        })
        .unwrap_or(path);
    if rest.contains('$') {
        return Err(format!(
            "content interface path is invalid: {path:?} uses a variable other than $SNAP, $SNAP_DATA or $SNAP_COMMON at its start"
        ));
    }
    Ok(())
}

/// The slot's `read` or `write` paths (under `source:` when there is one). Any non-string
/// entry makes the list empty, as in snapd.
pub(crate) fn content_paths(a: &Attrs, which: &str) -> Vec<String> {
    let list = match a.get("source") {
        Some(Value::Object(source)) => source.get(which),
        Some(_) => None,
        None => a.get(which),
    };
    let Some(Value::Array(items)) = list else {
        return Vec::new();
    };
    items
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// `filepath.Clean`, as snap-core implements it for snap.yaml's checks.
pub(crate) fn clean(path: &str) -> String {
    snap_core::clean_path(path)
}

fn check_files_plug(
    iface: &str,
    a: &Attrs,
    extra: impl Fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    let mut valid = false;
    for att in ["read", "write"] {
        let Some(value) = a.get(att) else { continue };
        let Value::Array(items) = value else {
            return Err(format!(
                "cannot add {iface} plug: {att:?} must be a list of strings"
            ));
        };
        for item in items {
            let Some(p) = item.as_str() else {
                return Err(format!(
                    "cannot add {iface} plug: {att:?} must be a list of strings"
                ));
            };
            check_files_path(p, &extra).map_err(|e| format!("cannot add {iface} plug: {e}"))?;
        }
        valid = true;
    }
    if valid {
        Ok(())
    } else {
        Err(format!(
            r#"cannot add {iface} plug: needs valid "read" or "write" attribute"#
        ))
    }
}

fn check_files_path(p: &str, extra: &impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
    if p.ends_with('/') {
        return Err(format!(r#"{p:?} cannot end with "/""#));
    }
    if p.ends_with('@') {
        return Err(format!(r#"{p:?} cannot end with "@""#));
    }
    let c = clean(p);
    if c != p {
        return Err(format!("cannot use {p:?}: try {c:?}"));
    }
    if p.contains('~') {
        return Err(format!(r#"{p:?} cannot contain "~""#));
    }
    const AARE: &str = "?*[]{}^\"\0";
    if p.contains(|ch| AARE.contains(ch)) {
        return Err(format!(
            "{p:?} contains a reserved apparmor char from {AARE}"
        ));
    }
    extra(p)
}

/// The `bus` and `name` of a D-Bus plug or slot.
pub(crate) fn dbus_attrs(a: &Attrs) -> Result<(String, String), String> {
    let bus = a
        .get("bus")
        .and_then(Value::as_str)
        .ok_or("cannot find attribute 'bus'")?;
    if bus != "session" && bus != "system" {
        return Err(format!("bus '{bus}' must be one of 'session' or 'system'"));
    }
    let name = a
        .get("name")
        .and_then(Value::as_str)
        .ok_or("cannot find attribute 'name'")?;
    if name.is_empty() {
        return Err("DBus bus name must be set".into());
    }
    if name.len() > 255 {
        return Err("DBus bus name is too long (must be <= 255)".into());
    }
    if !valid_bus_name(name) {
        return Err(format!("invalid DBus bus name: {name:?}"));
    }
    let (head, tail) = name.rsplit_once('-').unwrap_or(("", ""));
    if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
        return Err("DBus bus name must not end with -NUMBER".into());
    }
    Ok((bus.to_owned(), name.to_owned()))
}

/// `^[a-zA-Z_-][a-zA-Z0-9_-]*(\.[a-zA-Z_-][a-zA-Z0-9_-]*)+$`
fn valid_bus_name(name: &str) -> bool {
    let elements: Vec<&str> = name.split('.').collect();
    elements.len() >= 2
        && elements.iter().all(|e| {
            let mut bytes = e.bytes();
            bytes
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// The slot's `path`, cleaned, when it is a non-empty string.
pub(crate) fn slot_path(a: &Attrs) -> Option<String> {
    a.get("path")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(clean)
}

fn has_usb_attrs(a: &Attrs) -> bool {
    ["usb-vendor", "usb-product", "usb-interface-number"]
        .iter()
        .any(|k| a.contains_key(*k))
}

fn check_usb_attrs(iface: &str, a: &Attrs) -> Result<(), String> {
    let vendor = a
        .get("usb-vendor")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("{iface} slot failed to find usb-vendor attribute"))?;
    if !(0x1..=0xffff).contains(&vendor) {
        return Err(format!("{iface} usb-vendor attribute not valid: {vendor}"));
    }
    let product = a
        .get("usb-product")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("{iface} slot failed to find usb-product attribute"))?;
    if !(0x0..=0xffff).contains(&product) {
        return Err(format!(
            "{iface} usb-product attribute not valid: {product}"
        ));
    }
    Ok(())
}

fn check_usb_interface_number(a: &Attrs) -> Result<(), String> {
    const USB_MAX_INTERFACES: i64 = 32;
    match a.get("usb-interface-number").and_then(Value::as_i64) {
        Some(n) if !(0..USB_MAX_INTERFACES).contains(&n) => Err(format!(
            "serial-port usb-interface-number attribute cannot be negative or larger than {}",
            USB_MAX_INTERFACES - 1
        )),
        _ => Ok(()),
    }
}

/// `^PREFIX[a-z0-9]+$`
fn symlink_name_ok(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The digits after `prefix` when `path` is `prefix` followed by one or more digits.
fn numbered<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)
        .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// snapd's serial device pattern:
/// `^/dev/tty(mxc|USB|ACM|AMA|XRUSB|S|O|SC|MSM|HS|GS|LP|RPMSG|MAX)[0-9]+$`.
pub(crate) fn is_serial_device(path: &str) -> bool {
    const KINDS: &[&str] = &[
        "mxc", "USB", "ACM", "AMA", "XRUSB", "S", "O", "SC", "MSM", "HS", "GS", "LP", "RPMSG",
        "MAX",
    ];
    path.strip_prefix("/dev/tty").is_some_and(|rest| {
        KINDS.iter().any(|k| {
            rest.strip_prefix(k)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// `^/dev/spidev[0-9]+\.[0-9]+$`
fn is_spi_device(path: &str) -> bool {
    path.strip_prefix("/dev/spidev")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(a, b)| {
            [a, b]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{plug, slot};
    use serde_json::json;

    fn plug_err(iface: &str, a: Value) -> String {
        check_plug(&plug(iface, a)).unwrap_err()
    }

    fn slot_err(iface: &str, a: Value) -> String {
        check_slot(&slot("provider", iface, a)).unwrap_err()
    }

    #[test]
    fn unknown_interfaces() {
        assert_eq!(plug_err("nope", json!({})), r#"unknown interface "nope""#);
        assert_eq!(slot_err("nope", json!({})), r#"unknown interface "nope""#);
        assert!(check_plug(&plug("network", json!({"whatever": 1}))).is_ok());
    }

    #[test]
    fn content_plugs() {
        assert_eq!(
            plug_err("content", json!({"content": "x"})),
            "content plug must contain target path"
        );
        assert_eq!(
            plug_err("content", json!({"content": "x", "target": ""})),
            "content plug must contain target path"
        );
        assert_eq!(
            plug_err("content", json!({"target": "$SNAP/a/../b", "content": "x"})),
            r#"content interface path is not clean: "$SNAP/a/../b""#
        );
        assert!(
            plug_err("content", json!({"target": "$SNAP/*", "content": "x"})).contains(
                "content interface path is invalid: \"$SNAP/*\" contains a reserved apparmor char"
            )
        );
        assert_eq!(
            plug_err(
                "content",
                json!({"target": "$SNAP/x", "content": "a", "compatibility": "b"})
            ),
            "cannot have both content and compatibility labels"
        );
        assert_eq!(
            plug_err("content", json!({"target": "$SNAP/x", "compatibility": 1})),
            "compatibility label must be a string"
        );
        assert!(
            check_plug(&plug(
                "content",
                json!({"target": "$SNAP/x", "content": "a"})
            ))
            .is_ok()
        );
        assert!(check_plug(&plug("content", json!({"target": "lib", "content": "a"}))).is_ok());
        // Stricter than snapd: no other variable, anywhere.
        for bad in ["$HOME/x", "$SNAP/$HOME", "$SNAPX/y", "a/$UID"] {
            assert!(
                plug_err("content", json!({"target": bad, "content": "a"}))
                    .contains("uses a variable other than"),
                "{bad}"
            );
        }
    }

    #[test]
    fn content_slots() {
        assert_eq!(
            slot_err("content", json!({"content": "a"})),
            "read or write path must be set"
        );
        assert_eq!(
            slot_err("content", json!({"content": "a", "read": "$SNAP/x"})),
            "read or write path must be set"
        );
        assert_eq!(
            slot_err(
                "content",
                json!({"content": "a", "read": ["$SNAP/x"], "source": {"read": ["$SNAP/y"]}})
            ),
            r#"move the "read" attribute into the "source" section"#
        );
        assert_eq!(
            slot_err("content", json!({"content": "a", "write": ["../x"]})),
            r#"content interface path is not clean: "../x""#
        );
        for ok in [
            json!({"content": "a", "read": ["$SNAP/x"]}),
            json!({"content": "a", "write": ["$SNAP_DATA/x"]}),
            json!({"content": "a", "source": {"write": ["$SNAP_COMMON/x"]}}),
        ] {
            assert!(
                check_slot(&slot("p", "content", ok.clone())).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn files_plugs() {
        assert_eq!(
            plug_err("personal-files", json!({})),
            r#"cannot add personal-files plug: needs valid "read" or "write" attribute"#
        );
        assert_eq!(
            plug_err("personal-files", json!({"read": "$HOME/.x"})),
            r#"cannot add personal-files plug: "read" must be a list of strings"#
        );
        assert_eq!(
            plug_err("personal-files", json!({"read": ["/etc/x"]})),
            r#"cannot add personal-files plug: "/etc/x" must start with "$HOME/""#
        );
        assert_eq!(
            plug_err("personal-files", json!({"write": ["$HOME/.x/"]})),
            r#"cannot add personal-files plug: "$HOME/.x/" cannot end with "/""#
        );
        assert_eq!(
            plug_err("personal-files", json!({"write": ["$HOME/a//b"]})),
            r#"cannot add personal-files plug: cannot use "$HOME/a//b": try "$HOME/a/b""#
        );
        assert_eq!(
            plug_err("system-files", json!({"read": ["$HOME/x"]})),
            r#"cannot add system-files plug: "$HOME/x" must start with "/""#
        );
        assert_eq!(
            plug_err("system-files", json!({"read": ["/home/$HOME"]})),
            r#"cannot add system-files plug: $HOME cannot be used in "/home/$HOME""#
        );
        assert!(
            check_plug(&plug(
                "personal-files",
                json!({"read": ["$HOME/.config/a"]})
            ))
            .is_ok()
        );
        assert!(check_plug(&plug("system-files", json!({"write": ["/etc/a.conf"]}))).is_ok());
    }

    #[test]
    fn home_and_optical_drive() {
        assert_eq!(
            plug_err("home", json!({"read": "some"})),
            r#"home plug requires "read" be 'all'"#
        );
        assert!(check_plug(&plug("home", json!({"read": "all"}))).is_ok());
        assert_eq!(
            plug_err("optical-drive", json!({"write": "yes"})),
            r#"optical-drive "write" attribute must be a boolean"#
        );
    }

    #[test]
    fn device_slots() {
        for ok in [
            "/dev/ttyUSB0",
            "/dev/ttyS12",
            "/dev/ttyACM3",
            "/dev/ttymxc1",
            "/dev/ttyUSB99",
        ] {
            assert!(
                check_slot(&slot("g", "serial-port", json!({"path": ok}))).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "/dev/ttyUSB",
            "/dev/tty0",
            "/dev/sda",
            "/dev/ttyUSBTEST0",
            "/dev/ttyUSB0x",
        ] {
            assert_eq!(
                slot_err("serial-port", json!({"path": bad})),
                "serial-port path attribute must be a valid device node",
                "{bad}"
            );
        }
        assert_eq!(
            slot_err("serial-port", json!({})),
            "serial-port slot must have a path attribute"
        );
        // A cleaned path is what is checked, as snapd does.
        assert!(check_slot(&slot("g", "serial-port", json!({"path": "/dev/./ttyS0"}))).is_ok());
        assert!(
            check_slot(&slot(
                "g",
                "serial-port",
                json!({"path": "/dev/serial-port-gps", "usb-vendor": 0x1234, "usb-product": 0x5678})
            ))
            .is_ok()
        );
        assert_eq!(
            slot_err(
                "serial-port",
                json!({"path": "/dev/ttyUSB0", "usb-vendor": 1, "usb-product": 2})
            ),
            "serial-port path attribute specifies invalid symlink location"
        );
        assert_eq!(
            slot_err(
                "serial-port",
                json!({"path": "/dev/serial-port-a", "usb-vendor": 0, "usb-product": 2})
            ),
            "serial-port usb-vendor attribute not valid: 0"
        );

        assert!(check_slot(&slot("g", "hidraw", json!({"path": "/dev/hidraw3"}))).is_ok());
        assert_eq!(
            slot_err("hidraw", json!({"path": "/dev/hidraw1234"})),
            "hidraw path attribute must be a valid device node"
        );
        assert_eq!(
            slot_err("hidraw", json!({})),
            "hidraw slots must have a path attribute"
        );

        assert!(check_slot(&slot("g", "i2c", json!({"path": "/dev/i2c-1"}))).is_ok());
        assert!(check_slot(&slot("g", "i2c", json!({"sysfs-name": "1-0050"}))).is_ok());
        assert_eq!(
            slot_err("i2c", json!({"path": "/dev/i2c-x"})),
            "i2c path attribute must be a valid device node"
        );
        assert_eq!(
            slot_err("i2c", json!({"path": "/dev/i2c-1", "sysfs-name": "a"})),
            "i2c slot can only use path or sysfs-name"
        );
        assert_eq!(
            slot_err("i2c", json!({})),
            "i2c slot must have a path or sysfs-name attribute"
        );

        assert!(check_slot(&slot("g", "spi", json!({"path": "/dev/spidev0.1"}))).is_ok());
        assert_eq!(
            slot_err("spi", json!({"path": "/dev/spidev0"})),
            r#""/dev/spidev0" is not a valid SPI device"#
        );
        assert_eq!(
            slot_err("spi", json!({})),
            r#"slot "provider:s" must have a path attribute"#
        );

        assert!(check_slot(&slot("g", "gpio", json!({"number": 17}))).is_ok());
        assert_eq!(
            slot_err("gpio", json!({})),
            "gpio slot must have a number attribute"
        );
        assert_eq!(
            slot_err("gpio", json!({"number": "17"})),
            "gpio slot number attribute must be an int"
        );
    }

    #[test]
    fn dbus_names() {
        assert!(
            check_slot(&slot(
                "p",
                "dbus",
                json!({"bus": "session", "name": "org.example.A"})
            ))
            .is_ok()
        );
        assert_eq!(
            slot_err("dbus", json!({"name": "a.b"})),
            "cannot find attribute 'bus'"
        );
        assert_eq!(
            slot_err("dbus", json!({"bus": "user", "name": "a.b"})),
            "bus 'user' must be one of 'session' or 'system'"
        );
        assert_eq!(
            slot_err("dbus", json!({"bus": "system", "name": "nodots"})),
            r#"invalid DBus bus name: "nodots""#
        );
        assert_eq!(
            slot_err("dbus", json!({"bus": "system", "name": "org.kde.foo-12"})),
            "DBus bus name must not end with -NUMBER"
        );
        assert_eq!(
            plug_err("dbus", json!({"bus": "system"})),
            "cannot find attribute 'name'"
        );
    }

    #[test]
    fn connections() {
        let net = plug("network", json!({}));
        let cam = slot("snapd", "camera", json!({}));
        assert_eq!(
            check_connection(&net, &cam).unwrap_err(),
            r#"cannot connect plug "consumer:p" (interface "network") to "snapd:s" (interface "camera")"#
        );
        assert!(check_connection(&net, &slot("snapd", "network", json!({}))).is_ok());

        let c = plug("content", json!({"target": "$SNAP/t", "content": "fonts"}));
        let s = slot(
            "provider",
            "content",
            json!({"content": "fonts", "read": ["$SNAP/f"]}),
        );
        assert!(check_connection(&c, &s).is_ok());
        let other = slot(
            "provider",
            "content",
            json!({"content": "icons", "read": ["$SNAP/i"]}),
        );
        assert_eq!(
            check_connection(&c, &other).unwrap_err(),
            r#"content of plug "consumer:p" ("fonts") does not match content of slot "provider:s" ("icons")"#
        );
        let bad = slot("provider", "content", json!({"content": "fonts"}));
        assert_eq!(
            check_connection(&c, &bad).unwrap_err(),
            r#"cannot connect slot "provider:s": read or write path must be set"#
        );
        let compat = slot(
            "provider",
            "content",
            json!({"compatibility": "x-1", "read": ["$SNAP/f"]}),
        );
        assert!(check_connection(&c, &compat).is_err());

        let serial = plug("serial-port", json!({}));
        assert!(
            check_connection(
                &serial,
                &slot("g", "serial-port", json!({"path": "/dev/ttyUSB0"}))
            )
            .is_ok()
        );
        assert_eq!(
            check_connection(
                &serial,
                &slot("g", "serial-port", json!({"path": "/dev/sda"}))
            )
            .unwrap_err(),
            r#"cannot connect slot "g:s": serial-port path attribute must be a valid device node"#
        );

        let d = plug("dbus", json!({"bus": "session", "name": "org.example.A"}));
        assert!(
            check_connection(
                &d,
                &slot(
                    "p",
                    "dbus",
                    json!({"bus": "session", "name": "org.example.A"})
                )
            )
            .is_ok()
        );
        assert!(
            check_connection(
                &d,
                &slot(
                    "p",
                    "dbus",
                    json!({"bus": "system", "name": "org.example.A"})
                )
            )
            .is_err()
        );
    }

    #[test]
    fn clean_paths() {
        for (p, want) in [
            ("a/b", "a/b"),
            ("/a/./b/", "/a/b"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("", "."),
            ("$SNAP/x/..", "$SNAP"),
        ] {
            assert_eq!(clean(p), want, "{p}");
        }
    }
}
